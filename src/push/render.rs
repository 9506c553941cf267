//! Rendering at the edge: a write's notices (domain events with their recipients, from the
//! bus) become wire messages here, on every instance, each rendered once for all of this
//! instance's sockets that get it, and not at all when none does.

use super::wire::{self, IncidentView, MediatorMessage, OfferClosedReason, OperatorMessage};
use super::{Hub, Payload};
use crate::domain::ids::AccountId;
use crate::domain::incident::{Deadline, Event, Incident};
use crate::domain::news::{Notice, Recipients};
use std::time::Duration;

impl Hub {
    /// Deliver a write's `notices` about `incident` (as the write left it) to this instance's
    /// sockets, in order. Screens share one rendering per notice; each offered mediator is
    /// shown their own offer (their distance, its lapse after `offer_ttl`).
    pub fn deliver(&self, incident: &Incident, notices: &[Notice], offer_ttl: Duration) {
        let mut masked: Option<IncidentView> = None;
        for notice in notices {
            match &notice.to {
                Recipients::Screens(place) => {
                    if !self.has_screen_seeing(place) {
                        continue;
                    }
                    let view = masked.get_or_insert_with(|| IncidentView::masked(incident)).clone();
                    let msg = OperatorMessage::Incident { event: notice.event.clone(), incident: Box::new(view) };
                    self.send_operators(&payload(&msg), Some(place));
                }
                Recipients::Offered(mediators) => {
                    for m in mediators.iter().filter(|m| self.has_mediator(m)) {
                        let msg = MediatorMessage::Offer { incident: IncidentView::for_offer(incident, m, offer_ttl) };
                        self.send_mediators(std::slice::from_ref(m), &payload(&msg));
                    }
                }
                Recipients::OfferClosed(mediators) => {
                    let local: Vec<AccountId> = mediators.iter().filter(|m| self.has_mediator(m)).cloned().collect();
                    if let (false, Some(reason)) = (local.is_empty(), closed_reason(&notice.event)) {
                        let msg = MediatorMessage::OfferClosed { incident_id: incident.id.to_string(), reason };
                        self.send_mediators(&local, &payload(&msg));
                    }
                }
                Recipients::Holder(m) => {
                    if let (true, Some(msg)) = (self.has_mediator(m), holder_message(&notice.event, incident)) {
                        self.send_mediators(std::slice::from_ref(m), &payload(&msg));
                    }
                }
            }
        }
    }

    /// Whether a screen on this instance sees `place`.
    fn has_screen_seeing(&self, place: &crate::domain::area::AreaPath) -> bool {
        self.lock().operators.iter().any(|(_, _, screen)| screen.scope.sees_path(place))
    }
}

fn payload<T: serde::Serialize>(message: &T) -> Payload {
    wire::to_json(message).into()
}

/// Why an offer closed, by the event that closed it.
fn closed_reason(event: &Event) -> Option<OfferClosedReason> {
    match event {
        Event::Claimed { .. } => Some(OfferClosedReason::Claimed),
        Event::Assigned { .. } => Some(OfferClosedReason::Assigned),
        Event::Cancelled => Some(OfferClosedReason::Cancelled),
        Event::OffersExpired { .. } => Some(OfferClosedReason::Expired),
        _ => None,
    }
}

/// What the mediator holding `incident` is shown of `event` (none: nothing).
fn holder_message(event: &Event, incident: &Incident) -> Option<MediatorMessage> {
    let id = || incident.id.to_string();
    match event {
        Event::Assigned { .. } => Some(MediatorMessage::Assigned { incident: IncidentView::for_holder(incident) }),
        Event::Reminded { deadline } | Event::Overdue { deadline } => Some(MediatorMessage::Reminder {
            incident_id: id(),
            deadline: *deadline,
            due_at: match deadline {
                Deadline::Arrive => incident.arrive_by,
                Deadline::Resolve => incident.resolve_by,
            },
            overdue: matches!(event, Event::Overdue { .. }),
        }),
        Event::Supervised { note } => Some(MediatorMessage::Supervised { incident_id: id(), note: note.clone() }),
        Event::RiskChanged { .. } => {
            Some(MediatorMessage::RiskChanged { incident: IncidentView::for_holder(incident) })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::area::Scope;
    use crate::store::conformance::incident;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_notice_is_rendered_once_for_every_socket_of_this_instance_that_gets_it() {
        let m = AccountId::generate();
        let i = incident(std::slice::from_ref(&m));
        let hub = Hub::new(8);
        let mut screens: Vec<_> = (0..3).map(|_| hub.register_operator(None, Scope::All)).collect();
        let mut phones: Vec<_> = (0..2).map(|_| hub.register_mediator(&m)).collect();
        let notices = [
            Notice::new(Event::Reported, Recipients::Screens(i.area.clone())),
            Notice::new(Event::Cancelled, Recipients::OfferClosed(vec![m.clone(), AccountId::generate()])),
        ];
        hub.deliver(&i, &notices, Duration::from_secs(180));
        let first = screens[0].rx.recv().await.unwrap();
        for screen in &mut screens[1..] {
            assert!(Arc::ptr_eq(&first, &screen.rx.recv().await.unwrap()), "one rendering for every screen");
        }
        let closed = phones[0].rx.recv().await.unwrap();
        assert!(Arc::ptr_eq(&closed, &phones[1].rx.recv().await.unwrap()), "one rendering for both phones");
        let closed: serde_json::Value = serde_json::from_str(&closed).unwrap();
        assert_eq!(
            closed,
            serde_json::json!({"type": "offer_closed", "incident_id": i.id.to_string(), "reason": "cancelled"})
        );
        let first: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(first["type"], "incident");
        assert_eq!(first["event"], serde_json::json!({"type": "reported"}));
        assert_eq!(first["incident"]["resident_phone"], "138****5678", "screens see the phone masked");
    }
}
