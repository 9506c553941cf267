//! Timeline entries as stored (the incident's audit trail, one JSON per entry), schema 1.
//! Entries written before the version existed have no `schema` field and read as 1; every
//! event keeps the spelling it has always been stored with (`tests/golden/timeline_*.jsonl`).

use super::values::{StoredActorRoleV1, StoredAreaLevelV1, StoredCategoryV1, StoredDeadlineV1};
use super::values::{StoredGradeV1, StoredOutcomeV1, StoredRiskV1};
use super::{Record, SCHEMA, schema_v1};
use crate::domain::ids::AccountId;
use crate::domain::incident::Event;
use crate::domain::timeline::TimelineEntry;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One timeline entry as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTimelineEntryV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// When.
    pub at: Timestamp,
    /// As whom.
    pub actor_role: StoredActorRoleV1,
    /// The actor's account id, if any.
    #[serde(default)]
    pub actor_id: Option<String>,
    /// What happened.
    pub event: StoredEventV1,
}

/// What happened, as stored, schema 1 (tagged by `type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[expect(missing_docs, reason = "each field is documented on the domain's `Event`, which it mirrors")]
pub enum StoredEventV1 {
    /// Filed.
    #[serde(rename = "reported")]
    Reported,
    /// Offers went out.
    #[serde(rename = "offered")]
    Offered { mediator_ids: Vec<AccountId> },
    /// Grabbed.
    #[serde(rename = "claimed")]
    Claimed { mediator_id: AccountId },
    /// An offer turned down.
    #[serde(rename = "declined")]
    Declined { mediator_id: AccountId },
    /// Escalated.
    #[serde(rename = "escalated")]
    Escalated,
    /// Red alert.
    #[serde(rename = "alerted")]
    Alerted,
    /// Offers lapsed.
    #[serde(rename = "offers_expired")]
    OffersExpired { mediator_ids: Vec<AccountId> },
    /// A reminder.
    #[serde(rename = "reminded")]
    Reminded { deadline: StoredDeadlineV1 },
    /// A deadline missed.
    #[serde(rename = "overdue")]
    Overdue { deadline: StoredDeadlineV1 },
    /// Supervised.
    #[serde(rename = "supervised")]
    Supervised { note: String },
    /// Colour changed.
    #[serde(rename = "risk_changed")]
    RiskChanged { from: StoredRiskV1, to: StoredRiskV1 },
    /// Follow-up answered.
    #[serde(rename = "feedback_given")]
    FeedbackGiven { rating: u8, resolved: bool },
    /// Reopened.
    #[serde(rename = "reopened")]
    Reopened,
    /// The resident's phone read.
    #[serde(rename = "phone_revealed")]
    PhoneRevealed,
    /// A mediator's phone read.
    #[serde(rename = "mediator_phone_revealed")]
    MediatorPhoneRevealed { mediator_id: AccountId },
    /// Moved on the ladder.
    #[serde(rename = "ladder_moved")]
    LadderMoved {
        from: Option<StoredAreaLevelV1>,
        to: StoredAreaLevelV1,
        #[serde(default)]
        note: Option<String>,
    },
    /// Category corrected.
    #[serde(rename = "category_changed")]
    CategoryChanged { from: StoredCategoryV1, to: StoredCategoryV1 },
    /// Moved to another area.
    #[serde(rename = "transferred")]
    Transferred { from: Option<String>, to: String, note: String },
    /// An operator sent a mediator.
    #[serde(rename = "assigned")]
    Assigned { operator_id: AccountId, mediator_id: AccountId },
    /// Arrived.
    #[serde(rename = "arrived")]
    Arrived,
    /// Closed.
    #[serde(rename = "resolved")]
    Resolved { outcome: StoredOutcomeV1 },
    /// Withdrawn.
    #[serde(rename = "cancelled")]
    Cancelled,
    /// A notification attempt.
    #[serde(rename = "notified")]
    Notified {
        channel: String,
        #[serde(default)]
        notice: String,
        to: String,
        outcome: String,
    },
    /// A step of joint handling.
    #[serde(rename = "joint")]
    Joint {
        call_in_id: String,
        department_id: String,
        department: String,
        step: String,
        #[serde(default)]
        note: Option<String>,
    },
    /// A video session started.
    #[serde(rename = "video_started")]
    VideoStarted { session_id: String },
    /// Someone joined it.
    #[serde(rename = "video_joined")]
    VideoJoined { session_id: String, kind: String, label: String },
    /// Someone left it.
    #[serde(rename = "video_left")]
    VideoLeft {
        session_id: String,
        label: String,
        seconds: u64,
        #[serde(default)]
        removed: bool,
    },
    /// It ended.
    #[serde(rename = "video_ended")]
    VideoEnded { session_id: String, participants: Vec<String>, seconds: u64 },
    /// A case's difficulty grade was set or changed.
    #[serde(rename = "case_graded")]
    CaseGraded {
        #[serde(default)]
        from: Option<StoredGradeV1>,
        to: StoredGradeV1,
    },
    /// A case-file deadline fell due, a follow-up was recorded, a party was removed.
    #[serde(rename = "case_file")]
    CaseFile {
        step: String,
        #[serde(default)]
        date: Option<String>,
        #[serde(default)]
        detail: Option<String>,
    },
}

impl From<&Event> for StoredEventV1 {
    fn from(e: &Event) -> Self {
        match e.clone() {
            Event::Reported => Self::Reported,
            Event::Offered { mediator_ids } => Self::Offered { mediator_ids },
            Event::Claimed { mediator_id } => Self::Claimed { mediator_id },
            Event::Declined { mediator_id } => Self::Declined { mediator_id },
            Event::Escalated => Self::Escalated,
            Event::Alerted => Self::Alerted,
            Event::OffersExpired { mediator_ids } => Self::OffersExpired { mediator_ids },
            Event::Reminded { deadline } => Self::Reminded { deadline: deadline.into() },
            Event::Overdue { deadline } => Self::Overdue { deadline: deadline.into() },
            Event::Supervised { note } => Self::Supervised { note },
            Event::RiskChanged { from, to } => Self::RiskChanged { from: from.into(), to: to.into() },
            Event::FeedbackGiven { rating, resolved } => Self::FeedbackGiven { rating, resolved },
            Event::Reopened => Self::Reopened,
            Event::PhoneRevealed => Self::PhoneRevealed,
            Event::MediatorPhoneRevealed { mediator_id } => Self::MediatorPhoneRevealed { mediator_id },
            Event::LadderMoved { from, to, note } => {
                Self::LadderMoved { from: from.map(Into::into), to: to.into(), note }
            }
            Event::CategoryChanged { from, to } => Self::CategoryChanged { from: from.into(), to: to.into() },
            Event::Transferred { from, to, note } => Self::Transferred { from, to, note },
            Event::Assigned { operator_id, mediator_id } => Self::Assigned { operator_id, mediator_id },
            Event::Arrived => Self::Arrived,
            Event::Resolved { outcome } => Self::Resolved { outcome: outcome.into() },
            Event::Cancelled => Self::Cancelled,
            Event::Notified { channel, notice, to, outcome } => Self::Notified { channel, notice, to, outcome },
            Event::Joint { call_in_id, department_id, department, step, note } => {
                Self::Joint { call_in_id, department_id, department, step, note }
            }
            Event::VideoStarted { session_id } => Self::VideoStarted { session_id },
            Event::VideoJoined { session_id, kind, label } => Self::VideoJoined { session_id, kind, label },
            Event::VideoLeft { session_id, label, seconds, removed } => {
                Self::VideoLeft { session_id, label, seconds, removed }
            }
            Event::VideoEnded { session_id, participants, seconds } => {
                Self::VideoEnded { session_id, participants, seconds }
            }
            Event::CaseGraded { from, to } => Self::CaseGraded { from: from.map(Into::into), to: to.into() },
            Event::CaseFile { step, date, detail } => Self::CaseFile { step, date, detail },
        }
    }
}

impl From<StoredEventV1> for Event {
    fn from(e: StoredEventV1) -> Self {
        use StoredEventV1 as S;
        match e {
            S::Reported => Self::Reported,
            S::Offered { mediator_ids } => Self::Offered { mediator_ids },
            S::Claimed { mediator_id } => Self::Claimed { mediator_id },
            S::Declined { mediator_id } => Self::Declined { mediator_id },
            S::Escalated => Self::Escalated,
            S::Alerted => Self::Alerted,
            S::OffersExpired { mediator_ids } => Self::OffersExpired { mediator_ids },
            S::Reminded { deadline } => Self::Reminded { deadline: deadline.into() },
            S::Overdue { deadline } => Self::Overdue { deadline: deadline.into() },
            S::Supervised { note } => Self::Supervised { note },
            S::RiskChanged { from, to } => Self::RiskChanged { from: from.into(), to: to.into() },
            S::FeedbackGiven { rating, resolved } => Self::FeedbackGiven { rating, resolved },
            S::Reopened => Self::Reopened,
            S::PhoneRevealed => Self::PhoneRevealed,
            S::MediatorPhoneRevealed { mediator_id } => Self::MediatorPhoneRevealed { mediator_id },
            S::LadderMoved { from, to, note } => Self::LadderMoved { from: from.map(Into::into), to: to.into(), note },
            S::CategoryChanged { from, to } => Self::CategoryChanged { from: from.into(), to: to.into() },
            S::Transferred { from, to, note } => Self::Transferred { from, to, note },
            S::Assigned { operator_id, mediator_id } => Self::Assigned { operator_id, mediator_id },
            S::Arrived => Self::Arrived,
            S::Resolved { outcome } => Self::Resolved { outcome: outcome.into() },
            S::Cancelled => Self::Cancelled,
            S::Notified { channel, notice, to, outcome } => Self::Notified { channel, notice, to, outcome },
            S::Joint { call_in_id, department_id, department, step, note } => {
                Self::Joint { call_in_id, department_id, department, step, note }
            }
            S::VideoStarted { session_id } => Self::VideoStarted { session_id },
            S::VideoJoined { session_id, kind, label } => Self::VideoJoined { session_id, kind, label },
            S::VideoLeft { session_id, label, seconds, removed } => {
                Self::VideoLeft { session_id, label, seconds, removed }
            }
            S::VideoEnded { session_id, participants, seconds } => {
                Self::VideoEnded { session_id, participants, seconds }
            }
            S::CaseGraded { from, to } => Self::CaseGraded { from: from.map(Into::into), to: to.into() },
            S::CaseFile { step, date, detail } => Self::CaseFile { step, date, detail },
        }
    }
}

impl From<&TimelineEntry> for StoredTimelineEntryV1 {
    fn from(e: &TimelineEntry) -> Self {
        Self {
            schema: SCHEMA,
            at: e.at,
            actor_role: e.actor_role.into(),
            actor_id: e.actor_id.clone(),
            event: StoredEventV1::from(&e.event),
        }
    }
}

impl From<StoredTimelineEntryV1> for TimelineEntry {
    fn from(e: StoredTimelineEntryV1) -> Self {
        Self { at: e.at, actor_role: e.actor_role.into(), actor_id: e.actor_id, event: e.event.into() }
    }
}

record!(TimelineEntry, StoredTimelineEntryV1, "timeline entry");
