//! Behaviour every backend must have, one file per port. Each check takes a fresh, empty
//! backend's [`Ports`](super::Ports), uses the one port it is about, and panics on a violation;
//! `tests/store_conformance.rs` runs the whole list against memory and against a real
//! `redis-server`. Shared fixtures live here.

use super::{Creation, Expect, Hold, IncidentWrite, TimerKey, TimerKind, TimerOp};
use crate::domain::account::{Account, Phone, Role};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Event, Incident, Status};
use crate::domain::location::GeoPoint;
use crate::domain::timeline;
use jiff::Timestamp;
use std::time::Duration;

/// A named behaviour check.
pub type Check = (&'static str, fn(super::Ports) -> futures_util::future::BoxFuture<'static, ()>);

macro_rules! checks {
    ($port:ident: $($name:ident),* $(,)?) => {
        /// This port's checks, by name.
        pub(super) fn checks() -> Vec<super::Check> {
            vec![$((stringify!($name), |ports: crate::store::Ports| -> futures_util::future::BoxFuture<'static, ()> {
                Box::pin($name(ports.$port))
            })),*]
        }
    };
}

mod directory;
mod incidents;
mod leases;
mod presence;
mod wechat;

/// Every check, by name: each port's part of the suite in turn.
#[must_use]
pub fn all() -> Vec<Check> {
    [directory::checks(), presence::checks(), incidents::checks(), leases::checks(), wechat::checks()].concat()
}

pub use incidents::{a_sooner_deadline_is_announced_with_its_write, announcements_leave_only_with_an_applied_write};
pub use presence::{
    a_batch_of_positions_crosses_the_bus_unchanged, a_batch_of_positions_is_announced_once_and_heard_when_readable,
};

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
    TimerKey::new(TimerKind::Escalate, id.clone())
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
