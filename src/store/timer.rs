//! The durable deadlines' vocabulary: what a deadline is for ([`TimerKind`]), which one it is
//! ([`TimerKey`], with its stored member form), a change to the timer set ([`TimerOp`]) and a
//! deadline claimed for a lease ([`ClaimedTimer`]).

use crate::domain::ids::IncidentId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Kinds of durable deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Escalate to the command center if still unclaimed.
    Escalate,
    /// Send the next wave of offers if still unclaimed.
    Wave,
    /// Remind the holder that the arrival deadline is near.
    RemindArrive,
    /// Remind the holder that the resolution deadline is near.
    RemindResolve,
    /// The arrival deadline.
    ArriveDue,
    /// The resolution deadline.
    ResolveDue,
    /// Climb the escalation ladder if the level responsible has not acted.
    Climb,
    /// Remind a called-in department that its acknowledgement is due soon (sub-key: the call-in).
    CallInRemindAck,
    /// A called-in department's acknowledgement (报到) deadline (sub-key: the call-in).
    CallInAckDue,
    /// Remind a called-in department that its response is due soon (sub-key: the call-in).
    CallInRemindRespond,
    /// A called-in department's response deadline (sub-key: the call-in).
    CallInRespondDue,
    /// Deliver (or retry) an outbound webhook event (sub-key: the event).
    Webhook,
    /// The case file's performance follow-up (回访) is due (issue #20).
    CasePerformance,
    /// The case file's 司法确认 reminder is due (issue #20).
    CaseConfirmation,
    /// The case file's one-month mediation deadline (issue #20).
    CaseDeadline,
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [Self; 15] = [
        Self::Escalate,
        Self::Wave,
        Self::RemindArrive,
        Self::RemindResolve,
        Self::ArriveDue,
        Self::ResolveDue,
        Self::Climb,
        Self::CallInRemindAck,
        Self::CallInAckDue,
        Self::CallInRemindRespond,
        Self::CallInRespondDue,
        Self::Webhook,
        Self::CasePerformance,
        Self::CaseConfirmation,
        Self::CaseDeadline,
    ];

    /// Stable wire name, used inside stored timer members.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Escalate => "escalate",
            Self::Wave => "wave",
            Self::RemindArrive => "remind_arrive",
            Self::RemindResolve => "remind_resolve",
            Self::ArriveDue => "arrive_due",
            Self::ResolveDue => "resolve_due",
            Self::Climb => "climb",
            Self::CallInRemindAck => "call_in_remind_ack",
            Self::CallInAckDue => "call_in_ack_due",
            Self::CallInRemindRespond => "call_in_remind_respond",
            Self::CallInRespondDue => "call_in_respond_due",
            Self::Webhook => "webhook",
            Self::CasePerformance => "case_performance",
            Self::CaseConfirmation => "case_confirmation",
            Self::CaseDeadline => "case_deadline",
        }
    }

    /// Parse a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One durable deadline: at most one per (kind, incident, sub-key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerKey {
    /// What fires.
    pub kind: TimerKind,
    /// For which incident.
    pub incident_id: IncidentId,
    /// Which of several deadlines of one kind on one incident (a call-in's id), if any.
    pub sub: Option<String>,
}

/// The longest sub-key a [`TimerKey`] carries (and of `[A-Za-z0-9_-]`, so members stay
/// unambiguous).
pub const TIMER_SUB_MAX: usize = 64;

impl TimerKey {
    /// The deadline of `kind` on `incident_id` (one per pair).
    #[must_use]
    pub fn new(kind: TimerKind, incident_id: IncidentId) -> Self {
        Self { kind, incident_id, sub: None }
    }

    /// The deadline of `kind` on `incident_id` for `sub` (one of several per pair).
    #[must_use]
    pub fn with_sub(kind: TimerKind, incident_id: IncidentId, sub: impl Into<String>) -> Self {
        Self { kind, incident_id, sub: Some(sub.into()) }
    }

    /// The stored member string, `kind:incident-id`, or `kind:incident-id:sub` with a sub-key
    /// (members stored before sub-keys existed parse as before).
    #[must_use]
    pub fn member(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}:{}:{sub}", self.kind.as_str(), self.incident_id),
            None => format!("{}:{}", self.kind.as_str(), self.incident_id),
        }
    }

    /// Parse a stored member string.
    #[must_use]
    pub fn parse_member(s: &str) -> Option<Self> {
        let (kind, rest) = s.split_once(':')?;
        let (id, sub) = match rest.split_once(':') {
            Some((id, sub)) => {
                let valid = !sub.is_empty()
                    && sub.len() <= TIMER_SUB_MAX
                    && sub.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
                (id, Some(valid.then(|| sub.to_owned())?))
            }
            None => (rest, None),
        };
        Some(Self { kind: TimerKind::parse(kind)?, incident_id: IncidentId::parse(id).ok()?, sub })
    }
}

/// A change to the timer set, applied atomically with an incident write.
#[derive(Debug, Clone, PartialEq)]
pub enum TimerOp {
    /// Set (or move) the deadline.
    Schedule(TimerKey, Timestamp),
    /// Remove it.
    Cancel(TimerKey),
}

/// A deadline claimed by one instance for a lease; finish it, or it comes back when the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTimer {
    /// Which deadline.
    pub key: TimerKey,
    /// Fencing token: the lease expiry (ms) this claim set. Finishing checks it is unchanged.
    pub lease_token: i64,
}

#[cfg(test)]
mod timer_key_tests {
    use super::*;

    #[test]
    fn members_without_a_sub_key_parse_as_before_and_sub_keys_round_trip() {
        let id = IncidentId::generate();
        let old = format!("escalate:{id}");
        assert_eq!(TimerKey::parse_member(&old), Some(TimerKey::new(TimerKind::Escalate, id.clone())));
        let sub = TimerKey::with_sub(TimerKind::CallInAckDue, id.clone(), "0190e0c0-0000-7000-8000-000000000001");
        assert_eq!(TimerKey::parse_member(&sub.member()), Some(sub.clone()));
        assert_ne!(TimerKey::new(TimerKind::CallInAckDue, id.clone()).member(), sub.member());
        for bad in
            [format!("escalate:{id}:"), format!("escalate:{id}:a b"), format!("escalate:{id}:{}", "x".repeat(65))]
        {
            assert_eq!(TimerKey::parse_member(&bad), None, "{bad}");
        }
    }
}
