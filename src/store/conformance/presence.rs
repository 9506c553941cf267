//! The [`PresenceStore`](crate::store::PresenceStore) part of the suite.

use super::t;
use crate::domain::account::Fix;
use crate::domain::ids::AccountId;
use crate::domain::location::GeoPoint;
use crate::store::PresenceStore;
use std::sync::Arc;

checks!(
    presence:
    presence_keeps_duty_and_position_apart,
);

async fn presence_keeps_duty_and_position_apart(store: Arc<dyn PresenceStore>) {
    let m = AccountId::generate();
    store.set_duty(&m, true).await.unwrap();
    let fix = Fix { point: GeoPoint::new(36.6, 101.7).unwrap(), at: t(5), accuracy_m: Some(12.5) };
    store.set_fix(&m, &fix).await.unwrap();
    let other = AccountId::generate();
    store.set_fix(&other, &fix).await.unwrap();
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
    store.set_fixes(&[(m.clone(), moved), (third.clone(), fix)]).await.unwrap();
    store.set_fixes(&[]).await.unwrap();
    let all = store.all_presence().await.unwrap();
    let fix_of = |id: &AccountId| all.iter().find(|p| &p.mediator_id == id).and_then(|p| p.fix);
    assert_eq!((fix_of(&m), fix_of(&third), fix_of(&other)), (Some(moved), Some(fix), Some(fix)));
}
