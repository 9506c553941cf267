//! [`PresenceStore`] on the memory backend.

use super::{MemoryStore, ms};
use crate::domain::account::Presence;
use crate::domain::ids::AccountId;
use crate::store::presence::fix_minute_ms;
use crate::store::{BusMessage, FixBatch, PresenceStore, StoreError};
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::BTreeSet;

#[async_trait]
impl PresenceStore for MemoryStore {
    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError> {
        self.lock().duty.insert(mediator.clone(), on);
        Ok(())
    }

    async fn store_fixes(&self, fixes: &FixBatch) -> Result<(), StoreError> {
        if fixes.is_empty() {
            return Ok(());
        }
        let mut g = self.lock();
        g.fixes.extend(fixes.iter().map(|(mediator, fix)| (mediator.clone(), *fix)));
        // Still under the lock: the batch is heard after its positions are readable, and in
        // the order writes applied.
        let _ = self.bus.tx.send(BusMessage::Fixes { fixes: fixes.clone() });
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
        // Filed by minute and oldest first, like the Redis script's walk of `fix_at` (equal
        // minutes in id order, as Redis orders equal scores by member).
        let cutoff = ms(cutoff);
        let mut stale: Vec<(i64, AccountId)> = g
            .fixes
            .iter()
            .filter_map(|(id, fix)| Some(fix_minute_ms(fix.at)).filter(|m| *m < cutoff).map(|m| (m, id.clone())))
            .collect();
        stale.sort();
        stale.truncate(max.max(1));
        for (_, id) in &stale {
            g.fixes.remove(id);
        }
        Ok(stale.len())
    }
}
