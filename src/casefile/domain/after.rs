//! After the agreement: the case file's deadlines (performance follow-up, the 司法确认
//! reminder, the one-month mediation deadline) fired exactly once, performance follow-ups
//! (回访) and the 司法确认 application.

use super::CaseFile;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a case-file deadline is for (durable timers in the case file's own port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// Check on the performance at the agreed date (回访, 督促履行).
    Performance,
    /// Remind the parties and the mediator of 司法确认 while its 30-day window is open.
    Confirmation,
    /// The one-month mediation deadline.
    Deadline,
}

impl DueKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Performance, Self::Confirmation, Self::Deadline];

    /// Stable name inside stored timer members.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Performance => "performance",
            Self::Confirmation => "confirmation",
            Self::Deadline => "deadline",
        }
    }

    /// Parse a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A deadline of the case file and whether it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    /// What for.
    pub kind: DueKind,
    /// When it is due.
    pub due_at: Timestamp,
    /// When it fired (once).
    pub fired_at: Option<Timestamp>,
}

/// How the agreement was performed, as the mediator found at a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Performance {
    /// 已履行.
    Performed,
    /// 部分履行.
    Partly,
    /// 未履行.
    NotPerformed,
}

/// What the mediator did about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpAction {
    /// Nothing more to do.
    None,
    /// Urged the party to perform (督促履行).
    Urged,
    /// Not performed after urging: advised to sue (告知可向人民法院起诉).
    AdvisedToSue,
}

/// One performance follow-up (回访).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// When recorded.
    pub at: Timestamp,
    /// What was found.
    pub performance: Performance,
    /// What followed.
    pub action: FollowUpAction,
    /// Notes.
    pub note: String,
}

/// A 司法确认 application and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The court applied to.
    pub court: String,
    /// The day the parties applied.
    pub applied_on: jiff::civil::Date,
    /// `confirmed` or `rejected`, once known.
    pub result: Option<String>,
    /// When the result was recorded.
    pub result_at: Option<Timestamp>,
}

impl CaseFile {
    /// Set (or move) the pending deadline of `kind` to `due_at`.
    pub fn set_reminder(&mut self, kind: DueKind, due_at: Timestamp) {
        self.reminders.retain(|r| r.kind != kind || r.fired_at.is_some());
        self.reminders.push(Reminder { kind, due_at, fired_at: None });
    }

    /// The pending deadline of `kind`, if any.
    #[must_use]
    pub fn pending(&self, kind: DueKind) -> Option<&Reminder> {
        self.reminders.iter().find(|r| r.kind == kind && r.fired_at.is_none())
    }

    /// Fire the deadline of `kind` if it is due and still matters; true when it fired now.
    /// A second call (a timer delivered twice) finds nothing pending: exactly-once effect.
    pub fn fire(&mut self, kind: DueKind, now: Timestamp) -> bool {
        let matters = match kind {
            // Not followed up yet, or urged at the last follow-up (it comes due again).
            DueKind::Performance => {
                self.in_effect().is_some() && self.follow_ups.last().is_none_or(|f| f.action == FollowUpAction::Urged)
            }
            DueKind::Confirmation => self.in_effect().is_some() && self.confirmation.is_none(),
            DueKind::Deadline => self.in_effect().is_none(),
        };
        let due = |r: &Reminder| r.kind == kind && r.fired_at.is_none() && r.due_at <= now;
        if !matters {
            // Moot (performed already, applied already, agreed in time): dropped, not fired.
            self.reminders.retain(|r| !due(r));
            return false;
        }
        match self.reminders.iter_mut().find(|r| due(r)) {
            Some(r) => {
                r.fired_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// Whether a follow-up is due: the performance deadline fired since the last one recorded.
    #[must_use]
    pub fn follow_up_due(&self) -> bool {
        let fired = self.reminders.iter().filter(|r| r.kind == DueKind::Performance).filter_map(|r| r.fired_at).max();
        let last = self.follow_ups.last().map(|f| f.at);
        fired.is_some_and(|f| last.is_none_or(|l| l < f))
    }

    /// Record a follow-up; not performed after an earlier "not performed" is advised to sue.
    pub fn follow_up(&mut self, performance: Performance, note: String, now: Timestamp) -> FollowUp {
        let action = match performance {
            Performance::Performed => FollowUpAction::None,
            _ if self.follow_ups.iter().any(|f| f.action == FollowUpAction::Urged) => FollowUpAction::AdvisedToSue,
            _ => FollowUpAction::Urged,
        };
        let f = FollowUp { at: now, performance, action, note };
        self.follow_ups.push(f.clone());
        f
    }
}
