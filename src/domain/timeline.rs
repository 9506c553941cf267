//! The append-only audit trail of an incident: who did what, as whom, when.

use super::incident::Event;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    /// The reporting resident (no account).
    Resident,
    /// A mediator.
    Mediator,
    /// A command-center operator.
    Operator,
    /// An administrator.
    Admin,
    /// A department's account (issue #21).
    Department,
    /// The service itself (timers, matcher).
    System,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// As whom.
    pub actor_role: ActorRole,
    /// Account id of the actor, when it has one.
    #[serde(default)]
    pub actor_id: Option<String>,
    /// What happened.
    pub event: Event,
}

/// The system acting on its own (timers, the matcher).
#[must_use]
pub fn system(at: Timestamp, event: Event) -> TimelineEntry {
    TimelineEntry { at, actor_role: ActorRole::System, actor_id: None, event }
}
