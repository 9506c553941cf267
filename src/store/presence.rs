//! The [`PresenceStore`] port.

use super::StoreError;
use crate::domain::account::{Fix, Presence};
use crate::domain::ids::AccountId;
use async_trait::async_trait;
use jiff::Timestamp;

/// Presence: mediators' duty state and latest positions.
#[async_trait]
pub trait PresenceStore: Send + Sync + 'static {
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

    /// Remove stored positions older than `cutoff` (phones gone silent), at most `max` per
    /// call; returns how many were removed. Duty flags are kept. Safe to run from every
    /// instance at once (each removal is atomic and idempotent).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn prune_fixes_older_than(&self, cutoff: Timestamp, max: usize) -> Result<usize, StoreError>;
}
