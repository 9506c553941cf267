//! The [`Directory`](crate::store::Directory) part of the suite.

use super::{account, audit, t};
use crate::domain::account::{Phone, Role};
use crate::domain::audit::AuditAction;
use crate::domain::ids::{AccountId, SceneId};
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::store::{AccountWrite, Directory};
use std::sync::Arc;

checks!(
    directory:
    accounts_are_unique_by_phone_and_updated_by_version,
    a_batch_of_accounts_is_written_whole_or_not_at_all,
    an_account_changes_phone_and_is_audited_with_the_change,
    scenes_round_trip,
    areas_are_replaced_by_code,
);

async fn accounts_are_unique_by_phone_and_updated_by_version(store: Arc<dyn Directory>) {
    let a = account(Role::Mediator, "13800000001");
    assert!(store.insert_account(&a).await.unwrap());
    let mut dup = account(Role::Operator, "13800000001");
    dup.name = "李四".into();
    assert!(!store.insert_account(&dup).await.unwrap(), "a phone logs in one account only");
    let by_phone = store.account_by_phone(&a.phone).await.unwrap().expect("found by phone");
    assert_eq!(by_phone, a);

    let mut changed = a.clone();
    changed.capacity = 5;
    changed.version = 2;
    assert!(store.update_account(&changed, 1).await.unwrap());
    assert!(!store.update_account(&changed, 1).await.unwrap(), "stale version refused");
    assert_eq!(store.get_account(&a.id).await.unwrap().unwrap().capacity, 5);

    let b = account(Role::Mediator, "13800000002");
    store.insert_account(&b).await.unwrap();
    let listed: Vec<_> = store.list_accounts(Role::Mediator).await.unwrap().into_iter().map(|x| x.id).collect();
    assert_eq!(listed, vec![a.id.clone(), b.id.clone()]);
    assert!(store.list_accounts(Role::Operator).await.unwrap().is_empty());
    let got = store.get_accounts(&[b.id.clone(), AccountId::generate(), a.id.clone()]).await.unwrap();
    assert_eq!(
        got.iter().map(|x| x.as_ref().map(|a| a.id.clone())).collect::<Vec<_>>(),
        vec![Some(b.id), None, Some(a.id)]
    );
}

async fn a_batch_of_accounts_is_written_whole_or_not_at_all(store: Arc<dyn Directory>) {
    let existing = account(Role::Mediator, "13800000010");
    assert!(store.insert_account(&existing).await.unwrap());
    let batch = [
        account(Role::Mediator, "13800000011"),
        account(Role::Mediator, "13800000010"),
        account(Role::Mediator, "13800000012"),
        account(Role::Mediator, "13800000012"),
    ];
    let note = [audit(AuditAction::AccountsImported, "batch")];
    assert_eq!(store.insert_accounts(&batch, &note).await.unwrap(), vec![1, 3], "a taken phone and a repeat");
    assert_eq!(store.list_accounts(Role::Mediator).await.unwrap().len(), 1, "nothing of the batch was written");
    assert_eq!(store.list_audit(0, 10).await.unwrap().1, 0, "nor its audit entry");

    let good = [batch[0].clone(), batch[2].clone()];
    assert!(store.insert_accounts(&good, &note).await.unwrap().is_empty());
    assert_eq!(store.list_accounts(Role::Mediator).await.unwrap().len(), 3);
    let by_phone = store.account_by_phone(&good[1].phone).await.unwrap().expect("found by phone");
    assert_eq!(by_phone.id, good[1].id);
    let (entries, total) = store.list_audit(0, 10).await.unwrap();
    assert_eq!((entries, total), (note.to_vec(), 1));
}

async fn an_account_changes_phone_and_is_audited_with_the_change(store: Arc<dyn Directory>) {
    let a = account(Role::Operator, "13800000020");
    let b = account(Role::Operator, "13800000021");
    assert!(store.insert_account(&a).await.unwrap());
    assert!(store.insert_account(&b).await.unwrap());
    let mut moved = a.clone();
    moved.phone = Phone::parse("13800000022").unwrap();
    moved.version = 2;
    let notes = [audit(AuditAction::PhoneChanged, "a"), audit(AuditAction::AccountDisabled, "a")];
    assert_eq!(store.change_account(&moved, 2, &notes).await.unwrap(), AccountWrite::Conflict, "stale version");
    let mut onto_b = moved.clone();
    onto_b.phone = b.phone.clone();
    assert_eq!(store.change_account(&onto_b, 1, &notes).await.unwrap(), AccountWrite::PhoneTaken);
    assert_eq!(store.list_audit(0, 10).await.unwrap().1, 0, "a refused change is not audited");
    assert_eq!(store.change_account(&moved, 1, &notes).await.unwrap(), AccountWrite::Written);
    assert!(store.account_by_phone(&a.phone).await.unwrap().is_none(), "the old phone is free");
    assert_eq!(store.account_by_phone(&moved.phone).await.unwrap().map(|x| x.id), Some(a.id.clone()));
    let mut reuse = account(Role::Mediator, "13800000020");
    reuse.name = "新人".into();
    assert!(store.insert_account(&reuse).await.unwrap(), "the old phone can be given to someone else");

    // Newest first, paged; a single append lands on top.
    store.append_audit(&audit(AuditAction::SceneCreated, "s")).await.unwrap();
    let (page, total) = store.list_audit(1, 1).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(page[0].action, AuditAction::AccountDisabled, "one change's entries keep their order: {page:?}");
    let (first, _) = store.list_audit(0, 3).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.action).collect::<Vec<_>>(),
        [AuditAction::SceneCreated, AuditAction::AccountDisabled, AuditAction::PhoneChanged]
    );
    assert!(store.list_audit(5, 10).await.unwrap().0.is_empty());
}

async fn scenes_round_trip(store: Arc<dyn Directory>) {
    let s = Scene {
        id: SceneId::generate(),
        name: "幸福小区3号楼".into(),
        location: GeoPoint::new(36.6, 101.7).unwrap(),
        grid: Some("G-01".into()),
        created_at: t(0),
    };
    store.insert_scene(&s).await.unwrap();
    assert_eq!(store.get_scene(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(store.list_scenes().await.unwrap(), vec![s]);
    assert_eq!(store.get_scene(&SceneId::generate()).await.unwrap(), None);
}

async fn areas_are_replaced_by_code(store: Arc<dyn Directory>) {
    use crate::domain::area::{Area, AreaLevel};
    let square = serde_json::json!({ "type": "Polygon", "coordinates": [[[101.7, 36.6], [101.8, 36.6], [101.8, 36.7], [101.7, 36.6]]] });
    let mut a = Area {
        code: "D1".into(),
        name: "城中区".into(),
        level: AreaLevel::District,
        parent: None,
        geometry: square.clone(),
    };
    let b = Area {
        code: "S1".into(),
        name: "人民街道".into(),
        level: AreaLevel::Street,
        parent: Some("D1".into()),
        geometry: square,
    };
    store.put_area(&a).await.unwrap();
    store.put_area(&b).await.unwrap();
    a.name = "城中区（新）".into();
    store.put_area(&a).await.unwrap();
    let mut all = store.list_areas().await.unwrap();
    all.sort_by(|x, y| x.code.cmp(&y.code));
    assert_eq!(all, vec![a, b]);
}
