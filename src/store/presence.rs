//! The [`PresenceStore`] port.

use super::{FixBatch, StoreError};
use crate::domain::account::Presence;
use crate::domain::ids::AccountId;
use async_trait::async_trait;
use jiff::Timestamp;

/// One minute in milliseconds: the granularity positions are filed at for pruning.
const MINUTE_MS: i64 = 60_000;

/// The time a position taken `at` is filed under for pruning, in ms since the Unix epoch: `at`
/// rounded up to the whole minute (a position exactly on a minute stays there).
#[must_use]
pub fn fix_minute_ms(at: Timestamp) -> i64 {
    let ms = at.as_millisecond();
    let floor = ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    if floor == ms { ms } else { floor + MINUTE_MS }
}

/// Presence: mediators' duty state and latest positions.
#[async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// Record a mediator's duty state.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError>;

    /// Record a batch of mediators' latest positions and announce it, in one step (one round
    /// trip on Redis): the batch is stored, then published on the bus as one
    /// [`BusMessage::Fixes`](super::BusMessage::Fixes) holding it, with the write itself, so
    /// the bus hears of it once and only once its positions are readable, and never when the
    /// store refused it. Each position's time is also filed, rounded up to its minute
    /// ([`fix_minute_ms`]), for [`PresenceStore::prune_fixes_older_than`]. An empty batch
    /// writes and announces nothing.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure: then nothing was stored nor announced, unless the
    /// failure left it unknown whether the write ran (a connection lost with it sent), as for
    /// any write, or stored data of the wrong type failed part of it (corrupt).
    async fn store_fixes(&self, fixes: &FixBatch) -> Result<(), StoreError>;

    /// Every mediator with a duty state or a position (to rebuild in-process indexes).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn all_presence(&self) -> Result<Vec<Presence>, StoreError>;

    /// Remove stored positions older than `cutoff` (phones gone silent), at most `max` per
    /// call, oldest minute first; returns how many were removed. Positions are filed by their
    /// time rounded up to the minute ([`fix_minute_ms`]), so one is removed once that minute is
    /// before `cutoff`: up to a minute later than its own time alone would say (the write of a
    /// phone that keeps reporting then changes its filed time once a minute, which costs Redis
    /// less than every position). Duty flags are kept. Safe to run from every instance at once
    /// (each removal is atomic and idempotent).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn prune_fixes_older_than(&self, cutoff: Timestamp, max: usize) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_filed_at_the_end_of_their_minute() {
        let at = |ms| Timestamp::from_millisecond(ms).unwrap();
        assert_eq!(fix_minute_ms(at(1_800_000_000_000)), 1_800_000_000_000, "on the minute stays");
        assert_eq!(fix_minute_ms(at(1_800_000_000_001)), 1_800_000_060_000);
        assert_eq!(fix_minute_ms(at(1_800_000_059_999)), 1_800_000_060_000);
        assert_eq!(fix_minute_ms(at(-1)), 0, "before the epoch too");
        let nanos = Timestamp::new(1_800_000_000, 1).unwrap();
        assert_eq!(fix_minute_ms(nanos), 1_800_000_000_000, "within the same millisecond: ms is what is stored");
    }
}
