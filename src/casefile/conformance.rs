//! Behaviour every [`CaseFileStore`] backend must have. Each check takes a fresh, empty store
//! and panics on a violation; `tests/casefile_store.rs` runs the list on memory and on a real
//! `redis-server`.

use super::domain::{CaseFile, DueKind, RecordEntry};
use super::store::CaseFileStore;
use crate::domain::ids::IncidentId;
use jiff::Timestamp;
use std::sync::Arc;

/// A named behaviour check.
pub type Check = (&'static str, fn(Arc<dyn CaseFileStore>) -> futures_util::future::BoxFuture<'static, ()>);

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// Every check, by name.
        #[must_use]
        pub fn all() -> Vec<Check> {
            vec![$((stringify!($name), |s| Box::pin($name(s)))),*]
        }
    };
}

checks!(
    an_unwritten_case_file_is_empty_at_version_zero,
    a_write_bumps_the_version_and_a_stale_one_writes_nothing,
    of_concurrent_writers_at_one_version_exactly_one_wins,
    images_round_trip_by_hash_per_incident,
    deadlines_are_set_with_their_write_leased_when_due_and_finished_unless_moved,
);

fn with_entry(text: &str) -> CaseFile {
    let mut case = CaseFile::default();
    let id = case.fresh_id("e");
    case.record.push(RecordEntry { id, session: 1, at: Timestamp::UNIX_EPOCH, text: text.into(), edited_at: None });
    case
}

/// Nothing written: version 0, an empty file.
pub async fn an_unwritten_case_file_is_empty_at_version_zero(store: Arc<dyn CaseFileStore>) {
    let got = store.load(&IncidentId::generate()).await.unwrap();
    assert_eq!(got.version, 0);
    assert_eq!(got.case, CaseFile::default());
}

/// Compare-and-set on the version.
pub async fn a_write_bumps_the_version_and_a_stale_one_writes_nothing(store: Arc<dyn CaseFileStore>) {
    let id = IncidentId::generate();
    assert!(store.save(&id, 0, &with_entry("第一条"), &[]).await.unwrap());
    assert!(!store.save(&id, 0, &with_entry("过时的"), &[]).await.unwrap());
    let got = store.load(&id).await.unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.case.record[0].text, "第一条");
    assert!(store.save(&id, 1, &with_entry("第二版"), &[]).await.unwrap());
    assert_eq!(store.load(&id).await.unwrap().version, 2);
}

/// Fifty writers at the same version: one wins.
pub async fn of_concurrent_writers_at_one_version_exactly_one_wins(store: Arc<dyn CaseFileStore>) {
    let id = IncidentId::generate();
    let mut tasks = vec![];
    for n in 0..50 {
        let (store, id) = (store.clone(), id.clone());
        tasks.push(tokio::spawn(async move { store.save(&id, 0, &with_entry(&n.to_string()), &[]).await.unwrap() }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(store.load(&id).await.unwrap().version, 1);
}

/// Images are kept per incident, by hash.
pub async fn images_round_trip_by_hash_per_incident(store: Arc<dyn CaseFileStore>) {
    let (a, b) = (IncidentId::generate(), IncidentId::generate());
    let bytes = vec![0x89, b'P', b'N', b'G', 0, 255, 10, 13];
    store.put_image(&a, "ab12", &bytes).await.unwrap();
    assert_eq!(store.image(&a, "ab12").await.unwrap(), Some(bytes));
    assert_eq!(store.image(&b, "ab12").await.unwrap(), None);
    assert_eq!(store.image(&a, "cd34").await.unwrap(), None);
}

/// Deadlines ride on the write that sets them, are leased (not deleted) when due, come back
/// after the lease, and a finish removes them only if no later write moved them.
pub async fn deadlines_are_set_with_their_write_leased_when_due_and_finished_unless_moved(
    store: Arc<dyn CaseFileStore>,
) {
    let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let (a, b) = (IncidentId::generate(), IncidentId::generate());
    assert!(
        store
            .save(&a, 0, &with_entry("a"), &[(DueKind::Performance, t(10)), (DueKind::Deadline, t(1000))])
            .await
            .unwrap()
    );
    assert!(!store.save(&b, 7, &with_entry("lost"), &[(DueKind::Performance, t(0))]).await.unwrap());
    assert_eq!(store.claim_due(t(5), t(65), 10).await.unwrap(), vec![], "nothing due yet; the lost write set nothing");

    assert_eq!(store.claim_due(t(10), t(70), 10).await.unwrap(), vec![(a.clone(), DueKind::Performance)]);
    assert_eq!(store.claim_due(t(20), t(80), 10).await.unwrap(), vec![], "leased until t70");
    assert_eq!(
        store.claim_due(t(70), t(130), 10).await.unwrap(),
        vec![(a.clone(), DueKind::Performance)],
        "back after the lease"
    );
    store.finish_due(&a, DueKind::Performance, t(70)).await.unwrap();
    let again = store.claim_due(t(130), t(190), 10).await.unwrap();
    assert_eq!(again, vec![(a.clone(), DueKind::Performance)], "an old lease does not finish a newer one");
    store.finish_due(&a, DueKind::Performance, t(190)).await.unwrap();

    assert!(store.save(&a, 1, &with_entry("a2"), &[(DueKind::Deadline, t(200))]).await.unwrap());
    assert_eq!(store.claim_due(t(195), t(255), 10).await.unwrap(), vec![], "finished, and the deadline moved to t200");
    assert_eq!(store.claim_due(t(200), t(260), 10).await.unwrap(), vec![(a.clone(), DueKind::Deadline)]);
}
