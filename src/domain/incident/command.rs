//! What can be asked of an incident (a [`Command`]) and what the state machine answers: a
//! [`Transition`] (the next incident and its events) or why it does not apply.

use super::{ClaimDeadlines, Deadline, Event, Filing, Incident, Offer, Outcome, Status};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::AccountId;
use jiff::Timestamp;

/// Something asked of an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A resident files a report: the incident comes to be.
    File(Box<Filing>),
    /// A mediator grabs an offered incident.
    Accept {
        /// Who.
        mediator: AccountId,
        /// Their deadlines, from the risk colour.
        deadlines: ClaimDeadlines,
    },
    /// A mediator turns an offer down.
    Decline {
        /// Who.
        mediator: AccountId,
    },
    /// The escalation deadline passed.
    Escalate,
    /// An operator sends a mediator.
    Assign {
        /// The operator.
        operator: AccountId,
        /// The mediator sent.
        mediator: AccountId,
        /// Their deadlines, from the risk colour.
        deadlines: ClaimDeadlines,
    },
    /// Another wave of offers (and lapse of offers past their time).
    Offer {
        /// New offers.
        offers: Vec<Offer>,
        /// Open offers made before this time lapse.
        expire_before: Option<Timestamp>,
    },
    /// A reminder before a deadline.
    Remind(Deadline),
    /// A deadline passed.
    MarkOverdue(Deadline),
    /// An operator puts it under supervision (督办).
    Supervise {
        /// The operator.
        operator: AccountId,
        /// The order.
        note: String,
    },
    /// Set the risk colour (resident's choice, triage, or an operator). `deadlines` are the new
    /// colour's, counted from now: a held incident's pending deadlines move to them.
    SetRisk {
        /// The new colour.
        risk: Risk,
        /// The new colour's arrive/resolve deadlines from now.
        deadlines: ClaimDeadlines,
    },
    /// Correct the category (a WeChat text's guess, or a resident's wrong button).
    SetCategory(Category),
    /// The resident's follow-up answer.
    GiveFeedback {
        /// 1..=5.
        rating: u8,
        /// Words.
        comment: Option<String>,
        /// False reopens it.
        resolved: bool,
    },
    /// The holding mediator is there.
    Arrive {
        /// Who.
        mediator: AccountId,
    },
    /// The holding mediator closes it.
    Resolve {
        /// Who.
        mediator: AccountId,
        /// How it ended.
        outcome: Outcome,
        /// Optional note.
        note: Option<String>,
    },
    /// The resident withdraws it.
    Cancel,
    /// The level responsible did not act in time: climb to the district.
    Climb,
    /// An operator hands it one level up or down the ladder.
    HandOver {
        /// Up (towards the district) or down.
        up: bool,
        /// Why.
        note: String,
    },
    /// An operator moves it to another area (it was placed wrongly).
    Transfer {
        /// Where it lies now.
        area: crate::domain::area::AreaPath,
        /// The area code named by the operator.
        to: String,
        /// Why.
        note: String,
    },
}

/// Why a command does not apply.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    /// Somebody else holds it.
    #[error("another mediator already claimed this incident")]
    AlreadyClaimed,
    /// The mediator has no open offer for it (never offered, or declined).
    #[error("this incident was not offered to you")]
    NotOffered,
    /// The mediator does not hold it.
    #[error("this incident is not assigned to you")]
    NotYours,
    /// The command makes no sense in the current state.
    #[error("not possible while the incident is {0:?}")]
    WrongState(Status),
    /// The follow-up was already answered.
    #[error("feedback was already given")]
    AlreadyAnswered,
    /// There is no ladder level that way.
    #[error("there is no level to hand it to that way")]
    NoSuchLevel,
    /// No such incident was filed (only filing applies to nothing).
    #[error("no such incident")]
    NotFiled,
}

/// The result of a command: the next incident (version bumped when it changed) and its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The incident after the command.
    pub incident: Incident,
    /// What happened; empty when the command was a repeat with nothing to do.
    pub events: Vec<Event>,
}

impl Transition {
    /// True when the command changed nothing (an idempotent repeat or a stale timer).
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.events.is_empty()
    }
}
