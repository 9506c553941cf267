//! Positions are written in small batches: every position arriving within
//! `dispatch.position_batch_window` joins one batch (the latest per mediator wins), which is
//! stored and announced to the other instances in one bus message in the same step (one
//! round trip: `PresenceStore::store_fixes`). Each caller is answered once its batch is
//! stored (or failed), so a position request still never hears "stored" for a position that
//! was not.
//!
//! The first position of a batch starts a task that waits out the window, then writes the
//! batch; batches are written one at a time per instance, so positions arriving while one is
//! being written gather into the next.

use super::{DispatchError, Dispatcher};
use crate::domain::account::Fix;
use crate::domain::ids::AccountId;
use crate::store::{FixBatch, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// What a batch came to: None while pending; Some(Err(why)) if the store refused it.
type Outcome = Option<Result<(), String>>;

/// Tells when a queued position's batch is stored.
pub(super) type Stored = watch::Receiver<Outcome>;

/// Wait for a queued position's batch.
pub(super) async fn outcome(mut stored: Stored) -> Result<(), DispatchError> {
    let outcome = stored.wait_for(Option::is_some).await.map(|o| o.clone());
    match outcome {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(why))) => Err(DispatchError::Store(StoreError::Unavailable(why.into()))),
        Ok(None) | Err(_) => Err(DispatchError::Store(StoreError::Unavailable("position writer stopped".into()))),
    }
}

struct Batch {
    fixes: HashMap<AccountId, Fix>,
    done: watch::Sender<Outcome>,
}

/// This instance's pending batch and write turn.
pub(super) struct Positions {
    open: std::sync::Mutex<Option<Batch>>,
    writing: tokio::sync::Mutex<()>,
    /// Whose positions a failed batch held: their sockets are told (an HTTP caller hears it
    /// in its answer), since a socket's position is not waited for.
    unstored: broadcast::Sender<Unstored>,
}

impl Default for Positions {
    fn default() -> Self {
        Self {
            open: std::sync::Mutex::default(),
            writing: tokio::sync::Mutex::default(),
            unstored: broadcast::channel(64).0,
        }
    }
}

/// The mediators whose positions one failed batch held.
pub(super) type Unstored = Arc<[AccountId]>;

impl Dispatcher {
    /// Hear about every batch of positions this instance failed to store (whose they were).
    #[must_use]
    pub fn watch_unstored_positions(&self) -> broadcast::Receiver<Unstored> {
        self.inner.positions.unstored.subscribe()
    }

    /// Add `fix` to the open batch (starting one if there is none).
    pub(super) fn add_position(&self, mediator: &AccountId, fix: Fix) -> Stored {
        // Received; `gd_positions_total` counts what was stored (a newer position of the same
        // mediator within one batch replaces an older one).
        metrics::counter!("gd_positions_received_total").increment(1);
        {
            let mut open = self.inner.positions.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(batch) = open.as_mut() {
                let held = batch.fixes.entry(mediator.clone()).or_insert(fix);
                if fix.at >= held.at {
                    *held = fix;
                }
                batch.done.subscribe()
            } else {
                let (tx, rx) = watch::channel(None);
                *open = Some(Batch { fixes: HashMap::from([(mediator.clone(), fix)]), done: tx });
                // A task, not this request: the batch is written even if this caller goes away.
                tokio::spawn(self.clone().write_positions());
                rx
            }
        }
    }

    /// Wait out the window and the previous batch, then store and announce the open batch.
    async fn write_positions(self) {
        let window = self.settings().dispatch.position_batch_window;
        if !window.is_zero() {
            tokio::time::sleep(window).await;
        }
        let _turn = self.inner.positions.writing.lock().await;
        let Some(batch) = self.inner.positions.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
        else {
            return;
        };
        let fixes: FixBatch = batch.fixes.into_iter().collect::<Vec<_>>().into();
        // Stored and announced in one step: the bus hears the batch with its write, never
        // without it.
        let outcome = match self.inner.ports.presence.store_fixes(&fixes).await {
            Ok(()) => {
                for (mediator, fix) in fixes.iter() {
                    self.inner.index.apply_fix(mediator, *fix);
                }
                metrics::counter!("gd_positions_total").increment(fixes.len() as u64);
                metrics::histogram!("gd_position_batch_size").record(fixes.len() as f64);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, positions = fixes.len(), "could not store a batch of positions");
                // Nobody listening (no feed yet) is fine.
                let _ = self.inner.positions.unstored.send(fixes.iter().map(|(m, _)| m.clone()).collect());
                Err(e.to_string())
            }
        };
        let _ = batch.done.send(Some(outcome));
    }
}
