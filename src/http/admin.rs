//! Administration: QR scenes, areas and login; staff accounts are in `admin_accounts`.

use super::auth::AdminAuth;
use super::client_ip::ClientIp;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody, check_len};
use super::resident::LocationInput;
use super::state::AppState;
use crate::accounts::LoginRefused;
use crate::domain::account::Role;
use crate::domain::audit::AuditAction;
use crate::domain::location::CoordSystem;
use crate::domain::scene::Scene;
use crate::push::wire::LatLng;
use crate::services::Areas;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest area upload (a district outline with thousands of vertices).
const AREA_BODY_LIMIT_BYTES: usize = 4 * 1024 * 1024;

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
        .merge(super::admin_accounts::router())
        .routes(routes!(create_scene, list_scenes))
        .routes(routes!(get_scene))
        .routes(routes!(login))
        .merge(
            // Outlines are big: a district's polygon can have thousands of vertices.
            OpenApiRouter::new()
                .routes(routes!(put_area, list_areas))
                .routes(routes!(update_area))
                .layer(axum::extract::DefaultBodyLimit::max(AREA_BODY_LIMIT_BYTES)),
        )
}

/// Every display name (mediators, operators, scenes, areas) follows the one rule in `domain::name`.
fn check_name(state: &AppState, field: &str, name: &str) -> Result<String, ApiError> {
    crate::domain::name::display_name(name, state.settings.limits.name_max_chars)
        .map_err(|e| ApiError::invalid(field, e))
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
    admin: AdminAuth,
    ApiJson(body): ApiJson<CreateSceneRequest>,
) -> Result<(StatusCode, Json<SceneView>), ApiError> {
    let name = check_name(&state, "name", &body.name)?;
    if let Some(g) = &body.grid {
        check_len("grid", g, state.settings.limits.name_max_chars)?;
    }
    let location = body.location.to_point("location", CoordSystem::Wgs84)?;
    // Located in the hierarchy when the admin names no grid.
    let scene = state.scenes.create(name, location, body.grid).await?;
    let id = scene.id.to_string();
    state.accounts.record(&admin.actor(), AuditAction::SceneCreated, "scene", &id, &scene.name).await?;
    Ok((StatusCode::CREATED, Json(scene_view(&state, &scene))))
}

/// List QR scenes.
#[utoipa::path(get, path = "/api/v1/admin/scenes", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<SceneView>)))]
async fn list_scenes(State(state): State<AppState>, _admin: AdminAuth) -> Result<Json<Vec<SceneView>>, ApiError> {
    let scenes = state.scenes.list().await?;
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
    let id = crate::domain::ids::SceneId::parse(&id).map_err(|_| ApiError::not_found())?;
    let scene = state.scenes.get(&id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(scene_view(&state, &scene)))
}

/// Log in as a mediator, operator or admin. Attempts are limited per phone and client address, per
/// address and (more slowly) per phone, counted in the store for every instance: 429 with
/// `Retry-After` over a limit (see `accounts::login`). A wrong password and an unknown phone
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
    let account = match state.accounts.login(&body.phone, body.password, from).await? {
        Ok(account) => account,
        Err(LoginRefused::Denied) => return Err(denied()),
        Err(LoginRefused::Throttled(limited)) => {
            return Err(ApiError::rate_limited("too many failed logins; try again later", limited.retry_after_s));
        }
    };
    let now = state.clock.now();
    let (access_token, expires_at) =
        state.keys.issue_for(&account, state.settings.auth.token_ttl, now).map_err(|_| denied())?;
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
    admin: AdminAuth,
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
    let area = state.areas.put(new).await?;
    state.accounts.record(&admin.actor(), AuditAction::AreaSaved, "area", &area.code, &area.name).await?;
    Ok((StatusCode::CREATED, Json(AreaView::from(&area))))
}

/// A change to an area: its name, or its parent (to fix an upload under the wrong one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAreaRequest {
    /// Name.
    pub name: Option<String>,
    /// The containing area's code (one level up; its outline must contain this one).
    pub parent: Option<String>,
}

/// Rename an area or move it under another parent.
#[utoipa::path(patch, path = "/api/v1/admin/areas/{code}", tag = "admin", security(("admin" = [])),
    params(("code" = String, Path, description = "area code")), request_body = UpdateAreaRequest,
    responses((status = 200, body = AreaView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_area(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAreaRequest>,
) -> Result<Json<AreaView>, ApiError> {
    let name = body.name.as_deref().map(|n| check_name(&state, "name", n)).transpose()?;
    let area = state.areas.change(&code, name, body.parent).await?;
    state.accounts.record(&admin.actor(), AuditAction::AreaSaved, "area", &area.code, &area.name).await?;
    Ok(Json(AreaView::from(&area)))
}

/// The hierarchy, top level first.
#[utoipa::path(get, path = "/api/v1/admin/areas", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<AreaView>)))]
async fn list_areas(State(areas): State<Areas>, _admin: AdminAuth) -> Json<Vec<AreaView>> {
    Json(areas.map().all().into_iter().map(AreaView::from).collect())
}
