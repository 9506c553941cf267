//! Who did what in administration: an append-only record of admins' changes to accounts,
//! scenes and areas, newest first, kept up to [`AUDIT_KEEP`] entries.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How many audit entries the store keeps (the oldest are dropped beyond it).
pub const AUDIT_KEEP: usize = 100_000;

/// What an admin did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Created an account.
    AccountCreated,
    /// Imported accounts from a file (one entry per import).
    AccountsImported,
    /// Changed an account's name, specialties, capacity or area.
    AccountUpdated,
    /// Changed the phone an account logs in with.
    PhoneChanged,
    /// Disabled an account (its tokens stop working).
    AccountDisabled,
    /// Enabled an account again.
    AccountEnabled,
    /// Set a new password.
    PasswordReset,
    /// Bound (or re-bound) a WeChat openid.
    OpenidBound,
    /// Removed the WeChat openid.
    OpenidUnbound,
    /// Revoked every token of the account.
    TokensRevoked,
    /// Created a QR scene.
    SceneCreated,
    /// Created or replaced an area.
    AreaSaved,
    /// Saved the departments' routing table (派单目录).
    RoutingSaved,
}

/// One audited change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who: the admin's account id, or the operations name of a CLI token.
    pub actor_id: String,
    /// The admin's name when the actor is an account.
    #[serde(default)]
    pub actor_name: Option<String>,
    /// What.
    pub action: AuditAction,
    /// What it was done to: `mediator`, `operator`, `admin`, `scene` or `area`.
    pub target_kind: String,
    /// Its id or code.
    pub target_id: String,
    /// Its name at the time.
    pub target_name: String,
    /// More, in words (e.g. how many were imported).
    #[serde(default)]
    pub detail: Option<String>,
}
