//! The [`IncidentStore`] port.

use super::{AreaNote, ClaimedTimer, IncidentWrite, RememberedKey, StoreError, TimerKey, WriteOutcome};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use async_trait::async_trait;
use jiff::Timestamp;
use std::time::Duration;

/// The incident store: the atomic incident write with its deadlines, the incident queries and
/// indexes (by tracking token, offers, holds, claims per day, hot-spot areas) and the timeline.
/// The write and the timers stay in one port: a deadline changes in the same atomic step as
/// the incident it belongs to.
#[async_trait]
pub trait IncidentStore: Send + Sync + 'static {
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

    /// Build the index of open incidents (on Redis, `incidents:open`) from the incidents written before it existed (once per
    /// deployment: a marker key says it is done; every later write keeps it). Walks every
    /// incident in chunks of 500, each checked and indexed atomically. Returns how many open
    /// ones were added; a backend that always kept the index (memory) adds none.
    ///
    /// # Errors
    /// The store's error; the next start tries again (adding is idempotent).
    async fn index_open_incidents(&self) -> Result<usize, StoreError>;
}
