//! What must change alongside an incident (timers, offer and hold sets), who must hear about
//! it, and what its timeline records, derived from the state machine's events. One place, so
//! every command (filing included) gets the same rules.

use crate::domain::area::AreaLevel;
use crate::domain::ids::AccountId;
use crate::domain::incident::{Event, Incident, Transition};
use crate::domain::news::{Notice, Recipients};
use crate::domain::timeline::{ActorRole, TimelineEntry};
use crate::store::{BusMessage, Hold, IncidentWrite, TimerKey, TimerKind, TimerOp};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// The deadline key of `kind` for `incident`.
pub(super) fn timer(kind: TimerKind, incident: &Incident) -> TimerKey {
    TimerKey::new(kind, incident.id.clone())
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
    /// The mediation deadline from the claim (`casefile.mediation_deadline`).
    pub mediation_deadline: Duration,
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
                // The first hold starts the one-month mediation deadline, written with the claim
                // so it holds even for a case file nobody ever writes; the case file's timer
                // handler fires it (and keeps it when a case-file write moved it).
                if let Some(claimed_at) = next.claimed_at.filter(|_| prev.is_none_or(|p| p.claimed_at.is_none())) {
                    write.timers.push(TimerOp::Schedule(
                        timer(TimerKind::CaseDeadline, next),
                        after(claimed_at, timing.mediation_deadline),
                    ));
                }
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
            | Event::Notified { .. }
            | Event::Joint { .. }
            | Event::VideoStarted { .. }
            | Event::VideoJoined { .. }
            | Event::VideoLeft { .. }
            | Event::VideoEnded { .. }
            | Event::CaseGraded { .. } => {}
            Event::CaseFile { .. } => {}
        }
    }
}

/// Who must hear about a transition (mediators, operators, trackers), as the bus messages its
/// write announces: they go out with the write and never for a refused one. What each is shown
/// is `push`'s to render, on every instance, for the sockets it holds.
pub(super) fn announcements(prev: Option<&Incident>, transition: &Transition) -> Vec<BusMessage> {
    let Some(prev) = prev else { return filed(transition) };
    let after = &transition.incident;
    let holder = after.claimed_by.clone();
    // A closed report's note first, so an instance that shows the closing knows it.
    let mut out: Vec<BusMessage> =
        (after.status.is_closed() && !prev.status.is_closed()).then(|| noted(after)).into_iter().collect();
    let mut notices = Vec::new();
    for event in &transition.events {
        let closed_for = |winner: Option<&AccountId>| -> Vec<AccountId> {
            prev.open_offer_ids().filter(|m| Some(*m) != winner).cloned().collect()
        };
        let mut tell = |to: Recipients| notices.push(Notice::new(event.clone(), to));
        let closed = match event {
            Event::Claimed { mediator_id } => closed_for(Some(mediator_id)),
            Event::Assigned { mediator_id, .. } => {
                tell(Recipients::Holder(mediator_id.clone()));
                closed_for(Some(mediator_id))
            }
            Event::Cancelled => closed_for(None),
            Event::OffersExpired { mediator_ids } => mediator_ids.clone(),
            Event::Offered { mediator_ids } => {
                if !mediator_ids.is_empty() {
                    tell(Recipients::Offered(mediator_ids.clone()));
                }
                vec![]
            }
            Event::Reminded { .. } | Event::Overdue { .. } | Event::Supervised { .. } => {
                if let Some(holder) = &holder {
                    tell(Recipients::Holder(holder.clone()));
                }
                vec![]
            }
            Event::RiskChanged { .. } if after.status.is_active_claim() => {
                if let Some(holder) = &holder {
                    tell(Recipients::Holder(holder.clone()));
                }
                vec![]
            }
            _ => vec![],
        };
        if !closed.is_empty() {
            tell(Recipients::OfferClosed(closed));
        }
        if matches!(event, Event::Transferred { .. }) && prev.area != after.area {
            // The screens of the area it left must drop it too (unscoped screens get both).
            tell(Recipients::Screens(prev.area.clone()));
        }
        tell(Recipients::Screens(after.area.clone()));
    }
    out.push(news(after, notices));
    out.push(BusMessage::IncidentChanged { incident_id: after.id.clone() });
    out
}

/// Who hears of a new report. Offers first (each mediator's own view, with their distance):
/// the latency residents wait on. The report's note goes ahead of the news, so an instance
/// that shows the report knows it for the look-back. Nobody tracks it yet.
fn filed(transition: &Transition) -> Vec<BusMessage> {
    let incident = &transition.incident;
    let offered: Vec<AccountId> = incident.open_offer_ids().cloned().collect();
    let mut notices = Vec::new();
    if !offered.is_empty() {
        let event = Event::Offered { mediator_ids: offered.clone() };
        notices.push(Notice::new(event, Recipients::Offered(offered)));
    }
    notices.extend(
        transition
            .events
            .iter()
            .filter(|e| !matches!(e, Event::Offered { .. }))
            .map(|e| Notice::new(e.clone(), Recipients::Screens(incident.area.clone()))),
    );
    vec![noted(incident), news(incident, notices)]
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

/// The write's notices with the incident they are about.
fn news(incident: &Incident, notices: Vec<Notice>) -> BusMessage {
    BusMessage::News { incident: Box::new(incident.clone()), notices }
}
