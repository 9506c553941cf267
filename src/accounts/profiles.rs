//! This instance's copies of mediators' ranking profiles ([`Profile`]): read from the store
//! once and kept, so matching a report near hundreds of mediators reads no accounts. An
//! account change is announced on the bus (`AccountChanged`) and every instance forgets its
//! copy; a resync forgets them all; entries also age out, in case an announcement was lost.
//! The engine reads them as its [`ProfileSource`].

use crate::clock::Clock;
use crate::dispatch::{Profile, ProfileSource};
use crate::domain::ids::AccountId;
use crate::store::{Directory, StoreError};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How long a copy is trusted without an announcement.
const MAX_AGE: SignedDuration = SignedDuration::from_mins(10);

/// Mediators' ranking profiles, as this instance last read them. Cheap to clone.
#[derive(Clone)]
pub struct Profiles {
    inner: Arc<Inner>,
}

struct Inner {
    directory: Arc<dyn Directory>,
    clock: Arc<dyn Clock>,
    /// By account: the profile (None: not an enabled mediator) and when it was read (std
    /// RwLock: never held across an await).
    held: std::sync::RwLock<HashMap<AccountId, (Option<Profile>, Timestamp)>>,
    /// Bumped by every forget, so a read that started before it is not kept.
    generation: AtomicU64,
}

impl Profiles {
    /// Copies read from `directory`, aged by `clock`.
    #[must_use]
    pub fn new(directory: Arc<dyn Directory>, clock: Arc<dyn Clock>) -> Self {
        let inner = Inner { directory, clock, held: std::sync::RwLock::default(), generation: AtomicU64::new(0) };
        Self { inner: Arc::new(inner) }
    }
}

#[async_trait]
impl ProfileSource for Profiles {
    async fn profiles(&self, ids: &[AccountId]) -> Result<Vec<Option<Profile>>, StoreError> {
        let cache = &self.inner;
        let generation = cache.generation.load(Ordering::SeqCst);
        let now = cache.clock.now();
        let mut out: Vec<Option<Option<Profile>>> = {
            let held = cache.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            ids.iter()
                .map(|id| held.get(id).filter(|(_, at)| now.duration_since(*at) < MAX_AGE).map(|(p, _)| p.clone()))
                .collect()
        };
        let missing: Vec<AccountId> =
            ids.iter().zip(&out).filter(|(_, p)| p.is_none()).map(|(id, _)| id.clone()).collect();
        if !missing.is_empty() {
            let read = cache.directory.get_accounts(&missing).await?;
            let mut fresh: HashMap<AccountId, Option<Profile>> =
                missing.into_iter().zip(read).map(|(id, a)| (id, a.as_ref().and_then(Profile::of))).collect();
            {
                let mut held = cache.held.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                // Keep what was read only if nothing was forgotten meanwhile.
                if cache.generation.load(Ordering::SeqCst) == generation {
                    held.extend(fresh.iter().map(|(id, p)| (id.clone(), (p.clone(), now))));
                }
            }
            for (slot, id) in out.iter_mut().zip(ids) {
                if slot.is_none() {
                    *slot = fresh.remove(id);
                }
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }

    async fn is_enabled(&self, id: &AccountId) -> Result<bool, StoreError> {
        match self.is_enabled_held(id) {
            Some(enabled) => Ok(enabled),
            None => Ok(self.profiles(std::slice::from_ref(id)).await?.first().is_some_and(Option::is_some)),
        }
    }

    fn is_enabled_held(&self, id: &AccountId) -> Option<bool> {
        let now = self.inner.clock.now();
        let held = self.inner.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get(id).filter(|(_, at)| now.duration_since(*at) < MAX_AGE).map(|(p, _)| p.is_some())
    }

    fn forget(&self, id: Option<&AccountId>) {
        let mut held = self.inner.held.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        match id {
            Some(id) => drop(held.remove(id)),
            None => held.clear(),
        }
    }
}
