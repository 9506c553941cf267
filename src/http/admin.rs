//! Administration: staff accounts (mediators, operators), QR scenes, and login.

use super::auth::AdminAuth;
use super::client_ip::ClientIp;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody, check_len};
use super::resident::LocationInput;
use super::state::AppState;
use crate::auth;
use crate::dispatch::logins::LoginRefused;
use crate::domain::account::{Account, Phone, Role};
use crate::domain::category::Category;
use crate::domain::ids::{AccountId, SceneId};
use crate::domain::location::CoordSystem;
use crate::domain::scene::Scene;
use crate::push::wire::LatLng;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 8;
/// Largest area upload (a district outline with thousands of vertices).
const AREA_BODY_LIMIT_BYTES: usize = 4 * 1024 * 1024;
/// Largest capacity an admin may set.
const MAX_CAPACITY: u32 = 50;

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// Display name.
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
}

/// A change to a staff account (absent fields stay as they are; the phone cannot change).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccountRequest {
    /// Display name.
    pub name: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// Specialties.
    pub specialties: Option<Vec<Category>>,
    /// Capacity.
    pub capacity: Option<u32>,
    /// Area (as on creation; empty string clears it).
    pub area: Option<String>,
    /// Disabled accounts cannot log in and their tokens stop working at once.
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
            created_at: a.created_at,
        }
    }
}

/// A new QR scene.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSceneRequest {
    /// Where it hangs, in words residents recognise.
    pub name: String,
    /// The place (WGS-84 unless `coord` says `gcj02`).
    pub location: LocationInput,
    /// Grid code, if known.
    #[serde(default)]
    pub grid: Option<String>,
}

/// A QR scene.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SceneView {
    /// Id: the `scene` of reports and of `/r/{scene}`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Place (WGS-84).
    pub location: LatLng,
    /// Grid code.
    pub grid: Option<String>,
    /// The H5 report form for this scene (what its QR code encodes).
    pub report_url: String,
}

/// Login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Mobile number.
    pub phone: String,
    /// Password.
    pub password: String,
}

/// A session token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer JWT.
    pub access_token: String,
    /// When it expires.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The account's role.
    pub role: Role,
    /// The account id.
    pub account_id: String,
}

/// Admin and login routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_mediator, list_mediators))
        .routes(routes!(update_mediator))
        .routes(routes!(create_operator, list_operators))
        .routes(routes!(update_operator))
        .routes(routes!(create_scene, list_scenes))
        .routes(routes!(get_scene))
        .routes(routes!(login))
        .merge(
            // Outlines are big: a district's polygon can have thousands of vertices.
            OpenApiRouter::new()
                .routes(routes!(put_area, list_areas))
                .layer(axum::extract::DefaultBodyLimit::max(AREA_BODY_LIMIT_BYTES)),
        )
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=auth::MAX_PASSWORD_CHARS).contains(&n) {
        let max = auth::MAX_PASSWORD_CHARS;
        return Err(ApiError::invalid("password", format!("{MIN_PASSWORD_CHARS}..={max} characters")));
    }
    Ok(())
}

/// Every display name (mediators, operators, scenes, areas) follows the one rule in `domain::name`.
fn check_name(state: &AppState, field: &str, name: &str) -> Result<String, ApiError> {
    crate::domain::name::display_name(name, state.settings.limits.name_max_chars)
        .map_err(|e| ApiError::invalid(field, e))
}

/// An operator's area decides what they see: it must be a known area, or `*` for every
/// district. A mediator's home area, once areas are loaded, must be a grid or a community (free
/// text before that).
fn check_area(state: &AppState, role: Role, code: &str) -> Result<(), ApiError> {
    use crate::domain::area::{AreaLevel, EVERY_DISTRICT};
    let map = state.dispatcher.areas();
    match (role, map.get(code)) {
        (Role::Operator, None) if code == EVERY_DISTRICT => Ok(()),
        (Role::Operator, None) => Err(ApiError::invalid("area", "unknown area code (upload areas first)")),
        (Role::Mediator, None) if !map.all().is_empty() => Err(ApiError::invalid("area", "unknown area code")),
        (Role::Mediator, Some(a)) if !matches!(a.level, AreaLevel::Grid | AreaLevel::Community) => {
            Err(ApiError::invalid("area", "a mediator's home area is a grid or a community"))
        }
        _ => Ok(()),
    }
}

fn check_capacity(capacity: u32) -> Result<u32, ApiError> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        Ok(capacity)
    } else {
        Err(ApiError::invalid("capacity", format!("1..={MAX_CAPACITY}")))
    }
}

async fn hash(state: &AppState, password: String) -> Result<String, ApiError> {
    state
        .dispatcher
        .hash_password(password)
        .await?
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not hash the password"))
}

async fn create_account(
    state: &AppState,
    role: Role,
    body: CreateAccountRequest,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let name = check_name(state, "name", &body.name)?;
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::invalid("phone", e))?;
    check_password(&body.password)?;
    if let Some(area) = &body.area {
        check_len("area", area, state.settings.limits.name_max_chars)?;
        check_area(state, role, area)?;
    }
    let account = Account {
        id: AccountId::generate(),
        role,
        name,
        phone,
        password_hash: hash(state, body.password).await?,
        enabled: true,
        specialties: if role == Role::Mediator { dedup(body.specialties) } else { vec![] },
        capacity: check_capacity(body.capacity.unwrap_or(3))?,
        area: body.area,
        created_at: state.dispatcher.now(),
        version: 1,
        wechat_openid: None,
    };
    if !state.dispatcher.store().insert_account(&account).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "phone_taken", "an account with this phone already exists"));
    }
    tracing::info!(account_id = %account.id, role = role.as_str(), "account created");
    Ok((StatusCode::CREATED, Json(AccountView::from(&account))))
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

async fn update_account(
    state: &AppState,
    role: Role,
    id: &str,
    body: UpdateAccountRequest,
) -> Result<Json<AccountView>, ApiError> {
    let id = AccountId::parse(id).map_err(|_| ApiError::not_found())?;
    let password_hash = match body.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(state, p).await?)
        }
        None => None,
    };
    let name = body.name.as_deref().map(|n| check_name(state, "name", n)).transpose()?;
    let capacity = body.capacity.map(check_capacity).transpose()?;
    for _ in 0..8 {
        let current = state
            .dispatcher
            .store()
            .get_account(&id)
            .await?
            .filter(|a| a.role == role)
            .ok_or_else(ApiError::not_found)?;
        let mut next = current.clone();
        if let Some(n) = &name {
            n.clone_into(&mut next.name);
        }
        if let Some(h) = &password_hash {
            h.clone_into(&mut next.password_hash);
        }
        if let Some(s) = &body.specialties {
            next.specialties = dedup(s.clone());
        }
        if let Some(c) = capacity {
            next.capacity = c;
        }
        if let Some(a) = &body.area {
            if !a.is_empty() {
                check_area(state, role, a)?;
            }
            next.area = Some(a.clone()).filter(|a| !a.is_empty());
        }
        if let Some(e) = body.enabled {
            next.enabled = e;
        }
        if let Some(o) = &body.wechat_openid {
            next.wechat_openid = super::wechat_webhook::check_openid(o)?;
        }
        next.version = current.version + 1;
        if state.dispatcher.store().update_account(&next, current.version).await? {
            state.dispatcher.account_changed(&next).await;
            if !next.enabled {
                // This instance at once (the bus tells the others, and this one again).
                state.hub.revoke(&id, crate::push::Revoked::AccountDisabled);
            }
            tracing::info!(account_id = %id, enabled = next.enabled, "account updated");
            return Ok(Json(AccountView::from(&next)));
        }
    }
    Err(ApiError::unavailable("contended", "the account is changing fast; retry", 1))
}

async fn list_accounts(state: &AppState, role: Role) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(state.dispatcher.store().list_accounts(role).await?.iter().map(AccountView::from).collect()))
}

/// Create a mediator.
#[utoipa::path(post, path = "/api/v1/admin/mediators", tag = "admin", security(("admin" = [])),
    request_body = CreateAccountRequest,
    responses((status = 201, body = AccountView), (status = 409, body = ErrorBody, description = "phone_taken"), (status = 422, body = ErrorBody)))]
async fn create_mediator(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(body): ApiJson<CreateAccountRequest>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    create_account(&state, Role::Mediator, body).await
}

/// List mediators.
#[utoipa::path(get, path = "/api/v1/admin/mediators", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<AccountView>)))]
async fn list_mediators(State(state): State<AppState>, _admin: AdminAuth) -> Result<Json<Vec<AccountView>>, ApiError> {
    list_accounts(&state, Role::Mediator).await
}

/// Change a mediator (disable with `{"enabled": false}`).
#[utoipa::path(patch, path = "/api/v1/admin/mediators/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "account id")), request_body = UpdateAccountRequest,
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_mediator(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAccountRequest>,
) -> Result<Json<AccountView>, ApiError> {
    update_account(&state, Role::Mediator, &id, body).await
}

/// Create a command-center operator.
#[utoipa::path(post, path = "/api/v1/admin/operators", tag = "admin", security(("admin" = [])),
    request_body = CreateAccountRequest,
    responses((status = 201, body = AccountView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_operator(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(body): ApiJson<CreateAccountRequest>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    create_account(&state, Role::Operator, body).await
}

/// List operators.
#[utoipa::path(get, path = "/api/v1/admin/operators", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<AccountView>)))]
async fn list_operators(State(state): State<AppState>, _admin: AdminAuth) -> Result<Json<Vec<AccountView>>, ApiError> {
    list_accounts(&state, Role::Operator).await
}

/// Change an operator.
#[utoipa::path(patch, path = "/api/v1/admin/operators/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "account id")), request_body = UpdateAccountRequest,
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_operator(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAccountRequest>,
) -> Result<Json<AccountView>, ApiError> {
    update_account(&state, Role::Operator, &id, body).await
}

fn scene_view(state: &AppState, s: &Scene) -> SceneView {
    let base = state.settings.http.public_base_url.trim_end_matches('/');
    SceneView {
        id: s.id.to_string(),
        name: s.name.clone(),
        location: s.location.into(),
        grid: s.grid.clone(),
        report_url: format!("{base}/r/{}", s.id),
    }
}

/// Create a QR scene (a place residents scan to report from).
#[utoipa::path(post, path = "/api/v1/admin/scenes", tag = "admin", security(("admin" = [])),
    request_body = CreateSceneRequest,
    responses((status = 201, body = SceneView), (status = 422, body = ErrorBody)))]
async fn create_scene(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(body): ApiJson<CreateSceneRequest>,
) -> Result<(StatusCode, Json<SceneView>), ApiError> {
    let name = check_name(&state, "name", &body.name)?;
    if let Some(g) = &body.grid {
        check_len("grid", g, state.settings.limits.name_max_chars)?;
    }
    let location = body.location.to_point("location", CoordSystem::Wgs84)?;
    let scene = Scene {
        id: SceneId::generate(),
        name,
        location,
        // Located in the hierarchy when the admin names no grid.
        grid: body.grid.or_else(|| state.dispatcher.locate(location).grid),
        created_at: state.dispatcher.now(),
    };
    state.dispatcher.store().insert_scene(&scene).await?;
    Ok((StatusCode::CREATED, Json(scene_view(&state, &scene))))
}

/// List QR scenes.
#[utoipa::path(get, path = "/api/v1/admin/scenes", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<SceneView>)))]
async fn list_scenes(State(state): State<AppState>, _admin: AdminAuth) -> Result<Json<Vec<SceneView>>, ApiError> {
    let scenes = state.dispatcher.store().list_scenes().await?;
    Ok(Json(scenes.iter().map(|s| scene_view(&state, s)).collect()))
}

/// One QR scene.
#[utoipa::path(get, path = "/api/v1/admin/scenes/{id}", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "scene id")),
    responses((status = 200, body = SceneView), (status = 404, body = ErrorBody)))]
async fn get_scene(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SceneView>, ApiError> {
    let id = SceneId::parse(&id).map_err(|_| ApiError::not_found())?;
    let scene = state.dispatcher.store().get_scene(&id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(scene_view(&state, &scene)))
}

/// Log in as a mediator or operator. Attempts are limited per phone and client address, per
/// address and (more slowly) per phone, counted in the store for every instance: 429 with
/// `Retry-After` over a limit (see `dispatch::logins`). A wrong password and an unknown phone
/// get the same 401.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(from): ClientIp,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let denied = || ApiError::unauthorized("wrong phone or password");
    let account = match state.dispatcher.login(&body.phone, body.password, from).await? {
        Ok(account) => account,
        Err(LoginRefused::Denied) => return Err(denied()),
        Err(LoginRefused::Throttled(limited)) => {
            return Err(ApiError::rate_limited("too many failed logins; try again later", limited.retry_after_s));
        }
    };
    let now = state.dispatcher.now();
    let (access_token, expires_at) = state
        .keys
        .issue(&account.id.to_string(), account.role, state.settings.auth.token_ttl, now)
        .map_err(|_| denied())?;
    Ok(Json(LoginResponse { access_token, expires_at, role: account.role, account_id: account.id.to_string() }))
}

/// A new or replaced area of the jurisdiction hierarchy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaRequest {
    /// Stable code (1–32 letters, digits, `-`, `_`), e.g. a statistical division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// district, street, community or grid.
    pub level: crate::domain::area::AreaLevel,
    /// The containing area's code (required below the district).
    #[serde(default)]
    pub parent: Option<String>,
    /// The datum of `geometry` (default wgs84; gcj02 for outlines drawn on AMap/Tencent maps).
    #[serde(default)]
    pub coord: Option<CoordSystem>,
    /// GeoJSON Polygon or MultiPolygon (or a Feature holding one), `[lng, lat]`.
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
}

/// An area (outline omitted; see `GET /api/v1/command/areas`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AreaView {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: crate::domain::area::AreaLevel,
    /// Parent code.
    pub parent: Option<String>,
}

impl From<&crate::domain::area::Area> for AreaView {
    fn from(a: &crate::domain::area::Area) -> Self {
        Self { code: a.code.clone(), name: a.name.clone(), level: a.level, parent: a.parent.clone() }
    }
}

/// Create or replace an area (by code). Upload top-down: the district, then its streets, then
/// communities, then grids. Its H3 coverage is computed once, so placing a point is a lookup.
#[utoipa::path(post, path = "/api/v1/admin/areas", tag = "admin", security(("admin" = [])),
    request_body = AreaRequest,
    responses((status = 201, body = AreaView), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_area(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(body): ApiJson<AreaRequest>,
) -> Result<(StatusCode, Json<AreaView>), ApiError> {
    let name = check_name(&state, "name", &body.name)?;
    let new = crate::dispatch::NewArea {
        code: body.code,
        name,
        level: body.level,
        parent: body.parent,
        geometry: body.geometry,
        coord: body.coord.unwrap_or(CoordSystem::Wgs84),
    };
    let area = state.dispatcher.put_area(new).await?;
    Ok((StatusCode::CREATED, Json(AreaView::from(&area))))
}

/// The hierarchy, top level first.
#[utoipa::path(get, path = "/api/v1/admin/areas", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<AreaView>)))]
async fn list_areas(State(state): State<AppState>, _admin: AdminAuth) -> Json<Vec<AreaView>> {
    Json(state.dispatcher.areas().all().into_iter().map(AreaView::from).collect())
}
