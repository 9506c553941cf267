//! The incident state machine: a pure function (incident, command, now) → new incident + events.
//!
//! ```text
//!  dispatching ──accept/assign──▶ claimed ──arrive──▶ on_site ──resolve──▶ resolved
//!       │  ▲                         │                                 ▲
//!   escalate│                        └─────────────resolve─────────────┘
//!       ▼  │ (offers stay open: a nearby mediator may still grab it)
//!   escalated ──accept/assign──▶ claimed
//!  dispatching | escalated ──cancel──▶ cancelled
//! ```
//! Stores only persist what this module decides, guarded by the incident's version, so
//! "exactly one accept wins" and "accept vs escalation" are decided here and made atomic there.
//! Filing is a command like the others (applied to no incident yet): every rule about what a
//! report becomes lives in [`decide`] and the one function per command it calls.
//!
//! The incident and its parts here; what can be asked of it and what it answers in
//! `command.rs`; what happened, as events, in `event.rs`; the rules in `decide.rs`.

mod command;
mod decide;
mod event;
#[cfg(test)]
mod table;
#[cfg(test)]
mod tests;

pub use command::{Command, Transition, TransitionError};
pub use decide::decide;
pub use event::Event;

use super::account::Phone;
use super::category::{Category, Risk};
use super::ids::{AccountId, IncidentId, SceneId};
use super::location::GeoPoint;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Offered to nearby mediators; nobody has accepted yet.
    Dispatching,
    /// Nobody accepted in time (or nobody was near): the command center must act.
    Escalated,
    /// A mediator accepted or was assigned and is on the way.
    Claimed,
    /// The mediator is there.
    OnSite,
    /// Closed by the mediator with an outcome.
    Resolved,
    /// Withdrawn by the resident before anyone claimed it.
    Cancelled,
}

impl Status {
    /// Still waiting for a mediator.
    #[must_use]
    pub fn is_unclaimed(self) -> bool {
        matches!(self, Self::Dispatching | Self::Escalated)
    }

    /// Resolved or cancelled: nobody works on it any more.
    #[must_use]
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Cancelled)
    }

    /// A mediator holds it and it is not closed.
    #[must_use]
    pub fn is_active_claim(self) -> bool {
        matches!(self, Self::Claimed | Self::OnSite)
    }
}

/// How a mediator closed an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 调解成功.
    Mediated,
    /// 调解未成功.
    NotMediated,
    /// 转交 another body (court, labour bureau, police).
    Referred,
}

/// One mediator an incident was offered to (stored as `store::records::StoredOfferV1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The mediator.
    pub mediator_id: AccountId,
    /// Great-circle distance from the mediator to the incident when offered.
    pub distance_m: f64,
    /// When the offer went out.
    pub offered_at: Timestamp,
    /// Set when the mediator said no.
    pub declined_at: Option<Timestamp>,
    /// Set when the offer lapsed unanswered (`dispatch.offer_ttl`).
    pub expired_at: Option<Timestamp>,
}

impl Offer {
    /// An offer to `mediator_id`, `distance_m` away, made at `at`.
    #[must_use]
    pub fn new(mediator_id: AccountId, distance_m: f64, at: Timestamp) -> Self {
        Self { mediator_id, distance_m, offered_at: at, declined_at: None, expired_at: None }
    }

    /// Still open: neither declined nor lapsed.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.declined_at.is_none() && self.expired_at.is_none()
    }
}

/// A deadline that runs once a mediator holds an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// Be there by `arrive_by`.
    Arrive,
    /// Close it by `resolve_by`.
    Resolve,
}

/// When the holder must arrive and resolve, fixed at claim time from the risk colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimDeadlines {
    /// Arrive by.
    pub arrive_by: Timestamp,
    /// Resolve by.
    pub resolve_by: Timestamp,
}

/// An operator's supervision order (督办).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Supervision {
    /// The operator.
    #[schema(value_type = String)]
    pub operator_id: AccountId,
    /// What they asked for.
    pub note: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// The resident's follow-up answer (回访).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    /// 1 (very unhappy) ..= 5 (very happy).
    pub rating: u8,
    /// Their words.
    pub comment: Option<String>,
    /// False: "not resolved", which reopens the incident to the command center.
    pub resolved: bool,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// A resident's report and everything that happened to it. No serde here: stores keep it as
/// `store::records::StoredIncidentV1`, clients see `push::wire::IncidentView`, so neither
/// follows a field renamed here.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Opaque id.
    pub id: IncidentId,
    /// Lifecycle state.
    pub status: Status,
    /// What it is about.
    pub category: Category,
    /// How urgent.
    pub risk: Risk,
    /// The resident's words.
    pub description: String,
    /// Where it happened (WGS-84).
    pub location: GeoPoint,
    /// H3 cell of `location` at the index resolution.
    pub cell: String,
    /// The place's name when it was reported: the QR scene's name, else the names of the
    /// community and grid it lies in; None when neither is known (pages show coordinates).
    pub place_name: Option<String>,
    /// Where it is in the resident's own words (typed on the form: an address or landmark).
    pub address: Option<String>,
    /// `location` is only the district's centre: the resident typed an address but gave no
    /// pin, scene or GPS, so nobody can be offered it by distance (it goes to the command
    /// center at once).
    pub approximate: bool,
    /// The QR scene it was reported from, if any.
    pub scene_id: Option<SceneId>,
    /// The resident's phone, if they gave one.
    pub resident_phone: Option<Phone>,
    /// When it was reported.
    pub created_at: Timestamp,
    /// When it escalates to the command center if still unclaimed.
    pub escalate_at: Timestamp,
    /// Mediators it was offered to.
    pub offers: Vec<Offer>,
    /// The mediator who holds it.
    pub claimed_by: Option<AccountId>,
    /// When it was claimed or assigned.
    pub claimed_at: Option<Timestamp>,
    /// The operator who assigned it, when it was not grabbed.
    pub assigned_by: Option<AccountId>,
    /// When it escalated.
    pub escalated_at: Option<Timestamp>,
    /// When the mediator arrived.
    pub arrived_at: Option<Timestamp>,
    /// When it was closed.
    pub resolved_at: Option<Timestamp>,
    /// How it was closed.
    pub outcome: Option<Outcome>,
    /// The mediator's closing note.
    pub resolution_note: Option<String>,
    /// When the resident withdrew it.
    pub cancelled_at: Option<Timestamp>,
    /// When a red incident was alerted to the command center.
    pub alerted_at: Option<Timestamp>,
    /// The holder must arrive by then.
    pub arrive_by: Option<Timestamp>,
    /// The holder must resolve by then.
    pub resolve_by: Option<Timestamp>,
    /// When the arrival deadline passed unmet.
    pub arrive_overdue_at: Option<Timestamp>,
    /// When the resolution deadline passed unmet.
    pub resolve_overdue_at: Option<Timestamp>,
    /// Under supervision (督办).
    pub supervision: Option<Supervision>,
    /// The resident's follow-up answer.
    pub feedback: Option<Feedback>,
    /// When "not resolved" feedback reopened it.
    pub reopened_at: Option<Timestamp>,
    /// How many offer waves went out.
    pub wave: u32,
    /// A possibly identical open report (within 100 m and 30 minutes).
    pub duplicate_of: Option<IncidentId>,
    /// Reported from an area with two or more reports in the last 30 days.
    pub recurring: bool,
    /// Where it lies in the jurisdiction hierarchy.
    pub area: super::area::AreaPath,
    /// Which command-center level is responsible on the escalation ladder (none before it
    /// escalates, unless red).
    pub ladder: Option<super::area::AreaLevel>,
    /// Optimistic-concurrency version: every stored change bumps it by one.
    pub version: u64,
}

/// What the resident said and where: the part of a report that is theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Id.
    pub id: IncidentId,
    /// Kind.
    pub category: Category,
    /// Colour (after triage).
    pub risk: Risk,
    /// Words.
    pub description: String,
    /// Where.
    pub location: GeoPoint,
    /// Its H3 cell.
    pub cell: String,
    /// QR scene.
    pub scene_id: Option<SceneId>,
    /// Phone.
    pub resident_phone: Option<Phone>,
    /// Where, in the resident's own words.
    pub address: Option<String>,
}

/// A report as it is filed: the resident's part and what the service found for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Filing {
    /// What the resident said and where.
    pub report: Report,
    /// Where it lies in the jurisdiction hierarchy.
    pub area: super::area::AreaPath,
    /// The place's name (the scene's, else its community and grid), if any.
    pub place_name: Option<String>,
    /// The place is only the district's centre (the resident gave words, no point).
    pub approximate: bool,
    /// The first wave of offers (empty: nobody is near).
    pub offers: Vec<Offer>,
    /// The wave those offers come from (the first rings may have been empty).
    pub wave: u32,
    /// A possibly identical open report.
    pub duplicate_of: Option<IncidentId>,
    /// Its area had two or more reports in the last 30 days.
    pub recurring: bool,
    /// How long the offered mediators have before it escalates (`dispatch.escalate_after`).
    pub escalate_after: SignedDuration,
}

impl Incident {
    /// The live (not declined) offer made to `mediator`, if any.
    #[must_use]
    pub fn open_offer(&self, mediator: &AccountId) -> Option<&Offer> {
        self.offers.iter().find(|o| &o.mediator_id == mediator && o.is_open())
    }

    /// Mediators whose offers are still open.
    pub fn open_offer_ids(&self) -> impl Iterator<Item = &AccountId> {
        self.offers.iter().filter(|o| o.is_open()).map(|o| &o.mediator_id)
    }

    /// Whether `deadline` still binds the holder (claimed, not yet met).
    #[must_use]
    pub fn deadline_pending(&self, deadline: Deadline) -> bool {
        match deadline {
            Deadline::Arrive => self.status == Status::Claimed && self.arrive_by.is_some(),
            Deadline::Resolve => self.status.is_active_claim() && self.resolve_by.is_some(),
        }
    }

    /// Overdue on any deadline and still open.
    #[must_use]
    pub fn is_overdue(&self) -> bool {
        self.status.is_active_claim() && (self.arrive_overdue_at.is_some() || self.resolve_overdue_at.is_some())
    }
}
