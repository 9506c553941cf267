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

use super::account::Phone;
use super::area::AreaLevel;
use super::category::{Category, Risk};
use super::ids::{AccountId, IncidentId, SceneId};
use super::location::GeoPoint;
use jiff::Timestamp;
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

/// One mediator an incident was offered to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The mediator.
    pub mediator_id: AccountId,
    /// Great-circle distance from the mediator to the incident when offered.
    pub distance_m: f64,
    /// When the offer went out.
    pub offered_at: Timestamp,
    /// Set when the mediator said no.
    #[serde(default)]
    pub declined_at: Option<Timestamp>,
    /// Set when the offer lapsed unanswered (`dispatch.offer_ttl`).
    #[serde(default)]
    pub expired_at: Option<Timestamp>,
}

impl Offer {
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

/// A resident's report and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub place_name: Option<String>,
    /// Where it is in the resident's own words (typed on the form: an address or landmark).
    #[serde(default)]
    pub address: Option<String>,
    /// `location` is only the district's centre: the resident typed an address but gave no
    /// pin, scene or GPS, so nobody can be offered it by distance (it goes to the command
    /// center at once).
    #[serde(default)]
    pub approximate: bool,
    /// The QR scene it was reported from, if any.
    #[serde(default)]
    pub scene_id: Option<SceneId>,
    /// The resident's phone, if they gave one.
    #[serde(default)]
    pub resident_phone: Option<Phone>,
    /// When it was reported.
    pub created_at: Timestamp,
    /// When it escalates to the command center if still unclaimed.
    pub escalate_at: Timestamp,
    /// Mediators it was offered to.
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// The mediator who holds it.
    #[serde(default)]
    pub claimed_by: Option<AccountId>,
    /// When it was claimed or assigned.
    #[serde(default)]
    pub claimed_at: Option<Timestamp>,
    /// The operator who assigned it, when it was not grabbed.
    #[serde(default)]
    pub assigned_by: Option<AccountId>,
    /// When it escalated.
    #[serde(default)]
    pub escalated_at: Option<Timestamp>,
    /// When the mediator arrived.
    #[serde(default)]
    pub arrived_at: Option<Timestamp>,
    /// When it was closed.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    /// How it was closed.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// The mediator's closing note.
    #[serde(default)]
    pub resolution_note: Option<String>,
    /// When the resident withdrew it.
    #[serde(default)]
    pub cancelled_at: Option<Timestamp>,
    /// When a red incident was alerted to the command center.
    #[serde(default)]
    pub alerted_at: Option<Timestamp>,
    /// The holder must arrive by then.
    #[serde(default)]
    pub arrive_by: Option<Timestamp>,
    /// The holder must resolve by then.
    #[serde(default)]
    pub resolve_by: Option<Timestamp>,
    /// When the arrival deadline passed unmet.
    #[serde(default)]
    pub arrive_overdue_at: Option<Timestamp>,
    /// When the resolution deadline passed unmet.
    #[serde(default)]
    pub resolve_overdue_at: Option<Timestamp>,
    /// Under supervision (督办).
    #[serde(default)]
    pub supervision: Option<Supervision>,
    /// The resident's follow-up answer.
    #[serde(default)]
    pub feedback: Option<Feedback>,
    /// When "not resolved" feedback reopened it.
    #[serde(default)]
    pub reopened_at: Option<Timestamp>,
    /// How many offer waves went out.
    #[serde(default)]
    pub wave: u32,
    /// A possibly identical open report (within 100 m and 30 minutes).
    #[serde(default)]
    pub duplicate_of: Option<IncidentId>,
    /// Reported from an area with two or more reports in the last 30 days.
    #[serde(default)]
    pub recurring: bool,
    /// Where it lies in the jurisdiction hierarchy.
    #[serde(default)]
    pub area: super::area::AreaPath,
    /// Which command-center level is responsible on the escalation ladder (none before it
    /// escalates, unless red).
    #[serde(default)]
    pub ladder: Option<super::area::AreaLevel>,
    /// Optimistic-concurrency version: every stored change bumps it by one.
    pub version: u64,
}

/// What a new report fixes about an incident.
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
    /// When.
    pub created_at: Timestamp,
    /// Escalation deadline.
    pub escalate_at: Timestamp,
}

impl Incident {
    /// A freshly reported incident offered to `offers` (version 1).
    #[must_use]
    pub fn reported(report: Report, offers: Vec<Offer>) -> Self {
        Self {
            id: report.id,
            status: Status::Dispatching,
            category: report.category,
            risk: report.risk,
            description: report.description,
            location: report.location,
            cell: report.cell,
            place_name: None,
            address: None,
            approximate: false,
            scene_id: report.scene_id,
            resident_phone: report.resident_phone,
            created_at: report.created_at,
            escalate_at: report.escalate_at,
            offers,
            claimed_by: None,
            claimed_at: None,
            assigned_by: None,
            escalated_at: None,
            arrived_at: None,
            resolved_at: None,
            outcome: None,
            resolution_note: None,
            cancelled_at: None,
            alerted_at: None,
            arrive_by: None,
            resolve_by: None,
            arrive_overdue_at: None,
            resolve_overdue_at: None,
            supervision: None,
            feedback: None,
            reopened_at: None,
            wave: 1,
            duplicate_of: None,
            recurring: false,
            area: super::area::AreaPath::default(),
            ladder: None,
            version: 1,
        }
    }

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

/// Something asked of an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
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
        area: super::area::AreaPath,
        /// The area code named by the operator.
        to: String,
        /// Why.
        note: String,
    },
}

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
        from: Option<super::area::AreaLevel>,
        /// Level now.
        to: super::area::AreaLevel,
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
        /// `wechat_template` or `wechat_subscribe`.
        channel: String,
        /// Which message: `offer`, `claimed`, `arrived`, `resolved`.
        #[serde(default)]
        notice: String,
        /// The recipient, masked.
        to: String,
        /// `sent (attempt n)`, `failed (attempt n): <code>[; retrying]`, `skipped: <why>`.
        outcome: String,
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

/// Decide what `command` does to `incident` at `now`.
///
/// # Errors
/// [`TransitionError`] when the command does not apply.
pub fn decide(incident: &Incident, command: &Command, now: Timestamp) -> Result<Transition, TransitionError> {
    let mut next = incident.clone();
    let unchanged = || Ok(Transition { incident: incident.clone(), events: vec![] });
    let events = match command {
        Command::Accept { mediator, deadlines } => {
            if incident.claimed_by.as_ref() == Some(mediator) {
                return unchanged(); // the winner retrying gets the same answer
            }
            if incident.status == Status::Cancelled
                || incident.status == Status::Resolved && incident.claimed_by.is_none()
            {
                return Err(TransitionError::WrongState(incident.status));
            }
            let was_offered = incident.offers.iter().any(|o| &o.mediator_id == mediator);
            if incident.claimed_by.is_some() {
                return Err(if was_offered { TransitionError::AlreadyClaimed } else { TransitionError::NotOffered });
            }
            if incident.open_offer(mediator).is_none() {
                return Err(TransitionError::NotOffered);
            }
            claim(&mut next, mediator, *deadlines, now);
            vec![Event::Claimed { mediator_id: mediator.clone() }]
        }
        Command::Assign { operator, mediator, deadlines } => {
            if !incident.status.is_unclaimed() {
                return Err(match incident.claimed_by {
                    Some(_) => TransitionError::AlreadyClaimed,
                    None => TransitionError::WrongState(incident.status),
                });
            }
            claim(&mut next, mediator, *deadlines, now);
            next.assigned_by = Some(operator.clone());
            vec![Event::Assigned { operator_id: operator.clone(), mediator_id: mediator.clone() }]
        }
        Command::Decline { mediator } => {
            if !incident.status.is_unclaimed() {
                return Err(TransitionError::WrongState(incident.status));
            }
            let Some(offer) = next.offers.iter_mut().find(|o| &o.mediator_id == mediator && o.declined_at.is_none())
            else {
                return Err(TransitionError::NotOffered);
            };
            offer.declined_at = Some(now);
            vec![Event::Declined { mediator_id: mediator.clone() }]
        }
        Command::Escalate => {
            if incident.status != Status::Dispatching {
                return unchanged(); // claimed, cancelled or already escalated: the timer is stale
            }
            next.status = Status::Escalated;
            next.escalated_at = Some(now);
            let mut events = vec![Event::Escalated];
            if next.ladder.is_none() {
                // The street that contains it acts first; red, or no street known: the district.
                let level = if incident.risk == Risk::Red || incident.area.street.is_none() {
                    AreaLevel::District
                } else {
                    AreaLevel::Street
                };
                next.ladder = Some(level);
                events.push(Event::LadderMoved { from: None, to: level, note: None });
            }
            events
        }
        Command::Arrive { mediator } => {
            holder_check(incident, mediator)?;
            match incident.status {
                Status::OnSite => return unchanged(),
                Status::Claimed => {}
                other => return Err(TransitionError::WrongState(other)),
            }
            next.status = Status::OnSite;
            next.arrived_at = Some(now);
            vec![Event::Arrived]
        }
        Command::Resolve { mediator, outcome, note } => {
            holder_check(incident, mediator)?;
            if !incident.status.is_active_claim() {
                return Err(TransitionError::WrongState(incident.status));
            }
            next.status = Status::Resolved;
            next.resolved_at = Some(now);
            next.outcome = Some(*outcome);
            next.resolution_note.clone_from(note);
            vec![Event::Resolved { outcome: *outcome }]
        }
        Command::Cancel => {
            if incident.status == Status::Cancelled {
                return unchanged();
            }
            if !incident.status.is_unclaimed() {
                return Err(TransitionError::WrongState(incident.status));
            }
            next.status = Status::Cancelled;
            next.cancelled_at = Some(now);
            vec![Event::Cancelled]
        }
        Command::SetCategory(category) => {
            if *category == incident.category {
                return unchanged();
            }
            next.category = *category;
            vec![Event::CategoryChanged { from: incident.category, to: *category }]
        }
        Command::Climb => {
            let Some(to) = incident.ladder.and_then(AreaLevel::parent).filter(|_| incident.status == Status::Escalated)
            else {
                return unchanged(); // assigned, settled, or already at the district
            };
            next.ladder = Some(to);
            vec![Event::LadderMoved { from: incident.ladder, to, note: None }]
        }
        Command::HandOver { up, note } => {
            if incident.status.is_closed() {
                return Err(TransitionError::WrongState(incident.status));
            }
            let current = incident.ladder.unwrap_or(AreaLevel::District);
            let target = if *up {
                current.parent()
            } else {
                // Down only to a level the incident has an area at.
                [AreaLevel::Street, AreaLevel::Community]
                    .into_iter()
                    .find(|l| l.parent() == Some(current) && incident.area.at(*l).is_some())
            };
            let Some(to) = target.filter(|l| *l != AreaLevel::Grid) else {
                return Err(TransitionError::NoSuchLevel);
            };
            next.ladder = Some(to);
            vec![Event::LadderMoved { from: incident.ladder, to, note: Some(note.clone()) }]
        }
        Command::Transfer { area, to, note } => {
            if incident.status.is_closed() {
                return Err(TransitionError::WrongState(incident.status));
            }
            let from = AreaLevel::ALL.iter().rev().find_map(|l| incident.area.at(*l)).map(str::to_owned);
            next.area = area.clone();
            if next.ladder.is_some_and(|l| next.area.at(l).is_none()) {
                next.ladder = Some(AreaLevel::District);
            }
            vec![Event::Transferred { from, to: to.clone(), note: note.clone() }]
        }
        Command::Offer { offers, expire_before } => {
            if !incident.status.is_unclaimed() {
                return unchanged(); // a stale wave timer
            }
            let mut events = vec![];
            if let Some(cutoff) = expire_before {
                let mut lapsed = vec![];
                for o in next.offers.iter_mut().filter(|o| o.is_open() && o.offered_at < *cutoff) {
                    o.expired_at = Some(now);
                    lapsed.push(o.mediator_id.clone());
                }
                if !lapsed.is_empty() {
                    events.push(Event::OffersExpired { mediator_ids: lapsed });
                }
            }
            let fresh: Vec<Offer> = offers
                .iter()
                .filter(|o| !incident.offers.iter().any(|x| x.mediator_id == o.mediator_id))
                .cloned()
                .collect();
            if !fresh.is_empty() {
                events.push(Event::Offered { mediator_ids: fresh.iter().map(|o| o.mediator_id.clone()).collect() });
                next.offers.extend(fresh);
            }
            next.wave += 1;
            if events.is_empty() {
                // Still count the wave, so the next one widens; nothing to record otherwise.
                next.version = incident.version + 1;
                return Ok(Transition { incident: next, events });
            }
            events
        }
        Command::Remind(deadline) => {
            if !incident.deadline_pending(*deadline) {
                return unchanged();
            }
            vec![Event::Reminded { deadline: *deadline }]
        }
        Command::MarkOverdue(deadline) => {
            let already = match deadline {
                Deadline::Arrive => incident.arrive_overdue_at.is_some(),
                Deadline::Resolve => incident.resolve_overdue_at.is_some(),
            };
            if already || !incident.deadline_pending(*deadline) {
                return unchanged();
            }
            match deadline {
                Deadline::Arrive => next.arrive_overdue_at = Some(now),
                Deadline::Resolve => next.resolve_overdue_at = Some(now),
            }
            vec![Event::Overdue { deadline: *deadline }]
        }
        Command::Supervise { operator, note } => {
            if matches!(incident.status, Status::Cancelled) {
                return Err(TransitionError::WrongState(incident.status));
            }
            next.supervision = Some(Supervision { operator_id: operator.clone(), note: note.clone(), at: now });
            vec![Event::Supervised { note: note.clone() }]
        }
        Command::SetRisk { risk, deadlines } => {
            if *risk == incident.risk {
                return unchanged();
            }
            next.risk = *risk;
            // Pending deadlines restart on the new colour's clock from the change: raised to
            // red, the holder has red's 15 minutes from now (never overdue at once); a deadline
            // already met (arrived) stays as it was.
            if incident.deadline_pending(Deadline::Arrive) {
                next.arrive_by = Some(deadlines.arrive_by);
                next.arrive_overdue_at = None;
            }
            if incident.deadline_pending(Deadline::Resolve) {
                next.resolve_by = Some(deadlines.resolve_by);
                next.resolve_overdue_at = None;
            }
            let mut events = vec![Event::RiskChanged { from: incident.risk, to: *risk }];
            if *risk == Risk::Red && incident.alerted_at.is_none() && !incident.status.is_closed() {
                next.alerted_at = Some(now);
                events.push(Event::Alerted);
            }
            events
        }
        Command::GiveFeedback { rating, comment, resolved } => {
            if incident.status != Status::Resolved {
                return Err(TransitionError::WrongState(incident.status));
            }
            if incident.feedback.is_some() {
                return Err(TransitionError::AlreadyAnswered);
            }
            next.feedback = Some(Feedback { rating: *rating, comment: comment.clone(), resolved: *resolved, at: now });
            let mut events = vec![Event::FeedbackGiven { rating: *rating, resolved: *resolved }];
            if !resolved {
                // Back to the command center: nobody holds it; operators assign anew.
                next.status = Status::Escalated;
                next.reopened_at = Some(now);
                next.escalated_at = Some(now);
                next.claimed_by = None;
                next.claimed_at = None;
                next.assigned_by = None;
                next.arrived_at = None;
                next.resolved_at = None;
                next.outcome = None;
                next.arrive_by = None;
                next.resolve_by = None;
                next.arrive_overdue_at = None;
                next.resolve_overdue_at = None;
                events.push(Event::Reopened);
            }
            events
        }
    };
    next.version = incident.version + 1;
    Ok(Transition { incident: next, events })
}

fn claim(next: &mut Incident, mediator: &AccountId, deadlines: ClaimDeadlines, now: Timestamp) {
    next.status = Status::Claimed;
    next.claimed_by = Some(mediator.clone());
    next.claimed_at = Some(now);
    next.arrive_by = Some(deadlines.arrive_by);
    next.resolve_by = Some(deadlines.resolve_by);
}

fn holder_check(incident: &Incident, mediator: &AccountId) -> Result<(), TransitionError> {
    if incident.claimed_by.as_ref() == Some(mediator) { Ok(()) } else { Err(TransitionError::NotYours) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn incident(offered: &[&AccountId]) -> Incident {
        let t0 = Timestamp::UNIX_EPOCH;
        let report = Report {
            id: IncidentId::generate(),
            category: Category::Neighbor,
            risk: Risk::Blue,
            description: "noise".into(),
            location: GeoPoint::new(36.6, 101.7).unwrap(),
            cell: "8830e1d8a1fffff".into(),
            scene_id: None,
            resident_phone: None,
            created_at: t0,
            escalate_at: t0,
        };
        let offers = offered
            .iter()
            .map(|m| Offer {
                mediator_id: (*m).clone(),
                distance_m: 10.0,
                offered_at: t0,
                declined_at: None,
                expired_at: None,
            })
            .collect();
        Incident::reported(report, offers)
    }

    fn deadlines() -> ClaimDeadlines {
        ClaimDeadlines {
            arrive_by: Timestamp::from_second(1_800_000_900).unwrap(),
            resolve_by: Timestamp::from_second(1_800_003_600).unwrap(),
        }
    }

    fn accept(m: &AccountId) -> Command {
        Command::Accept { mediator: m.clone(), deadlines: deadlines() }
    }

    fn assign(op: &AccountId, m: &AccountId) -> Command {
        Command::Assign { operator: op.clone(), mediator: m.clone(), deadlines: deadlines() }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn the_first_accept_claims_and_later_ones_are_refused() {
        let (a, b, c) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
        let inc = incident(&[&a, &b]);
        let t = decide(&inc, &accept(&a), now()).unwrap();
        assert_eq!(t.incident.status, Status::Claimed);
        assert_eq!(t.incident.version, 2);
        assert_eq!(decide(&t.incident, &accept(&b), now()), Err(TransitionError::AlreadyClaimed));
        assert_eq!(decide(&t.incident, &accept(&c), now()), Err(TransitionError::NotOffered));
        assert!(decide(&t.incident, &accept(&a), now()).unwrap().is_noop());
    }

    #[test]
    fn escalation_is_a_noop_once_claimed_and_accept_still_works_after_escalation() {
        let a = AccountId::generate();
        let inc = incident(&[&a]);
        let claimed = decide(&inc, &accept(&a), now()).unwrap().incident;
        assert!(decide(&claimed, &Command::Escalate, now()).unwrap().is_noop());

        let escalated = decide(&inc, &Command::Escalate, now()).unwrap().incident;
        assert_eq!(escalated.status, Status::Escalated);
        assert!(decide(&escalated, &Command::Escalate, now()).unwrap().is_noop());
        let t = decide(&escalated, &accept(&a), now()).unwrap();
        assert_eq!(t.incident.status, Status::Claimed);
    }

    #[test]
    fn a_declined_offer_cannot_be_accepted() {
        let a = AccountId::generate();
        let inc = incident(&[&a]);
        let declined = decide(&inc, &Command::Decline { mediator: a.clone() }, now()).unwrap().incident;
        assert_eq!(decide(&declined, &accept(&a), now()), Err(TransitionError::NotOffered));
    }

    #[test]
    fn only_the_holder_arrives_and_resolves() {
        let (a, b) = (AccountId::generate(), AccountId::generate());
        let claimed = decide(&incident(&[&a, &b]), &accept(&a), now()).unwrap().incident;
        assert_eq!(decide(&claimed, &Command::Arrive { mediator: b.clone() }, now()), Err(TransitionError::NotYours));
        let on_site = decide(&claimed, &Command::Arrive { mediator: a.clone() }, now()).unwrap().incident;
        assert_eq!(on_site.status, Status::OnSite);
        let resolve = Command::Resolve { mediator: a, outcome: Outcome::Mediated, note: None };
        let done = decide(&on_site, &resolve, now()).unwrap().incident;
        assert_eq!(done.status, Status::Resolved);
        assert_eq!(decide(&done, &Command::Cancel, now()), Err(TransitionError::WrongState(Status::Resolved)));
    }

    #[test]
    fn an_operator_assigns_an_escalated_incident_once() {
        let (op, m, other) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
        let escalated = decide(&incident(&[]), &Command::Escalate, now()).unwrap().incident;
        let assigned = decide(&escalated, &assign(&op, &m), now()).unwrap();
        assert_eq!(assigned.incident.claimed_by, Some(m));
        assert_eq!(decide(&assigned.incident, &assign(&op, &other), now()), Err(TransitionError::AlreadyClaimed));
    }

    proptest! {
        /// Whatever sequence of commands arrives, at most one mediator ever holds the incident,
        /// and once held it is never held by someone else.
        #[test]
        fn at_most_one_mediator_ever_holds_an_incident(script in proptest::collection::vec((0usize..7, 0usize..3), 1..40)) {
            let ms: Vec<AccountId> = (0..3).map(|_| AccountId::generate()).collect();
            let op = AccountId::generate();
            let mut inc = incident(&ms.iter().collect::<Vec<_>>());
            let mut holder: Option<AccountId> = None;
            for (kind, who) in script {
                let m = ms[who].clone();
                let cmd = match kind {
                    0 => accept(&m),
                    1 => Command::Decline { mediator: m },
                    2 => Command::Escalate,
                    3 => assign(&op, &m),
                    4 => Command::Arrive { mediator: m },
                    5 => Command::Resolve { mediator: m, outcome: Outcome::Mediated, note: None },
                    _ => Command::Cancel,
                };
                if let Ok(t) = decide(&inc, &cmd, now()) {
                    prop_assert!(t.incident.version >= inc.version);
                    inc = t.incident;
                }
                if let Some(h) = &holder {
                    prop_assert_eq!(inc.claimed_by.as_ref(), Some(h));
                }
                holder.clone_from(&inc.claimed_by);
            }
        }
    }
}
