//! The audit record: who did what, derived from the account before and after a change (so a
//! change names exactly what it changed), and appended for scenes and areas.

use super::{AccountError, Accounts};
use crate::domain::account::Account;
use crate::domain::audit::{AuditAction, AuditEntry};
use jiff::Timestamp;

/// The admin acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    /// Their account id, or the operations name of a CLI token.
    pub id: String,
    /// Their name, when they are an account.
    pub name: Option<String>,
}

impl AuditActor {
    /// An entry saying this actor did `action` to `account`.
    pub(super) fn entry(
        &self,
        action: AuditAction,
        account: &Account,
        at: Timestamp,
        detail: Option<String>,
    ) -> AuditEntry {
        self.entry_about(action, account.role.as_str(), &account.id.to_string(), &account.name, at, detail)
    }

    /// An entry saying this actor did `action` to the `kind` thing `id` called `name`.
    #[must_use]
    pub fn entry_about(
        &self,
        action: AuditAction,
        kind: &str,
        id: &str,
        name: &str,
        at: Timestamp,
        detail: Option<String>,
    ) -> AuditEntry {
        AuditEntry {
            at,
            actor_id: self.id.clone(),
            actor_name: self.name.clone(),
            action,
            target_kind: kind.to_owned(),
            target_id: id.to_owned(),
            target_name: name.to_owned(),
            detail,
        }
    }
}

/// What a change did, for the record (empty when nothing changed).
pub(super) fn changes(before: &Account, after: &Account) -> Vec<AuditAction> {
    let mut out = vec![];
    if before.name != after.name
        || before.specialties != after.specialties
        || before.capacity != after.capacity
        || before.area != after.area
    {
        out.push(AuditAction::AccountUpdated);
    }
    if before.phone != after.phone {
        out.push(AuditAction::PhoneChanged);
    }
    if before.password_hash != after.password_hash {
        out.push(AuditAction::PasswordReset);
    }
    match (&before.wechat_openid, &after.wechat_openid) {
        (a, b) if a == b => {}
        (_, Some(_)) => out.push(AuditAction::OpenidBound),
        (Some(_), None) => out.push(AuditAction::OpenidUnbound),
        _ => {}
    }
    match (before.enabled, after.enabled) {
        (true, false) => out.push(AuditAction::AccountDisabled),
        (false, true) => out.push(AuditAction::AccountEnabled),
        _ => {}
    }
    if after.token_generation != before.token_generation {
        out.push(AuditAction::TokensRevoked);
    }
    out
}

impl Accounts {
    /// Record that `by` did `action` to a scene or an area (account changes record themselves).
    ///
    /// # Errors
    /// `Store` (the change itself is already made).
    pub async fn record(
        &self,
        by: &AuditActor,
        action: AuditAction,
        kind: &str,
        id: &str,
        name: &str,
    ) -> Result<(), AccountError> {
        let entry = by.entry_about(action, kind, id, name, self.dispatcher.now(), None);
        self.directory.append_audit(&entry).await?;
        Ok(())
    }

    /// The audit record, newest first: a page and how many entries are kept.
    ///
    /// # Errors
    /// `Invalid` for a page larger than [`super::MAX_PAGE`]; `Store`.
    pub async fn audit_log(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), AccountError> {
        if limit == 0 || limit > super::MAX_PAGE {
            return Err(AccountError::invalid("limit", format!("1..={}", super::MAX_PAGE)));
        }
        Ok(self.directory.list_audit(offset, limit).await?)
    }
}
