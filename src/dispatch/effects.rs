//! What must change alongside an incident (timers, offer and hold sets) and who must hear about
//! it, derived from the state machine's events. One place, so every command gets the same rules.

use super::Dispatcher;
use crate::domain::ids::AccountId;
use crate::domain::incident::{Event, Incident, Transition};
use crate::push::wire::{self, IncidentView, MediatorMessage, OfferClosedReason, OperatorMessage};
use crate::store::{BusMessage, Hold, IncidentWrite, TimerKey, TimerKind, TimerOp};

/// The escalation deadline's key.
pub(super) fn escalation_key(incident: &Incident) -> TimerKey {
    TimerKey { kind: TimerKind::Escalate, incident_id: incident.id.clone() }
}

/// Fill in the side effects of `transition` (from `before`) on `write`.
pub(super) fn apply(before: &Incident, transition: &Transition, capacity: Option<u32>, write: &mut IncidentWrite) {
    let close_all_offers = |write: &mut IncidentWrite| {
        write.offers_close = before.open_offer_ids().cloned().collect();
    };
    for event in &transition.events {
        match event {
            Event::Claimed { mediator_id } | Event::Assigned { mediator_id, .. } => {
                write.hold = Some(Hold { mediator_id: mediator_id.clone(), capacity: capacity.unwrap_or(0) });
                write.timers.push(TimerOp::Cancel(escalation_key(before)));
                close_all_offers(write);
            }
            Event::Declined { mediator_id } => write.offers_close.push(mediator_id.clone()),
            Event::Resolved { .. } => write.release.clone_from(&before.claimed_by),
            Event::Cancelled => {
                write.timers.push(TimerOp::Cancel(escalation_key(before)));
                close_all_offers(write);
            }
            Event::Reported | Event::Offered { .. } | Event::Escalated | Event::Arrived => {}
        }
    }
}

impl Dispatcher {
    /// Tell mediators, operators and trackers about a stored transition.
    pub(super) async fn notify(&self, before: &Incident, transition: &Transition) {
        let after = &transition.incident;
        for event in &transition.events {
            let closed_for = |winner: Option<&AccountId>| -> Vec<AccountId> {
                before.open_offer_ids().filter(|m| Some(*m) != winner).cloned().collect()
            };
            let (reason, others) = match event {
                Event::Claimed { mediator_id } => (OfferClosedReason::Claimed, closed_for(Some(mediator_id))),
                Event::Assigned { mediator_id, .. } => {
                    let msg = MediatorMessage::Assigned { incident: IncidentView::for_holder(after) };
                    self.to_mediators(vec![mediator_id.clone()], &msg).await;
                    (OfferClosedReason::Assigned, closed_for(Some(mediator_id)))
                }
                Event::Cancelled => (OfferClosedReason::Cancelled, closed_for(None)),
                _ => (OfferClosedReason::Claimed, vec![]),
            };
            if !others.is_empty() {
                let msg = MediatorMessage::OfferClosed { incident_id: after.id.to_string(), reason };
                self.to_mediators(others, &msg).await;
            }
            let msg =
                OperatorMessage::Incident { event: event.clone(), incident: Box::new(IncidentView::masked(after)) };
            self.publish(BusMessage::ToOperators { payload: wire::to_json(&msg) }).await;
        }
        self.publish(BusMessage::IncidentChanged { incident_id: after.id.clone() }).await;
    }

    pub(super) async fn to_mediators(&self, mediator_ids: Vec<AccountId>, message: &MediatorMessage) {
        self.publish(BusMessage::ToMediators { mediator_ids, payload: wire::to_json(message) }).await;
    }
}
