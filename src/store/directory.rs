//! The [`Directory`] port.

use super::{AccountWrite, StoreError};
use crate::domain::account::{Account, Phone, Role};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, SceneId};
use crate::domain::scene::Scene;
use async_trait::async_trait;

/// The directory: staff accounts (with the audit record of their changes), scenes and areas.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Create an account. Returns false (and writes nothing) when the phone is taken.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn insert_account(&self, account: &Account) -> Result<bool, StoreError>;

    /// Replace an account if its stored version is `expected_version` (phone must not change).
    /// Returns false on a version conflict or when the account does not exist.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn update_account(&self, account: &Account, expected_version: u64) -> Result<bool, StoreError>;

    /// One account.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;

    /// Many accounts, in the order asked (None for unknown ids).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<Account>>, StoreError>;

    /// The account that logs in with `phone`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn account_by_phone(&self, phone: &Phone) -> Result<Option<Account>, StoreError>;

    /// Every account with `role`, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_accounts(&self, role: Role) -> Result<Vec<Account>, StoreError>;

    /// Create all of `accounts` and append `audit`, or nothing: when any account's phone (or
    /// id) is taken, or two of them share one, nothing is written and the indices of the
    /// clashing accounts are returned (empty: everything was written).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure (then nothing was written).
    async fn insert_accounts(&self, accounts: &[Account], audit: &[AuditEntry]) -> Result<Vec<usize>, StoreError>;

    /// Replace an account if its stored version is `expected_version`, moving its phone entry
    /// when the phone changed, and append `audit`: all of it or nothing.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn change_account(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<AccountWrite, StoreError>;

    /// Append to the audit record (the oldest entries beyond [`crate::domain::audit::AUDIT_KEEP`] are dropped).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Audit entries newest first, skipping `offset`, at most `limit`; and how many are kept.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), StoreError>;

    /// Create a scene.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn insert_scene(&self, scene: &Scene) -> Result<(), StoreError>;

    /// One scene.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_scene(&self, id: &SceneId) -> Result<Option<Scene>, StoreError>;

    /// Every scene, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_scenes(&self) -> Result<Vec<Scene>, StoreError>;

    /// Create or replace an area (by code).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_area(&self, area: &crate::domain::area::Area) -> Result<(), StoreError>;

    /// Every area, by code.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_areas(&self) -> Result<Vec<crate::domain::area::Area>, StoreError>;
}
