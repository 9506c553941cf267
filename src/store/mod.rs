//! The storage ports, one per concern, and the two backends that implement them all.
//!
//! - [`IncidentStore`] (`incidents.rs`): the atomic incident write with its deadlines, the
//!   incident queries and indexes, the timeline. Every write that must be exactly-once
//!   (create, claim, escalate) goes through [`IncidentStore::write_incident`]: one atomic
//!   compare-and-set on the incident's version that also applies every side effect (timeline,
//!   timers, offer and hold sets, capacity guard). On Redis that is one Lua script over keys in
//!   one hash slot; in memory it is one critical section.
//! - [`Directory`] (`directory.rs`): accounts and their audit record, scenes, areas.
//! - [`PresenceStore`] (`presence.rs`): duty and positions (a batch stored and announced on
//!   the bus in one step).
//! - [`Leases`] (`leases.rs`): keys that expire by themselves (rate windows, replay guards).
//! - [`WechatStore`] (`wechat.rs`): what the WeChat channel keeps between requests.
//! - [`HealthProbe`] (`health.rs`): reachability, writability and the durability probe
//!   (`durability.rs` judges what it reads).
//! - [`Bus`]: the cross-instance message bus; [`bus_codec`], how its messages travel
//!   (positions as compact binary frames, the rest as JSON).
//!
//! `memory/` and `redis/` implement every port, one file per port; [`Ports`] is how the app
//! holds them. `conformance/` is the one behaviour suite, per port, run on both backends.
//! Nothing here knows HTTP; nothing here decides business rules (that is `domain`).

pub mod bus_codec;
pub mod directory;
pub mod durability;
pub mod health;
pub mod incidents;
pub mod leases;
pub mod memory;
pub mod plan;
pub mod presence;
pub mod records;
pub mod redis;
pub mod wechat;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use bus_codec::FixBatch;
pub use directory::Directory;
pub use health::HealthProbe;
pub use incidents::IncidentStore;
pub use leases::Leases;
pub use presence::PresenceStore;
pub use wechat::WechatStore;

use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::location::GeoPoint;
use crate::domain::timeline::TimelineEntry;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The storage ports an instance runs on, one per concern. Cheap to clone. Callers keep only
/// the ports they use.
#[derive(Clone)]
pub struct Ports {
    /// Incidents, their deadlines, indexes and timelines.
    pub incidents: Arc<dyn IncidentStore>,
    /// Accounts, audit, scenes, areas.
    pub directory: Arc<dyn Directory>,
    /// Duty and positions.
    pub presence: Arc<dyn PresenceStore>,
    /// Rate windows and replay guards.
    pub leases: Arc<dyn Leases>,
    /// The WeChat channel's state.
    pub wechat: Arc<dyn WechatStore>,
    /// Reachability, writability, durability.
    pub health: Arc<dyn HealthProbe>,
}

impl Ports {
    /// Every port served by one backend (both backends implement them all over one connection
    /// or one lock).
    #[must_use]
    pub fn of<B>(backend: Arc<B>) -> Self
    where
        B: IncidentStore + Directory + PresenceStore + Leases + WechatStore + HealthProbe,
    {
        Self {
            incidents: backend.clone(),
            directory: backend.clone(),
            presence: backend.clone(),
            leases: backend.clone(),
            wechat: backend.clone(),
            health: backend,
        }
    }
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// A backend failure. Handlers answer 503 for `Unavailable`, 500 for `Corrupt`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or did not answer in time.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend answered but refuses writes: out of memory (`OOM`), a read-only replica
    /// (`READONLY`), or persistence failing (`MISCONF`). Holds the backend's own words.
    #[error("the store refuses writes: {0}")]
    RefusesWrites(String),
}

/// What the incident must look like before a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// It must not exist yet (creation).
    Absent,
    /// Its stored version must be exactly this.
    Version(u64),
}

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

/// A report remembered in the hot-spot index: which, when and where.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaNote {
    /// The incident.
    pub id: IncidentId,
    /// When it was reported.
    pub at: Timestamp,
    /// Where (WGS-84).
    pub place: GeoPoint,
}

/// A change to the timer set, applied atomically with an incident write.
#[derive(Debug, Clone, PartialEq)]
pub enum TimerOp {
    /// Set (or move) the deadline.
    Schedule(TimerKey, Timestamp),
    /// Remove it.
    Cancel(TimerKey),
}

/// A mediator taking an incident: allowed only while they hold fewer than `capacity`. Each
/// hold counts as one claim (grab or assignment) on `day`, for "less work today" tie-breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    /// The mediator.
    pub mediator_id: AccountId,
    /// Their capacity (from their account).
    pub capacity: u32,
    /// The day the claim counts on (`YYYY-MM-DD`, Asia/Shanghai); counts are kept two days.
    pub day: String,
}

/// Extras written only when an incident is created.
#[derive(Debug, Clone, PartialEq)]
pub struct Creation {
    /// SHA-256 (hex) of the resident's tracking token; the token itself is never stored.
    pub tracking_hash: String,
    /// Client idempotency key (hashed, scoped by the caller) and a fingerprint of the request.
    pub idempotency: Option<IdempotencyClaim>,
}

/// "This request, under this key": a repeat with the same key returns the first result.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyClaim {
    /// SHA-256 (hex) of the scoped key.
    pub key_hash: String,
    /// SHA-256 (hex) of the request body, to tell a retry from a misuse of the key.
    pub fingerprint: String,
    /// How long the key is remembered.
    pub ttl: Duration,
    /// What the first request answered that is not derivable from the incident (the tracking
    /// token): stored with the key, for its TTL only, and handed back on a replay.
    pub receipt: String,
}

/// What a remembered idempotency key was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedKey {
    /// The incident the first request created.
    pub incident_id: IncidentId,
    /// Its request's fingerprint.
    pub fingerprint: String,
    /// Its receipt (see [`IdempotencyClaim::receipt`]).
    pub receipt: String,
}

/// One atomic change to an incident and everything that must change with it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentWrite {
    /// The incident as it must be stored (its `version` already bumped).
    pub incident: Incident,
    /// Precondition.
    pub expect: Expect,
    /// Timeline entries to append.
    pub append: Vec<TimelineEntry>,
    /// Deadline changes.
    pub timers: Vec<TimerOp>,
    /// Mediators who now have an open offer for it.
    pub offers_open: Vec<AccountId>,
    /// Mediators whose offer for it is closed.
    pub offers_close: Vec<AccountId>,
    /// A mediator takes it (guarded by capacity).
    pub hold: Option<Hold>,
    /// A mediator no longer holds it.
    pub release: Option<AccountId>,
    /// Present only on creation.
    pub creation: Option<Creation>,
    /// Bus messages published iff the write applies, as part of it (in order, after its
    /// effects): the offers and screen updates it causes go out without another round trip,
    /// and never for a write that was refused. [`BusMessage::Resync`] is local and never
    /// announced. The store adds a [`BusMessage::Load`] for the mediator in `hold` and the one
    /// in `release`, with the counts the write left, before these; and after them a
    /// [`BusMessage::NextDeadline`] when the write set a deadline sooner than every deadline
    /// held before it.
    pub announce: Vec<BusMessage>,
    /// The report noted in its hot-spot area with the write that files it (the look-back of
    /// later reports and the hot-spot map read these notes).
    pub note: Option<NoteInArea>,
}

/// A report noted in hot-spot area `cell`, kept `keep` after it was made: notes of that cell
/// older than `keep` before it are dropped, and so are cells with no newer note.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteInArea {
    /// The hot-spot cell (H3, as text).
    pub cell: String,
    /// The report.
    pub note: AreaNote,
    /// How long notes are kept.
    pub keep: std::time::Duration,
}

impl IncidentWrite {
    /// A write of `incident` under `expect` with no side effects yet.
    #[must_use]
    pub fn new(incident: Incident, expect: Expect) -> Self {
        Self {
            incident,
            expect,
            append: vec![],
            timers: vec![],
            offers_open: vec![],
            offers_close: vec![],
            hold: None,
            release: None,
            creation: None,
            announce: vec![],
            note: None,
        }
    }
}

/// How a [`Directory::change_account`] ended. Nothing was written unless it is `Written`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountWrite {
    /// Applied.
    Written,
    /// The account is gone or its version moved: re-read and decide again.
    Conflict,
    /// The new phone belongs to another account.
    PhoneTaken,
}

/// How an [`IncidentWrite`] ended. Nothing was written unless it is `Written`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Applied.
    Written,
    /// The precondition failed (someone else changed it first, or it already exists).
    Conflict,
    /// The mediator in `hold` is at capacity.
    AtCapacity,
    /// The idempotency key was used before, for this incident.
    Replayed {
        /// The incident the first request created.
        incident_id: IncidentId,
        /// Whether the earlier request had the same fingerprint.
        same_request: bool,
        /// The first request's receipt (see [`IdempotencyClaim::receipt`]).
        receipt: String,
    },
}

/// A deadline claimed by one instance for a lease; finish it, or it comes back when the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTimer {
    /// Which deadline.
    pub key: TimerKey,
    /// Fencing token: the lease expiry (ms) this claim set. Finishing checks it is unchanged.
    pub lease_token: i64,
}

/// A message every instance receives: how sockets on other instances learn what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusMessage {
    /// Several mediators moved (a batch from one instance): sent by the store itself, with the
    /// batch's write ([`PresenceStore::store_fixes`]). On Redis it travels as a compact binary
    /// frame ([`bus_codec`]), not JSON.
    Fixes {
        /// Who, and where.
        fixes: FixBatch,
    },
    /// A mediator went on or off duty.
    Duty {
        /// Who.
        mediator_id: AccountId,
        /// On duty now.
        on: bool,
    },
    /// A mediator's phone stopped answering its socket's heartbeat: off the live map (their
    /// position is dropped from every index) until it sends a position again; duty stays.
    Unreachable {
        /// Who.
        mediator_id: AccountId,
    },
    /// A case-file deadline fell due (issue #20): the holder's phone and, for the mediation
    /// deadline, the screens that see the incident's place are told (`case_due`).
    CaseDue {
        /// The incident.
        incident_id: IncidentId,
        /// Which deadline (`performance`, `confirmation`, `deadline`).
        kind: String,
        /// The day it concerns (`YYYY-MM-DD`).
        #[serde(default)]
        date: Option<String>,
        /// The holding mediator (their sockets).
        #[serde(default)]
        holder: Option<AccountId>,
        /// The screens that see this place (None: no screen).
        #[serde(default)]
        screens: Option<crate::domain::area::AreaPath>,
    },
    /// A step of a department's call-in (joint handling) and who hears of it: every instance
    /// renders it for the sockets it holds (`push`), as it does [`BusMessage::News`].
    CallIn {
        /// The call-in as the write left it.
        call_in: Box<crate::domain::department::CallIn>,
        /// What happened to it.
        step: crate::domain::department::Step,
        /// The command-center screens that see this place (None: every screen).
        #[serde(default)]
        screens: Option<crate::domain::area::AreaPath>,
        /// The department's accounts (their sockets).
        #[serde(default)]
        accounts: Vec<AccountId>,
    },
    /// What a write did to an incident and who must hear of it, with the incident as the write
    /// left it (in its stored encoding, [`records`]): every instance renders each notice for
    /// the sockets it holds (`push`), in order.
    News {
        /// The incident after the write.
        #[serde(with = "records::incident_record")]
        incident: Box<Incident>,
        /// What happened, each with its recipients.
        notices: Vec<crate::domain::news::Notice>,
    },
    /// An incident changed: resident trackers re-read it.
    IncidentChanged {
        /// Which.
        incident_id: IncidentId,
    },
    /// The area hierarchy changed: reload it.
    AreasChanged,
    /// A mediator's workload after a write changed it, with the counts the store holds: sent
    /// by the store itself, with the write (see [`IncidentWrite::announce`]).
    Load {
        /// Who.
        mediator_id: AccountId,
        /// Incidents they hold now.
        holds: u32,
        /// Their claims on a day, when the write counted one.
        #[serde(default)]
        claims: Option<DayClaims>,
    },
    /// A report, for every instance's copy of recent reports by area (duplicates, hot spots):
    /// sent with the report's write, and again with the write that closes it.
    Noted {
        /// Which.
        incident_id: IncidentId,
        /// When it was reported.
        at: Timestamp,
        /// Where (WGS-84).
        place: crate::domain::location::GeoPoint,
        /// Still open (not resolved or cancelled).
        open: bool,
    },
    /// A write set a deadline sooner than every deadline held before it: timer runners that
    /// sleep until the earliest one wake and look again. Sent by the store itself, with the
    /// write (see [`IncidentWrite::announce`]).
    NextDeadline {
        /// When it is due, ms since the Unix epoch.
        due_ms: i64,
    },
    /// An account changed: forget what is held of it; a disabled one's sockets are closed.
    AccountChanged {
        /// Which.
        account_id: AccountId,
        /// It is disabled now: every instance closes its sockets (4403).
        #[serde(default)]
        disabled: bool,
    },
    /// An admin revoked an account's tokens (or reset its password): every instance closes
    /// its sockets (4401, sign in again).
    AccountSignedOut {
        /// Which.
        account_id: AccountId,
    },
    /// Something for the sockets of one video session, whichever instance holds them (issue
    /// #22): signaling, who joined or left, state, closes. Every instance hands it to the
    /// session's sockets it holds (`video::Video::deliver`); the feed ignores it.
    VideoRoom {
        /// The session.
        session_id: String,
        /// The one seat addressed (None: every seat of the session but `except`).
        #[serde(default)]
        seat: Option<String>,
        /// The seat left out when addressing everyone (the sender).
        #[serde(default)]
        except: Option<String>,
        /// A connection of the seat that is spared (the socket that just replaced the others).
        #[serde(default)]
        spare_conn: Option<u64>,
        /// The text to send, already serialised; None: close with `close_code`.
        #[serde(default)]
        text: Option<String>,
        /// The close code (`video::close`), when `text` is None.
        #[serde(default)]
        close_code: Option<u16>,
    },
    /// Local only: this instance may have missed messages (bus reconnected) and must resync.
    Resync,
}

/// Claims counted for one mediator on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayClaims {
    /// `YYYY-MM-DD`, Asia/Shanghai.
    pub day: String,
    /// How many.
    pub count: u32,
}

/// The cross-instance message bus port.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Send to every instance (including this one).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn publish(&self, message: &BusMessage) -> Result<(), StoreError>;

    /// Receive what every instance publishes. Lagging receivers get [`BusMessage::Resync`].
    fn subscribe(&self) -> BusReceiver;
}

/// A subscription to the bus.
pub struct BusReceiver(tokio::sync::broadcast::Receiver<BusMessage>);

impl BusReceiver {
    /// Wrap a broadcast receiver.
    #[must_use]
    pub fn new(rx: tokio::sync::broadcast::Receiver<BusMessage>) -> Self {
        Self(rx)
    }

    /// The next message; `None` when the bus is gone. A lag becomes `Resync`.
    pub async fn recv(&mut self) -> Option<BusMessage> {
        use tokio::sync::broadcast::error::RecvError;
        match self.0.recv().await {
            Ok(m) => Some(m),
            Err(RecvError::Lagged(_)) => Some(BusMessage::Resync),
            Err(RecvError::Closed) => None,
        }
    }
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
