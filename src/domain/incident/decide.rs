//! [`decide`]: one function per command. Each reads the incident as it is and answers with
//! nothing to do (a repeat, a stale timer), the changed incident and what happened, or why the
//! command does not apply; `decide` bumps the version of a changed incident.

use super::{
    ClaimDeadlines, Command, Deadline, Event, Feedback, Filing, Incident, Offer, Outcome, Status, Supervision,
    Transition, TransitionError,
};
use crate::domain::area::{AreaLevel, AreaPath};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::AccountId;
use jiff::Timestamp;

/// What one command decided: `None` when there is nothing to do, else the incident after it
/// (version not yet bumped) and the events.
type Decided = Result<Option<(Incident, Vec<Event>)>, TransitionError>;

/// Decide what `command` does to `incident` (`None`: nothing filed yet) at `now`.
///
/// # Errors
/// [`TransitionError`] when the command does not apply.
pub fn decide(incident: Option<&Incident>, command: &Command, now: Timestamp) -> Result<Transition, TransitionError> {
    let Some(incident) = incident else {
        return match command {
            Command::File(filing) => Ok(file(filing, now)),
            _ => Err(TransitionError::NotFiled),
        };
    };
    let decided = match command {
        Command::File(_) => Err(TransitionError::WrongState(incident.status)),
        Command::Accept { mediator, deadlines } => accept(incident, mediator, *deadlines, now),
        Command::Decline { mediator } => decline(incident, mediator, now),
        Command::Escalate => escalate(incident, now),
        Command::Assign { operator, mediator, deadlines } => assign(incident, operator, mediator, *deadlines, now),
        Command::Offer { offers, expire_before } => offer(incident, offers, *expire_before, now),
        Command::Remind(deadline) => remind(incident, *deadline),
        Command::MarkOverdue(deadline) => mark_overdue(incident, *deadline, now),
        Command::Supervise { operator, note } => supervise(incident, operator, note, now),
        Command::SetRisk { risk, deadlines } => set_risk(incident, *risk, *deadlines, now),
        Command::SetCategory(category) => set_category(incident, *category),
        Command::GiveFeedback { rating, comment, resolved } => {
            give_feedback(incident, *rating, comment.as_ref(), *resolved, now)
        }
        Command::Arrive { mediator } => arrive(incident, mediator, now),
        Command::Resolve { mediator, outcome, note } => resolve(incident, mediator, *outcome, note.as_ref(), now),
        Command::Cancel => cancel(incident, now),
        Command::Climb => climb(incident),
        Command::HandOver { up, note } => hand_over(incident, *up, note),
        Command::Transfer { area, to, note } => transfer(incident, area, to, note),
    }?;
    Ok(match decided {
        None => Transition { incident: incident.clone(), events: vec![] },
        Some((mut next, events)) => {
            next.version = incident.version + 1;
            Transition { incident: next, events }
        }
    })
}

/// A new report: offered to the first wave, escalating after `escalate_after` (at once when
/// nobody is near); red is alerted at once and enters the ladder at its first rung.
fn file(filing: &Filing, now: Timestamp) -> Transition {
    let r = &filing.report;
    let escalate_at = if filing.offers.is_empty() {
        now // nobody near: the command center must act now, through the same durable timer
    } else {
        now.saturating_add(filing.escalate_after).unwrap_or(Timestamp::MAX)
    };
    let mut incident = Incident {
        id: r.id.clone(),
        status: Status::Dispatching,
        category: r.category,
        risk: r.risk,
        description: r.description.clone(),
        location: r.location,
        cell: r.cell.clone(),
        place_name: filing.place_name.clone(),
        address: r.address.clone(),
        approximate: filing.approximate,
        scene_id: r.scene_id.clone(),
        resident_phone: r.resident_phone.clone(),
        created_at: now,
        escalate_at,
        offers: filing.offers.clone(),
        claimed_by: None,
        claimed_at: None,
        assigned_by: None,
        escalated_at: None,
        arrived_at: None,
        resolved_at: None,
        outcome: None,
        resolution_note: None,
        cancelled_at: None,
        alerted_at: None,
        arrive_by: None,
        resolve_by: None,
        arrive_overdue_at: None,
        resolve_overdue_at: None,
        supervision: None,
        feedback: None,
        reopened_at: None,
        wave: filing.wave.max(1),
        duplicate_of: filing.duplicate_of.clone(),
        recurring: filing.recurring,
        area: filing.area.clone(),
        ladder: None,
        version: 1,
    };
    let mut events = vec![Event::Reported];
    if incident.risk == Risk::Red {
        events.extend(alert(&mut incident, now));
        // Its street still sees it, as it lies in its area.
        incident.ladder = Some(first_rung(&incident));
    }
    if !incident.offers.is_empty() {
        events.push(Event::Offered { mediator_ids: incident.offers.iter().map(|o| o.mediator_id.clone()).collect() });
    }
    Transition { incident, events }
}

/// The command-center level that answers for an incident when it first enters the ladder:
/// the street that contains it; red, or no street known, the district.
fn first_rung(incident: &Incident) -> AreaLevel {
    if incident.risk == Risk::Red || incident.area.street.is_none() { AreaLevel::District } else { AreaLevel::Street }
}

/// Red: the command center is alerted at once, once, while the incident is open.
fn alert(next: &mut Incident, now: Timestamp) -> Option<Event> {
    if next.risk != Risk::Red || next.alerted_at.is_some() || next.status.is_closed() {
        return None;
    }
    next.alerted_at = Some(now);
    Some(Event::Alerted)
}

fn accept(incident: &Incident, mediator: &AccountId, deadlines: ClaimDeadlines, now: Timestamp) -> Decided {
    if incident.claimed_by.as_ref() == Some(mediator) {
        return Ok(None); // the winner retrying gets the same answer
    }
    if incident.status == Status::Cancelled || incident.status == Status::Resolved && incident.claimed_by.is_none() {
        return Err(TransitionError::WrongState(incident.status));
    }
    let was_offered = incident.offers.iter().any(|o| &o.mediator_id == mediator);
    if incident.claimed_by.is_some() {
        return Err(if was_offered { TransitionError::AlreadyClaimed } else { TransitionError::NotOffered });
    }
    if incident.open_offer(mediator).is_none() {
        return Err(TransitionError::NotOffered);
    }
    let mut next = incident.clone();
    claim(&mut next, mediator, deadlines, now);
    Ok(Some((next, vec![Event::Claimed { mediator_id: mediator.clone() }])))
}

fn assign(
    incident: &Incident,
    operator: &AccountId,
    mediator: &AccountId,
    deadlines: ClaimDeadlines,
    now: Timestamp,
) -> Decided {
    if !incident.status.is_unclaimed() {
        return Err(match incident.claimed_by {
            Some(_) => TransitionError::AlreadyClaimed,
            None => TransitionError::WrongState(incident.status),
        });
    }
    let mut next = incident.clone();
    claim(&mut next, mediator, deadlines, now);
    next.assigned_by = Some(operator.clone());
    Ok(Some((next, vec![Event::Assigned { operator_id: operator.clone(), mediator_id: mediator.clone() }])))
}

fn decline(incident: &Incident, mediator: &AccountId, now: Timestamp) -> Decided {
    if !incident.status.is_unclaimed() {
        return Err(TransitionError::WrongState(incident.status));
    }
    let mut next = incident.clone();
    let Some(offer) = next.offers.iter_mut().find(|o| &o.mediator_id == mediator && o.declined_at.is_none()) else {
        return Err(TransitionError::NotOffered);
    };
    offer.declined_at = Some(now);
    Ok(Some((next, vec![Event::Declined { mediator_id: mediator.clone() }])))
}

fn escalate(incident: &Incident, now: Timestamp) -> Decided {
    if incident.status != Status::Dispatching {
        return Ok(None); // claimed, cancelled or already escalated: the timer is stale
    }
    let mut next = incident.clone();
    next.status = Status::Escalated;
    next.escalated_at = Some(now);
    let mut events = vec![Event::Escalated];
    if next.ladder.is_none() {
        let level = first_rung(incident);
        next.ladder = Some(level);
        events.push(Event::LadderMoved { from: None, to: level, note: None });
    }
    Ok(Some((next, events)))
}

fn arrive(incident: &Incident, mediator: &AccountId, now: Timestamp) -> Decided {
    holder_check(incident, mediator)?;
    match incident.status {
        Status::OnSite => return Ok(None),
        Status::Claimed => {}
        other => return Err(TransitionError::WrongState(other)),
    }
    let mut next = incident.clone();
    next.status = Status::OnSite;
    next.arrived_at = Some(now);
    Ok(Some((next, vec![Event::Arrived])))
}

fn resolve(
    incident: &Incident,
    mediator: &AccountId,
    outcome: Outcome,
    note: Option<&String>,
    now: Timestamp,
) -> Decided {
    holder_check(incident, mediator)?;
    if !incident.status.is_active_claim() {
        return Err(TransitionError::WrongState(incident.status));
    }
    let mut next = incident.clone();
    next.status = Status::Resolved;
    next.resolved_at = Some(now);
    next.outcome = Some(outcome);
    next.resolution_note = note.cloned();
    Ok(Some((next, vec![Event::Resolved { outcome }])))
}

fn cancel(incident: &Incident, now: Timestamp) -> Decided {
    if incident.status == Status::Cancelled {
        return Ok(None);
    }
    if !incident.status.is_unclaimed() {
        return Err(TransitionError::WrongState(incident.status));
    }
    let mut next = incident.clone();
    next.status = Status::Cancelled;
    next.cancelled_at = Some(now);
    Ok(Some((next, vec![Event::Cancelled])))
}

fn set_category(incident: &Incident, category: Category) -> Decided {
    if category == incident.category {
        return Ok(None);
    }
    let mut next = incident.clone();
    next.category = category;
    Ok(Some((next, vec![Event::CategoryChanged { from: incident.category, to: category }])))
}

fn climb(incident: &Incident) -> Decided {
    let Some(to) = incident.ladder.and_then(AreaLevel::parent).filter(|_| incident.status == Status::Escalated) else {
        return Ok(None); // assigned, settled, or already at the district
    };
    let mut next = incident.clone();
    next.ladder = Some(to);
    Ok(Some((next, vec![Event::LadderMoved { from: incident.ladder, to, note: None }])))
}

fn hand_over(incident: &Incident, up: bool, note: &str) -> Decided {
    if incident.status.is_closed() {
        return Err(TransitionError::WrongState(incident.status));
    }
    let current = incident.ladder.unwrap_or(AreaLevel::District);
    let target = if up {
        current.parent()
    } else {
        // Down only to a level the incident has an area at.
        [AreaLevel::Street, AreaLevel::Community]
            .into_iter()
            .find(|l| l.parent() == Some(current) && incident.area.at(*l).is_some())
    };
    let Some(to) = target.filter(|l| *l != AreaLevel::Grid) else {
        return Err(TransitionError::NoSuchLevel);
    };
    let mut next = incident.clone();
    next.ladder = Some(to);
    Ok(Some((next, vec![Event::LadderMoved { from: incident.ladder, to, note: Some(note.to_owned()) }])))
}

fn transfer(incident: &Incident, area: &AreaPath, to: &str, note: &str) -> Decided {
    if incident.status.is_closed() {
        return Err(TransitionError::WrongState(incident.status));
    }
    let from = AreaLevel::ALL.iter().rev().find_map(|l| incident.area.at(*l)).map(str::to_owned);
    let mut next = incident.clone();
    next.area = area.clone();
    if next.ladder.is_some_and(|l| next.area.at(l).is_none()) {
        next.ladder = Some(AreaLevel::District);
    }
    Ok(Some((next, vec![Event::Transferred { from, to: to.to_owned(), note: note.to_owned() }])))
}

fn offer(incident: &Incident, offers: &[Offer], expire_before: Option<Timestamp>, now: Timestamp) -> Decided {
    if !incident.status.is_unclaimed() {
        return Ok(None); // a stale wave timer
    }
    let mut next = incident.clone();
    let mut events = vec![];
    if let Some(cutoff) = expire_before {
        let mut lapsed = vec![];
        for o in next.offers.iter_mut().filter(|o| o.is_open() && o.offered_at < cutoff) {
            o.expired_at = Some(now);
            lapsed.push(o.mediator_id.clone());
        }
        if !lapsed.is_empty() {
            events.push(Event::OffersExpired { mediator_ids: lapsed });
        }
    }
    let fresh: Vec<Offer> =
        offers.iter().filter(|o| !incident.offers.iter().any(|x| x.mediator_id == o.mediator_id)).cloned().collect();
    if !fresh.is_empty() {
        events.push(Event::Offered { mediator_ids: fresh.iter().map(|o| o.mediator_id.clone()).collect() });
        next.offers.extend(fresh);
    }
    // Counted even when nobody new was found, so the next wave widens.
    next.wave += 1;
    Ok(Some((next, events)))
}

fn remind(incident: &Incident, deadline: Deadline) -> Decided {
    if !incident.deadline_pending(deadline) {
        return Ok(None);
    }
    Ok(Some((incident.clone(), vec![Event::Reminded { deadline }])))
}

fn mark_overdue(incident: &Incident, deadline: Deadline, now: Timestamp) -> Decided {
    let already = match deadline {
        Deadline::Arrive => incident.arrive_overdue_at.is_some(),
        Deadline::Resolve => incident.resolve_overdue_at.is_some(),
    };
    if already || !incident.deadline_pending(deadline) {
        return Ok(None);
    }
    let mut next = incident.clone();
    match deadline {
        Deadline::Arrive => next.arrive_overdue_at = Some(now),
        Deadline::Resolve => next.resolve_overdue_at = Some(now),
    }
    Ok(Some((next, vec![Event::Overdue { deadline }])))
}

fn supervise(incident: &Incident, operator: &AccountId, note: &str, now: Timestamp) -> Decided {
    if matches!(incident.status, Status::Cancelled) {
        return Err(TransitionError::WrongState(incident.status));
    }
    let mut next = incident.clone();
    next.supervision = Some(Supervision { operator_id: operator.clone(), note: note.to_owned(), at: now });
    Ok(Some((next, vec![Event::Supervised { note: note.to_owned() }])))
}

fn set_risk(incident: &Incident, risk: Risk, deadlines: ClaimDeadlines, now: Timestamp) -> Decided {
    if risk == incident.risk {
        return Ok(None);
    }
    let mut next = incident.clone();
    next.risk = risk;
    // Pending deadlines restart on the new colour's clock from the change: raised to red, the
    // holder has red's 15 minutes from now (never overdue at once); a deadline already met
    // (arrived) stays as it was.
    if incident.deadline_pending(Deadline::Arrive) {
        next.arrive_by = Some(deadlines.arrive_by);
        next.arrive_overdue_at = None;
    }
    if incident.deadline_pending(Deadline::Resolve) {
        next.resolve_by = Some(deadlines.resolve_by);
        next.resolve_overdue_at = None;
    }
    let mut events = vec![Event::RiskChanged { from: incident.risk, to: risk }];
    events.extend(alert(&mut next, now));
    Ok(Some((next, events)))
}

fn give_feedback(incident: &Incident, rating: u8, comment: Option<&String>, resolved: bool, now: Timestamp) -> Decided {
    if incident.status != Status::Resolved {
        return Err(TransitionError::WrongState(incident.status));
    }
    if incident.feedback.is_some() {
        return Err(TransitionError::AlreadyAnswered);
    }
    let mut next = incident.clone();
    next.feedback = Some(Feedback { rating, comment: comment.cloned(), resolved, at: now });
    let mut events = vec![Event::FeedbackGiven { rating, resolved }];
    if !resolved {
        // Back to the command center: nobody holds it; operators assign anew.
        next.status = Status::Escalated;
        next.reopened_at = Some(now);
        next.escalated_at = Some(now);
        next.claimed_by = None;
        next.claimed_at = None;
        next.assigned_by = None;
        next.arrived_at = None;
        next.resolved_at = None;
        next.outcome = None;
        next.arrive_by = None;
        next.resolve_by = None;
        next.arrive_overdue_at = None;
        next.resolve_overdue_at = None;
        events.push(Event::Reopened);
    }
    Ok(Some((next, events)))
}

fn claim(next: &mut Incident, mediator: &AccountId, deadlines: ClaimDeadlines, now: Timestamp) {
    next.status = Status::Claimed;
    next.claimed_by = Some(mediator.clone());
    next.claimed_at = Some(now);
    next.arrive_by = Some(deadlines.arrive_by);
    next.resolve_by = Some(deadlines.resolve_by);
}

fn holder_check(incident: &Incident, mediator: &AccountId) -> Result<(), TransitionError> {
    if incident.claimed_by.as_ref() == Some(mediator) { Ok(()) } else { Err(TransitionError::NotYours) }
}
