//! What ranking needs of a mediator's day: how many incidents they hold and how many they
//! claimed today. Kept per instance, so filing a report reads nothing before its write.
//!
//! The store publishes a [`BusMessage::Load`](crate::store::BusMessage::Load) with the counts
//! every write leaves (only writes change them), and every instance sets its copy from it.
//! A mediator never seen since start is read from the store once; the read only fills what no
//! message has set meanwhile, because a message is newer than any read it races with. A
//! resync forgets everything (messages may have been missed). Stale counts can only misrank an
//! offer: accepting checks capacity in the store.
//!
//! An instance reads its own writes: after a write that changed someone's holds, it waits
//! (briefly, bounded) until that mediator's message has come back on the bus.

use super::Dispatcher;
use crate::domain::ids::AccountId;
use crate::store::{DayClaims, StoreError};
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a write waits for its own workload message before going on without it.
const OWN_WRITE_WAIT: Duration = Duration::from_millis(250);

/// What is known of one mediator; a field is None until a message or a read sets it.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    holds: Option<u32>,
    claims: Option<(Date, u32)>,
    /// The message count (see [`Workloads::heard`]) when a message last set this entry.
    heard: u64,
}

/// This instance's copies.
#[derive(Debug)]
pub(super) struct Workloads {
    held: std::sync::RwLock<HashMap<AccountId, Entry>>,
    /// Bumped by every forget, so a read that started before it is not kept.
    generation: AtomicU64,
    /// Messages applied so far, published for writers waiting on their own.
    heard: tokio::sync::watch::Sender<u64>,
}

impl Default for Workloads {
    fn default() -> Self {
        Self {
            held: std::sync::RwLock::default(),
            generation: AtomicU64::new(0),
            heard: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Workloads {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<AccountId, Entry>> {
        self.held.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<AccountId, Entry>> {
        self.held.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Set what a store message says.
    fn apply(&self, mediator: &AccountId, holds: u32, claims: Option<&DayClaims>) {
        let claims = claims.and_then(|c| Some((c.day.parse::<Date>().ok()?, c.count)));
        let mut held = self.write();
        let entry = held.entry(mediator.clone()).or_default();
        entry.holds = Some(holds);
        if claims.is_some() {
            entry.claims = claims;
        }
        self.heard.send_modify(|n| {
            *n += 1;
            entry.heard = *n;
        });
    }

    /// Holds and claims on `today` of `ids`, in order; None where something is unknown.
    fn known(&self, ids: &[AccountId], today: Date) -> Vec<Option<(u32, u32)>> {
        let held = self.read();
        ids.iter()
            .map(|id| {
                let e = held.get(id)?;
                let claims = e.claims.map(|(day, n)| if day == today { n } else { 0 })?;
                Some((e.holds?, claims))
            })
            .collect()
    }

    /// Fill in what was read, unless a forget happened since `generation`; messages win.
    fn fill(&self, generation: u64, read: &[(AccountId, u32, u32)], today: Date) {
        let mut held = self.write();
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        for (id, holds, claims) in read {
            let entry = held.entry(id.clone()).or_default();
            entry.holds.get_or_insert(*holds);
            entry.claims.get_or_insert((today, *claims));
        }
    }

    fn forget_all(&self) {
        let mut held = self.write();
        self.generation.fetch_add(1, Ordering::SeqCst);
        held.clear();
    }

    /// Wait until each of `ids` has had a message after message number `since`, or the time runs out.
    async fn heard_after(&self, ids: &[&AccountId], since: u64) {
        let mut rx = self.heard.subscribe();
        let caught_up =
            |held: &HashMap<AccountId, Entry>| ids.iter().all(|id| held.get(*id).is_some_and(|e| e.heard > since));
        let wait = async {
            loop {
                if caught_up(&self.read()) {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(OWN_WRITE_WAIT, wait).await.is_err() {
            tracing::debug!("own workload message not back in time; ranking may lag a moment");
        }
    }
}

impl Dispatcher {
    /// Holds and today's claims of `ids`, in order, reading from the store only the ones this
    /// instance does not know yet.
    ///
    /// # Errors
    /// The store's error when some had to be read.
    pub(crate) async fn workloads(&self, ids: &[AccountId], today: Date) -> Result<Vec<(u32, u32)>, StoreError> {
        let cache = &self.inner.workloads;
        let generation = cache.generation.load(Ordering::SeqCst);
        let mut out = cache.known(ids, today);
        let missing: Vec<AccountId> =
            ids.iter().zip(&out).filter(|(_, w)| w.is_none()).map(|(id, _)| id.clone()).collect();
        if missing.is_empty() {
            return Ok(out.into_iter().map(Option::unwrap_or_default).collect());
        }
        let day = today.to_string();
        // Two independent reads, in flight together on the multiplexed connection.
        let (holds, claims) = tokio::try_join!(
            self.ports().incidents.hold_counts(&missing),
            self.ports().incidents.claims_on(&day, &missing)
        )?;
        let read: Vec<_> = missing.into_iter().zip(holds).zip(claims).map(|((id, h), c)| (id, h, c)).collect();
        cache.fill(generation, &read, today);
        let mut read = read.into_iter();
        for slot in out.iter_mut().filter(|w| w.is_none()) {
            *slot = read.next().map(|(_, h, c)| (h, c));
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Set a mediator's workload from the store's message.
    pub fn workload_changed(&self, mediator: &AccountId, holds: u32, claims: Option<&DayClaims>) {
        self.inner.workloads.apply(mediator, holds, claims);
    }

    /// Forget every copy (after a resync: messages may have been missed).
    pub fn forget_workloads(&self) {
        self.inner.workloads.forget_all();
    }

    /// The workload message count now: pass it to [`Self::own_workloads_back`] after a write.
    pub(super) fn workload_mark(&self) -> u64 {
        *self.inner.workloads.heard.borrow()
    }

    /// Wait (bounded) until the workload messages of the write made after `mark` are back, so
    /// this instance's next ranking sees its own write.
    pub(super) async fn own_workloads_back(&self, ids: &[&AccountId], mark: u64) {
        if !ids.is_empty() {
            self.inner.workloads.heard_after(ids, mark).await;
        }
    }
}
