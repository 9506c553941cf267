//! The [`PresenceStore`](crate::store::PresenceStore) part of the suite.

use super::t;
use crate::domain::account::Fix;
use crate::domain::ids::AccountId;
use crate::domain::location::GeoPoint;
use crate::store::{BusMessage, FixBatch, PresenceStore};
use std::sync::Arc;
use std::time::Duration;

/// `fixes` as one batch.
fn batch(fixes: &[(AccountId, Fix)]) -> FixBatch {
    fixes.to_vec().into()
}

checks!(
    presence:
    presence_keeps_duty_and_position_apart,
    stale_positions_are_pruned_oldest_first_and_duty_stays,
);

async fn presence_keeps_duty_and_position_apart(store: Arc<dyn PresenceStore>) {
    let m = AccountId::generate();
    store.set_duty(&m, true).await.unwrap();
    let fix = Fix { point: GeoPoint::new(36.6, 101.7).unwrap(), at: t(5), accuracy_m: Some(12.5) };
    store.store_fixes(&batch(&[(m.clone(), fix)])).await.unwrap();
    let other = AccountId::generate();
    store.store_fixes(&batch(&[(other.clone(), fix)])).await.unwrap();
    let mut all = store.all_presence().await.unwrap();
    all.sort_by(|a, b| a.mediator_id.cmp(&b.mediator_id));
    let mine = all.iter().find(|p| p.mediator_id == m).expect("present");
    assert!(mine.on_duty);
    assert_eq!(mine.fix, Some(fix));
    let theirs = all.iter().find(|p| p.mediator_id == other).expect("present");
    assert!(!theirs.on_duty, "no duty record means off duty");
    store.set_duty(&m, false).await.unwrap();
    let all = store.all_presence().await.unwrap();
    let mine = all.iter().find(|p| p.mediator_id == m).unwrap();
    assert!(!mine.on_duty);
    assert_eq!(mine.fix, Some(fix), "going off duty keeps the last fix");

    // A batch: every one recorded, the newest replacing what was held.
    let moved = Fix { point: GeoPoint::new(36.61, 101.71).unwrap(), at: t(9), accuracy_m: None };
    let third = AccountId::generate();
    store.store_fixes(&batch(&[(m.clone(), moved), (third.clone(), fix)])).await.unwrap();
    store.store_fixes(&batch(&[])).await.unwrap();
    let all = store.all_presence().await.unwrap();
    let fix_of = |id: &AccountId| all.iter().find(|p| &p.mediator_id == id).and_then(|p| p.fix);
    assert_eq!((fix_of(&m), fix_of(&third), fix_of(&other)), (Some(moved), Some(fix), Some(fix)));
}

async fn stale_positions_are_pruned_oldest_first_and_duty_stays(store: Arc<dyn PresenceStore>) {
    // Positions are filed by their minute, rounded up (`t(0)` is on a minute): these three are
    // filed at `t(60)`, `t(120)` and `t(180)`.
    let at = |secs| Fix { point: GeoPoint::new(36.6, 101.7).unwrap(), at: t(secs), accuracy_m: None };
    let (oldest, old, fresh) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
    store.set_duty(&oldest, true).await.unwrap();
    store
        .store_fixes(&batch(&[(old.clone(), at(70)), (oldest.clone(), at(10)), (fresh.clone(), at(130))]))
        .await
        .unwrap();
    let fix_of = |all: &[crate::domain::account::Presence], id: &AccountId| {
        all.iter().find(|p| &p.mediator_id == id).map(|p| (p.on_duty, p.fix.is_some()))
    };

    assert_eq!(store.prune_fixes_older_than(t(59), 10).await.unwrap(), 0, "silent for less than its minute: kept");
    assert_eq!(store.prune_fixes_older_than(t(180), 1).await.unwrap(), 1, "at most `max` a call");
    let all = store.all_presence().await.unwrap();
    assert_eq!(fix_of(&all, &oldest), Some((true, false)), "the oldest goes first; its duty stays");
    assert_eq!(fix_of(&all, &old), Some((false, true)));

    assert_eq!(store.prune_fixes_older_than(t(180), 10).await.unwrap(), 1, "a fix of the cutoff's minute is not older");
    let all = store.all_presence().await.unwrap();
    assert_eq!(fix_of(&all, &old), None, "no duty and no position: gone");
    assert_eq!(fix_of(&all, &fresh), Some((false, true)));
    assert_eq!(store.prune_fixes_older_than(t(180), 10).await.unwrap(), 0);
}

/// A batch of positions is announced on the bus with its write, once: whoever hears it reads
/// every position in it, and an empty batch announces nothing. Needs the bus, so it is not in
/// [`super::all`]; the test files run it on every backend (a refused batch announcing nothing
/// is Redis's alone to check: the memory store never refuses one).
///
/// # Panics
/// On a violation.
pub async fn a_batch_of_positions_is_announced_once_and_heard_when_readable(
    store: Arc<dyn PresenceStore>,
    bus: Arc<dyn crate::store::Bus>,
) {
    let mut rx = bus.subscribe();
    let marker = BusMessage::Duty { mediator_id: AccountId::generate(), on: true };
    // On hearing a batch, read the store at once (while its writer may still wait for its
    // answer): every position in it must be there.
    let listener = {
        let (store, marker) = (store.clone(), marker.clone());
        tokio::spawn(async move {
            let mut heard = vec![];
            loop {
                let next = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
                match next.expect("the bus delivers within 5 s").expect("the bus is open") {
                    BusMessage::Fixes { fixes } => {
                        let all = store.all_presence().await.unwrap();
                        let readable = fixes
                            .iter()
                            .all(|(id, fix)| all.iter().any(|p| &p.mediator_id == id && p.fix.as_ref() == Some(fix)));
                        heard.push((fixes, readable));
                    }
                    message if message == marker => return heard,
                    other => panic!("only the batches and the marker were sent: {other:?}"),
                }
            }
        })
    };
    let fix = |i: u32| Fix {
        point: GeoPoint::new(36.6 + f64::from(i) * 1e-5, 101.7).unwrap(),
        at: t(i.into()),
        accuracy_m: None,
    };
    let first = batch(&(0..50).map(|i| (AccountId::generate(), fix(i))).collect::<Vec<_>>());
    let second = batch(&[(AccountId::generate(), fix(60))]);
    store.store_fixes(&first).await.unwrap();
    store.store_fixes(&batch(&[])).await.unwrap();
    store.store_fixes(&second).await.unwrap();
    // Published after both writes were answered: by then each batch's own message has left.
    bus.publish(&marker).await.unwrap();

    let heard = listener.await.expect("the listener");
    assert_eq!(heard, vec![(first, true), (second, true)], "each batch once, in order, readable when heard");
}

/// [`crate::store::BusMessage::Fixes`]: a batch of positions published on the bus reaches its
/// subscribers as it was sent, bit for bit (on Redis it travels as a binary frame), in order
/// with the messages around it. Needs the bus, so it is not in [`super::all`]; the test files
/// run it on every backend.
///
/// # Panics
/// On a violation.
pub async fn a_batch_of_positions_crosses_the_bus_unchanged(
    _store: Arc<dyn crate::store::IncidentStore>,
    bus: Arc<dyn crate::store::Bus>,
) {
    use crate::store::BusMessage;
    let mut rx = bus.subscribe();
    let fix = |lat: f64, secs: i64, accuracy_m: Option<f32>| Fix {
        point: GeoPoint::new(lat, 101.778_212_345_678_9).unwrap(),
        at: t(secs).checked_add(jiff::SignedDuration::from_nanos(123_456_789)).unwrap(),
        accuracy_m,
    };
    let batch: Vec<(AccountId, Fix)> = (0..200)
        .map(|i| {
            (AccountId::generate(), fix(36.617_1 + f64::from(i) * 1e-7, i64::from(i), (i % 2 == 0).then_some(7.5)))
        })
        .collect();
    let sent = vec![
        BusMessage::Fixes { fixes: batch.into() },
        BusMessage::Duty { mediator_id: AccountId::generate(), on: true },
        BusMessage::Fixes { fixes: Vec::new().into() },
    ];
    for message in &sent {
        bus.publish(message).await.unwrap();
    }
    let mut heard = vec![];
    while heard.len() < sent.len() {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
        heard.push(next.expect("the bus delivers within 5 s").expect("the bus is open"));
    }
    assert_eq!(heard, sent);
}
