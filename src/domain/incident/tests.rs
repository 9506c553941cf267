//! The state machine's examples and invariants (the full table of commands is in `table.rs`).

use super::*;
use crate::domain::area::{AreaLevel, AreaPath};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::location::GeoPoint;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// What a resident said, at a fixed place.
pub(super) fn report(risk: Risk) -> Report {
    Report {
        id: IncidentId::generate(),
        category: Category::Neighbor,
        risk,
        description: "noise".into(),
        location: GeoPoint::new(36.6, 101.7).unwrap(),
        cell: "8830e1d8a1fffff".into(),
        scene_id: None,
        resident_phone: None,
        address: None,
    }
}

/// Filing `report` with offers to `offered`, in an area with a street.
pub(super) fn filing(report: Report, offered: &[&AccountId]) -> Filing {
    Filing {
        report,
        area: AreaPath::default()
            .with(AreaLevel::District, "630103".into())
            .with(AreaLevel::Street, "630103001".into()),
        place_name: None,
        approximate: false,
        offers: offered.iter().map(|m| Offer::new((*m).clone(), 10.0, now())).collect(),
        wave: 1,
        duplicate_of: None,
        recurring: false,
        escalate_after: SignedDuration::from_mins(5),
    }
}

/// A blue report just filed and offered to `offered`.
pub(super) fn incident(offered: &[&AccountId]) -> Incident {
    decide(None, &Command::File(Box::new(filing(report(Risk::Blue), offered))), now()).unwrap().incident
}

pub(super) fn deadlines() -> ClaimDeadlines {
    ClaimDeadlines {
        arrive_by: Timestamp::from_second(1_800_000_900).unwrap(),
        resolve_by: Timestamp::from_second(1_800_003_600).unwrap(),
    }
}

pub(super) fn accept(m: &AccountId) -> Command {
    Command::Accept { mediator: m.clone(), deadlines: deadlines() }
}

pub(super) fn assign(op: &AccountId, m: &AccountId) -> Command {
    Command::Assign { operator: op.clone(), mediator: m.clone(), deadlines: deadlines() }
}

pub(super) fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

#[test]
fn the_first_accept_claims_and_later_ones_are_refused() {
    let (a, b, c) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
    let inc = incident(&[&a, &b]);
    let t = decide(Some(&inc), &accept(&a), now()).unwrap();
    assert_eq!(t.incident.status, Status::Claimed);
    assert_eq!(t.incident.version, 2);
    assert_eq!(decide(Some(&t.incident), &accept(&b), now()), Err(TransitionError::AlreadyClaimed));
    assert_eq!(decide(Some(&t.incident), &accept(&c), now()), Err(TransitionError::NotOffered));
    assert!(decide(Some(&t.incident), &accept(&a), now()).unwrap().is_noop());
}

#[test]
fn escalation_is_a_noop_once_claimed_and_accept_still_works_after_escalation() {
    let a = AccountId::generate();
    let inc = incident(&[&a]);
    let claimed = decide(Some(&inc), &accept(&a), now()).unwrap().incident;
    assert!(decide(Some(&claimed), &Command::Escalate, now()).unwrap().is_noop());

    let escalated = decide(Some(&inc), &Command::Escalate, now()).unwrap().incident;
    assert_eq!(escalated.status, Status::Escalated);
    assert!(decide(Some(&escalated), &Command::Escalate, now()).unwrap().is_noop());
    let t = decide(Some(&escalated), &accept(&a), now()).unwrap();
    assert_eq!(t.incident.status, Status::Claimed);
}

#[test]
fn a_declined_offer_cannot_be_accepted() {
    let a = AccountId::generate();
    let inc = incident(&[&a]);
    let declined = decide(Some(&inc), &Command::Decline { mediator: a.clone() }, now()).unwrap().incident;
    assert_eq!(decide(Some(&declined), &accept(&a), now()), Err(TransitionError::NotOffered));
}

#[test]
fn only_the_holder_arrives_and_resolves() {
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let claimed = decide(Some(&incident(&[&a, &b])), &accept(&a), now()).unwrap().incident;
    assert_eq!(decide(Some(&claimed), &Command::Arrive { mediator: b.clone() }, now()), Err(TransitionError::NotYours));
    let on_site = decide(Some(&claimed), &Command::Arrive { mediator: a.clone() }, now()).unwrap().incident;
    assert_eq!(on_site.status, Status::OnSite);
    let resolve = Command::Resolve { mediator: a, outcome: Outcome::Mediated, note: None };
    let done = decide(Some(&on_site), &resolve, now()).unwrap().incident;
    assert_eq!(done.status, Status::Resolved);
    assert_eq!(decide(Some(&done), &Command::Cancel, now()), Err(TransitionError::WrongState(Status::Resolved)));
}

#[test]
fn an_operator_assigns_an_escalated_incident_once() {
    let (op, m, other) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
    let escalated = decide(Some(&incident(&[])), &Command::Escalate, now()).unwrap().incident;
    let assigned = decide(Some(&escalated), &assign(&op, &m), now()).unwrap();
    assert_eq!(assigned.incident.claimed_by, Some(m));
    assert_eq!(decide(Some(&assigned.incident), &assign(&op, &other), now()), Err(TransitionError::AlreadyClaimed));
}

#[test]
fn a_report_near_someone_escalates_after_the_wait_and_one_with_nobody_near_at_once() {
    let a = AccountId::generate();
    let near = decide(None, &Command::File(Box::new(filing(report(Risk::Blue), &[&a]))), now()).unwrap();
    assert_eq!(near.incident.escalate_at, now().checked_add(SignedDuration::from_mins(5)).unwrap());
    assert_eq!(
        (near.incident.status, near.incident.version, near.incident.created_at),
        (Status::Dispatching, 1, now())
    );
    assert_eq!(near.incident.open_offer_ids().collect::<Vec<_>>(), vec![&a]);
    assert_eq!(near.incident.ladder, None, "blue enters the ladder only when it escalates");
    let nobody = decide(None, &Command::File(Box::new(filing(report(Risk::Blue), &[]))), now()).unwrap();
    assert_eq!(nobody.incident.escalate_at, now(), "nobody near: the command center acts now");
    assert_eq!(nobody.events, vec![Event::Reported]);
}

#[test]
fn a_red_report_is_alerted_and_held_by_the_district_from_the_start() {
    let a = AccountId::generate();
    let red = decide(None, &Command::File(Box::new(filing(report(Risk::Red), &[&a]))), now()).unwrap();
    assert_eq!(red.events, vec![Event::Reported, Event::Alerted, Event::Offered { mediator_ids: vec![a.clone()] }]);
    assert_eq!(red.incident.alerted_at, Some(now()));
    assert_eq!(red.incident.ladder, Some(AreaLevel::District), "its street still sees it as it lies in its area");
    let escalated = decide(Some(&red.incident), &Command::Escalate, now()).unwrap();
    assert_eq!(escalated.events, vec![Event::Escalated], "already on the ladder");
    // Raised to red later: alerted at once, and the district takes it when it escalates.
    let blue = incident(&[&a]);
    let raised =
        decide(Some(&blue), &Command::SetRisk { risk: Risk::Red, deadlines: deadlines() }, now()).unwrap().incident;
    assert_eq!(raised.ladder, None);
    let escalated = decide(Some(&raised), &Command::Escalate, now()).unwrap();
    assert_eq!(escalated.incident.ladder, Some(AreaLevel::District));
}

#[test]
fn filing_twice_is_refused_and_nothing_else_applies_before_filing() {
    let inc = incident(&[]);
    let again = Command::File(Box::new(filing(report(Risk::Blue), &[])));
    assert_eq!(decide(Some(&inc), &again, now()), Err(TransitionError::WrongState(Status::Dispatching)));
    assert_eq!(decide(None, &Command::Escalate, now()), Err(TransitionError::NotFiled));
}

proptest! {
    /// Whatever sequence of commands arrives, at most one mediator ever holds the incident,
    /// and once held it is never held by someone else.
    #[test]
    fn at_most_one_mediator_ever_holds_an_incident(script in proptest::collection::vec((0usize..7, 0usize..3), 1..40)) {
        let ms: Vec<AccountId> = (0..3).map(|_| AccountId::generate()).collect();
        let op = AccountId::generate();
        let mut inc = incident(&ms.iter().collect::<Vec<_>>());
        let mut holder: Option<AccountId> = None;
        for (kind, who) in script {
            let m = ms[who].clone();
            let cmd = match kind {
                0 => accept(&m),
                1 => Command::Decline { mediator: m },
                2 => Command::Escalate,
                3 => assign(&op, &m),
                4 => Command::Arrive { mediator: m },
                5 => Command::Resolve { mediator: m, outcome: Outcome::Mediated, note: None },
                _ => Command::Cancel,
            };
            if let Ok(t) = decide(Some(&inc), &cmd, now()) {
                prop_assert!(t.incident.version >= inc.version);
                inc = t.incident;
            }
            if let Some(h) = &holder {
                prop_assert_eq!(inc.claimed_by.as_ref(), Some(h));
            }
            holder.clone_from(&inc.claimed_by);
        }
    }
}
