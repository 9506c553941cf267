//! What ranking needs to know of a mediator besides where they are: specialties, home area,
//! capacity, enabled. The copies are the accounts capability's (`accounts::Profiles`: read
//! from the store once and kept per instance, forgotten when an account changes); the engine
//! reads them through [`ProfileSource`], so matching a report near hundreds of mediators reads
//! no accounts. Stale data can only misrank an offer: accepting checks the account and
//! capacity in the store.

use super::Dispatcher;
use crate::domain::account::{Account, Role};
use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use crate::store::StoreError;
use async_trait::async_trait;

/// A mediator, as ranking sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Dispute kinds they are good at.
    pub specialties: Vec<Category>,
    /// Home grid or community code.
    pub area: Option<String>,
    /// Incidents they may hold at once.
    pub capacity: u32,
}

impl Profile {
    /// The ranking view of an account: None unless it is an enabled mediator.
    #[must_use]
    pub fn of(account: &Account) -> Option<Self> {
        (account.enabled && account.role == Role::Mediator).then(|| Self {
            specialties: account.specialties.clone(),
            area: account.area.clone(),
            capacity: account.capacity,
        })
    }
}

/// Mediators' ranking profiles as the engine reads them (`accounts::Profiles` holds them).
#[async_trait]
pub trait ProfileSource: Send + Sync {
    /// Profiles of `ids`, in order (None: unknown, disabled or not a mediator).
    ///
    /// # Errors
    /// The store's error when some had to be read.
    async fn profiles(&self, ids: &[AccountId]) -> Result<Vec<Option<Profile>>, StoreError>;

    /// Is `id` an enabled mediator (asked for every position a phone sends: a source holding
    /// copies answers without cloning the profile).
    ///
    /// # Errors
    /// The store's error when the account had to be read.
    async fn is_enabled(&self, id: &AccountId) -> Result<bool, StoreError> {
        Ok(self.profiles(std::slice::from_ref(id)).await?.first().is_some_and(Option::is_some))
    }

    /// [`ProfileSource::is_enabled`] when this source can answer from what it holds, without
    /// I/O (None: ask `is_enabled`). Every position a phone sends asks, so the common answer
    /// costs no boxed future.
    fn is_enabled_held(&self, _id: &AccountId) -> Option<bool> {
        None
    }

    /// Forget the copy of account `id` (it changed), or of every account (`None`: after a
    /// resync, announcements may have been missed).
    fn forget(&self, id: Option<&AccountId>);
}

impl Dispatcher {
    /// Ranking profiles of `ids`, in order (None: unknown, disabled or not a mediator).
    ///
    /// # Errors
    /// The store's error when some had to be read.
    pub(super) async fn profiles(&self, ids: &[AccountId]) -> Result<Vec<Option<Profile>>, StoreError> {
        self.inner.profiles.profiles(ids).await
    }

    /// Is `id` an enabled mediator, by this instance's copy (read once, forgotten when the
    /// account changes): a socket's positions are dropped once it is not.
    ///
    /// # Errors
    /// The store's error when the account had to be read.
    pub async fn is_enabled_mediator(&self, id: &AccountId) -> Result<bool, StoreError> {
        match self.inner.profiles.is_enabled_held(id) {
            Some(enabled) => Ok(enabled),
            None => self.inner.profiles.is_enabled(id).await,
        }
    }
}
