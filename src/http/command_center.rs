//! The command center: the live feed for the big screen, incident lists and detail, and
//! assigning a mediator to an incident nobody grabbed.

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use super::state::AppState;
use super::ws::{self, Inbound};
use crate::clock::Clock;
use crate::dispatch::{Scope, Suggestion};
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Status;
use crate::domain::timeline::TimelineEntry;
use crate::push::wire::{self, IncidentView, LatLng, MediatorPosition, OperatorMessage, ScreenMediator};
use crate::push::{ScreenCaps, Viewer};
use crate::services::{Areas, Presence, Statistics};
use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most incidents a list returns.
const LIST_LIMIT: usize = 1000;

/// Command-center routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live_feed))
        .routes(routes!(list_mediators))
        .routes(routes!(list_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(assign_incident))
        .routes(routes!(supervise_incident))
        .routes(routes!(set_incident_risk))
        .routes(routes!(reveal_phone))
        .routes(routes!(get_stats))
        .routes(routes!(get_stats_csv))
        .routes(routes!(list_hotspots))
        .routes(routes!(list_areas))
        .routes(routes!(hand_over))
        .routes(routes!(set_incident_category))
        .routes(routes!(transfer))
}

/// The big screen's socket (token in `?access_token=`): a `snapshot` of on-duty mediators and
/// open incidents on connect, then `positions` batches and an `incident` message for every
/// state change (see the schema `OperatorMessage`), all limited to the operator's area: nothing
/// of another area is sent, not even a mediator's id going off duty. Reconnect and you get a
/// fresh snapshot; a screen whose area changes meaning (a second district uploaded) is closed so
/// that it reconnects. 403 for an operator without an area while several districts exist.
///
/// One account holds at most `push.screens_per_account` screens on an instance, and an instance
/// `push.screens_total` (429 beyond). A screen that stops reading for `push.write_timeout` is
/// dropped. Close codes: 1001 server restarting; 1007 text that is not UTF-8; 1008 binary
/// frame; 1009 message over 16 KiB; 1013 too slow (queue full) or scope changed, reconnect;
/// 4401 token expired, sign in again; 4403 account disabled, do not reconnect.
#[utoipa::path(get, path = "/api/v1/command/live", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("access_token" = Option<String>, Query, description = "JWT, for browsers that cannot set headers")),
    responses((status = 101, description = "switching protocols"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many screens open")))]
async fn live_feed(
    State(state): State<AppState>,
    operator: OperatorAuth,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    ws::check_origin(&headers, &state.settings)?;
    let viewer = Viewer { sub: operator.sub.clone(), account: operator.account.clone() };
    let push = &state.settings.push;
    let caps = ScreenCaps { per_account: push.screens_per_account, total: push.screens_total };
    let subscription = state
        .hub
        .register_screen(operator.area.clone(), operator.scope.clone(), viewer, caps)
        .map_err(|full| ApiError::rate_limited(full.to_string(), 5))?;
    let snapshot = snapshot(&state, &operator.scope).await?;
    let session = ws::Session::new(&state.settings, state.shutdown.clone(), vec![snapshot], operator.valid_until);
    Ok(ws::limits(upgrade, ws::Peer::Screen)
        .on_upgrade(move |socket| async move {
            // Operators only listen; anything they send is ignored.
            let _ = ws::pump(socket, subscription, session, |_| async { Inbound::Quiet }).await;
        })
        .into_response())
}

/// Most open incidents a snapshot reads (of every area, oldest first, before the operator's
/// area is applied): about 1 KiB each on the wire, so at most about 5 MiB, under a screen's
/// outbound limit ([`ws::Peer::Screen`]). Newer ones reach the screen through its list of
/// today's incidents and the `incident` messages.
pub const SNAPSHOT_OPEN_LIMIT: usize = 5_000;

/// What the screen draws on connect: the mediators on duty in the operator's area, compact and
/// named once, and the open incidents there (closed ones are not sent: the page lists today's
/// over HTTP).
async fn snapshot(state: &AppState, scope: &Scope) -> Result<String, ApiError> {
    let areas = state.areas.map();
    let on_duty = state.presence.mediators_where(|point| scope.sees_path(&areas.locate(point))).await?;
    let mediators = on_duty
        .iter()
        .filter(|(_, a)| a.as_ref().is_none_or(|a| a.enabled))
        .map(|(p, a)| ScreenMediator::new(p, a.as_ref().map(|a| a.name.clone())))
        .collect();
    let open = state.incidents.open_in(scope, SNAPSHOT_OPEN_LIMIT).await?;
    let incidents = open.iter().map(IncidentView::masked).collect();
    Ok(wire::to_json(&OperatorMessage::Snapshot { mediators, incidents }))
}

/// `?bbox=minLng,minLat,maxLng,maxLat`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MediatorsQuery {
    /// Bounding box, WGS-84: minLng,minLat,maxLng,maxLat.
    pub bbox: Option<String>,
}

/// An on-duty mediator on the map.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediatorOnMap {
    /// Position.
    #[serde(flatten)]
    pub position: MediatorPosition,
    /// Name.
    pub name: Option<String>,
}

fn parse_bbox(raw: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = raw
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::invalid("bbox", "four numbers: minLng,minLat,maxLng,maxLat"))?;
    let [a, b, c, d] = parts[..] else {
        return Err(ApiError::invalid("bbox", "four numbers: minLng,minLat,maxLng,maxLat"));
    };
    let valid = [a, b, c, d].iter().all(|v| v.is_finite())
        && (-180.0..=180.0).contains(&a)
        && (-180.0..=180.0).contains(&c)
        && (-90.0..=90.0).contains(&b)
        && (-90.0..=90.0).contains(&d)
        && a <= c
        && b <= d;
    if valid { Ok([a, b, c, d]) } else { Err(ApiError::invalid("bbox", "out of range or min > max")) }
}

/// On-duty mediators with a fresh position, optionally inside a box.
#[utoipa::path(get, path = "/api/v1/command/mediators", tag = "command", security(("operator" = []), ("admin" = [])),
    params(MediatorsQuery),
    responses((status = 200, body = Vec<MediatorOnMap>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_mediators(
    State(areas): State<Areas>,
    State(presence): State<Presence>,
    operator: OperatorAuth,
    ApiQuery(q): ApiQuery<MediatorsQuery>,
) -> Result<Json<Vec<MediatorOnMap>>, ApiError> {
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let (scope, areas) = (&operator.scope, areas.map());
    let in_box = |p: crate::domain::location::GeoPoint| {
        bbox.is_none_or(|[min_lng, min_lat, max_lng, max_lat]| {
            (min_lng..=max_lng).contains(&p.lng()) && (min_lat..=max_lat).contains(&p.lat())
        })
    };
    let found = presence.mediators_where(|p| in_box(p) && scope.sees_path(&areas.locate(p))).await?;
    Ok(Json(found.into_iter().map(|(position, a)| MediatorOnMap { position, name: a.map(|a| a.name) }).collect()))
}

/// Filters for the incident list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct IncidentsQuery {
    /// Only this status.
    pub status: Option<Status>,
    /// Only this risk colour.
    pub risk: Option<Risk>,
    /// Only this category.
    pub category: Option<Category>,
    /// Created at or after (RFC 3339). Default: 7 days ago.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// Created before (RFC 3339). Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
}

/// Incidents, newest first (at most 1000), red first within the same minute is left to clients.
#[utoipa::path(get, path = "/api/v1/command/incidents", tag = "command", security(("operator" = []), ("admin" = [])),
    params(IncidentsQuery),
    responses((status = 200, body = Vec<IncidentView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_incidents(
    State(clock): State<Arc<dyn Clock>>,
    State(statistics): State<Statistics>,
    operator: OperatorAuth,
    ApiQuery(q): ApiQuery<IncidentsQuery>,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    let now = clock.now();
    let to = q.to.unwrap_or_else(|| now.saturating_add(SignedDuration::from_secs(1)).unwrap_or(now));
    let from = q.from.unwrap_or_else(|| now.checked_sub(SignedDuration::from_hours(24 * 7)).unwrap_or(Timestamp::MIN));
    if from > to {
        return Err(ApiError::invalid("from", "must not be after `to`"));
    }
    let mut incidents = statistics.incidents_between(from, to, LIST_LIMIT).await?;
    incidents.retain(|i| operator.scope.sees(i));
    incidents.sort_by(crate::dispatch::stats::urgent_first);
    Ok(Json(
        incidents
            .iter()
            .filter(|i| q.status.is_none_or(|s| i.status == s))
            .filter(|i| q.risk.is_none_or(|r| i.risk == r))
            .filter(|i| q.category.is_none_or(|c| i.category == c))
            .map(IncidentView::masked)
            .collect(),
    ))
}

/// An incident in full for the command center.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    /// The incident (resident phone masked).
    pub incident: IncidentView,
    /// Its audit timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// While unclaimed: the nearest available mediators, best first.
    pub nearest_mediators: Vec<Suggestion>,
}

/// One incident with its timeline and the nearest available mediators this operator may send.
#[utoipa::path(get, path = "/api/v1/command/incidents/{id}", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = IncidentDetail), (status = 404, body = ErrorBody)))]
async fn get_incident(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = IncidentId::parse(&id).map_err(|_| ApiError::not_found())?;
    ensure_visible(&state, &operator, &id).await?;
    let (incident, timeline, nearest_mediators) = state.incidents.detail(&id, &operator.scope).await?;
    Ok(Json(IncidentDetail { incident: IncidentView::masked(&incident), timeline, nearest_mediators }))
}

/// Whom to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The mediator's id.
    pub mediator_id: String,
}

/// Send a mediator to an unclaimed incident; they get an `assigned` message. Only a mediator
/// of the operator's area: their home area, or where their phone last was when they have none
/// (404 otherwise, as for an unknown mediator).
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/assign", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = AssignRequest,
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_incident(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = IncidentId::parse(&id).map_err(|_| ApiError::not_found())?;
    let mediator =
        AccountId::parse(&body.mediator_id).map_err(|_| ApiError::invalid("mediator_id", "unknown mediator"))?;
    let actor = operator_actor(&operator);
    ensure_visible(&state, &operator, &id).await?;
    let incident = state.incidents.assign(&actor, &operator.scope, &id, &mediator).await?;
    Ok(Json(IncidentView::masked(&incident)))
}

/// 404 unless the incident exists and lies in the operator's area (or below).
async fn ensure_visible(state: &AppState, operator: &OperatorAuth, id: &IncidentId) -> Result<(), ApiError> {
    Ok(state.incidents.ensure_visible(&operator.scope, id).await?)
}

fn operator_actor(operator: &OperatorAuth) -> AccountId {
    operator.account.clone().unwrap_or_else(AccountId::operations)
}

fn parse_incident(id: &str) -> Result<IncidentId, ApiError> {
    IncidentId::parse(id).map_err(|_| ApiError::not_found())
}

/// A supervision order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuperviseRequest {
    /// What the command center asks for (1..=1000 characters).
    pub note: String,
}

/// Put an incident under supervision (督办): the holder is told, the timeline records it.
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/supervise", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = SuperviseRequest,
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn supervise_incident(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SuperviseRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let note = body.note.trim().to_owned();
    if note.is_empty() {
        return Err(ApiError::invalid("note", "must not be empty"));
    }
    super::error::check_len("note", &note, state.settings.limits.note_max_chars)?;
    let id = parse_incident(&id)?;
    ensure_visible(&state, &operator, &id).await?;
    let incident = state.incidents.supervise(&operator_actor(&operator), &id, note).await?;
    Ok(Json(IncidentView::masked(&incident)))
}

/// A new risk colour.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskRequest {
    /// red, yellow or blue.
    pub risk: Risk,
}

/// Change an incident's risk colour; red alerts the command center.
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/risk", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = RiskRequest,
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_incident_risk(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RiskRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = parse_incident(&id)?;
    ensure_visible(&state, &operator, &id).await?;
    let incident = state.incidents.set_risk(&operator_actor(&operator), &id, body.risk).await?;
    Ok(Json(IncidentView::masked(&incident)))
}

/// The resident's full phone number.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealedPhone {
    /// Full number, or null when the resident gave none.
    pub phone: Option<String>,
}

/// Reveal the resident's full phone number to this operator; every reveal is recorded in the
/// incident's timeline (who, when).
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/reveal-phone", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = RevealedPhone), (status = 404, body = ErrorBody)))]
async fn reveal_phone(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, ApiError> {
    let role = if operator.account.is_some() {
        crate::domain::account::Role::Operator
    } else {
        crate::domain::account::Role::Admin
    };
    let actor = crate::dispatch::Actor::account(role, &operator_actor(&operator));
    let id = parse_incident(&id)?;
    ensure_visible(&state, &operator, &id).await?;
    let phone = state.incidents.reveal_phone(&actor, &id).await?;
    let mut response = Json(RevealedPhone { phone }).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A date range in Asia/Shanghai days.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD` (default: the first of this month).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<jiff::civil::Date>,
    /// Last day, inclusive (default: today).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<jiff::civil::Date>,
}

async fn stats_for(state: &AppState, q: &StatsQuery, scope: &Scope) -> Result<crate::dispatch::stats::Stats, ApiError> {
    let today = crate::dispatch::stats::today(state.clock.now());
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or_else(|| to.first_of_month());
    if to.since(from).map_or(true, |span| span.get_days() > 366) {
        return Err(ApiError::invalid("from", "the range must be 0..=366 days, from ≤ to"));
    }
    Ok(state.statistics.figures(from, to, scope).await?)
}

/// Figures for the monthly report: counts by status, category, risk and scene; median and 90th
/// percentile (nearest rank) time from report to claim, arrival and resolution; escalation
/// rate; 化解率 (mediated / resolved); on-time rate; average rating; per-mediator workload.
#[utoipa::path(get, path = "/api/v1/command/stats", tag = "command", security(("operator" = []), ("admin" = [])),
    params(StatsQuery),
    responses((status = 200, body = crate::dispatch::stats::Stats), (status = 422, body = ErrorBody)))]
async fn get_stats(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<crate::dispatch::stats::Stats>, ApiError> {
    Ok(Json(stats_for(&state, &q, &operator.scope).await?))
}

/// The same figures as CSV for Excel (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/v1/command/stats.csv", tag = "command", security(("operator" = []), ("admin" = [])),
    params(StatsQuery),
    responses((status = 200, content_type = "text/csv", description = "section,key,value rows"), (status = 422, body = ErrorBody)))]
async fn get_stats_csv(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<axum::response::Response, ApiError> {
    let stats = stats_for(&state, &q, &operator.scope).await?;
    let filename = format!("attachment; filename=\"grid-dispatch-{}-{}.csv\"", stats.from, stats.to);
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (axum::http::header::CONTENT_DISPOSITION, filename),
    ];
    Ok((headers, crate::dispatch::stats::to_csv(&stats)).into_response())
}

/// An area with repeated reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hotspot {
    /// H3 cell (resolution 8, ~0.74 km²).
    pub cell: String,
    /// Reports there in the last 30 days.
    pub reports: usize,
    /// The cell's centre (WGS-84).
    pub center: LatLng,
    /// The cell's outline (WGS-84), for drawing.
    pub boundary: Vec<LatLng>,
}

/// Areas (H3 resolution 8) with three or more reports in the last 30 days, most first.
#[utoipa::path(get, path = "/api/v1/command/hotspots", tag = "command", security(("operator" = []), ("admin" = [])),
    responses((status = 200, body = Vec<Hotspot>)))]
async fn list_hotspots(
    State(statistics): State<Statistics>,
    operator: OperatorAuth,
) -> Result<Json<Vec<Hotspot>>, ApiError> {
    let areas = statistics.hotspots(&operator.scope).await?;
    Ok(Json(
        areas
            .into_iter()
            .map(|(cell, reports)| {
                let ll = h3o::LatLng::from(cell);
                Hotspot {
                    cell: cell.to_string(),
                    reports,
                    center: LatLng { lat: ll.lat(), lng: ll.lng() },
                    boundary: cell.boundary().iter().map(|p| LatLng { lat: p.lat(), lng: p.lng() }).collect(),
                }
            })
            .collect(),
    ))
}

/// The areas this operator sees (their own and below; all for the district), as a GeoJSON
/// FeatureCollection for drawing outlines and drilling down. Properties: code, name, level,
/// parent.
#[utoipa::path(get, path = "/api/v1/command/areas", tag = "command", security(("operator" = []), ("admin" = [])),
    responses((status = 200, content_type = "application/geo+json", description = "FeatureCollection")))]
async fn list_areas(State(areas): State<Areas>, operator: OperatorAuth) -> axum::response::Response {
    let map = areas.map();
    let areas = match &operator.scope {
        Scope::All => map.all(),
        Scope::Area(code) => map.subtree(code),
    };
    let features: Vec<serde_json::Value> = areas
        .iter()
        .map(|a| {
            serde_json::json!({
                "type": "Feature",
                "properties": { "code": a.code, "name": a.name, "level": a.level, "parent": a.parent },
                "geometry": a.geometry,
            })
        })
        .collect();
    let body = serde_json::json!({ "type": "FeatureCollection", "features": features });
    ([(axum::http::header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response()
}

/// Hand an incident one level up or down the ladder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOverRequest {
    /// `up` (towards the district) or `down`.
    pub direction: Direction,
    /// Why (1..=1000 characters).
    pub note: String,
}

/// Up or down the ladder.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Towards the district.
    Up,
    /// Towards the community.
    Down,
}

fn note(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let note = raw.trim().to_owned();
    if note.is_empty() {
        return Err(ApiError::invalid("note", "must not be empty"));
    }
    super::error::check_len("note", &note, state.settings.limits.note_max_chars)?;
    Ok(note)
}

/// Hand an incident one level up (street → district) or down (district → street → community)
/// the escalation ladder, with a note; recorded in the timeline.
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/handover", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = HandOverRequest,
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hand_over(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HandOverRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let note = note(&state, &body.note)?;
    let id = parse_incident(&id)?;
    ensure_visible(&state, &operator, &id).await?;
    let up = matches!(body.direction, Direction::Up);
    let incident = state.incidents.hand_over(&operator_actor(&operator), &id, up, note).await?;
    Ok(Json(IncidentView::masked(&incident)))
}

/// Move an incident to another area.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The area code it belongs to (e.g. the neighbouring grid or community).
    pub area: String,
    /// Why (1..=1000 characters).
    pub note: String,
}

/// Transfer an incident to another area of the operator's district (a report placed wrongly);
/// its place in the hierarchy becomes that area and its ancestors. Recorded in the timeline.
/// An area of another district is refused like an unknown one (422).
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/transfer", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = TransferRequest,
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TransferRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let note = note(&state, &body.note)?;
    let id = parse_incident(&id)?;
    ensure_visible(&state, &operator, &id).await?;
    let incident = state.incidents.transfer(&operator_actor(&operator), &operator.scope, &id, &body.area, note).await?;
    Ok(Json(IncidentView::masked(&incident)))
}

/// A corrected category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    /// The right category.
    pub category: Category,
}

/// Correct an incident's category (a report filed by WeChat text gets a guessed one).
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/category", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = CategoryRequest,
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_incident_category(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CategoryRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = parse_incident(&id)?;
    ensure_visible(&state, &operator, &id).await?;
    let incident = state.incidents.set_category(&operator_actor(&operator), &id, body.category).await?;
    Ok(Json(IncidentView::masked(&incident)))
}
