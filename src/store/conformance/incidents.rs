//! The [`IncidentStore`](crate::store::IncidentStore) part of the suite.

use super::{DAY, claim, creation, escalate_key, incident, t};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Event, Incident, Status};
use crate::domain::location::GeoPoint;
use crate::domain::timeline;
use crate::store::{
    AreaNote, ClaimedTimer, Expect, IdempotencyClaim, IncidentStore, IncidentWrite, NoteInArea, TimerKey, TimerKind,
    TimerOp, WriteOutcome,
};
use std::sync::Arc;
use std::time::Duration;

checks!(
    incidents:
    creating_an_incident_writes_everything_at_once,
    a_stale_version_writes_nothing,
    exactly_one_of_many_concurrent_claims_wins,
    capacity_guard_refuses_a_full_mediator,
    idempotency_key_replays_the_first_incident,
    due_timers_are_leased_not_deleted,
    timers_due_at_the_same_moment_are_claimed_in_member_order,
    a_finished_timer_stays_if_rescheduled,
    incidents_list_newest_first_within_range,
    open_incidents_are_kept_apart_from_closed_ones,
    timeline_entries_append_after_the_state_ones,
    claims_are_counted_per_day,
    reports_are_noted_by_area_and_forgotten_after_their_window,
);

async fn creating_an_incident_writes_everything_at_once(store: Arc<dyn IncidentStore>) {
    let (m1, m2) = (AccountId::generate(), AccountId::generate());
    let inc = incident(&[m1.clone(), m2.clone()]);
    assert_eq!(store.write_incident(&creation(&inc, "aa11")).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_incident(&inc.id).await.unwrap(), Some(inc.clone()));
    assert_eq!(store.incident_by_tracking("aa11").await.unwrap(), Some(inc.id.clone()));
    assert_eq!(store.incident_by_tracking("bb22").await.unwrap(), None);
    assert_eq!(store.offered_to(&m1).await.unwrap(), vec![inc.id.clone()]);
    assert_eq!(store.offered_to(&m2).await.unwrap(), vec![inc.id.clone()]);
    assert_eq!(store.timer_due(&escalate_key(&inc.id)).await.unwrap(), Some(t(300)));
    assert_eq!(store.next_timer_due().await.unwrap(), Some(t(300)));
    let tl = store.timeline(&inc.id).await.unwrap();
    assert_eq!(tl.len(), 1);
    assert_eq!(tl[0].event, Event::Reported);
    assert_eq!(store.write_incident(&creation(&inc, "cc33")).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.incident_by_tracking("cc33").await.unwrap(), None, "a refused write leaves nothing");
    assert_eq!(store.get_incidents(&[IncidentId::generate(), inc.id.clone()]).await.unwrap(), vec![inc]);
}

async fn a_stale_version_writes_nothing(store: Arc<dyn IncidentStore>) {
    let m = AccountId::generate();
    let inc = incident(std::slice::from_ref(&m));
    store.write_incident(&creation(&inc, "t1")).await.unwrap();
    let mut stale = claim(&inc, &m, 3);
    stale.expect = Expect::Version(7);
    assert_eq!(store.write_incident(&stale).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_incident(&inc.id).await.unwrap().unwrap().status, Status::Dispatching);
    assert_eq!(store.timeline(&inc.id).await.unwrap().len(), 1);
    assert_eq!(store.offered_to(&m).await.unwrap(), vec![inc.id.clone()]);
    assert!(store.held_by(&m).await.unwrap().is_empty());
    assert!(store.timer_due(&escalate_key(&inc.id)).await.unwrap().is_some());
}

async fn exactly_one_of_many_concurrent_claims_wins(store: Arc<dyn IncidentStore>) {
    let ms: Vec<AccountId> = (0..20).map(|_| AccountId::generate()).collect();
    let inc = incident(&ms);
    store.write_incident(&creation(&inc, "race")).await.unwrap();
    let tasks: Vec<_> = ms
        .iter()
        .map(|m| {
            let (store, w) = (store.clone(), claim(&inc, m, 3));
            tokio::spawn(async move { store.write_incident(&w).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if task.await.unwrap() == WriteOutcome::Written {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    let stored = store.get_incident(&inc.id).await.unwrap().unwrap();
    let winner = stored.claimed_by.expect("claimed");
    assert_eq!(store.held_by(&winner).await.unwrap(), vec![inc.id.clone()]);
    let counts = store.hold_counts(&ms).await.unwrap();
    assert_eq!(counts.iter().sum::<u32>(), 1);
    for m in &ms {
        assert!(store.offered_to(m).await.unwrap().is_empty(), "offers closed for everyone");
    }
    assert_eq!(store.timer_due(&escalate_key(&inc.id)).await.unwrap(), None, "escalation cancelled");
    assert_eq!(store.timeline(&inc.id).await.unwrap().len(), 2);
}

async fn capacity_guard_refuses_a_full_mediator(store: Arc<dyn IncidentStore>) {
    let m = AccountId::generate();
    let first = incident(std::slice::from_ref(&m));
    let second = incident(std::slice::from_ref(&m));
    store.write_incident(&creation(&first, "c1")).await.unwrap();
    store.write_incident(&creation(&second, "c2")).await.unwrap();
    assert_eq!(store.write_incident(&claim(&first, &m, 1)).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.write_incident(&claim(&second, &m, 1)).await.unwrap(), WriteOutcome::AtCapacity);
    assert_eq!(store.get_incident(&second.id).await.unwrap().unwrap().status, Status::Dispatching);
    assert_eq!(store.hold_counts(std::slice::from_ref(&m)).await.unwrap(), vec![1]);

    let mut release = IncidentWrite::new(
        Incident { version: 3, status: Status::Resolved, ..store.get_incident(&first.id).await.unwrap().unwrap() },
        Expect::Version(2),
    );
    release.release = Some(m.clone());
    assert_eq!(store.write_incident(&release).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.hold_counts(std::slice::from_ref(&m)).await.unwrap(), vec![0]);
    assert_eq!(store.write_incident(&claim(&second, &m, 1)).await.unwrap(), WriteOutcome::Written);
}

async fn idempotency_key_replays_the_first_incident(store: Arc<dyn IncidentStore>) {
    let key = |fp: &str| IdempotencyClaim {
        key_hash: "k1".into(),
        fingerprint: fp.into(),
        ttl: Duration::from_secs(60),
        receipt: format!("receipt-{fp}"),
    };
    let first = incident(&[]);
    let mut w = creation(&first, "i1");
    w.creation.as_mut().unwrap().idempotency = Some(key("f1"));
    assert_eq!(store.write_incident(&w).await.unwrap(), WriteOutcome::Written);

    let second = incident(&[]);
    let mut again = creation(&second, "i2");
    again.creation.as_mut().unwrap().idempotency = Some(key("f1"));
    assert_eq!(
        store.write_incident(&again).await.unwrap(),
        WriteOutcome::Replayed { incident_id: first.id.clone(), same_request: true, receipt: "receipt-f1".into() }
    );
    again.creation.as_mut().unwrap().idempotency = Some(key("other"));
    assert_eq!(
        store.write_incident(&again).await.unwrap(),
        WriteOutcome::Replayed { incident_id: first.id.clone(), same_request: false, receipt: "receipt-f1".into() }
    );
    assert_eq!(store.get_incident(&second.id).await.unwrap(), None);
    assert_eq!(store.incident_by_tracking("i2").await.unwrap(), None);
    // Read back before a write, so a retry can be told from a new request.
    let remembered = crate::store::RememberedKey {
        incident_id: first.id.clone(),
        fingerprint: "f1".into(),
        receipt: "receipt-f1".into(),
    };
    assert_eq!(store.remembered_key("k1").await.unwrap(), Some(remembered));
    assert_eq!(store.remembered_key("never-used").await.unwrap(), None);
}

async fn due_timers_are_leased_not_deleted(store: Arc<dyn IncidentStore>) {
    let a = incident(&[]);
    let mut b = incident(&[]);
    b.escalate_at = t(400);
    store.write_incident(&creation(&a, "ta")).await.unwrap();
    store.write_incident(&creation(&b, "tb")).await.unwrap();

    assert!(store.claim_due_timers(t(299), Duration::from_secs(30), 10).await.unwrap().is_empty());
    let claimed = store.claim_due_timers(t(300), Duration::from_secs(30), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].key, escalate_key(&a.id));
    // Leased: not due again until the lease ends, then claimable by someone else.
    assert!(store.claim_due_timers(t(301), Duration::from_secs(30), 10).await.unwrap().is_empty());
    let reclaimed = store.claim_due_timers(t(331), Duration::from_secs(30), 10).await.unwrap();
    assert_eq!(reclaimed.iter().map(|c| c.key.clone()).collect::<Vec<_>>(), vec![escalate_key(&a.id)]);
    // The first claimer's lease is fenced off: finishing it removes nothing.
    store.finish_timer(&claimed[0]).await.unwrap();
    assert!(store.timer_due(&escalate_key(&a.id)).await.unwrap().is_some());
    store.finish_timer(&reclaimed[0]).await.unwrap();
    assert_eq!(store.timer_due(&escalate_key(&a.id)).await.unwrap(), None);
    assert_eq!(store.next_timer_due().await.unwrap(), Some(t(400)));
    let max_one = store.claim_due_timers(t(1000), Duration::from_secs(1), 1).await.unwrap();
    assert_eq!(max_one.len(), 1);
}

/// Redis returns equal scores by member string (`ZRANGEBYSCORE`); memory must too, or a batch
/// cut by `max` leaves different deadlines waiting on each backend.
async fn timers_due_at_the_same_moment_are_claimed_in_member_order(store: Arc<dyn IncidentStore>) {
    let inc = incident(&[]);
    store.write_incident(&creation(&inc, "tm")).await.unwrap();
    let id = &inc.id;
    let keys = [
        TimerKey::new(TimerKind::Escalate, id.clone()),
        TimerKey::new(TimerKind::Wave, id.clone()),
        TimerKey::new(TimerKind::Climb, id.clone()),
        TimerKey::with_sub(TimerKind::CallInAckDue, id.clone(), "b"),
        TimerKey::with_sub(TimerKind::CallInAckDue, id.clone(), "a"),
    ];
    let mut next = inc.clone();
    next.version = 2;
    let mut w = IncidentWrite::new(next, Expect::Version(1));
    w.timers.extend(keys.iter().map(|k| TimerOp::Schedule(k.clone(), t(500))));
    assert_eq!(store.write_incident(&w).await.unwrap(), WriteOutcome::Written);

    let mut by_member = keys.to_vec();
    by_member.sort_by_key(TimerKey::member);
    let first = store.claim_due_timers(t(500), Duration::from_secs(30), 2).await.unwrap();
    let rest = store.claim_due_timers(t(500), Duration::from_secs(30), 10).await.unwrap();
    let claimed: Vec<TimerKey> = first.iter().chain(&rest).map(|c| c.key.clone()).collect();
    assert_eq!(
        claimed, by_member,
        "ties on the due time go by member: call_in_ack_due:…:a before climb before escalate"
    );
}

async fn a_finished_timer_stays_if_rescheduled(store: Arc<dyn IncidentStore>) {
    let inc = incident(&[]);
    store.write_incident(&creation(&inc, "tr")).await.unwrap();
    let claimed: Vec<ClaimedTimer> = store.claim_due_timers(t(300), Duration::from_secs(30), 10).await.unwrap();
    let mut next = inc.clone();
    next.version = 2;
    let mut w = IncidentWrite::new(next, Expect::Version(1));
    w.timers.push(TimerOp::Schedule(escalate_key(&inc.id), t(900)));
    store.write_incident(&w).await.unwrap();
    store.finish_timer(&claimed[0]).await.unwrap();
    assert_eq!(store.timer_due(&escalate_key(&inc.id)).await.unwrap(), Some(t(900)));
}

async fn incidents_list_newest_first_within_range(store: Arc<dyn IncidentStore>) {
    let mut ids = vec![];
    for i in 0..5 {
        let mut inc = incident(&[]);
        inc.created_at = t(i * 60);
        store.write_incident(&creation(&inc, &format!("l{i}"))).await.unwrap();
        ids.push(inc.id);
    }
    let listed: Vec<_> = store.list_incidents(t(60), t(240), 10).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(listed, vec![ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    let limited = store.list_incidents(t(0), t(10_000), 2).await.unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].id, ids[4]);
}

async fn open_incidents_are_kept_apart_from_closed_ones(store: Arc<dyn IncidentStore>) {
    let mut ids = vec![];
    for i in 0..4 {
        let mut inc = incident(&[]);
        inc.created_at = t(i * 60);
        store.write_incident(&creation(&inc, &format!("o{i}"))).await.unwrap();
        ids.push(inc);
    }
    // The second is claimed (still open), the third resolved, the fourth cancelled.
    let mediator = AccountId::generate();
    store.write_incident(&claim(&ids[1], &mediator, 5)).await.unwrap();
    for (inc, status) in [(&ids[2], Status::Resolved), (&ids[3], Status::Cancelled)] {
        let mut closed = inc.clone();
        closed.status = status;
        closed.version += 1;
        assert_eq!(
            store.write_incident(&IncidentWrite::new(closed, Expect::Version(inc.version))).await.unwrap(),
            WriteOutcome::Written
        );
    }
    let open: Vec<_> = store.open_incidents(10).await.unwrap().into_iter().map(|i| (i.id, i.status)).collect();
    assert_eq!(open, vec![(ids[0].id.clone(), Status::Dispatching), (ids[1].id.clone(), Status::Claimed)]);
    let first: Vec<_> = store.open_incidents(1).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(first, vec![ids[0].id.clone()], "oldest first");
    assert!(store.open_incidents(0).await.unwrap().is_empty());
}

async fn timeline_entries_append_after_the_state_ones(store: Arc<dyn IncidentStore>) {
    let inc = incident(&[]);
    store.write_incident(&creation(&inc, "ap")).await.unwrap();
    let extra = timeline::system(t(5), Event::Escalated);
    store.append_timeline(&inc.id, &[extra.clone(), extra.clone()]).await.unwrap();
    let tl = store.timeline(&inc.id).await.unwrap();
    assert_eq!(tl.len(), 3);
    assert_eq!(tl[1], extra);
}

async fn claims_are_counted_per_day(store: Arc<dyn IncidentStore>) {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let take = |m: &AccountId, day: &str, capacity: u32| {
        let (store, m, day) = (store.clone(), m.clone(), day.to_owned());
        async move {
            let inc = incident(std::slice::from_ref(&m));
            store.write_incident(&creation(&inc, &format!("cl-{}", inc.id))).await.unwrap();
            let mut w = claim(&inc, &m, capacity);
            w.hold.as_mut().expect("a claim holds").day = day;
            store.write_incident(&w).await.unwrap()
        }
    };
    assert_eq!(take(&a, DAY, 5).await, WriteOutcome::Written);
    assert_eq!(take(&a, DAY, 5).await, WriteOutcome::Written);
    assert_eq!(take(&b, "2026-11-21", 5).await, WriteOutcome::Written);
    assert_eq!(take(&b, DAY, 1).await, WriteOutcome::AtCapacity, "b holds one already");
    assert_eq!(
        store.claims_on(DAY, &[a.clone(), b.clone()]).await.unwrap(),
        vec![2, 0],
        "a refused claim counts nothing"
    );
    assert_eq!(store.claims_on("2026-11-21", &[b.clone(), a.clone()]).await.unwrap(), vec![1, 0]);
    assert!(store.claims_on(DAY, &[]).await.unwrap().is_empty());
}

async fn reports_are_noted_by_area_and_forgotten_after_their_window(store: Arc<dyn IncidentStore>) {
    let note = |at: i64, lat: f64| AreaNote {
        id: IncidentId::generate(),
        at: t(at),
        place: GeoPoint::new(lat, 101.7).unwrap(),
    };
    let (a, b, c) = (note(0, 36.6), note(100, 36.600_123_456_789), note(200, 36.61));
    let keep = Duration::from_secs(3600);
    // Noted by the write that files the report, and only if it applies.
    let file = |cell: &str, note: &AreaNote| {
        let mut filed = incident(&[]);
        filed.id = note.id.clone();
        let mut w = creation(&filed, &format!("track-{}", note.id));
        w.note = Some(NoteInArea { cell: cell.to_owned(), note: note.clone(), keep });
        w
    };
    for (cell, note) in [("cell-1", &a), ("cell-1", &b), ("cell-2", &c)] {
        assert_eq!(store.write_incident(&file(cell, note)).await.unwrap(), WriteOutcome::Written);
    }
    let again = file("cell-3", &a);
    assert_eq!(store.write_incident(&again).await.unwrap(), WriteOutcome::Conflict, "it exists already");
    let cells = ["cell-1".to_owned(), "cell-2".into(), "cell-3".into()];
    let mut got = store.noted_in_areas(&cells, t(50), 10).await.unwrap();
    got.sort_by_key(|n| n.at);
    assert_eq!(got, vec![b.clone(), c.clone()], "with their exact places");
    assert_eq!(store.count_noted("cell-1", t(0)).await.unwrap(), 2);
    assert_eq!(store.count_noted("cell-1", t(50)).await.unwrap(), 1);
    assert_eq!(store.count_noted("cell-3", t(0)).await.unwrap(), 0, "a refused write notes nothing");
    let areas = |since: i64| {
        let store = store.clone();
        async move {
            let mut cells = store.noted_areas(t(since)).await.unwrap();
            cells.sort();
            cells
        }
    };
    assert_eq!(areas(0).await, vec!["cell-1".to_owned(), "cell-2".into()], "every cell with a note since");
    assert_eq!(areas(150).await, vec!["cell-2".to_owned()]);
    // At most the newest `n` of each cell.
    let newest = store.noted_in_areas(&cells, t(-10), 1).await.unwrap();
    assert_eq!(newest, vec![b.clone(), c.clone()]);
    // A note older than the window is dropped when the area is noted again.
    let d = note(4000, 36.62);
    assert_eq!(store.write_incident(&file("cell-1", &d)).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.noted_in_areas(&["cell-1".into()], t(-10), 10).await.unwrap(), vec![d]);
    assert_eq!(store.count_noted("cell-1", t(-10)).await.unwrap(), 1);
    assert_eq!(areas(300).await, vec!["cell-1".to_owned()]);
    assert!(store.noted_in_areas(&[], t(0), 10).await.unwrap().is_empty());
}

/// [`IncidentWrite::announce`]: a write's messages reach the bus of the instances on this store
/// with it, in order, and a refused write's never do. Needs the bus as well as the store, so it
/// is not in [`all`]; the test files run it on every backend.
///
/// # Panics
/// On a violation.
pub async fn announcements_leave_only_with_an_applied_write(
    store: Arc<dyn IncidentStore>,
    bus: Arc<dyn crate::store::Bus>,
) {
    use crate::store::BusMessage;
    let mut rx = bus.subscribe();
    let m = AccountId::generate();
    let inc = incident(std::slice::from_ref(&m));
    let screen = |text: &str| screen_news(&inc, text);
    let mut first = creation(&inc, "an1");
    let offered = crate::domain::news::Recipients::Offered(vec![m.clone()]);
    let offer = news(&inc, Event::Offered { mediator_ids: vec![m.clone()] }, offered);
    first.announce = vec![offer.clone(), screen("reported"), BusMessage::Resync];
    assert_eq!(store.write_incident(&first).await.unwrap(), WriteOutcome::Written);

    let mut again = creation(&inc, "an2");
    again.announce = vec![screen("refused: exists")];
    assert_eq!(store.write_incident(&again).await.unwrap(), WriteOutcome::Conflict);
    let mut stale = claim(&inc, &m, 3);
    stale.expect = Expect::Version(inc.version + 5);
    stale.announce = vec![screen("refused: stale")];
    assert_eq!(store.write_incident(&stale).await.unwrap(), WriteOutcome::Conflict);
    let mut claimed = claim(&inc, &m, 3);
    claimed.announce = vec![screen("claimed")];
    assert_eq!(store.write_incident(&claimed).await.unwrap(), WriteOutcome::Written);
    let mut released = IncidentWrite::new(
        Incident { version: claimed.incident.version + 1, status: Status::Resolved, ..claimed.incident.clone() },
        Expect::Version(claimed.incident.version),
    );
    released.release = Some(m.clone());
    assert_eq!(store.write_incident(&released).await.unwrap(), WriteOutcome::Written);

    // The bus is ordered, so hearing "claimed" right after the first write's messages proves
    // the refused ones never left; Resync is local and is never announced. The store adds
    // each changed workload, with its counts, ahead of the write's own messages.
    let load = |holds, claims: Option<u32>| BusMessage::Load {
        mediator_id: m.clone(),
        holds,
        claims: claims.map(|count| crate::store::DayClaims { day: DAY.into(), count }),
    };
    // The first write's escalation is the soonest deadline, so the store says so after them.
    let sooner = BusMessage::NextDeadline { due_ms: inc.escalate_at.as_millisecond() };
    let heard = hear(&mut rx, 6).await;
    assert_eq!(heard, vec![offer, screen("reported"), sooner, load(1, Some(1)), screen("claimed"), load(0, None)]);
}

/// News of `event` about `incident` for `to` (what a write announces).
fn news(incident: &Incident, event: Event, to: crate::domain::news::Recipients) -> crate::store::BusMessage {
    let notices = vec![crate::domain::news::Notice::new(event, to)];
    crate::store::BusMessage::News { incident: Box::new(incident.clone()), notices }
}

/// News for the screens, told apart by `text` (a supervision note).
fn screen_news(incident: &Incident, text: &str) -> crate::store::BusMessage {
    let to = crate::domain::news::Recipients::Screens(incident.area.clone());
    news(incident, Event::Supervised { note: text.into() }, to)
}

/// The next `n` messages on `rx`, leaving out positions and duty.
async fn hear(rx: &mut crate::store::BusReceiver, n: usize) -> Vec<crate::store::BusMessage> {
    use crate::store::BusMessage;
    let mut heard = vec![];
    while heard.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        match next.expect("announcements arrive in time").expect("bus open") {
            BusMessage::Fixes { .. } | BusMessage::Duty { .. } => {}
            message => heard.push(message),
        }
    }
    heard
}

/// [`crate::store::BusMessage::NextDeadline`]: a write that sets a deadline sooner than every one
/// the store holds says so after its own messages (timer runners sleep until the soonest);
/// a later deadline, a cancellation or a refused write says nothing. Runs on an empty store,
/// with its bus, like [`announcements_leave_only_with_an_applied_write`].
///
/// # Panics
/// On a violation.
pub async fn a_sooner_deadline_is_announced_with_its_write(
    store: Arc<dyn IncidentStore>,
    bus: Arc<dyn crate::store::Bus>,
) {
    use crate::store::BusMessage;
    let mut rx = bus.subscribe();
    let about = incident(&[]);
    let screen = |text: &str| screen_news(&about, text);
    let file = |escalate_at: i64, name: &str| {
        let mut inc = incident(&[]);
        inc.escalate_at = t(escalate_at);
        let mut write = creation(&inc, &format!("nd-{name}"));
        write.announce = vec![screen(name)];
        (inc, write)
    };
    let (first, write) = file(300, "first");
    assert_eq!(store.write_incident(&write).await.unwrap(), WriteOutcome::Written);
    let (_, write) = file(400, "later");
    assert_eq!(store.write_incident(&write).await.unwrap(), WriteOutcome::Written);
    let (_, mut refused) = file(100, "refused");
    refused.incident.id = first.id.clone();
    assert_eq!(store.write_incident(&refused).await.unwrap(), WriteOutcome::Conflict);
    let (_, write) = file(200, "sooner");
    assert_eq!(store.write_incident(&write).await.unwrap(), WriteOutcome::Written);
    let mut cancelled =
        IncidentWrite::new(Incident { version: first.version + 1, ..first.clone() }, Expect::Version(first.version));
    cancelled.timers.push(TimerOp::Cancel(escalate_key(&first.id)));
    cancelled.announce = vec![screen("cancelled")];
    assert_eq!(store.write_incident(&cancelled).await.unwrap(), WriteOutcome::Written);

    let due = |secs| BusMessage::NextDeadline { due_ms: t(secs).as_millisecond() };
    let heard = hear(&mut rx, 6).await;
    assert_eq!(
        heard,
        vec![screen("first"), due(300), screen("later"), screen("sooner"), due(200), screen("cancelled")]
    );
}
