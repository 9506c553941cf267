//! Behaviour every [`Store`] backend must have. Each function takes a fresh, empty store and
//! panics on a violation; `tests/store_conformance.rs` runs the whole list against memory and
//! against a real `redis-server`.

use super::{
    AccountWrite, AreaNote, ClaimedTimer, Creation, Expect, Hold, IdempotencyClaim, IncidentWrite, Store, TimerKey,
    TimerKind, TimerOp, WriteOutcome,
};
use crate::domain::account::{Account, Fix, Phone, Role};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::{Event, Incident, Status};
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::domain::timeline;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// A named behaviour check.
pub type Check = (&'static str, fn(Arc<dyn Store>) -> futures_util::future::BoxFuture<'static, ()>);

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
    accounts_are_unique_by_phone_and_updated_by_version,
    a_batch_of_accounts_is_written_whole_or_not_at_all,
    an_account_changes_phone_and_is_audited_with_the_change,
    presence_keeps_duty_and_position_apart,
    scenes_round_trip,
    creating_an_incident_writes_everything_at_once,
    a_stale_version_writes_nothing,
    exactly_one_of_many_concurrent_claims_wins,
    capacity_guard_refuses_a_full_mediator,
    idempotency_key_replays_the_first_incident,
    due_timers_are_leased_not_deleted,
    a_finished_timer_stays_if_rescheduled,
    incidents_list_newest_first_within_range,
    open_incidents_are_kept_apart_from_closed_ones,
    timeline_entries_append_after_the_state_ones,
    claims_are_counted_per_day,
    areas_are_replaced_by_code,
    reports_are_noted_by_area_and_forgotten_after_their_window,
    // --- residents via WeChat (issue #3) ---
    resident_sessions_round_trip_and_expire,
    a_delivery_is_claimed_once_and_answered_the_same,
    a_signed_url_remembers_its_first_body,
    rate_windows_count_refund_reset_and_clear,
    the_wechat_token_is_cached_locked_and_dropped_only_if_stale,
    wechat_qr_codes_and_incident_openids_round_trip,
);

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).expect("valid test time")
}

fn account(role: Role, phone: &str) -> Account {
    Account {
        id: AccountId::generate(),
        role,
        name: "张三".into(),
        phone: Phone::parse(phone).expect("test phone"),
        password_hash: "$argon2id$test".into(),
        enabled: true,
        specialties: vec![Category::Neighbor],
        capacity: 2,
        area: None,
        created_at: t(0),
        version: 1,
        wechat_openid: None,
        token_generation: 0,
    }
}

fn audit(action: AuditAction, target: &str) -> AuditEntry {
    AuditEntry {
        at: t(1),
        actor_id: "ops".into(),
        actor_name: None,
        action,
        target_kind: "mediator".into(),
        target_id: target.into(),
        target_name: "张三".into(),
        detail: None,
    }
}

/// A fresh incident, offered to `offered`, filed at `t(0)` and escalating at `t(300)`.
#[must_use]
pub fn incident(offered: &[AccountId]) -> Incident {
    use crate::domain::incident::{Command, Filing, Offer, Report, decide};
    let loc = GeoPoint::new(36.6171, 101.7782).expect("valid");
    let filing = Filing {
        report: Report {
            id: IncidentId::generate(),
            category: Category::Neighbor,
            risk: Risk::Blue,
            description: "楼上漏水".into(),
            location: loc,
            cell: loc.cell(h3o::Resolution::Eight).to_string(),
            scene_id: None,
            resident_phone: Some(Phone::parse("13800135678").expect("valid")),
            address: None,
        },
        area: crate::domain::area::AreaPath::default(),
        place_name: None,
        approximate: false,
        offers: offered.iter().map(|m| Offer::new(m.clone(), 100.0, t(0))).collect(),
        wave: 1,
        duplicate_of: None,
        recurring: false,
        escalate_after: jiff::SignedDuration::from_secs(300),
    };
    let mut incident =
        decide(None, &Command::File(Box::new(filing)), t(0)).expect("filing applies to nothing").incident;
    // Nobody offered: the fixture still escalates at `t(300)`, as the checks expect.
    incident.escalate_at = t(300);
    incident
}

fn escalate_key(id: &IncidentId) -> TimerKey {
    TimerKey { kind: TimerKind::Escalate, incident_id: id.clone() }
}

/// The write that creates `incident` with its escalation timer and offers.
#[must_use]
pub fn creation(incident: &Incident, tracking_hash: &str) -> IncidentWrite {
    let mut w = IncidentWrite::new(incident.clone(), Expect::Absent);
    w.append.push(timeline::system(incident.created_at, Event::Reported));
    w.timers.push(TimerOp::Schedule(escalate_key(&incident.id), incident.escalate_at));
    w.offers_open = incident.open_offer_ids().cloned().collect();
    w.creation = Some(Creation { tracking_hash: tracking_hash.into(), idempotency: None });
    w
}

/// The day claims in these checks count on.
const DAY: &str = "2026-11-22";

fn claim(incident: &Incident, mediator: &AccountId, capacity: u32) -> IncidentWrite {
    let mut next = incident.clone();
    next.status = Status::Claimed;
    next.claimed_by = Some(mediator.clone());
    next.version += 1;
    let mut w = IncidentWrite::new(next, Expect::Version(incident.version));
    w.append.push(timeline::system(t(10), Event::Claimed { mediator_id: mediator.clone() }));
    w.timers.push(TimerOp::Cancel(escalate_key(&incident.id)));
    w.offers_close = incident.open_offer_ids().cloned().collect();
    w.hold = Some(Hold { mediator_id: mediator.clone(), capacity, day: DAY.into() });
    w
}

async fn accounts_are_unique_by_phone_and_updated_by_version(store: Arc<dyn Store>) {
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

async fn a_batch_of_accounts_is_written_whole_or_not_at_all(store: Arc<dyn Store>) {
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

async fn an_account_changes_phone_and_is_audited_with_the_change(store: Arc<dyn Store>) {
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

async fn presence_keeps_duty_and_position_apart(store: Arc<dyn Store>) {
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

async fn scenes_round_trip(store: Arc<dyn Store>) {
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

async fn creating_an_incident_writes_everything_at_once(store: Arc<dyn Store>) {
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

async fn a_stale_version_writes_nothing(store: Arc<dyn Store>) {
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

async fn exactly_one_of_many_concurrent_claims_wins(store: Arc<dyn Store>) {
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

async fn capacity_guard_refuses_a_full_mediator(store: Arc<dyn Store>) {
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

async fn idempotency_key_replays_the_first_incident(store: Arc<dyn Store>) {
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
    let remembered =
        super::RememberedKey { incident_id: first.id.clone(), fingerprint: "f1".into(), receipt: "receipt-f1".into() };
    assert_eq!(store.remembered_key("k1").await.unwrap(), Some(remembered));
    assert_eq!(store.remembered_key("never-used").await.unwrap(), None);
}

async fn due_timers_are_leased_not_deleted(store: Arc<dyn Store>) {
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

async fn a_finished_timer_stays_if_rescheduled(store: Arc<dyn Store>) {
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

async fn incidents_list_newest_first_within_range(store: Arc<dyn Store>) {
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

async fn open_incidents_are_kept_apart_from_closed_ones(store: Arc<dyn Store>) {
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

async fn timeline_entries_append_after_the_state_ones(store: Arc<dyn Store>) {
    let inc = incident(&[]);
    store.write_incident(&creation(&inc, "ap")).await.unwrap();
    let extra = timeline::system(t(5), Event::Escalated);
    store.append_timeline(&inc.id, &[extra.clone(), extra.clone()]).await.unwrap();
    let tl = store.timeline(&inc.id).await.unwrap();
    assert_eq!(tl.len(), 3);
    assert_eq!(tl[1], extra);
}

// --- residents via WeChat (issue #3) ---------------------------------------------------------

/// Poll `f` until it is true or 5 s pass (TTLs are real time on both backends).
async fn eventually_true<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn resident_sessions_round_trip_and_expire(store: Arc<dyn Store>) {
    use super::wechat::ResidentSession;
    let session = ResidentSession {
        scene: Some(SceneId::generate()),
        place: Some(GeoPoint::new(36.6171, 101.7782).expect("valid")),
        bound_at: t(5),
    };
    assert_eq!(store.resident_session("aa").await.unwrap(), None);
    store.put_resident_session("aa", &session, Duration::from_secs(60)).await.unwrap();
    assert_eq!(store.resident_session("aa").await.unwrap(), Some(session.clone()));
    assert_eq!(store.resident_session("bb").await.unwrap(), None, "sessions are per openid");
    let moved = ResidentSession { scene: None, ..session.clone() };
    store.put_resident_session("aa", &moved, Duration::from_millis(100)).await.unwrap();
    assert_eq!(store.resident_session("aa").await.unwrap(), Some(moved), "a put replaces");
    eventually_true("the session to expire", || {
        let store = store.clone();
        async move { store.resident_session("aa").await.unwrap().is_none() }
    })
    .await;
}

async fn a_delivery_is_claimed_once_and_answered_the_same(store: Arc<dyn Store>) {
    use super::wechat::DeliveryClaim;
    let claims = futures_util::future::join_all((0..8).map(|_| {
        let store = store.clone();
        async move { store.claim_delivery("d1", Duration::from_secs(30)).await.unwrap() }
    }))
    .await;
    assert_eq!(claims.iter().filter(|c| **c == DeliveryClaim::Claimed).count(), 1, "{claims:?}");
    assert!(claims.iter().all(|c| matches!(c, DeliveryClaim::Claimed | DeliveryClaim::Pending)), "{claims:?}");
    store.finish_delivery("d1", "t:好的", Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        store.claim_delivery("d1", Duration::from_secs(30)).await.unwrap(),
        DeliveryClaim::Answered("t:好的".into())
    );
    store.release_delivery("d1").await.unwrap();
    assert_eq!(
        store.claim_delivery("d1", Duration::from_secs(30)).await.unwrap(),
        DeliveryClaim::Answered("t:好的".into()),
        "an answer is never released"
    );
    // A released claim can be claimed again; a lapsed lease too.
    assert_eq!(store.claim_delivery("d2", Duration::from_secs(30)).await.unwrap(), DeliveryClaim::Claimed);
    store.release_delivery("d2").await.unwrap();
    assert_eq!(store.claim_delivery("d2", Duration::from_millis(100)).await.unwrap(), DeliveryClaim::Claimed);
    eventually_true("the lease to lapse", || {
        let store = store.clone();
        async move { store.claim_delivery("d2", Duration::from_secs(30)).await.unwrap() == DeliveryClaim::Claimed }
    })
    .await;
}

async fn a_signed_url_remembers_its_first_body(store: Arc<dyn Store>) {
    let ttl = Duration::from_secs(60);
    assert_eq!(store.remember_signed_url("u1", "b1", ttl).await.unwrap(), None);
    assert_eq!(store.remember_signed_url("u1", "b1", ttl).await.unwrap(), Some("b1".into()));
    assert_eq!(store.remember_signed_url("u1", "b2", ttl).await.unwrap(), Some("b1".into()), "the first body stays");
    assert_eq!(store.remember_signed_url("u2", "b2", ttl).await.unwrap(), None);
}

async fn rate_windows_count_refund_reset_and_clear(store: Arc<dyn Store>) {
    let window = Duration::from_secs(60);
    for expected in 1..=3 {
        let hit = store.hit_rate_window("r1", window).await.unwrap();
        assert_eq!(hit.count, expected);
        assert!(hit.resets_in <= window && hit.resets_in > Duration::from_secs(50), "{hit:?}");
    }
    assert_eq!(store.hit_rate_window("r2", window).await.unwrap().count, 1, "windows are per key");
    store.refund_rate_window("r1").await.unwrap();
    assert_eq!(store.hit_rate_window("r1", window).await.unwrap().count, 3, "a refund takes back one hit");
    store.refund_rate_window("never-hit").await.unwrap();
    assert_eq!(store.hit_rate_window("never-hit", window).await.unwrap().count, 1, "nothing to take back");
    store.clear_rate_window("r1").await.unwrap();
    store.clear_rate_window("never-hit").await.unwrap();
    assert_eq!(store.hit_rate_window("r1", window).await.unwrap().count, 1, "a cleared window starts again");
    assert_eq!(store.hit_rate_window("r2", window).await.unwrap().count, 2, "clearing one leaves the others");
    assert_eq!(store.hit_rate_window("r3", Duration::from_millis(100)).await.unwrap().count, 1);
    eventually_true("the window to reset", || {
        let store = store.clone();
        async move { store.hit_rate_window("r3", Duration::from_secs(60)).await.unwrap().count == 1 }
    })
    .await;
}

async fn the_wechat_token_is_cached_locked_and_dropped_only_if_stale(store: Arc<dyn Store>) {
    use super::wechat::CachedToken;
    assert_eq!(store.wechat_token().await.unwrap(), None);
    let token = CachedToken {
        token: "tok-1".into(),
        expires_at: Timestamp::now().checked_add(jiff::SignedDuration::from_secs(7200)).expect("valid"),
    };
    store.put_wechat_token(&token).await.unwrap();
    let back = store.wechat_token().await.unwrap().expect("cached");
    assert_eq!(back.token, "tok-1");
    assert!((back.expires_at.as_millisecond() - token.expires_at.as_millisecond()).abs() < 1000);
    store.drop_wechat_token("someone-elses").await.unwrap();
    assert!(store.wechat_token().await.unwrap().is_some(), "a newer token is not dropped");
    store.drop_wechat_token("tok-1").await.unwrap();
    assert_eq!(store.wechat_token().await.unwrap(), None);
    let expired = CachedToken { token: "old".into(), expires_at: Timestamp::now() };
    store.put_wechat_token(&expired).await.unwrap();
    assert_eq!(store.wechat_token().await.unwrap(), None, "an expired token is never served");

    assert!(store.lock_wechat_token_refresh("a", Duration::from_secs(30)).await.unwrap());
    assert!(!store.lock_wechat_token_refresh("b", Duration::from_secs(30)).await.unwrap());
    store.unlock_wechat_token_refresh("b").await.unwrap();
    assert!(!store.lock_wechat_token_refresh("b", Duration::from_secs(30)).await.unwrap(), "only the holder unlocks");
    store.unlock_wechat_token_refresh("a").await.unwrap();
    assert!(store.lock_wechat_token_refresh("b", Duration::from_millis(100)).await.unwrap());
    eventually_true("the lock lease to lapse", || {
        let store = store.clone();
        async move { store.lock_wechat_token_refresh("c", Duration::from_secs(30)).await.unwrap() }
    })
    .await;
}

async fn wechat_qr_codes_and_incident_openids_round_trip(store: Arc<dyn Store>) {
    let scene = SceneId::generate();
    assert_eq!(store.wechat_qr(&scene).await.unwrap(), None);
    store.put_wechat_qr(&scene, "http://weixin.qq.com/q/abc").await.unwrap();
    assert_eq!(store.wechat_qr(&scene).await.unwrap().as_deref(), Some("http://weixin.qq.com/q/abc"));
    assert_eq!(store.wechat_qr(&SceneId::generate()).await.unwrap(), None);
    let id = IncidentId::generate();
    assert_eq!(store.incident_openid(&id).await.unwrap(), None);
    store.set_incident_openid(&id, "oUser1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(store.incident_openid(&id).await.unwrap().as_deref(), Some("oUser1"));
}

async fn claims_are_counted_per_day(store: Arc<dyn Store>) {
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

async fn areas_are_replaced_by_code(store: Arc<dyn Store>) {
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

async fn reports_are_noted_by_area_and_forgotten_after_their_window(store: Arc<dyn Store>) {
    let note = |at: i64, lat: f64| AreaNote {
        id: IncidentId::generate(),
        at: t(at),
        place: GeoPoint::new(lat, 101.7).unwrap(),
    };
    let (a, b, c) = (note(0, 36.6), note(100, 36.600_123_456_789), note(200, 36.61));
    let keep = Duration::from_secs(3600);
    store.note_in_area("cell-1", &a, keep).await.unwrap();
    store.note_in_area("cell-1", &b, keep).await.unwrap();
    store.note_in_area("cell-2", &c, keep).await.unwrap();
    let cells = ["cell-1".to_owned(), "cell-2".into(), "cell-3".into()];
    let mut got = store.noted_in_areas(&cells, t(50), 10).await.unwrap();
    got.sort_by_key(|n| n.at);
    assert_eq!(got, vec![b.clone(), c.clone()], "with their exact places");
    assert_eq!(store.count_noted("cell-1", t(0)).await.unwrap(), 2);
    assert_eq!(store.count_noted("cell-1", t(50)).await.unwrap(), 1);
    assert_eq!(store.count_noted("cell-3", t(0)).await.unwrap(), 0);
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
    store.note_in_area("cell-1", &d, keep).await.unwrap();
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
pub async fn announcements_leave_only_with_an_applied_write(store: Arc<dyn Store>, bus: Arc<dyn super::Bus>) {
    use super::BusMessage;
    let mut rx = bus.subscribe();
    let screen = |text: &str| BusMessage::ToOperators { payload: text.into(), place: None };
    let m = AccountId::generate();
    let inc = incident(std::slice::from_ref(&m));
    let mut first = creation(&inc, "an1");
    let offer = BusMessage::ToMediators { mediator_ids: vec![m.clone()], payload: "offer".into() };
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
        claims: claims.map(|count| super::DayClaims { day: DAY.into(), count }),
    };
    // The first write's escalation is the soonest deadline, so the store says so after them.
    let sooner = BusMessage::NextDeadline { due_ms: inc.escalate_at.as_millisecond() };
    let heard = hear(&mut rx, 6).await;
    assert_eq!(heard, vec![offer, screen("reported"), sooner, load(1, Some(1)), screen("claimed"), load(0, None)]);
}

/// The next `n` messages on `rx`, leaving out positions and duty.
async fn hear(rx: &mut super::BusReceiver, n: usize) -> Vec<super::BusMessage> {
    use super::BusMessage;
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

/// [`super::BusMessage::NextDeadline`]: a write that sets a deadline sooner than every one
/// the store holds says so after its own messages (timer runners sleep until the soonest);
/// a later deadline, a cancellation or a refused write says nothing. Runs on an empty store,
/// with its bus, like [`announcements_leave_only_with_an_applied_write`].
///
/// # Panics
/// On a violation.
pub async fn a_sooner_deadline_is_announced_with_its_write(store: Arc<dyn Store>, bus: Arc<dyn super::Bus>) {
    use super::BusMessage;
    let mut rx = bus.subscribe();
    let screen = |text: &str| BusMessage::ToOperators { payload: text.into(), place: None };
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
