//! What must change alongside an incident (timers, offer and hold sets), who must hear about
//! it, and what its timeline records, derived from the state machine's events. One place, so
//! every command (filing included) gets the same rules.

use crate::domain::area::AreaLevel;
use crate::domain::ids::AccountId;
use crate::domain::incident::{Deadline, Event, Incident, Transition};
use crate::domain::timeline::{ActorRole, TimelineEntry};
use crate::push::wire::{self, IncidentView, MediatorMessage, OfferClosedReason, OperatorMessage};
use crate::store::{BusMessage, Hold, IncidentWrite, TimerKey, TimerKind, TimerOp};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// The deadline key of `kind` for `incident`.
pub(super) fn timer(kind: TimerKind, incident: &Incident) -> TimerKey {
    TimerKey { kind, incident_id: incident.id.clone() }
}

fn before(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(SignedDuration::try_from(d).unwrap_or(SignedDuration::ZERO)).unwrap_or(t)
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    t.saturating_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}

/// The timing rules effects need.
pub(super) struct Timing {
    /// Now.
    pub now: Timestamp,
    /// Reminder lead time.
    pub remind_before: Duration,
    /// Time between offer waves.
    pub wave_interval: Duration,
    /// Time a ladder level has before the incident climbs.
    pub climb_after: Duration,
}

/// The timeline entries of `transition`, each by `actor`, at `now`. On filing only the report
/// is the resident's: what the service did on receiving it (the alert, the offers) is its own.
pub(super) fn timeline(
    prev: Option<&Incident>,
    transition: &Transition,
    actor: &super::Actor,
    now: Timestamp,
) -> Vec<TimelineEntry> {
    transition
        .events
        .iter()
        .map(|event| {
            let by_actor = prev.is_some() || matches!(event, Event::Reported);
            let (actor_role, actor_id) =
                if by_actor { (actor.role, actor.id.clone()) } else { (ActorRole::System, None) };
            TimelineEntry { at: now, actor_role, actor_id, event: event.clone() }
        })
        .collect()
}

/// Fill in the side effects of `transition` (from `prev`, `None` when filing) on `write`.
pub(super) fn apply(
    prev: Option<&Incident>,
    transition: &Transition,
    capacity: Option<u32>,
    timing: &Timing,
    write: &mut IncidentWrite,
) {
    let next = &transition.incident;
    let remind_before = timing.remind_before;
    let next_wave = || TimerOp::Schedule(timer(TimerKind::Wave, next), after(timing.now, timing.wave_interval));
    if prev.is_some_and(|p| next.wave > p.wave) && next.status == crate::domain::incident::Status::Dispatching {
        write.timers.push(next_wave());
    }
    let cancel = |write: &mut IncidentWrite, kinds: &[TimerKind]| {
        write.timers.extend(kinds.iter().map(|k| TimerOp::Cancel(timer(*k, next))));
    };
    let close_all_offers = |write: &mut IncidentWrite| {
        write.offers_close = prev.into_iter().flat_map(Incident::open_offer_ids).cloned().collect();
    };
    for event in &transition.events {
        match event {
            Event::Reported => {
                // Offered: the next wave comes if nobody accepts; escalation regardless.
                if next.open_offer_ids().next().is_some() {
                    write.timers.push(next_wave());
                }
                write.timers.push(TimerOp::Schedule(timer(TimerKind::Escalate, next), next.escalate_at));
            }
            Event::Claimed { mediator_id } | Event::Assigned { mediator_id, .. } => {
                write.hold = Some(Hold {
                    mediator_id: mediator_id.clone(),
                    capacity: capacity.unwrap_or(0),
                    day: super::stats::today(timing.now).to_string(),
                });
                cancel(write, &[TimerKind::Escalate, TimerKind::Wave, TimerKind::Climb]);
                close_all_offers(write);
                if let (Some(arrive_by), Some(resolve_by)) = (next.arrive_by, next.resolve_by) {
                    write.timers.extend([
                        TimerOp::Schedule(timer(TimerKind::RemindArrive, next), before(arrive_by, remind_before)),
                        TimerOp::Schedule(timer(TimerKind::ArriveDue, next), arrive_by),
                        TimerOp::Schedule(timer(TimerKind::RemindResolve, next), before(resolve_by, remind_before)),
                        TimerOp::Schedule(timer(TimerKind::ResolveDue, next), resolve_by),
                    ]);
                }
            }
            Event::Declined { mediator_id } => write.offers_close.push(mediator_id.clone()),
            Event::OffersExpired { mediator_ids } => write.offers_close.extend(mediator_ids.iter().cloned()),
            Event::Offered { mediator_ids } => write.offers_open.extend(mediator_ids.iter().cloned()),
            Event::Arrived => cancel(write, &[TimerKind::RemindArrive, TimerKind::ArriveDue]),
            Event::Resolved { .. } => {
                write.release = prev.and_then(|p| p.claimed_by.clone());
                cancel(
                    write,
                    &[TimerKind::RemindArrive, TimerKind::ArriveDue, TimerKind::RemindResolve, TimerKind::ResolveDue],
                );
            }
            Event::Cancelled => {
                cancel(write, &[TimerKind::Escalate, TimerKind::Wave, TimerKind::Climb]);
                close_all_offers(write);
            }
            Event::Escalated => cancel(write, &[TimerKind::Wave]),
            Event::LadderMoved { to, .. } => {
                if *to == AreaLevel::District || !next.status.is_unclaimed() {
                    cancel(write, &[TimerKind::Climb]);
                } else {
                    write
                        .timers
                        .push(TimerOp::Schedule(timer(TimerKind::Climb, next), after(timing.now, timing.climb_after)));
                }
            }
            Event::RiskChanged { .. } => {
                // The deadlines moved to the new colour's: their reminders and checks move too.
                let before_change = |f: fn(&Incident) -> Option<Timestamp>| prev.and_then(f);
                if let Some(arrive_by) = next.arrive_by.filter(|_| next.arrive_by != before_change(|p| p.arrive_by)) {
                    write.timers.extend([
                        TimerOp::Schedule(timer(TimerKind::RemindArrive, next), before(arrive_by, remind_before)),
                        TimerOp::Schedule(timer(TimerKind::ArriveDue, next), arrive_by),
                    ]);
                }
                if let Some(resolve_by) = next.resolve_by.filter(|_| next.resolve_by != before_change(|p| p.resolve_by))
                {
                    write.timers.extend([
                        TimerOp::Schedule(timer(TimerKind::RemindResolve, next), before(resolve_by, remind_before)),
                        TimerOp::Schedule(timer(TimerKind::ResolveDue, next), resolve_by),
                    ]);
                }
            }
            Event::Transferred { .. } | Event::CategoryChanged { .. } => {}
            Event::Alerted
            | Event::Reminded { .. }
            | Event::Overdue { .. }
            | Event::Supervised { .. }
            | Event::FeedbackGiven { .. }
            | Event::Reopened
            | Event::PhoneRevealed
            | Event::MediatorPhoneRevealed { .. }
            | Event::Notified { .. } => {}
        }
    }
}

/// Who must hear about a transition (mediators, operators, trackers), as the bus messages its
/// write announces: they go out with the write and never for a refused one.
pub(super) fn announcements(prev: Option<&Incident>, transition: &Transition, offer_ttl: Duration) -> Vec<BusMessage> {
    let Some(prev) = prev else { return filed(transition, offer_ttl) };
    let after = &transition.incident;
    let id = after.id.to_string();
    let holder: Vec<AccountId> = after.claimed_by.iter().cloned().collect();
    // A closed report's note first, so an instance that shows the closing knows it.
    let mut out: Vec<BusMessage> =
        (after.status.is_closed() && !prev.status.is_closed()).then(|| noted(after)).into_iter().collect();
    for event in &transition.events {
        let closed_for = |winner: Option<&AccountId>| -> Vec<AccountId> {
            prev.open_offer_ids().filter(|m| Some(*m) != winner).cloned().collect()
        };
        let closed = match event {
            Event::Claimed { mediator_id } => Some((OfferClosedReason::Claimed, closed_for(Some(mediator_id)))),
            Event::Assigned { mediator_id, .. } => {
                let msg = MediatorMessage::Assigned { incident: IncidentView::for_holder(after) };
                out.extend(for_mediators(vec![mediator_id.clone()], &msg));
                Some((OfferClosedReason::Assigned, closed_for(Some(mediator_id))))
            }
            Event::Cancelled => Some((OfferClosedReason::Cancelled, closed_for(None))),
            Event::OffersExpired { mediator_ids } => Some((OfferClosedReason::Expired, mediator_ids.clone())),
            Event::Offered { mediator_ids } => {
                out.extend(offers(after, mediator_ids, offer_ttl));
                None
            }
            Event::Reminded { deadline } | Event::Overdue { deadline } => {
                let due_at = match deadline {
                    Deadline::Arrive => after.arrive_by,
                    Deadline::Resolve => after.resolve_by,
                };
                let overdue = matches!(event, Event::Overdue { .. });
                let msg = MediatorMessage::Reminder { incident_id: id.clone(), deadline: *deadline, due_at, overdue };
                out.extend(for_mediators(holder.clone(), &msg));
                None
            }
            Event::Supervised { note } => {
                let msg = MediatorMessage::Supervised { incident_id: id.clone(), note: note.clone() };
                out.extend(for_mediators(holder.clone(), &msg));
                None
            }
            Event::RiskChanged { .. } if after.status.is_active_claim() => {
                let msg = MediatorMessage::RiskChanged { incident: IncidentView::for_holder(after) };
                out.extend(for_mediators(holder.clone(), &msg));
                None
            }
            _ => None,
        };
        if let Some((reason, others)) = closed.filter(|(_, others)| !others.is_empty()) {
            let msg = MediatorMessage::OfferClosed { incident_id: id.clone(), reason };
            out.extend(for_mediators(others, &msg));
        }
        if matches!(event, Event::Transferred { .. }) && prev.area != after.area {
            // The screens of the area it left must drop it too (unscoped screens get both).
            out.push(to_operators(event, after, &prev.area));
        }
        out.push(to_operators(event, after, &after.area));
    }
    out.push(BusMessage::IncidentChanged { incident_id: after.id.clone() });
    out
}

/// Who hears of a new report. Offers first (each mediator's own view, with their distance):
/// the latency residents wait on. The report's note goes ahead of the screens' updates, so an
/// instance that shows the report knows it for the look-back. Nobody tracks it yet.
fn filed(transition: &Transition, offer_ttl: Duration) -> Vec<BusMessage> {
    let incident = &transition.incident;
    let offered: Vec<AccountId> = incident.open_offer_ids().cloned().collect();
    let mut out: Vec<BusMessage> = offers(incident, &offered, offer_ttl).collect();
    out.push(noted(incident));
    out.extend(
        transition
            .events
            .iter()
            .filter(|e| !matches!(e, Event::Offered { .. }))
            .map(|e| to_operators(e, incident, &incident.area)),
    );
    out
}

/// The report as recent reports by area keep it, open or not as it is now.
fn noted(incident: &Incident) -> BusMessage {
    BusMessage::Noted {
        incident_id: incident.id.clone(),
        at: incident.created_at,
        place: incident.location,
        open: !incident.status.is_closed(),
    }
}

/// Each offered mediator's own offer (their distance and its lapse in it).
fn offers<'a>(
    incident: &'a Incident,
    mediator_ids: &'a [AccountId],
    offer_ttl: Duration,
) -> impl Iterator<Item = BusMessage> + 'a {
    mediator_ids.iter().filter_map(move |m| {
        let incident = IncidentView::for_offer(incident, m, offer_ttl);
        for_mediators(vec![m.clone()], &MediatorMessage::Offer { incident })
    })
}

/// An operator screen update for `event`, for the screens that see `place`.
fn to_operators(event: &Event, incident: &Incident, place: &crate::domain::area::AreaPath) -> BusMessage {
    let msg = OperatorMessage::Incident { event: event.clone(), incident: Box::new(IncidentView::masked(incident)) };
    BusMessage::ToOperators { payload: wire::to_json(&msg), place: Some(place.clone()) }
}

/// A message for these mediators' sockets (none when nobody is named).
fn for_mediators(mediator_ids: Vec<AccountId>, message: &MediatorMessage) -> Option<BusMessage> {
    (!mediator_ids.is_empty()).then(|| BusMessage::ToMediators { mediator_ids, payload: wire::to_json(message) })
}
