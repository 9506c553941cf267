//! What each audience is shown of an incident, and the messages sockets carry.
//!
//! Privacy lives here: the resident's phone is full only in [`IncidentView::for_holder`];
//! operators and offered mediators see it masked; exact positions go only to those who need them.

use crate::domain::account::{Account, Fix};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::AccountId;
use crate::domain::incident::{Event, Incident, Outcome, Status};
use crate::domain::location::GeoPoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A WGS-84 point on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LatLng {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lng: f64,
}

impl From<GeoPoint> for LatLng {
    fn from(p: GeoPoint) -> Self {
        Self { lat: p.lat(), lng: p.lng() }
    }
}

/// An incident as staff see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    /// Id.
    pub id: String,
    /// State.
    pub status: Status,
    /// Kind of dispute.
    pub category: Category,
    /// Chinese label of the category.
    pub category_label: String,
    /// Risk colour.
    pub risk: Risk,
    /// The resident's words.
    pub description: String,
    /// Where (WGS-84).
    pub location: LatLng,
    /// H3 cell.
    pub cell: String,
    /// The place's name: the QR scene's, else the community and grid names; absent when
    /// neither is known (show `location`).
    #[serde(default)]
    pub place_name: Option<String>,
    /// Where it is in the resident's words (an address or landmark typed on the form).
    #[serde(default)]
    pub address: Option<String>,
    /// `location` is only the district's centre: go by `address` (the resident set no pin).
    #[serde(default)]
    pub approximate: bool,
    /// QR scene, if reported from one.
    pub scene_id: Option<String>,
    /// The resident's phone: full for the holding mediator, masked for everyone else.
    pub resident_phone: Option<String>,
    /// Reported at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Escalates at (if still unclaimed).
    #[schema(value_type = String, format = DateTime)]
    pub escalate_at: Timestamp,
    /// Escalated at.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<Timestamp>,
    /// Held by.
    pub claimed_by: Option<String>,
    /// Claimed at.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub claimed_at: Option<Timestamp>,
    /// Assigned by (operator), if not grabbed.
    pub assigned_by: Option<String>,
    /// Arrived at.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrived_at: Option<Timestamp>,
    /// Resolved at.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    /// Outcome.
    pub outcome: Option<Outcome>,
    /// Mediators offered to (ids).
    pub offered_to: Vec<String>,
    /// Distance from the viewing mediator, metres (offers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// When the viewing mediator was offered it (offers only; equals `created_at` for the
    /// first wave, later for wider waves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub offered_at: Option<Timestamp>,
    /// When the viewing mediator's offer lapses (`offered_at` + `dispatch.offer_ttl`; it closes
    /// at the first wave from then on). Absent when it would outlive the escalation: offers
    /// stay open once the command center has it (offers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub offer_expires_at: Option<Timestamp>,
    /// Red: when the command center was alerted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub alerted_at: Option<Timestamp>,
    /// Arrive by (once claimed).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrive_by: Option<Timestamp>,
    /// Resolve by (once claimed).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolve_by: Option<Timestamp>,
    /// Past a deadline and still open (催办).
    pub overdue: bool,
    /// When the arrival deadline passed unmet.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrive_overdue_at: Option<Timestamp>,
    /// When the resolution deadline passed unmet.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolve_overdue_at: Option<Timestamp>,
    /// Under supervision (督办).
    pub supervision: Option<crate::domain::incident::Supervision>,
    /// The resident's follow-up answer.
    pub feedback: Option<crate::domain::incident::Feedback>,
    /// Reopened by "not resolved" feedback.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reopened_at: Option<Timestamp>,
    /// Offer waves sent so far.
    pub wave: u32,
    /// A possibly identical open report.
    pub duplicate_of: Option<String>,
    /// From an area with repeated reports in 30 days.
    pub recurring: bool,
    /// Where it lies: district, street, community, grid codes.
    pub area: crate::domain::area::AreaPath,
    /// Which command-center level is responsible on the escalation ladder.
    pub ladder: Option<crate::domain::area::AreaLevel>,
}

impl IncidentView {
    fn build(incident: &Incident, full_phone: bool) -> Self {
        Self {
            id: incident.id.to_string(),
            status: incident.status,
            category: incident.category,
            category_label: incident.category.label_zh().to_owned(),
            risk: incident.risk,
            description: incident.description.clone(),
            location: incident.location.into(),
            cell: incident.cell.clone(),
            place_name: incident.place_name.clone(),
            address: incident.address.clone(),
            approximate: incident.approximate,
            scene_id: incident.scene_id.as_ref().map(ToString::to_string),
            resident_phone: incident
                .resident_phone
                .as_ref()
                .map(|p| if full_phone { p.full().to_owned() } else { p.masked() }),
            created_at: incident.created_at,
            escalate_at: incident.escalate_at,
            escalated_at: incident.escalated_at,
            claimed_by: incident.claimed_by.as_ref().map(ToString::to_string),
            claimed_at: incident.claimed_at,
            assigned_by: incident.assigned_by.as_ref().map(ToString::to_string),
            arrived_at: incident.arrived_at,
            resolved_at: incident.resolved_at,
            outcome: incident.outcome,
            offered_to: incident.offers.iter().map(|o| o.mediator_id.to_string()).collect(),
            distance_m: None,
            offered_at: None,
            offer_expires_at: None,
            alerted_at: incident.alerted_at,
            arrive_by: incident.arrive_by,
            resolve_by: incident.resolve_by,
            overdue: incident.is_overdue(),
            arrive_overdue_at: incident.arrive_overdue_at,
            resolve_overdue_at: incident.resolve_overdue_at,
            supervision: incident.supervision.clone(),
            feedback: incident.feedback.clone(),
            reopened_at: incident.reopened_at,
            wave: incident.wave,
            duplicate_of: incident.duplicate_of.as_ref().map(ToString::to_string),
            recurring: incident.recurring,
            area: incident.area.clone(),
            ladder: incident.ladder,
        }
    }

    /// For operators and anyone not holding it: phone masked.
    #[must_use]
    pub fn masked(incident: &Incident) -> Self {
        Self::build(incident, false)
    }

    /// For the mediator holding it (while it is open): the full phone, so they can call.
    #[must_use]
    pub fn for_holder(incident: &Incident) -> Self {
        let open = incident.status.is_active_claim();
        Self::build(incident, open)
    }

    /// For a mediator looking at an offer: masked, with their distance and when it lapses
    /// (offers live `offer_ttl`).
    #[must_use]
    pub fn for_offer(incident: &Incident, mediator: &AccountId, offer_ttl: std::time::Duration) -> Self {
        let mut v = Self::build(incident, false);
        let offer = incident.offers.iter().find(|o| &o.mediator_id == mediator);
        v.distance_m = offer.map(|o| o.distance_m.round());
        v.offered_at = offer.map(|o| o.offered_at);
        let ttl = jiff::SignedDuration::try_from(offer_ttl).unwrap_or(jiff::SignedDuration::MAX);
        v.offer_expires_at = offer
            .and_then(|o| o.offered_at.checked_add(ttl).ok())
            .filter(|at| incident.escalated_at.is_none() && *at < incident.escalate_at);
        v
    }
}

/// A mediator's live position on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MediatorPosition {
    /// Mediator id.
    pub id: String,
    /// Where.
    pub lat: f64,
    /// Where.
    pub lng: f64,
    /// When the phone was there.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl MediatorPosition {
    /// From an index entry.
    #[must_use]
    pub fn new(id: &AccountId, fix: &Fix) -> Self {
        Self { id: id.to_string(), lat: fix.point.lat(), lng: fix.point.lng(), at: fix.at }
    }
}

/// A mediator on the command-center screen's snapshot: only what the map draws (a dot where
/// they are, their name on hover). Every mediator in the snapshot is on duty with a fresh
/// position (that is their status on the map); later moves come as [`MediatorPosition`]s.
/// About 100 bytes each with a short name (`SCREEN_MEDIATOR_BUDGET` in `tests/api/overload.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScreenMediator {
    /// Mediator id.
    pub id: String,
    /// Where, to 6 decimal places (about 0.1 m).
    pub lat: f64,
    /// Where, to 6 decimal places.
    pub lng: f64,
    /// Name (absent for an account that is gone), sent once here, not with every move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ScreenMediator {
    /// From a position and the name of its account.
    #[must_use]
    pub fn new(position: &MediatorPosition, name: Option<String>) -> Self {
        // Dividing by a power of ten gives the double nearest the decimal (shortest to print).
        let round = |deg: f64| (deg * 1e6).round() / 1e6;
        Self { id: position.id.clone(), lat: round(position.lat), lng: round(position.lng), name }
    }
}

/// A mediator as operators see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MediatorSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone, masked.
    pub phone: String,
    /// Specialties.
    pub specialties: Vec<Category>,
    /// Capacity.
    pub capacity: u32,
}

impl From<&Account> for MediatorSummary {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name.clone(),
            phone: a.phone.masked(),
            specialties: a.specialties.clone(),
            capacity: a.capacity,
        }
    }
}

/// Why an offer is no longer open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferClosedReason {
    /// Another mediator accepted it.
    Claimed,
    /// An operator sent someone.
    Assigned,
    /// The resident withdrew it.
    Cancelled,
    /// Nobody answered in time; it moved on to others.
    Expired,
}

/// Server → mediator socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediatorMessage {
    /// Come and grab this.
    Offer {
        /// The incident, with `distance_m`.
        incident: IncidentView,
    },
    /// That offer is gone.
    OfferClosed {
        /// Which.
        incident_id: String,
        /// Why.
        reason: OfferClosedReason,
    },
    /// An operator sent you (full resident phone included).
    Assigned {
        /// The incident.
        incident: IncidentView,
    },
    /// A deadline on an incident you hold is near, or passed (`overdue`).
    Reminder {
        /// Which incident.
        incident_id: String,
        /// Which deadline.
        deadline: crate::domain::incident::Deadline,
        /// When it is (was) due.
        #[schema(value_type = Option<String>, format = DateTime)]
        due_at: Option<Timestamp>,
        /// True once it has passed.
        overdue: bool,
    },
    /// The command center put an incident you hold under supervision (督办).
    Supervised {
        /// Which incident.
        incident_id: String,
        /// The order.
        note: String,
    },
    /// The command center changed the colour of an incident you hold: the incident with its
    /// new deadlines (counted from the change).
    RiskChanged {
        /// The incident (full resident phone included).
        incident: IncidentView,
    },
    /// Answer to the page's heartbeat `ping`.
    Pong,
    /// Your duty state as the server has it (answer to a duty message, and on connect).
    Duty {
        /// On duty.
        on: bool,
    },
    /// A client message was not understood (the socket stays open).
    Error {
        /// Stable code.
        code: String,
        /// Human message.
        message: String,
    },
}

/// Server → operator socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OperatorMessage {
    /// Sent on connect (and after a resync): everyone on duty and every open incident.
    Snapshot {
        /// On-duty mediators with fresh positions, by id, each with their name.
        mediators: Vec<ScreenMediator>,
        /// Incidents not yet closed, most urgent first (at most `SNAPSHOT_OPEN_LIMIT` of
        /// every area, oldest first, before the area filter).
        incidents: Vec<IncidentView>,
    },
    /// Batched position changes since the last batch.
    Positions {
        /// Moved or came on duty.
        updates: Vec<MediatorPosition>,
        /// Went off duty.
        off_duty: Vec<String>,
    },
    /// An incident changed.
    Incident {
        /// What happened.
        event: Event,
        /// The incident now.
        incident: Box<IncidentView>,
    },
}

/// Serialise a wire message (infallible for these types).
#[must_use]
pub fn to_json<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::incident;
    use std::time::Duration;

    #[test]
    fn an_offer_says_when_it_lapses_only_while_that_comes_before_the_escalation() {
        let m = AccountId::generate();
        let mut i = incident(std::slice::from_ref(&m));
        let offered_at = i.offers[0].offered_at;
        let lapse = |i: &Incident, ttl_s| IncidentView::for_offer(i, &m, Duration::from_secs(ttl_s)).offer_expires_at;
        assert_eq!(lapse(&i, 180), Some(offered_at + jiff::SignedDuration::from_secs(180)));
        assert_eq!(lapse(&i, 400), None, "it would outlive the escalation: it stays open");
        i.escalated_at = Some(offered_at);
        assert_eq!(lapse(&i, 180), None, "escalated: offers stay open");
        let other = AccountId::generate();
        assert_eq!(IncidentView::for_offer(&i, &other, Duration::from_secs(180)).offer_expires_at, None);
    }
}
