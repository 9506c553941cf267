//! Per-role extractors. A handler that takes [`MediatorAuth`] only runs for a valid token of an
//! enabled mediator account; [`OperatorAuth`] for an operator (or admin); [`AdminAuth`] for an
//! admin. Tokens come from `Authorization: Bearer`, or `?access_token=` on WebSocket and
//! event-stream routes (browsers cannot set headers there).

use super::error::ApiError;
use super::state::AppState;
use crate::auth::{JwtKeys, Principal};
use crate::domain::account::{Account, Role};
use crate::domain::area::{EVERY_DISTRICT, Scope};
use crate::domain::ids::AccountId;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned());
    }
    let streaming = parts.uri.path().ends_with("/ws")
        || parts.uri.path().ends_with("/live")
        || parts.uri.path().ends_with("/events");
    if streaming {
        return parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("access_token=").map(str::to_owned)));
    }
    None
}

async fn principal(parts: &Parts, state: &AppState) -> Result<(Principal, Option<Account>), ApiError> {
    let token = bearer(parts).ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?;
    let keys: &JwtKeys = &state.keys;
    let principal = keys.verify(&token).map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
    // Staff tokens name an account: it must still exist, be enabled, have that role and the
    // token generation the token was issued under, so disabling an account or revoking its
    // tokens cuts them off at once. Admin tokens minted by the CLI for operations name no
    // account and are trusted by signature alone (they are for bootstrapping: keep them short).
    let account_id = AccountId::parse(&principal.sub).ok();
    let account = match &account_id {
        Some(id) => state.accounts.get(id).await?,
        None => None,
    };
    match (principal.role, &account) {
        (_, Some(a)) if a.enabled && a.role == principal.role && a.token_generation == principal.generation => {
            Ok((principal, account))
        }
        (Role::Admin, None) if account_id.is_none() => Ok((principal, None)),
        _ => Err(ApiError::unauthorized("the account behind this token is unknown or disabled")),
    }
}

/// A verified, enabled mediator.
#[derive(Debug, Clone)]
pub struct MediatorAuth(pub AccountId);

impl FromRequestParts<AppState> for MediatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            (Principal { role: Role::Mediator, .. }, Some(account)) => Ok(Self(account.id)),
            _ => Err(ApiError::forbidden("mediators only")),
        }
    }
}

/// A verified, enabled mediator opening a socket: the socket closes when the token runs out.
#[derive(Debug, Clone)]
pub struct MediatorSession {
    /// The mediator.
    pub id: AccountId,
    /// When the token stops being accepted (`exp` plus the leeway).
    pub valid_until: jiff::Timestamp,
}

impl FromRequestParts<AppState> for MediatorSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            (Principal { role: Role::Mediator, valid_until, .. }, Some(account)) => {
                Ok(Self { id: account.id, valid_until })
            }
            _ => Err(ApiError::forbidden("mediators only")),
        }
    }
}

/// A verified operator (or admin) for the command center, with what they may see.
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    /// The operator's account (None for an operations admin token).
    pub account: Option<AccountId>,
    /// The `sub`, for the audit timeline.
    pub sub: String,
    /// The area the account names (admins: [`EVERY_DISTRICT`]; None: no area).
    pub area: Option<String>,
    /// What they see and act on, from `area` and the current map.
    pub scope: Scope,
    /// When the token stops being accepted (`exp` plus the leeway): the live feed closes then.
    pub valid_until: jiff::Timestamp,
}

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            (p, account) if matches!(p.role, Role::Operator | Role::Admin) => {
                let area = match &account {
                    Some(a) if a.role == Role::Operator => a.area.clone(),
                    _ => Some(EVERY_DISTRICT.to_owned()),
                };
                let scope = state.areas.scope_for(area.as_deref()).ok_or_else(|| {
                    let why = "this operator has no area while several districts exist; an admin must set one";
                    ApiError::new(axum::http::StatusCode::FORBIDDEN, "no_area", why)
                })?;
                Ok(Self { account: account.map(|a| a.id), sub: p.sub, area, scope, valid_until: p.valid_until })
            }
            _ => Err(ApiError::forbidden("command-center operators only")),
        }
    }
}

/// A verified admin: an enabled admin account, or an operations token from the CLI.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    /// The `sub`: the account id, or the operations name of a CLI token.
    pub sub: String,
    /// The admin's name, when the token belongs to an account.
    pub name: Option<String>,
}

impl AdminAuth {
    /// Who acts, for the audit record.
    #[must_use]
    pub fn actor(&self) -> crate::accounts::AuditActor {
        crate::accounts::AuditActor { id: self.sub.clone(), name: self.name.clone() }
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            (Principal { role: Role::Admin, sub, .. }, account) => Ok(Self { sub, name: account.map(|a| a.name) }),
            _ => Err(ApiError::forbidden("admins only")),
        }
    }
}

/// A verified, enabled department account (issue #21), with its department: it sees only
/// the call-ins of that department.
#[derive(Debug, Clone)]
pub struct DepartmentAuth {
    /// The account.
    pub account: AccountId,
    /// Its department.
    pub department: crate::domain::ids::DepartmentId,
    /// When the token stops being accepted (`exp` plus the leeway): its socket closes then.
    pub valid_until: jiff::Timestamp,
}

impl FromRequestParts<AppState> for DepartmentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            (Principal { role: Role::Department, valid_until, .. }, Some(account)) => {
                // A department account's `area` names its department (set when it is created).
                let department = account
                    .area
                    .as_deref()
                    .and_then(|a| crate::domain::ids::DepartmentId::parse(a).ok())
                    .ok_or_else(|| ApiError::forbidden("this account belongs to no department"))?;
                Ok(Self { account: account.id, department, valid_until })
            }
            _ => Err(ApiError::forbidden("department accounts only")),
        }
    }
}
