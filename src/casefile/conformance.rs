//! Behaviour every [`CaseFileStore`] backend must have. Each check takes a fresh, empty store
//! and the incident store beside it (whose timer set and timelines it shares), and panics on a
//! violation; `tests/casefile_store.rs` runs the list on memory and on a real `redis-server`.

use super::domain::{CaseFile, DueKind, RecordEntry};
use super::store::{CaseFileStore, Effects};
use super::timers::key;
use crate::domain::ids::IncidentId;
use crate::domain::incident::Event;
use crate::domain::timeline;
use crate::store::{IncidentStore, TimerOp};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// A named behaviour check.
pub type Check =
    (&'static str, fn(Arc<dyn CaseFileStore>, Arc<dyn IncidentStore>) -> futures_util::future::BoxFuture<'static, ()>);

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// Every check, by name.
        #[must_use]
        pub fn all() -> Vec<Check> {
            vec![$((stringify!($name), |s, i| Box::pin($name(s, i)))),*]
        }
    };
}

checks!(
    an_unwritten_case_file_is_empty_at_version_zero,
    a_write_bumps_the_version_and_a_stale_one_writes_nothing,
    of_concurrent_writers_at_one_version_exactly_one_wins,
    images_round_trip_by_hash_per_incident,
    deadlines_and_timeline_lines_go_with_their_write_into_the_shared_timer_set,
);

fn none() -> Effects {
    Effects::default()
}

fn with_entry(text: &str) -> CaseFile {
    let mut case = CaseFile::default();
    let id = case.fresh_id("e");
    case.record.push(RecordEntry { id, session: 1, at: Timestamp::UNIX_EPOCH, text: text.into(), edited_at: None });
    case
}

/// Nothing written: version 0, an empty file.
pub async fn an_unwritten_case_file_is_empty_at_version_zero(store: Arc<dyn CaseFileStore>, _: Arc<dyn IncidentStore>) {
    let got = store.load(&IncidentId::generate()).await.unwrap();
    assert_eq!(got.version, 0);
    assert_eq!(got.case, CaseFile::default());
}

/// Compare-and-set on the version.
pub async fn a_write_bumps_the_version_and_a_stale_one_writes_nothing(
    store: Arc<dyn CaseFileStore>,
    _: Arc<dyn IncidentStore>,
) {
    let id = IncidentId::generate();
    assert!(store.save(&id, 0, &with_entry("第一条"), &none()).await.unwrap());
    assert!(!store.save(&id, 0, &with_entry("过时的"), &none()).await.unwrap());
    let got = store.load(&id).await.unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.case.record[0].text, "第一条");
    assert!(store.save(&id, 1, &with_entry("第二版"), &none()).await.unwrap());
    assert_eq!(store.load(&id).await.unwrap().version, 2);
}

/// Fifty writers at the same version: one wins.
pub async fn of_concurrent_writers_at_one_version_exactly_one_wins(
    store: Arc<dyn CaseFileStore>,
    _: Arc<dyn IncidentStore>,
) {
    let id = IncidentId::generate();
    let mut tasks = vec![];
    for n in 0..50 {
        let (store, id) = (store.clone(), id.clone());
        tasks
            .push(tokio::spawn(async move { store.save(&id, 0, &with_entry(&n.to_string()), &none()).await.unwrap() }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(store.load(&id).await.unwrap().version, 1);
}

/// Images are kept per incident, by hash.
pub async fn images_round_trip_by_hash_per_incident(store: Arc<dyn CaseFileStore>, _: Arc<dyn IncidentStore>) {
    let (a, b) = (IncidentId::generate(), IncidentId::generate());
    let bytes = vec![0x89, b'P', b'N', b'G', 0, 255, 10, 13];
    store.put_image(&a, "ab12", &bytes).await.unwrap();
    assert_eq!(store.image(&a, "ab12").await.unwrap(), Some(bytes));
    assert_eq!(store.image(&b, "ab12").await.unwrap(), None);
    assert_eq!(store.image(&a, "cd34").await.unwrap(), None);
}

/// Deadlines and timeline lines ride on the write that sets them, into the incident store's
/// shared timer set (where every runner claims them) and the incident's timeline; a lost write
/// sets and appends nothing; a later write moves a deadline.
pub async fn deadlines_and_timeline_lines_go_with_their_write_into_the_shared_timer_set(
    store: Arc<dyn CaseFileStore>,
    incidents: Arc<dyn IncidentStore>,
) {
    let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let (a, b) = (IncidentId::generate(), IncidentId::generate());
    let line = timeline::system(t(0), Event::CaseFile { step: "performance_due".into(), date: None, detail: None });
    let effects = Effects {
        timers: vec![
            TimerOp::Schedule(key(&a, DueKind::Performance), t(10)),
            TimerOp::Schedule(key(&a, DueKind::Deadline), t(1000)),
        ],
        timeline: vec![line.clone()],
        announce: vec![],
    };
    assert!(store.save(&a, 0, &with_entry("a"), &effects).await.unwrap());
    let lost = Effects { timers: vec![TimerOp::Schedule(key(&b, DueKind::Performance), t(0))], ..effects.clone() };
    assert!(!store.save(&b, 7, &with_entry("lost"), &lost).await.unwrap());
    assert_eq!(incidents.timer_due(&key(&b, DueKind::Performance)).await.unwrap(), None, "a lost write sets nothing");
    assert_eq!(incidents.timeline(&b).await.unwrap(), vec![], "a lost write appends nothing");
    assert_eq!(incidents.timer_due(&key(&a, DueKind::Performance)).await.unwrap(), Some(t(10)));
    assert_eq!(incidents.timeline(&a).await.unwrap(), vec![line]);

    let claimed = incidents.claim_due_timers(t(10), Duration::from_secs(60), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.key.clone()).collect::<Vec<_>>(), vec![key(&a, DueKind::Performance)]);
    let moved = Effects { timers: vec![TimerOp::Schedule(key(&a, DueKind::Deadline), t(200))], ..none() };
    assert!(store.save(&a, 1, &with_entry("a2"), &moved).await.unwrap());
    assert_eq!(incidents.timer_due(&key(&a, DueKind::Deadline)).await.unwrap(), Some(t(200)));
}
