//! The storage port: what the dispatch layer needs from a backend, and the two backends.
//!
//! Every write that must be exactly-once (create, claim, escalate) goes through
//! [`Store::write_incident`]: one atomic compare-and-set on the incident's version that also
//! applies every side effect (timeline, timers, offer and hold sets, capacity guard). On Redis
//! that is one Lua script over keys in one hash slot; in memory it is one critical section.
//! Nothing here knows HTTP; nothing here decides business rules (that is `domain`).

pub mod durability;
pub mod memory;
pub mod redis;
pub mod wechat;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use crate::domain::account::{Account, Fix, Phone, Presence, Role};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::Incident;
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::domain::timeline::TimelineEntry;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::Escalate,
        Self::Wave,
        Self::RemindArrive,
        Self::RemindResolve,
        Self::ArriveDue,
        Self::ResolveDue,
        Self::Climb,
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
        }
    }

    /// Parse a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One durable deadline: at most one per (kind, incident).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerKey {
    /// What fires.
    pub kind: TimerKind,
    /// For which incident.
    pub incident_id: IncidentId,
}

impl TimerKey {
    /// The stored member string, `kind:incident-id`.
    #[must_use]
    pub fn member(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.incident_id)
    }

    /// Parse a stored member string.
    #[must_use]
    pub fn parse_member(s: &str) -> Option<Self> {
        let (kind, id) = s.split_once(':')?;
        Some(Self { kind: TimerKind::parse(kind)?, incident_id: IncidentId::parse(id).ok()? })
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
        }
    }
}

/// How a [`Store::change_account`] ended. Nothing was written unless it is `Written`.
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
    /// Several mediators moved (a batch from one instance).
    Fixes {
        /// Who, and where.
        fixes: Vec<(AccountId, Fix)>,
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
    /// A message for mediators' sockets (only the named ones).
    ToMediators {
        /// Recipients.
        mediator_ids: Vec<AccountId>,
        /// The wire message, already serialised.
        payload: String,
    },
    /// A message for command-center sockets (those whose area `place` lies in).
    ToOperators {
        /// The wire message, already serialised.
        payload: String,
        /// Where the incident lies (None: for everyone).
        #[serde(default)]
        place: Option<crate::domain::area::AreaPath>,
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

/// The backend's storage port.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Is the backend reachable?
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it is not.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Does the backend take writes now? A Redis can answer `PING` and still refuse every
    /// write: out of memory under `maxmemory` with `noeviction`, a read-only replica, or
    /// `MISCONF` after a failed RDB save with `stop-writes-on-bgsave-error`.
    ///
    /// # Errors
    /// [`StoreError::RefusesWrites`] when it answers and refuses, [`StoreError::Unavailable`]
    /// when it does not answer.
    async fn probe_write(&self) -> Result<(), StoreError> {
        self.ping().await
    }

    // --- accounts ---------------------------------------------------------------------------

    /// Create an account. Returns false (and writes nothing) when the phone is taken.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn insert_account(&self, account: &Account) -> Result<bool, StoreError>;

    /// Replace an account if its stored version is `expected_version` (phone must not change).
    /// Returns false on a version conflict or when the account does not exist.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn update_account(&self, account: &Account, expected_version: u64) -> Result<bool, StoreError>;

    /// One account.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;

    /// Many accounts, in the order asked (None for unknown ids).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<Account>>, StoreError>;

    /// The account that logs in with `phone`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn account_by_phone(&self, phone: &Phone) -> Result<Option<Account>, StoreError>;

    /// Every account with `role`, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_accounts(&self, role: Role) -> Result<Vec<Account>, StoreError>;

    // --- administration (issue #17) ---------------------------------------------------------

    /// Create all of `accounts` and append `audit`, or nothing: when any account's phone (or
    /// id) is taken, or two of them share one, nothing is written and the indices of the
    /// clashing accounts are returned (empty: everything was written).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure (then nothing was written).
    async fn insert_accounts(&self, accounts: &[Account], audit: &[AuditEntry]) -> Result<Vec<usize>, StoreError>;

    /// Replace an account if its stored version is `expected_version`, moving its phone entry
    /// when the phone changed, and append `audit`: all of it or nothing.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn change_account(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<AccountWrite, StoreError>;

    /// Append to the audit record (the oldest entries beyond [`crate::domain::audit::AUDIT_KEEP`] are dropped).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Audit entries newest first, skipping `offset`, at most `limit`; and how many are kept.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), StoreError>;

    // --- presence ---------------------------------------------------------------------------

    /// Record a mediator's duty state.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError>;

    /// Record a mediator's latest position.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn set_fix(&self, mediator: &AccountId, fix: &Fix) -> Result<(), StoreError>;

    /// Record several mediators' latest positions at once (one round trip where the backend
    /// allows it).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure; then none or some of them may be recorded.
    async fn set_fixes(&self, fixes: &[(AccountId, Fix)]) -> Result<(), StoreError> {
        for (mediator, fix) in fixes {
            self.set_fix(mediator, fix).await?;
        }
        Ok(())
    }

    /// Every mediator with a duty state or a position (to rebuild in-process indexes).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn all_presence(&self) -> Result<Vec<Presence>, StoreError>;

    // --- scenes -----------------------------------------------------------------------------

    /// Create a scene.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn insert_scene(&self, scene: &Scene) -> Result<(), StoreError>;

    /// One scene.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_scene(&self, id: &SceneId) -> Result<Option<Scene>, StoreError>;

    /// Every scene, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_scenes(&self) -> Result<Vec<Scene>, StoreError>;

    // --- hot-spot index ---------------------------------------------------------------------

    /// Remember that an incident was reported in hot-spot area `cell` (kept for `keep`), so
    /// looking back never scans every incident.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn note_in_area(&self, cell: &str, note: &AreaNote, keep: Duration) -> Result<(), StoreError>;

    /// The newest notes, at most `newest` per cell, made in any of `cells` at or after `since`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn noted_in_areas(
        &self,
        cells: &[String],
        since: Timestamp,
        newest: usize,
    ) -> Result<Vec<AreaNote>, StoreError>;

    /// The cells with a note made at or after `since` (any order).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn noted_areas(&self, since: Timestamp) -> Result<Vec<String>, StoreError>;

    /// How many notes `cell` holds made at or after `since`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn count_noted(&self, cell: &str, since: Timestamp) -> Result<u64, StoreError>;

    // --- areas (issue #8) -------------------------------------------------------------------

    /// Create or replace an area (by code).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_area(&self, area: &crate::domain::area::Area) -> Result<(), StoreError>;

    /// Every area, by code.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_areas(&self) -> Result<Vec<crate::domain::area::Area>, StoreError>;

    // --- incidents --------------------------------------------------------------------------

    /// Apply one atomic incident change (see the module docs). The change is all or nothing.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure. A timeout is ambiguous (the write may or may not have
    /// been applied, wholly): callers re-read the incident's version before retrying.
    async fn write_incident(&self, write: &IncidentWrite) -> Result<WriteOutcome, StoreError>;

    /// One incident.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError>;

    /// Many incidents, in the order asked; unknown ids are skipped.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_incidents(&self, ids: &[IncidentId]) -> Result<Vec<Incident>, StoreError>;

    /// Incidents created in `[from, to)`, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_incidents(&self, from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<Incident>, StoreError>;

    /// Incidents not yet closed (resolved or cancelled), oldest first, at most `limit`: the
    /// store keeps them apart, so a flood of closed reports never hides an open one.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn open_incidents(&self, limit: usize) -> Result<Vec<Incident>, StoreError>;

    /// The incident's timeline, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEntry>, StoreError>;

    /// Append entries to an existing incident's timeline outside a state change (deliveries,
    /// audited reads). At least once: a retry after a timeout may append twice.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn append_timeline(&self, id: &IncidentId, entries: &[TimelineEntry]) -> Result<(), StoreError>;

    /// The incident a tracking token (by its SHA-256 hex) belongs to.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn incident_by_tracking(&self, tracking_hash: &str) -> Result<Option<IncidentId>, StoreError>;

    /// What an idempotency key (its hash) was first used for, while it is remembered: lets a
    /// retry be told from a new request before anything is counted or written.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn remembered_key(&self, key_hash: &str) -> Result<Option<RememberedKey>, StoreError>;

    /// Incidents with an open offer to `mediator`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn offered_to(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError>;

    /// Incidents `mediator` holds (claimed or on site).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn held_by(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError>;

    /// How many incidents each mediator holds, in the order asked.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn hold_counts(&self, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError>;

    /// Claims on `day` per mediator, in the order asked (counted by [`Hold`]s).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn claims_on(&self, day: &str, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError>;

    // --- durable timers ---------------------------------------------------------------------

    /// Claim up to `max` deadlines due at `now` for `lease`: they are moved to `now + lease`
    /// (not deleted), so a crashed claimer's work comes back.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn claim_due_timers(
        &self,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedTimer>, StoreError>;

    /// Remove a claimed deadline, unless it was rescheduled or reclaimed since (fencing).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn finish_timer(&self, timer: &ClaimedTimer) -> Result<(), StoreError>;

    /// When the earliest deadline is due.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError>;

    /// The deadline set for `key`, if any (for operators and tests).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn timer_due(&self, key: &TimerKey) -> Result<Option<Timestamp>, StoreError>;

    // --- residents via WeChat (issue #3) ---------------------------------------------------
    // Keys are SHA-256 hex of the user-supplied identity (openid, dedupe key, signed URL, IP),
    // so no user input reaches a key. TTLs run on the backend's clock: Redis's own, the
    // injected one in memory.

    /// Bind a resident (by openid hash) to a conversation state, for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_resident_session(
        &self,
        openid_hash: &str,
        session: &wechat::ResidentSession,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// A resident's conversation state, if bound and not expired.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn resident_session(&self, openid_hash: &str) -> Result<Option<wechat::ResidentSession>, StoreError>;

    /// Claim a delivery by its dedupe-key hash (SET NX with a `lease`): exactly one concurrent
    /// caller gets `Claimed`; others see `Pending` until it finishes, then `Answered`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn claim_delivery(&self, key_hash: &str, lease: Duration) -> Result<wechat::DeliveryClaim, StoreError>;

    /// Record the answer to a claimed delivery, kept for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn finish_delivery(&self, key_hash: &str, reply: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Drop an unfinished claim (processing failed: WeChat's retry may try again).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn release_delivery(&self, key_hash: &str) -> Result<(), StoreError>;

    /// Remember a signed URL's body hash for `ttl`; returns the body hash stored first when the
    /// URL was seen before (None the first time).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn remember_signed_url(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError>;

    /// Count one hit on a fixed window of length `window` (INCR, expiry set by the first hit).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn hit_rate_window(&self, key_hash: &str, window: Duration) -> Result<wechat::RateCount, StoreError>;

    /// Forget a rate window (its next hit starts a new one).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn clear_rate_window(&self, key_hash: &str) -> Result<(), StoreError>;

    /// Take back one hit of a live window (a request that turned out not to count); the
    /// window keeps its expiry, and one that is gone or at zero stays as it is.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn refund_rate_window(&self, key_hash: &str) -> Result<(), StoreError>;

    /// The cached WeChat access token, unless expired.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn wechat_token(&self) -> Result<Option<wechat::CachedToken>, StoreError>;

    /// Cache the access token until its `expires_at`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_wechat_token(&self, token: &wechat::CachedToken) -> Result<(), StoreError>;

    /// Forget the cached token only if it is still `stale` (someone may have refreshed it).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn drop_wechat_token(&self, stale: &str) -> Result<(), StoreError>;

    /// Take the token-refresh lock for `lease` (true) unless another holder has it (false).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn lock_wechat_token_refresh(&self, holder: &str, lease: Duration) -> Result<bool, StoreError>;

    /// Release the token-refresh lock if `holder` still has it.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn unlock_wechat_token_refresh(&self, holder: &str) -> Result<(), StoreError>;

    /// The cached content of a scene's permanent WeChat QR code (from `qrcode/create`).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn wechat_qr(&self, scene: &SceneId) -> Result<Option<String>, StoreError>;

    /// Cache a scene's permanent WeChat QR content (permanent codes never expire).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_wechat_qr(&self, scene: &SceneId, url: &str) -> Result<(), StoreError>;

    /// Remember which WeChat user reported an incident (for their notifications), for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn set_incident_openid(&self, id: &IncidentId, openid: &str, ttl: Duration) -> Result<(), StoreError>;

    /// The WeChat user who reported an incident, if any.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn incident_openid(&self, id: &IncidentId) -> Result<Option<String>, StoreError>;
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
