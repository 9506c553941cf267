//! What happened to an incident: the events recorded in its timeline and pushed to whoever
//! watches (the wire's `type` tags are these names).

use super::{Deadline, Outcome};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::AccountId;
use serde::{Deserialize, Serialize};

/// What happened, recorded in the timeline and pushed to whoever watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The resident filed it.
    Reported,
    /// Offers went out.
    Offered {
        /// To whom.
        #[schema(value_type = Vec<String>)]
        mediator_ids: Vec<AccountId>,
    },
    /// A mediator grabbed it.
    Claimed {
        /// Who.
        #[schema(value_type = String)]
        mediator_id: AccountId,
    },
    /// A mediator turned the offer down.
    Declined {
        /// Who.
        #[schema(value_type = String)]
        mediator_id: AccountId,
    },
    /// Nobody grabbed it in time.
    Escalated,
    /// Red: alerted to the command center at once.
    Alerted,
    /// Offers lapsed unanswered.
    OffersExpired {
        /// Whose.
        #[schema(value_type = Vec<String>)]
        mediator_ids: Vec<AccountId>,
    },
    /// The holder was reminded of a coming deadline.
    Reminded {
        /// Which.
        deadline: Deadline,
    },
    /// A deadline passed unmet (催办).
    Overdue {
        /// Which.
        deadline: Deadline,
    },
    /// Put under supervision (督办).
    Supervised {
        /// The order.
        note: String,
    },
    /// The risk colour changed.
    RiskChanged {
        /// Before.
        from: Risk,
        /// After.
        to: Risk,
    },
    /// The resident answered the follow-up visit.
    FeedbackGiven {
        /// 1..=5.
        rating: u8,
        /// Whether they consider it resolved.
        resolved: bool,
    },
    /// "Not resolved": back to the command center.
    Reopened,
    /// An operator revealed the resident's full phone number (audit only).
    PhoneRevealed,
    /// An operator revealed a mediator's phone number to call them about this incident (audit
    /// only).
    MediatorPhoneRevealed {
        /// Whose number.
        #[schema(value_type = String)]
        mediator_id: AccountId,
    },
    /// It moved on the escalation ladder (climbed by timer, or handed up/down).
    LadderMoved {
        /// Level before.
        from: Option<crate::domain::area::AreaLevel>,
        /// Level now.
        to: crate::domain::area::AreaLevel,
        /// The operator's note, when handed over by hand.
        #[serde(default)]
        note: Option<String>,
    },
    /// The category was corrected.
    CategoryChanged {
        /// Before.
        from: Category,
        /// After.
        to: Category,
    },
    /// Moved to another area.
    Transferred {
        /// The most specific code before.
        from: Option<String>,
        /// The area named.
        to: String,
        /// Why.
        note: String,
    },
    /// An operator sent a mediator.
    Assigned {
        /// The operator.
        #[schema(value_type = String)]
        operator_id: AccountId,
        /// The mediator.
        #[schema(value_type = String)]
        mediator_id: AccountId,
    },
    /// The mediator arrived.
    Arrived,
    /// Closed.
    Resolved {
        /// How.
        outcome: Outcome,
    },
    /// Withdrawn by the resident.
    Cancelled,
    /// A notification went out (or was skipped or failed) through an external channel
    /// (issue #3: WeChat). Appended outside state changes; one per delivery attempt.
    Notified {
        /// `wechat_template`, `wechat_subscribe`, or `wechat_custom` (a customer-service text).
        channel: String,
        /// Which message: `offer`, `claimed`, `arrived`, `resolved`, `video_invitation`.
        #[serde(default)]
        notice: String,
        /// The recipient, masked.
        to: String,
        /// `sent (attempt n)`, `failed (attempt n): <code>[; retrying]`, `skipped: <why>`.
        outcome: String,
    },
    /// Joint handling with a department (issue #21, `departments`): appended outside state
    /// changes, one per step of a call-in or hand-over.
    Joint {
        /// The call-in.
        call_in_id: String,
        /// The department.
        department_id: String,
        /// Its name when this happened.
        department: String,
        /// `called_in`, `reminded_ack`, `reminded_respond`, `acknowledged`, `responded`,
        /// `ack_overdue`, `respond_overdue`, `supervised`, `handed_over`, `accepted`,
        /// `result`.
        step: String,
        /// The note or reason given, if any.
        #[serde(default)]
        note: Option<String>,
    },
    /// A video mediation session started on this incident (issue #22; appended outside state
    /// changes, like the audit entries).
    VideoStarted {
        /// The session.
        session_id: String,
    },
    /// Someone joined the video session.
    VideoJoined {
        /// The session.
        session_id: String,
        /// `host`, `party`, `department`, `operator` or `observer`.
        kind: String,
        /// How the room shows them (a role and a label, never a phone or ID number).
        label: String,
    },
    /// Someone left the video session (or the mediator removed them).
    VideoLeft {
        /// The session.
        session_id: String,
        /// As in `VideoJoined`.
        label: String,
        /// Seconds they were in the room this time.
        seconds: u64,
        /// True when the mediator removed them.
        #[serde(default)]
        removed: bool,
    },
    /// The video session ended.
    VideoEnded {
        /// The session.
        session_id: String,
        /// Everyone who joined, by label.
        participants: Vec<String>,
        /// From start to end, seconds.
        seconds: u64,
    },
    /// The case's difficulty grade was set or changed (以案定补; issue #20, appended outside
    /// state changes by the case file).
    CaseGraded {
        /// Before (none: first grading).
        from: Option<crate::domain::grade::Grade>,
        /// After.
        to: crate::domain::grade::Grade,
    },
    /// The case file (issue #20, `casefile`): one of its deadlines fell due, a follow-up was
    /// recorded, a party was removed. Appended outside state changes.
    CaseFile {
        /// `performance_due`, `confirmation_due`, `deadline_due`, `followed_up` or
        /// `party_removed`.
        step: String,
        /// The day it concerns (`YYYY-MM-DD`, Beijing time): the agreed performance day, the
        /// last day to apply for 司法确认, the mediation deadline.
        #[serde(default)]
        date: Option<String>,
        /// What was found and what followed (`not_performed urged`), or who was removed.
        #[serde(default)]
        detail: Option<String>,
    },
}

impl Event {
    /// Replace every staff account id with the nil id (keeping how many), for residents.
    pub fn anonymize(&mut self) {
        let nil = AccountId::operations;
        match self {
            Self::Offered { mediator_ids } | Self::OffersExpired { mediator_ids } => {
                mediator_ids.iter_mut().for_each(|m| *m = nil());
            }
            Self::Claimed { mediator_id } | Self::Declined { mediator_id } => *mediator_id = nil(),
            Self::Assigned { operator_id, mediator_id } => {
                *operator_id = nil();
                *mediator_id = nil();
            }
            _ => {}
        }
    }
}
