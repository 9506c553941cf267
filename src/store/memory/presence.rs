//! [`PresenceStore`] on the memory backend.

use super::{MemoryStore, ms};
use crate::domain::account::{Fix, Presence};
use crate::domain::ids::AccountId;
use crate::store::PresenceStore;
use crate::store::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::BTreeSet;

#[async_trait]
impl PresenceStore for MemoryStore {
    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError> {
        self.lock().duty.insert(mediator.clone(), on);
        Ok(())
    }

    async fn set_fix(&self, mediator: &AccountId, fix: &Fix) -> Result<(), StoreError> {
        self.lock().fixes.insert(mediator.clone(), *fix);
        Ok(())
    }

    async fn all_presence(&self) -> Result<Vec<Presence>, StoreError> {
        let g = self.lock();
        let ids: BTreeSet<&AccountId> = g.duty.keys().chain(g.fixes.keys()).collect();
        Ok(ids
            .into_iter()
            .map(|id| Presence {
                mediator_id: id.clone(),
                on_duty: g.duty.get(id).copied().unwrap_or(false),
                fix: g.fixes.get(id).copied(),
            })
            .collect())
    }

    async fn prune_fixes_older_than(&self, cutoff: Timestamp, max: usize) -> Result<usize, StoreError> {
        let mut g = self.lock();
        // Oldest first, like the Redis script's walk of the fix times.
        let mut stale: Vec<(i64, AccountId)> =
            g.fixes.iter().filter(|(_, fix)| fix.at < cutoff).map(|(id, fix)| (ms(fix.at), id.clone())).collect();
        stale.sort();
        stale.truncate(max.max(1));
        for (_, id) in &stale {
            g.fixes.remove(id);
        }
        Ok(stale.len())
    }
}
