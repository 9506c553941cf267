//! Staff accounts (issue #17): logging in (`login.rs`: throttled, one answer for every
//! refusal), the account behind a token, and as admins manage them: create, change (with its
//! optimistic retry loop and password hashing), disable, revoke tokens, search and page, import
//! from and export to CSV, and the audit record of who did what.
//!
//! A cheap-clone handle over the dispatch service (for the store, the clock, the area map and
//! the bus announcement that every instance forgets a changed mediator's ranking profile).
//! This instance's copies of those profiles are kept here too ([`Profiles`], `profiles.rs`),
//! which the engine reads when it ranks mediators.
//! Knows nothing of HTTP: handlers map [`AccountError`] at the edge. Every account change is
//! written together with its audit entries in one atomic store write.

mod audit;
mod import;
mod login;
mod profiles;

pub use audit::AuditActor;
pub use import::{ImportReport, RowError};
pub use login::LoginRefused;
pub use profiles::Profiles;

use crate::auth::{self, MAX_PASSWORD_CHARS};
use crate::dispatch::Dispatcher;
use crate::domain::account::{self, Account, Phone, Role};
use crate::domain::area::AreaLevel;
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use crate::store::{AccountWrite, Directory, Leases, Ports, StoreError};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Largest capacity an admin may set.
pub const MAX_CAPACITY: u32 = 50;
/// Largest page of a list.
pub const MAX_PAGE: usize = 500;
/// How many times a change is retried when another admin changed the account first.
const MAX_CHANGE_RETRIES: usize = 8;

/// Why an account use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such account (of that role).
    #[error("not found")]
    NotFound,
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Another account logs in with this phone.
    #[error("an account with this phone already exists")]
    PhoneTaken,
    /// The account kept changing under us.
    #[error("the account is changing fast; retry")]
    Contended,
    /// An import was refused as a whole (strict mode, or nothing in it was usable).
    #[error("{} rows cannot be imported", .0.rejected.len())]
    ImportRefused(ImportReport),
    /// Password hashing failed (it does not with sane parameters).
    #[error("could not hash the password")]
    Hashing,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AccountError {
    fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid { field: field.to_owned(), reason: reason.to_string() }
    }
}

/// A new account.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    /// Display name.
    pub name: String,
    /// Mainland mobile (any accepted spelling).
    pub phone: String,
    /// Initial password; None: nobody can log in until an admin sets one.
    pub password: Option<String>,
    /// Mediators' specialties.
    pub specialties: Vec<Category>,
    /// Incidents held at once (default 3).
    pub capacity: Option<u32>,
    /// Home area (mediators) or area (operators).
    pub area: Option<String>,
    /// WeChat openid for notifications.
    pub wechat_openid: Option<String>,
}

/// A change to an account: absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    /// Display name.
    pub name: Option<String>,
    /// The phone it logs in with.
    pub phone: Option<String>,
    /// New password (revokes the account's tokens).
    pub password: Option<String>,
    /// Specialties.
    pub specialties: Option<Vec<Category>>,
    /// Capacity.
    pub capacity: Option<u32>,
    /// Area (empty: none).
    pub area: Option<String>,
    /// Enabled (disabling revokes the account's tokens).
    pub enabled: Option<bool>,
    /// WeChat openid (empty: unbind).
    pub wechat_openid: Option<String>,
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Words in the name, digits of the phone, or the area code.
    pub q: Option<String>,
    /// Exactly this area.
    pub area: Option<String>,
    /// Only enabled (true) or disabled (false) accounts.
    pub enabled: Option<bool>,
    /// Skip this many.
    pub offset: usize,
    /// At most this many (None: all).
    pub limit: Option<usize>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page {
    /// The accounts on this page, oldest first.
    pub items: Vec<Account>,
    /// How many match in all.
    pub total: usize,
}

/// The accounts service. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    dispatcher: Dispatcher,
    /// Accounts and their audit record.
    directory: std::sync::Arc<dyn Directory>,
    /// Login windows.
    leases: std::sync::Arc<dyn Leases>,
    /// Password checks and hashes allowed at once on this instance (each holds 19 MiB).
    hash_permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Accounts {
    /// The service over the directory and leases of `ports`, and the dispatch layer's clock
    /// and area map.
    #[must_use]
    pub fn new(dispatcher: Dispatcher, ports: &Ports) -> Self {
        let hash_permits = login::hash_permits(dispatcher.settings().auth.password_hash_concurrency);
        Self { dispatcher, directory: ports.directory.clone(), leases: ports.leases.clone(), hash_permits }
    }

    /// The account a staff token names, as stored now (the edge checks it is enabled, has the
    /// token's role and generation).
    ///
    /// # Errors
    /// `Store`.
    pub async fn get(&self, id: &AccountId) -> Result<Option<Account>, AccountError> {
        Ok(self.directory.get_account(id).await?)
    }

    fn name_max_chars(&self) -> usize {
        self.dispatcher.settings().limits.name_max_chars
    }

    /// Create an account.
    ///
    /// # Errors
    /// `Invalid`, `PhoneTaken`, `Hashing`, `Store`.
    pub async fn create(&self, by: &AuditActor, role: Role, new: NewAccount) -> Result<Account, AccountError> {
        let mut account = self.validate_new(role, &new)?;
        if let Some(p) = new.password {
            account.password_hash = self.hash_password(p).await?;
        }
        let note = by.entry(AuditAction::AccountCreated, &account, self.dispatcher.now(), None);
        if !self.directory.insert_accounts(std::slice::from_ref(&account), &[note]).await?.is_empty() {
            return Err(AccountError::PhoneTaken);
        }
        tracing::info!(account_id = %account.id, role = role.as_str(), "account created");
        Ok(account)
    }

    /// Check a new account without hashing its password (that is the caller's next step):
    /// the account as it would be stored, with no usable password yet.
    fn validate_new(&self, role: Role, new: &NewAccount) -> Result<Account, AccountError> {
        let name = self.check_name(&new.name)?;
        let phone = Phone::parse(&new.phone).map_err(|e| AccountError::invalid("phone", e))?;
        if let Some(p) = &new.password {
            check_password(p)?;
        }
        let area = match new.area.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => Some(self.check_area(role, a)?),
            None => None,
        };
        let wechat_openid = match &new.wechat_openid {
            Some(o) => account::check_openid(o).map_err(|e| AccountError::invalid("wechat_openid", e))?,
            None => None,
        };
        Ok(Account {
            id: AccountId::generate(),
            role,
            name,
            phone,
            password_hash: auth::NO_PASSWORD_HASH.to_owned(),
            enabled: true,
            specialties: if role == Role::Mediator { dedup(new.specialties.clone()) } else { vec![] },
            capacity: check_capacity(new.capacity.unwrap_or(3))?,
            area,
            created_at: self.dispatcher.now(),
            version: 1,
            wechat_openid,
            token_generation: 0,
        })
    }

    /// Change an account of `role`; every instance forgets what it held of it.
    ///
    /// # Errors
    /// `NotFound`, `Invalid`, `PhoneTaken`, `Contended`, `Hashing`, `Store`.
    pub async fn update(
        &self,
        by: &AuditActor,
        role: Role,
        id: &str,
        change: AccountChange,
    ) -> Result<Account, AccountError> {
        let id = AccountId::parse(id).map_err(|_| AccountError::NotFound)?;
        let name = change.name.as_deref().map(|n| self.check_name(n)).transpose()?;
        let phone =
            change.phone.as_deref().map(Phone::parse).transpose().map_err(|e| AccountError::invalid("phone", e))?;
        let capacity = change.capacity.map(check_capacity).transpose()?;
        let area = match change.area.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(a) => Some(Some(self.check_area(role, a)?)),
            None => None,
        };
        let openid = change
            .wechat_openid
            .as_deref()
            .map(account::check_openid)
            .transpose()
            .map_err(|e| AccountError::invalid("wechat_openid", e))?;
        let password_hash = match change.password {
            Some(p) => {
                check_password(&p)?;
                Some(self.hash_password(p).await?)
            }
            None => None,
        };
        self.change_with(by, Some(role), &id, |next| {
            if let Some(n) = &name {
                n.clone_into(&mut next.name);
            }
            if let Some(p) = &phone {
                next.phone = p.clone();
            }
            if let Some(h) = &password_hash {
                h.clone_into(&mut next.password_hash);
            }
            if let Some(s) = &change.specialties
                && role == Role::Mediator
            {
                next.specialties = dedup(s.clone());
            }
            if let Some(c) = capacity {
                next.capacity = c;
            }
            if let Some(a) = &area {
                next.area.clone_from(a);
            }
            if let Some(e) = change.enabled {
                next.enabled = e;
            }
            if let Some(o) = &openid {
                next.wechat_openid.clone_from(o);
            }
        })
        .await
    }

    /// Revoke every token the account holds (its next request is refused; logging in again
    /// works).
    ///
    /// # Errors
    /// `NotFound`, `Contended`, `Store`.
    pub async fn revoke_tokens(&self, by: &AuditActor, id: &str) -> Result<Account, AccountError> {
        let id = AccountId::parse(id).map_err(|_| AccountError::NotFound)?;
        self.change_with(by, None, &id, |next| next.token_generation += 1).await
    }

    /// Read the account (of `role`, when given), apply `edit`, audit what changed and write at
    /// the version read; again when another writer was first.
    async fn change_with(
        &self,
        by: &AuditActor,
        role: Option<Role>,
        id: &AccountId,
        edit: impl Fn(&mut Account),
    ) -> Result<Account, AccountError> {
        let store = &self.directory;
        for _ in 0..MAX_CHANGE_RETRIES {
            let current = store
                .get_account(id)
                .await?
                .filter(|a| role.is_none_or(|r| a.role == r))
                .ok_or(AccountError::NotFound)?;
            let mut next = current.clone();
            edit(&mut next);
            let actions = audit::changes(&current, &next);
            if actions.contains(&AuditAction::AccountDisabled) || actions.contains(&AuditAction::PasswordReset) {
                // Whoever held this account's tokens must log in again.
                next.token_generation = current.token_generation + 1;
            }
            if next == current {
                return Ok(current);
            }
            next.version = current.version + 1;
            let now = self.dispatcher.now();
            let notes: Vec<AuditEntry> = actions.into_iter().map(|a| by.entry(a, &next, now, None)).collect();
            match store.change_account(&next, current.version, &notes).await? {
                AccountWrite::Written => {
                    self.dispatcher.account_changed(&next).await;
                    if next.enabled && next.token_generation != current.token_generation {
                        self.dispatcher.account_signed_out(&next.id).await;
                    }
                    tracing::info!(account_id = %id, enabled = next.enabled, "account updated");
                    return Ok(next);
                }
                AccountWrite::PhoneTaken => return Err(AccountError::PhoneTaken),
                AccountWrite::Conflict => {}
            }
        }
        Err(AccountError::Contended)
    }

    /// A page of accounts of `role` matching `query`, oldest first.
    ///
    /// # Errors
    /// `Invalid` for a page larger than [`MAX_PAGE`]; `Store`.
    pub async fn list(&self, role: Role, query: &ListQuery) -> Result<Page, AccountError> {
        if query.limit.is_some_and(|l| l == 0 || l > MAX_PAGE) {
            return Err(AccountError::invalid("limit", format!("1..={MAX_PAGE}")));
        }
        let words = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
        let all = self.directory.list_accounts(role).await?;
        let matching: Vec<Account> = all
            .into_iter()
            .filter(|a| query.enabled.is_none_or(|e| a.enabled == e))
            .filter(|a| query.area.as_deref().is_none_or(|code| a.area.as_deref() == Some(code)))
            .filter(|a| words.as_deref().is_none_or(|w| matches(a, w)))
            .collect();
        let total = matching.len();
        let items = matching.into_iter().skip(query.offset).take(query.limit.unwrap_or(usize::MAX)).collect();
        Ok(Page { items, total })
    }

    fn check_name(&self, raw: &str) -> Result<String, AccountError> {
        crate::domain::name::display_name(raw, self.name_max_chars()).map_err(|e| AccountError::invalid("name", e))
    }

    /// An operator's area decides what they see: it must be a known area, or
    /// [`crate::domain::area::EVERY_DISTRICT`] for every district. A mediator's home area, once
    /// areas are loaded, must be a grid or a community (free text before that).
    fn check_area(&self, role: Role, code: &str) -> Result<String, AccountError> {
        if code.chars().count() > self.name_max_chars() {
            return Err(AccountError::invalid("area", format!("at most {} characters", self.name_max_chars())));
        }
        let map = self.dispatcher.areas();
        match (role, map.get(code)) {
            (Role::Operator, None) if code == crate::domain::area::EVERY_DISTRICT => Ok(code.to_owned()),
            (Role::Operator, None) => Err(AccountError::invalid("area", "unknown area code (upload areas first)")),
            (Role::Mediator, None) if !map.all().is_empty() => Err(AccountError::invalid("area", "unknown area code")),
            (Role::Mediator, Some(a)) if !matches!(a.level, AreaLevel::Grid | AreaLevel::Community) => {
                Err(AccountError::invalid("area", "a mediator's home area is a grid or a community"))
            }
            _ => Ok(code.to_owned()),
        }
    }
}

/// Whether an account matches lower-cased search words: in its name, its phone, its area or
/// its id.
fn matches(a: &Account, words: &str) -> bool {
    a.name.to_lowercase().contains(words)
        || a.phone.full().contains(words)
        || a.area.as_deref().is_some_and(|c| c.to_lowercase().contains(words))
        || a.id.to_string().starts_with(words)
}

fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(AccountError::invalid("password", format!("{MIN_PASSWORD_CHARS}..={MAX_PASSWORD_CHARS} characters")))
    }
}

fn check_capacity(capacity: u32) -> Result<u32, AccountError> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        Ok(capacity)
    } else {
        Err(AccountError::invalid("capacity", format!("1..={MAX_CAPACITY}")))
    }
}

fn dedup(mut categories: Vec<Category>) -> Vec<Category> {
    let mut seen = vec![];
    categories.retain(|c| {
        if seen.contains(c) {
            false
        } else {
            seen.push(*c);
            true
        }
    });
    categories
}
