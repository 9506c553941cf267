//! Incidents as stored, schema 1: the record with its offers, supervision, follow-up answer
//! and area path.

use super::values::{StoredAreaLevelV1, StoredCategoryV1, StoredOutcomeV1, StoredRiskV1, StoredStatusV1};
use super::{Record, SCHEMA, schema_v1};
use crate::domain::account::Phone;
use crate::domain::area::AreaPath;
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::{Feedback, Incident, Offer, Supervision};
use crate::domain::location::GeoPoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Serde adapter for a field holding an incident as its stored record (the bus uses it).
pub(crate) mod incident_record {
    use super::{Incident, Record, StoredIncidentV1};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(incident: &Incident, s: S) -> Result<S::Ok, S::Error> {
        incident.to_stored().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<Incident>, D::Error> {
        let stored = StoredIncidentV1::deserialize(d)?;
        if stored.schema != super::SCHEMA {
            return Err(serde::de::Error::custom(format!("incident schema {} is unknown", stored.schema)));
        }
        Ok(Box::new(stored.into()))
    }
}

/// An incident as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredIncidentV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Id.
    pub id: IncidentId,
    /// State.
    pub status: StoredStatusV1,
    /// Kind.
    pub category: StoredCategoryV1,
    /// Colour.
    pub risk: StoredRiskV1,
    /// The resident's words.
    pub description: String,
    /// WGS-84.
    pub location: GeoPoint,
    /// H3 cell.
    pub cell: String,
    /// Place name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_name: Option<String>,
    /// Address typed by the resident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Only the district's centre.
    #[serde(default, skip_serializing_if = "is_false")]
    pub approximate: bool,
    /// QR scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_id: Option<SceneId>,
    /// Resident's phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_phone: Option<Phone>,
    /// Reported at.
    pub created_at: Timestamp,
    /// Escalates at.
    pub escalate_at: Timestamp,
    /// Offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<StoredOfferV1>,
    /// Holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<AccountId>,
    /// Claimed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<Timestamp>,
    /// Assigning operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_by: Option<AccountId>,
    /// Escalated at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<Timestamp>,
    /// Arrived at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived_at: Option<Timestamp>,
    /// Resolved at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// Outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<StoredOutcomeV1>,
    /// Closing note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_note: Option<String>,
    /// Withdrawn at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
    /// Red alert at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerted_at: Option<Timestamp>,
    /// Arrive by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrive_by: Option<Timestamp>,
    /// Resolve by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_by: Option<Timestamp>,
    /// Arrival deadline missed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrive_overdue_at: Option<Timestamp>,
    /// Resolution deadline missed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_overdue_at: Option<Timestamp>,
    /// Supervision order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervision: Option<StoredSupervisionV1>,
    /// Follow-up answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<StoredFeedbackV1>,
    /// Reopened at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<Timestamp>,
    /// Waves sent.
    #[serde(default)]
    pub wave: u32,
    /// Possible duplicate of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<IncidentId>,
    /// Recurring spot.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recurring: bool,
    /// Area codes.
    #[serde(default)]
    pub area: StoredAreaPathV1,
    /// Ladder level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<StoredAreaLevelV1>,
    /// Optimistic-concurrency version (the write script reads nothing else but `status`).
    pub version: u64,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_false(b: &bool) -> bool {
    !*b
}

/// An offer as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOfferV1 {
    /// Mediator.
    pub mediator_id: AccountId,
    /// Distance when offered, metres.
    pub distance_m: f64,
    /// Offered at.
    pub offered_at: Timestamp,
    /// Declined at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_at: Option<Timestamp>,
    /// Lapsed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<Timestamp>,
}

/// A supervision order as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSupervisionV1 {
    /// Operator.
    pub operator_id: AccountId,
    /// Order.
    pub note: String,
    /// When.
    pub at: Timestamp,
}

/// A follow-up answer as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFeedbackV1 {
    /// 1..=5.
    pub rating: u8,
    /// Words.
    #[serde(default)]
    pub comment: Option<String>,
    /// Considered resolved.
    pub resolved: bool,
    /// When.
    pub at: Timestamp,
}

/// Area codes of a place as stored, schema 1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAreaPathV1 {
    /// District.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Street/town.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Community/village.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    /// Grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
}

impl From<&AreaPath> for StoredAreaPathV1 {
    fn from(p: &AreaPath) -> Self {
        Self {
            district: p.district.clone(),
            street: p.street.clone(),
            community: p.community.clone(),
            grid: p.grid.clone(),
        }
    }
}

impl From<StoredAreaPathV1> for AreaPath {
    fn from(p: StoredAreaPathV1) -> Self {
        Self { district: p.district, street: p.street, community: p.community, grid: p.grid }
    }
}

impl From<&Offer> for StoredOfferV1 {
    fn from(o: &Offer) -> Self {
        Self {
            mediator_id: o.mediator_id.clone(),
            distance_m: o.distance_m,
            offered_at: o.offered_at,
            declined_at: o.declined_at,
            expired_at: o.expired_at,
        }
    }
}

impl From<StoredOfferV1> for Offer {
    fn from(o: StoredOfferV1) -> Self {
        Self {
            mediator_id: o.mediator_id,
            distance_m: o.distance_m,
            offered_at: o.offered_at,
            declined_at: o.declined_at,
            expired_at: o.expired_at,
        }
    }
}

impl From<&Supervision> for StoredSupervisionV1 {
    fn from(s: &Supervision) -> Self {
        Self { operator_id: s.operator_id.clone(), note: s.note.clone(), at: s.at }
    }
}

impl From<StoredSupervisionV1> for Supervision {
    fn from(s: StoredSupervisionV1) -> Self {
        Self { operator_id: s.operator_id, note: s.note, at: s.at }
    }
}

impl From<&Feedback> for StoredFeedbackV1 {
    fn from(f: &Feedback) -> Self {
        Self { rating: f.rating, comment: f.comment.clone(), resolved: f.resolved, at: f.at }
    }
}

impl From<StoredFeedbackV1> for Feedback {
    fn from(f: StoredFeedbackV1) -> Self {
        Self { rating: f.rating, comment: f.comment, resolved: f.resolved, at: f.at }
    }
}

impl From<&Incident> for StoredIncidentV1 {
    fn from(i: &Incident) -> Self {
        Self {
            schema: SCHEMA,
            id: i.id.clone(),
            status: i.status.into(),
            category: i.category.into(),
            risk: i.risk.into(),
            description: i.description.clone(),
            location: i.location,
            cell: i.cell.clone(),
            place_name: i.place_name.clone(),
            address: i.address.clone(),
            approximate: i.approximate,
            scene_id: i.scene_id.clone(),
            resident_phone: i.resident_phone.clone(),
            created_at: i.created_at,
            escalate_at: i.escalate_at,
            offers: i.offers.iter().map(StoredOfferV1::from).collect(),
            claimed_by: i.claimed_by.clone(),
            claimed_at: i.claimed_at,
            assigned_by: i.assigned_by.clone(),
            escalated_at: i.escalated_at,
            arrived_at: i.arrived_at,
            resolved_at: i.resolved_at,
            outcome: i.outcome.map(Into::into),
            resolution_note: i.resolution_note.clone(),
            cancelled_at: i.cancelled_at,
            alerted_at: i.alerted_at,
            arrive_by: i.arrive_by,
            resolve_by: i.resolve_by,
            arrive_overdue_at: i.arrive_overdue_at,
            resolve_overdue_at: i.resolve_overdue_at,
            supervision: i.supervision.as_ref().map(StoredSupervisionV1::from),
            feedback: i.feedback.as_ref().map(StoredFeedbackV1::from),
            reopened_at: i.reopened_at,
            wave: i.wave,
            duplicate_of: i.duplicate_of.clone(),
            recurring: i.recurring,
            area: StoredAreaPathV1::from(&i.area),
            ladder: i.ladder.map(Into::into),
            version: i.version,
        }
    }
}

impl From<StoredIncidentV1> for Incident {
    fn from(i: StoredIncidentV1) -> Self {
        Self {
            id: i.id,
            status: i.status.into(),
            category: i.category.into(),
            risk: i.risk.into(),
            description: i.description,
            location: i.location,
            cell: i.cell,
            place_name: i.place_name,
            address: i.address,
            approximate: i.approximate,
            scene_id: i.scene_id,
            resident_phone: i.resident_phone,
            created_at: i.created_at,
            escalate_at: i.escalate_at,
            offers: i.offers.into_iter().map(Offer::from).collect(),
            claimed_by: i.claimed_by,
            claimed_at: i.claimed_at,
            assigned_by: i.assigned_by,
            escalated_at: i.escalated_at,
            arrived_at: i.arrived_at,
            resolved_at: i.resolved_at,
            outcome: i.outcome.map(Into::into),
            resolution_note: i.resolution_note,
            cancelled_at: i.cancelled_at,
            alerted_at: i.alerted_at,
            arrive_by: i.arrive_by,
            resolve_by: i.resolve_by,
            arrive_overdue_at: i.arrive_overdue_at,
            resolve_overdue_at: i.resolve_overdue_at,
            supervision: i.supervision.map(Supervision::from),
            feedback: i.feedback.map(Feedback::from),
            reopened_at: i.reopened_at,
            wave: i.wave,
            duplicate_of: i.duplicate_of,
            recurring: i.recurring,
            area: i.area.into(),
            ladder: i.ladder.map(Into::into),
            version: i.version,
        }
    }
}

record!(Incident, StoredIncidentV1, "incident");
