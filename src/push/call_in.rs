//! What screens and a department's sockets are shown of a call-in (joint handling, issue #21),
//! and its socket message: the bus carries the call-in and its step, and each instance renders
//! them here for the sockets it holds (`render.rs`).

use crate::domain::department::{CallIn, CallInState, Purpose, ResponseKind, Step, Urgency};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A call-in.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CallInView {
    /// Id.
    pub id: String,
    /// The incident.
    pub incident_id: String,
    /// The department.
    pub department_id: String,
    /// Its name.
    pub department_name: String,
    /// Assist or hand-over.
    pub purpose: Purpose,
    /// How urgent.
    pub urgency: Urgency,
    /// What the caller asked.
    pub note: String,
    /// Where it stands.
    pub state: CallInState,
    /// When called.
    #[schema(value_type = String, format = DateTime)]
    pub called_at: Timestamp,
    /// Acknowledge by.
    #[schema(value_type = String, format = DateTime)]
    pub ack_due: Timestamp,
    /// Respond by.
    #[schema(value_type = String, format = DateTime)]
    pub respond_due: Timestamp,
    /// When acknowledged.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    /// The acknowledgement's note.
    pub ack_note: Option<String>,
    /// When it responded.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<Timestamp>,
    /// Its answer.
    pub response: Option<ResponseKind>,
    /// Its note (the reason, when declined).
    pub response_note: Option<String>,
    /// Missed the acknowledgement deadline.
    pub ack_overdue: bool,
    /// Missed the response deadline.
    pub respond_overdue: bool,
    /// Supervision orders, oldest first.
    pub supervised: Vec<String>,
    /// When a hand-over's result came back.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub result_at: Option<Timestamp>,
    /// That result.
    pub result: Option<String>,
}

impl CallInView {
    /// The view of `c`.
    #[must_use]
    pub fn of(c: &CallIn) -> Self {
        Self {
            id: c.id.to_string(),
            incident_id: c.incident_id.to_string(),
            department_id: c.department_id.to_string(),
            department_name: c.department_name.clone(),
            purpose: c.purpose,
            urgency: c.urgency,
            note: c.note.clone(),
            state: c.state(),
            called_at: c.called_at,
            ack_due: c.ack_due,
            respond_due: c.respond_due,
            acknowledged_at: c.acknowledged_at,
            ack_note: c.ack_note.clone(),
            responded_at: c.responded_at,
            response: c.response,
            response_note: c.response_note.clone(),
            ack_overdue: c.ack_overdue,
            respond_overdue: c.respond_overdue,
            supervised: c.supervised.clone(),
            result_at: c.result_at,
            result: c.result.clone(),
        }
    }
}

/// A call-in's step on a socket (the command center's screens, the department's accounts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallInMessage {
    /// Something happened to a call-in.
    CallIn {
        /// The step (the timeline's `step`: `called_in`, `ack_overdue`, `supervised`…).
        step: &'static str,
        /// An overdue mark: the command center is urged (催办).
        urging: bool,
        /// The call-in after the step.
        call_in: CallInView,
    },
}

impl CallInMessage {
    /// The message for `step` of `call_in`.
    #[must_use]
    pub fn of(call_in: &CallIn, step: &Step) -> Self {
        Self::CallIn { step: step.as_str(), urging: step.urges(), call_in: CallInView::of(call_in) }
    }
}
