//! Stored records: the shapes incidents, accounts, scenes and areas have in a backend, each
//! with its schema version, apart from the domain and API types. Renaming a field of an API
//! or domain type changes only its `From` conversion here, never a stored byte; a change to
//! what is stored is a new `Stored…V2` and a conversion from V1, read by [`Record::decode`].
//!
//! Both stores use it: Redis keeps the encoded JSON, the memory store keeps what decoding it
//! gives back (so both hand out the same values), and the bus carries an incident in the same
//! encoding. Today every record is schema 1; records written before the version existed have
//! no `schema` field and read as 1.
//!
//! The ids, points, phones, timestamps and the domain's enums (status, category, colour,
//! outcome, level, role) keep their own spelling: they are values, not records.

use super::StoreError;
use crate::domain::account::{Account, Phone, Role};
use crate::domain::area::{Area, AreaLevel, AreaPath};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::{Feedback, Incident, Offer, Outcome, Status, Supervision};
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The schema every record is written with today.
pub const SCHEMA: u32 = 1;

fn schema_v1() -> u32 {
    1
}

/// Something a store keeps, with the storage type of its current schema.
pub trait Record: Sized {
    /// What it is, for errors.
    const WHAT: &'static str;
    /// How it is stored today.
    type Stored: Serialize + DeserializeOwned + Into<Self>;
    /// Its stored form.
    fn to_stored(&self) -> Self::Stored;
    /// The schema `stored` says it has.
    fn schema(stored: &Self::Stored) -> u32;

    /// The stored bytes (JSON) of `self`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if it cannot be encoded (never for these types).
    fn encode(&self) -> Result<String, StoreError> {
        serde_json::to_string(&self.to_stored()).map_err(|e| StoreError::Corrupt(format!("{}: {e}", Self::WHAT)))
    }

    /// A record back from its stored bytes, whatever schema it was written with.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the bytes are not a record of a known schema.
    fn decode(json: &str) -> Result<Self, StoreError> {
        match serde_json::from_str::<Self::Stored>(json) {
            Ok(stored) if Self::schema(&stored) == SCHEMA => Ok(stored.into()),
            Ok(stored) => Err(unknown_schema(Self::WHAT, Self::schema(&stored))),
            Err(e) => Err(match serde_json::from_str::<Versioned>(json) {
                Ok(Versioned { schema }) if schema != SCHEMA => unknown_schema(Self::WHAT, schema),
                _ => StoreError::Corrupt(format!("{}: {e}", Self::WHAT)),
            }),
        }
    }

    /// What a store hands back for `self` once written: encoded and decoded again (the memory
    /// store keeps this, so it answers exactly as Redis does, floats included).
    ///
    /// # Errors
    /// As [`Record::encode`] and [`Record::decode`].
    fn round_trip(&self) -> Result<Self, StoreError> {
        Self::decode(&self.encode()?)
    }
}

/// `Record` for a domain type stored as `$stored` (which has `schema` and the `From`s).
macro_rules! record {
    ($domain:ty, $stored:ty, $what:literal) => {
        impl Record for $domain {
            const WHAT: &'static str = $what;
            type Stored = $stored;
            fn to_stored(&self) -> $stored {
                self.into()
            }
            fn schema(stored: &$stored) -> u32 {
                stored.schema
            }
        }
    };
}

/// Only the version of a record (to name an unknown one).
#[derive(Deserialize)]
struct Versioned {
    #[serde(default = "schema_v1")]
    schema: u32,
}

fn unknown_schema(what: &str, schema: u32) -> StoreError {
    StoreError::Corrupt(format!("{what}: schema {schema} is unknown to this build (it reads {SCHEMA})"))
}

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

// --- incidents ------------------------------------------------------------------------------

/// An incident as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredIncidentV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Id.
    pub id: IncidentId,
    /// State.
    pub status: Status,
    /// Kind.
    pub category: Category,
    /// Colour.
    pub risk: Risk,
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
    pub outcome: Option<Outcome>,
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
    pub ladder: Option<AreaLevel>,
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
            status: i.status,
            category: i.category,
            risk: i.risk,
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
            outcome: i.outcome,
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
            ladder: i.ladder,
            version: i.version,
        }
    }
}

impl From<StoredIncidentV1> for Incident {
    fn from(i: StoredIncidentV1) -> Self {
        Self {
            id: i.id,
            status: i.status,
            category: i.category,
            risk: i.risk,
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
            outcome: i.outcome,
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
            ladder: i.ladder,
            version: i.version,
        }
    }
}

record!(Incident, StoredIncidentV1, "incident");

// --- accounts, scenes, areas ------------------------------------------------------------------

/// A staff account as stored, schema 1. The account scripts read `version` and `phone`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAccountV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Id.
    pub id: AccountId,
    /// Role.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Login phone.
    pub phone: Phone,
    /// argon2id PHC string.
    pub password_hash: String,
    /// May log in.
    pub enabled: bool,
    /// Specialties.
    #[serde(default)]
    pub specialties: Vec<Category>,
    /// Capacity.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Home area code.
    #[serde(default)]
    pub area: Option<String>,
    /// Created at.
    pub created_at: Timestamp,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
    /// Bound WeChat openid.
    #[serde(default)]
    pub wechat_openid: Option<String>,
    /// Token generation.
    #[serde(default)]
    pub token_generation: u64,
}

fn default_capacity() -> u32 {
    3
}

impl From<&Account> for StoredAccountV1 {
    fn from(a: &Account) -> Self {
        Self {
            schema: SCHEMA,
            id: a.id.clone(),
            role: a.role,
            name: a.name.clone(),
            phone: a.phone.clone(),
            password_hash: a.password_hash.clone(),
            enabled: a.enabled,
            specialties: a.specialties.clone(),
            capacity: a.capacity,
            area: a.area.clone(),
            created_at: a.created_at,
            version: a.version,
            wechat_openid: a.wechat_openid.clone(),
            token_generation: a.token_generation,
        }
    }
}

impl From<StoredAccountV1> for Account {
    fn from(a: StoredAccountV1) -> Self {
        Self {
            id: a.id,
            role: a.role,
            name: a.name,
            phone: a.phone,
            password_hash: a.password_hash,
            enabled: a.enabled,
            specialties: a.specialties,
            capacity: a.capacity,
            area: a.area,
            created_at: a.created_at,
            version: a.version,
            wechat_openid: a.wechat_openid,
            token_generation: a.token_generation,
        }
    }
}

record!(Account, StoredAccountV1, "account");

/// A QR scene as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSceneV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Id.
    pub id: SceneId,
    /// Name.
    pub name: String,
    /// WGS-84.
    pub location: GeoPoint,
    /// Grid code.
    #[serde(default)]
    pub grid: Option<String>,
    /// Created at.
    pub created_at: Timestamp,
}

impl From<&Scene> for StoredSceneV1 {
    fn from(s: &Scene) -> Self {
        Self {
            schema: SCHEMA,
            id: s.id.clone(),
            name: s.name.clone(),
            location: s.location,
            grid: s.grid.clone(),
            created_at: s.created_at,
        }
    }
}

impl From<StoredSceneV1> for Scene {
    fn from(s: StoredSceneV1) -> Self {
        Self { id: s.id, name: s.name, location: s.location, grid: s.grid, created_at: s.created_at }
    }
}

record!(Scene, StoredSceneV1, "scene");

/// An area as stored, schema 1 (its outline as GeoJSON, WGS-84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAreaV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: AreaLevel,
    /// Parent's code.
    pub parent: Option<String>,
    /// GeoJSON geometry.
    pub geometry: serde_json::Value,
}

impl From<&Area> for StoredAreaV1 {
    fn from(a: &Area) -> Self {
        Self {
            schema: SCHEMA,
            code: a.code.clone(),
            name: a.name.clone(),
            level: a.level,
            parent: a.parent.clone(),
            geometry: a.geometry.clone(),
        }
    }
}

impl From<StoredAreaV1> for Area {
    fn from(a: StoredAreaV1) -> Self {
        Self { code: a.code, name: a.name, level: a.level, parent: a.parent, geometry: a.geometry }
    }
}

record!(Area, StoredAreaV1, "area");

#[cfg(test)]
mod tests;
