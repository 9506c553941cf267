//! What ranking needs to know of a mediator besides where they are: specialties, home area,
//! capacity, enabled. Read from the store once and kept per instance, so matching a report
//! near hundreds of mediators reads no accounts. An account change is announced on the bus
//! (`AccountChanged`) and every instance forgets its copy; a resync forgets them all; entries
//! also age out, in case an announcement was lost. Stale data can only misrank an offer:
//! accepting checks the account and capacity in the store.

use super::Dispatcher;
use crate::domain::account::{Account, Role};
use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use crate::store::StoreError;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// How long a copy is trusted without an announcement.
const MAX_AGE: SignedDuration = SignedDuration::from_mins(10);

/// A mediator, as ranking sees them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Profile {
    /// Dispute kinds they are good at.
    pub specialties: Vec<Category>,
    /// Home grid or community code.
    pub area: Option<String>,
    /// Incidents they may hold at once.
    pub capacity: u32,
}

impl Profile {
    /// The ranking view of an account: None unless it is an enabled mediator.
    fn of(account: &Account) -> Option<Self> {
        (account.enabled && account.role == Role::Mediator).then(|| Self {
            specialties: account.specialties.clone(),
            area: account.area.clone(),
            capacity: account.capacity,
        })
    }
}

/// This instance's copies.
#[derive(Debug, Default)]
pub(super) struct Profiles {
    /// By account: the profile (None: not an enabled mediator) and when it was read.
    held: std::sync::RwLock<HashMap<AccountId, (Option<Profile>, Timestamp)>>,
    /// Bumped by every forget, so a read that started before it is not kept.
    generation: AtomicU64,
}

impl Profiles {
    fn forget(&self, id: Option<&AccountId>) {
        let mut held = self.held.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        match id {
            Some(id) => drop(held.remove(id)),
            None => held.clear(),
        }
    }
}

impl Dispatcher {
    /// Ranking profiles of `ids`, in order (None: unknown, disabled or not a mediator).
    ///
    /// # Errors
    /// The store's error when some had to be read.
    pub(super) async fn profiles(&self, ids: &[AccountId]) -> Result<Vec<Option<Profile>>, StoreError> {
        let cache = &self.inner.profiles;
        let generation = cache.generation.load(Ordering::SeqCst);
        let now = self.now();
        let mut out: Vec<Option<Option<Profile>>> = {
            let held = cache.held.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            ids.iter()
                .map(|id| held.get(id).filter(|(_, at)| now.duration_since(*at) < MAX_AGE).map(|(p, _)| p.clone()))
                .collect()
        };
        let missing: Vec<AccountId> =
            ids.iter().zip(&out).filter(|(_, p)| p.is_none()).map(|(id, _)| id.clone()).collect();
        if !missing.is_empty() {
            let read = self.ports().directory.get_accounts(&missing).await?;
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

    /// Is `id` an enabled mediator, by this instance's copy (read once, forgotten when the
    /// account changes): a socket's positions are dropped once it is not.
    ///
    /// # Errors
    /// The store's error when the account had to be read.
    pub async fn is_enabled_mediator(&self, id: &AccountId) -> Result<bool, StoreError> {
        Ok(self.profiles(std::slice::from_ref(id)).await?.first().is_some_and(Option::is_some))
    }

    /// Forget this instance's copy of one account's profile (it changed).
    pub fn forget_profile(&self, id: &AccountId) {
        self.inner.profiles.forget(Some(id));
    }

    /// Forget every copy (after a resync: announcements may have been missed).
    pub fn forget_profiles(&self) {
        self.inner.profiles.forget(None);
    }
}
