//! The incident write's parts: the write itself ([`IncidentWrite`]) with its hold, creation
//! extras, idempotency claim and hot-spot note, what it answers ([`WriteOutcome`]), and the
//! account write and day counts beside it.

use super::{BusMessage, Expect, TimerOp};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::location::GeoPoint;
use crate::domain::timeline::TimelineEntry;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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

/// Claims counted for one mediator on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayClaims {
    /// `YYYY-MM-DD`, Asia/Shanghai.
    pub day: String,
    /// How many.
    pub count: u32,
}
