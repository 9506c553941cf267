//! Administration of staff accounts (mediators, operators, admins): create, list with search
//! and paging, change, revoke tokens, import from and export to CSV, and the audit record.
//! Every handler takes the accounts service; errors are mapped here.

use super::auth::AdminAuth;
use super::error::{ApiBytes, ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use super::state::AppState;
use crate::accounts::{AccountChange, AccountError, Accounts, ImportReport, ListQuery, NewAccount};
use crate::auth::NO_PASSWORD_HASH;
use crate::domain::account::{Account, Role};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::category::Category;
use crate::push::Hub;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest CSV import (2,000 rows of a staff list fit in well under it).
const IMPORT_BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// Display name (no control characters or angle brackets).
    pub name: String,
    /// Mainland mobile; the login name; unique.
    pub phone: String,
    /// 8..=128 characters.
    pub password: String,
    /// Mediators: dispute kinds they are good at.
    #[serde(default)]
    pub specialties: Vec<Category>,
    /// Mediators: incidents held at once (default 3).
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Home grid / community (mediators, the area whose operators may send them) or area
    /// (operators: what they see and act on; `*` for every district). With several districts
    /// an operator without an area sees nothing.
    #[serde(default)]
    pub area: Option<String>,
    /// Mediators: the WeChat openid offers are notified to.
    #[serde(default)]
    pub wechat_openid: Option<String>,
}

/// A change to a staff account (absent fields stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccountRequest {
    /// Display name.
    pub name: Option<String>,
    /// The phone the account logs in with (unique).
    pub phone: Option<String>,
    /// New password (the account's tokens stop working).
    pub password: Option<String>,
    /// Specialties.
    pub specialties: Option<Vec<Category>>,
    /// Capacity.
    pub capacity: Option<u32>,
    /// Area (as on creation; empty string clears it).
    pub area: Option<String>,
    /// Disabled accounts cannot log in and their tokens stop working at once (for good:
    /// enabling again does not revive them).
    pub enabled: Option<bool>,
    /// Mediators: the WeChat openid offers are notified to (empty string unbinds).
    pub wechat_openid: Option<String>,
}

/// A staff account as admins see it (no password hash).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// Id (the JWT `sub`).
    pub id: String,
    /// Role.
    pub role: Role,
    /// Name.
    pub name: String,
    /// Phone (admins see it in full).
    pub phone: String,
    /// Enabled.
    pub enabled: bool,
    /// Specialties.
    pub specialties: Vec<Category>,
    /// Capacity.
    pub capacity: u32,
    /// Area.
    pub area: Option<String>,
    /// The bound WeChat openid.
    #[serde(default)]
    pub wechat_openid: Option<String>,
    /// Whether a password is set (imported accounts have none until an admin sets one).
    #[serde(default)]
    pub password_set: bool,
    /// Created at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.to_string(),
            role: a.role,
            name: a.name.clone(),
            phone: a.phone.full().to_owned(),
            enabled: a.enabled,
            specialties: a.specialties.clone(),
            capacity: a.capacity,
            area: a.area.clone(),
            wechat_openid: a.wechat_openid.clone(),
            password_set: a.password_hash != NO_PASSWORD_HASH,
            created_at: a.created_at,
        }
    }
}

/// Search and paging of a staff list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words of the name, digits of the phone, or an area code.
    pub q: Option<String>,
    /// Only accounts of exactly this area.
    pub area: Option<String>,
    /// Only enabled (true) or disabled (false) accounts.
    pub enabled: Option<bool>,
    /// Skip this many (default 0).
    pub offset: Option<usize>,
    /// At most this many, 1..=500 (default: all).
    pub limit: Option<usize>,
}

/// How an import goes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// true: any bad row means nothing is written (default false: the good rows are written,
    /// together, and the bad ones reported).
    pub strict: Option<bool>,
}

/// A page of the audit record.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Skip this many (default 0).
    pub offset: Option<usize>,
    /// At most this many, 1..=500 (default 50).
    pub limit: Option<usize>,
}

/// One audited change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who: an admin account id or a CLI token's name.
    pub actor_id: String,
    /// The admin's name.
    pub actor_name: Option<String>,
    /// What.
    pub action: AuditAction,
    /// `mediator`, `operator`, `admin`, `scene` or `area`.
    pub target_kind: String,
    /// Its id or code.
    pub target_id: String,
    /// Its name then.
    pub target_name: String,
    /// More.
    pub detail: Option<String>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            at: e.at,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            target_name: e.target_name,
            detail: e.detail,
        }
    }
}

/// A page of the audit record, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Entries.
    pub items: Vec<AuditView>,
    /// How many are kept in all.
    pub total: u64,
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NotFound => Self::not_found(),
            AccountError::Invalid { field, reason } => Self::invalid(&field, reason),
            AccountError::PhoneTaken => {
                Self::new(StatusCode::CONFLICT, "phone_taken", "an account with this phone already exists")
            }
            AccountError::Contended => Self::unavailable("contended", "the account is changing fast; retry", 1),
            AccountError::ImportRefused(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "import_refused", "nothing was imported")
            }
            AccountError::Hashing => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not hash the password")
            }
            AccountError::Store(s) => s.into(),
        }
    }
}

/// Staff account routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_mediator, list_mediators))
        .routes(routes!(update_mediator))
        .routes(routes!(create_operator, list_operators))
        .routes(routes!(update_operator))
        .routes(routes!(create_admin, list_admins))
        .routes(routes!(update_admin))
        .routes(routes!(revoke_tokens))
        .routes(routes!(export_accounts))
        .routes(routes!(list_audit))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(import_accounts))
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_LIMIT_BYTES)),
        )
}

fn role_of(kind: &str) -> Result<Role, ApiError> {
    match kind {
        "mediators" => Ok(Role::Mediator),
        "operators" => Ok(Role::Operator),
        "admins" => Ok(Role::Admin),
        _ => Err(ApiError::not_found()),
    }
}

async fn create(
    accounts: &Accounts,
    admin: &AdminAuth,
    role: Role,
    body: CreateAccountRequest,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let new = NewAccount {
        name: body.name,
        phone: body.phone,
        password: Some(body.password),
        specialties: body.specialties,
        capacity: body.capacity,
        area: body.area,
        wechat_openid: body.wechat_openid,
    };
    let account = accounts.create(&admin.actor(), role, new).await?;
    Ok((StatusCode::CREATED, Json(AccountView::from(&account))))
}

/// Change an account of `role` (the department accounts' route uses it too).
pub(super) async fn update(
    accounts: &Accounts,
    hub: &Hub,
    admin: &AdminAuth,
    role: Role,
    id: &str,
    body: UpdateAccountRequest,
) -> Result<Json<AccountView>, ApiError> {
    let change = AccountChange {
        name: body.name,
        phone: body.phone,
        password: body.password,
        specialties: body.specialties,
        capacity: body.capacity,
        area: body.area,
        enabled: body.enabled,
        wechat_openid: body.wechat_openid,
    };
    let account = accounts.update(&admin.actor(), role, id, change).await?;
    if !account.enabled {
        // This instance at once (the bus tells the others, and this one again).
        hub.revoke(&account.id, crate::push::Revoked::AccountDisabled);
    }
    Ok(Json(AccountView::from(&account)))
}

/// A page of a staff list; the number of matches in `X-Total-Count`.
async fn list(accounts: &Accounts, role: Role, p: ListParams) -> Result<Response, ApiError> {
    let query = ListQuery { q: p.q, area: p.area, enabled: p.enabled, offset: p.offset.unwrap_or(0), limit: p.limit };
    let page = accounts.list(role, &query).await?;
    let items: Vec<AccountView> = page.items.iter().map(AccountView::from).collect();
    let mut response = Json(items).into_response();
    response.headers_mut().insert("x-total-count", HeaderValue::from(page.total));
    Ok(response)
}

/// The create, list and change handlers of one role's staff list at `$at` and `$one`: each
/// role keeps its own routes and OpenAPI operations (and their docs), over one body for all
/// of them (`create`, `list`, `update`).
macro_rules! staff_list_handlers {
    (
        $role:expr, at $at:literal, one at $one:literal;
        $(#[doc = $create_doc:literal])* $create:ident,
        $(#[doc = $list_doc:literal])* $list:ident,
        $(#[doc = $update_doc:literal])* $update:ident $(,)?
    ) => {
        $(#[doc = $create_doc])*
        #[utoipa::path(post, path = $at, tag = "admin", security(("admin" = [])),
            request_body = CreateAccountRequest,
            responses((status = 201, body = AccountView), (status = 409, body = ErrorBody, description = "phone_taken"), (status = 422, body = ErrorBody)))]
        async fn $create(
            State(accounts): State<Accounts>,
            admin: AdminAuth,
            ApiJson(body): ApiJson<CreateAccountRequest>,
        ) -> Result<(StatusCode, Json<AccountView>), ApiError> {
            create(&accounts, &admin, $role, body).await
        }

        $(#[doc = $list_doc])*
        #[utoipa::path(get, path = $at, tag = "admin", security(("admin" = [])), params(ListParams),
            responses((status = 200, body = Vec<AccountView>), (status = 422, body = ErrorBody)))]
        async fn $list(
            State(accounts): State<Accounts>,
            _admin: AdminAuth,
            ApiQuery(p): ApiQuery<ListParams>,
        ) -> Result<Response, ApiError> {
            list(&accounts, $role, p).await
        }

        $(#[doc = $update_doc])*
        #[utoipa::path(patch, path = $one, tag = "admin", security(("admin" = [])),
            params(("id" = String, Path, description = "account id")), request_body = UpdateAccountRequest,
            responses((status = 200, body = AccountView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
        async fn $update(
            State(accounts): State<Accounts>,
            State(hub): State<Hub>,
            admin: AdminAuth,
            ApiPath(id): ApiPath<String>,
            ApiJson(body): ApiJson<UpdateAccountRequest>,
        ) -> Result<Json<AccountView>, ApiError> {
            update(&accounts, &hub, &admin, $role, &id, body).await
        }
    };
}

staff_list_handlers!(Role::Mediator, at "/api/v1/admin/mediators", one at "/api/v1/admin/mediators/{id}";
    /// Create a mediator.
    create_mediator,
    /// List mediators, oldest first (`X-Total-Count`: how many match).
    list_mediators,
    /// Change a mediator (disable with `{"enabled": false}`).
    update_mediator,
);

staff_list_handlers!(Role::Operator, at "/api/v1/admin/operators", one at "/api/v1/admin/operators/{id}";
    /// Create a command-center operator.
    create_operator,
    /// List operators, oldest first (`X-Total-Count`: how many match).
    list_operators,
    /// Change an operator.
    update_operator,
);

staff_list_handlers!(Role::Admin, at "/api/v1/admin/admins", one at "/api/v1/admin/admins/{id}";
    /// Create an admin account (logs in with `POST /api/v1/auth/login` like operators).
    create_admin,
    /// List admin accounts, oldest first (`X-Total-Count`: how many match).
    list_admins,
    /// Change an admin account (disabling it revokes its tokens).
    update_admin,
);

/// Revoke every token of an account (any role): its next request is refused with 401 and its
/// open sockets close with 4401 on every instance; logging in again gives a working token.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/revoke", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)))]
async fn revoke_tokens(
    State(accounts): State<Accounts>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(AccountView::from(&accounts.revoke_tokens(&admin.actor(), &id).await?)))
}

/// Import staff from a CSV file (the body; UTF-8 with or without BOM, or GBK as Excel saves
/// it). Columns, by header: 姓名/name, 手机/phone, 专长/specialties, 容量/capacity,
/// 区域/area, 微信openid/wechat_openid, 密码/password (optional; without one the account
/// cannot log in until an admin sets it). Every row is checked before anything is written;
/// the good rows are written together, atomically. 422 `import_refused` (with the same report)
/// when nothing could be imported, or with `strict=true` when any row is bad.
#[utoipa::path(post, path = "/api/v1/admin/import/{kind}", tag = "admin", security(("admin" = [])),
    params(("kind" = String, Path, description = "mediators, operators or admins"), ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "invalid_field (the file) or import_refused (plus `imported` and `rejected`)")))]
async fn import_accounts(
    State(accounts): State<Accounts>,
    admin: AdminAuth,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(p): ApiQuery<ImportParams>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let role = role_of(&kind)?;
    match accounts.import(&admin.actor(), role, &body, p.strict.unwrap_or(false)).await {
        Ok(report) => Ok(Json(report).into_response()),
        Err(AccountError::ImportRefused(report)) => {
            let error = serde_json::json!({ "code": "import_refused", "message": "nothing was imported" });
            let body = serde_json::json!({ "error": error, "imported": 0, "rejected": report.rejected });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Every account of a kind as CSV for Excel (UTF-8 with BOM, CRLF; the import's columns).
#[utoipa::path(get, path = "/api/v1/admin/export/{kind}", tag = "admin", security(("admin" = [])),
    params(("kind" = String, Path, description = "mediators, operators or admins")),
    responses((status = 200, content_type = "text/csv", description = "one row per account"), (status = 404, body = ErrorBody)))]
async fn export_accounts(
    State(accounts): State<Accounts>,
    _admin: AdminAuth,
    ApiPath(kind): ApiPath<String>,
) -> Result<Response, ApiError> {
    let csv = accounts.export(role_of(&kind)?).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"grid-dispatch-{kind}.csv\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, csv).into_response())
}

/// Who did what: the audit record of admins' changes, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", security(("admin" = [])), params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 422, body = ErrorBody)))]
async fn list_audit(
    State(accounts): State<Accounts>,
    _admin: AdminAuth,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let (items, total) = accounts.audit_log(p.offset.unwrap_or(0), p.limit.unwrap_or(50)).await?;
    Ok(Json(AuditPage { items: items.into_iter().map(AuditView::from).collect(), total }))
}
