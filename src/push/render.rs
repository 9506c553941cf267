//! Rendering at the edge: a write's notices (domain events with their recipients, from the
//! bus) become wire messages here, on every instance, each rendered once for all of this
//! instance's sockets that get it, and not at all when none does. Departments' call-in steps
//! travel the same way (the call-in, its step and its recipients).

use super::wire::{self, IncidentView, MediatorMessage, OfferClosedReason, OperatorMessage};
use super::{Hub, Payload};
use crate::domain::area::AreaPath;
use crate::domain::department::{CallIn, Step};
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

    /// Deliver a step of `call_in` to this instance's screens that see `screens` (None: every
    /// screen) and to the sockets of `accounts` (the department's): one rendering for all of
    /// them, none when no such socket is here.
    pub fn deliver_call_in(&self, call_in: &CallIn, step: &Step, screens: Option<&AreaPath>, accounts: &[AccountId]) {
        let screen_here = match screens {
            Some(place) => self.has_screen_seeing(place),
            None => !self.lock().operators.is_empty(),
        };
        let local: Vec<AccountId> = accounts.iter().filter(|a| self.has_mediator(a)).cloned().collect();
        if !screen_here && local.is_empty() {
            return;
        }
        let rendered = payload(&super::call_in::CallInMessage::of(call_in, step));
        if screen_here {
            self.send_operators(&rendered, screens);
        }
        self.send_mediators(&local, &rendered);
    }

    /// Deliver a case-file deadline that fell due (`case_due`) to the holder's sockets here
    /// and to the screens that see `screens` (None: no screen): one rendering for all.
    pub fn deliver_case_due(
        &self,
        incident_id: &crate::domain::ids::IncidentId,
        kind: &str,
        date: Option<&str>,
        holder: Option<&AccountId>,
        screens: Option<&AreaPath>,
    ) {
        let holder: Vec<AccountId> = holder.filter(|m| self.has_mediator(m)).cloned().into_iter().collect();
        let screen_here = screens.is_some_and(|place| self.has_screen_seeing(place));
        if holder.is_empty() && !screen_here {
            return;
        }
        let rendered = payload(&serde_json::json!({
            "type": "case_due",
            "incident_id": incident_id,
            "kind": kind,
            "date": date,
        }));
        if screen_here {
            self.send_operators(&rendered, screens);
        }
        self.send_mediators(&holder, &rendered);
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

    #[tokio::test]
    async fn a_call_in_step_reaches_the_screens_that_see_it_and_the_departments_sockets_once_rendered() {
        use crate::domain::area::AreaLevel;
        use crate::domain::department::{
            CallIn, Department, DepartmentKind, DutyPhone, NewCallIn, Purpose, Urgency, Windows,
        };
        let department = Department {
            id: crate::domain::ids::DepartmentId::generate(),
            name: "南滩派出所".into(),
            kind: DepartmentKind::PoliceStation,
            area: None,
            duty_phone: DutyPhone::parse("0971-8123456").unwrap(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let incident_id = crate::domain::ids::IncidentId::generate();
        let new = NewCallIn {
            incident_id: &incident_id,
            risk: crate::domain::category::Risk::Yellow,
            department: &department,
            purpose: Purpose::Assist,
            urgency: Urgency::Normal,
            note: "请派员到场",
            called_by: "op".into(),
            called_by_role: crate::domain::timeline::ActorRole::Operator,
        };
        let within = jiff::SignedDuration::from_mins(10);
        let call_in =
            CallIn::new(&new, Windows { ack_within: within, respond_within: within }, jiff::Timestamp::UNIX_EPOCH);
        let place = crate::domain::area::AreaPath::default().with(AreaLevel::District, "D".into());
        let (account, stranger) = (AccountId::generate(), AccountId::generate());
        let hub = Hub::new(8);
        let mut seeing = hub.register_operator(None, Scope::Area("D".into()));
        let mut elsewhere = hub.register_operator(None, Scope::Area("E".into()));
        let mut phone = hub.register_mediator(&account);
        let mut other = hub.register_mediator(&stranger);
        hub.deliver_call_in(&call_in, &Step::AckOverdue, Some(&place), std::slice::from_ref(&account));
        let screen = seeing.rx.recv().await.unwrap();
        assert!(Arc::ptr_eq(&screen, &phone.rx.recv().await.unwrap()), "one rendering for screen and phone");
        assert!(elsewhere.rx.try_recv().is_err() && other.rx.try_recv().is_err(), "nobody else hears of it");
        let message: serde_json::Value = serde_json::from_str(&screen).unwrap();
        assert_eq!(message["type"], "call_in");
        assert_eq!(message["step"], "ack_overdue");
        assert_eq!(message["urging"], true);
        assert_eq!(message["call_in"]["id"], call_in.id.to_string());
        assert_eq!(message["call_in"]["state"], "called");
    }
}
