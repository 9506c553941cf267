//! Residents (H5 form and tracking link): no account; a report returns a tracking token that
//! reads that one report.

use super::client_ip::ClientIp;
use super::error::{ApiBytes, ApiError, ApiPath, ErrorBody, check_len, parse_json};
use super::state::AppState;
use crate::auth::sha256_hex;
use crate::config::Settings;
use crate::dispatch::TrackingView;
use crate::dispatch::tracking::TrackingStreams;
use crate::domain::account::Phone;
use crate::domain::category::{Category, Risk};
use crate::domain::ids::SceneId;
use crate::domain::incident::Status;
use crate::domain::location::{CoordSystem, GeoPoint};
use crate::services::{Incidents, NewReport, RateScope, Reports};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A coordinate as clients send it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lng: f64,
    /// `wgs84` or `gcj02`. Phones and WeChat send GCJ-02, so that is the default here.
    #[serde(default)]
    pub coord: Option<CoordSystem>,
}

impl LocationInput {
    /// Validate and convert to WGS-84, with `default` when `coord` is absent.
    ///
    /// # Errors
    /// 422 naming `field`.
    pub fn to_point(self, field: &str, default: CoordSystem) -> Result<GeoPoint, ApiError> {
        GeoPoint::from_system(self.lat, self.lng, self.coord.unwrap_or(default))
            .map_err(|e| ApiError::invalid(field, e))
    }
}

/// A resident's report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReportRequest {
    /// The QR scene scanned (its place is used when `location` is absent).
    pub scene: Option<String>,
    /// Where it is happening (GCJ-02 unless `coord` says otherwise).
    pub location: Option<LocationInput>,
    /// What kind of dispute.
    pub category: Category,
    /// What is happening, in the resident's words (1..=2000 characters).
    pub description: String,
    /// A mainland mobile number to call back on.
    pub phone: Option<String>,
    /// Risk colour, if the resident chose one.
    pub risk: Option<Risk>,
    /// Where, in the resident's words (an address or landmark, ≤ 200 characters): shown to
    /// the mediator. Alone (no scene, no location) it files the report at the district's
    /// centre, marked `approximate`, straight to the command center.
    #[serde(default)]
    pub address: Option<String>,
}

/// Longest address typed on the form, in characters.
pub const ADDRESS_MAX_CHARS: usize = 200;

/// What a filed report returns.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportResponse {
    /// Incident id.
    pub id: String,
    /// Secret that reads this report (keep it: it is the only way back).
    pub tracking_token: String,
    /// The tracking page.
    pub tracking_url: String,
    /// State now.
    pub status: Status,
}

/// Resident routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_report))
        .routes(routes!(get_tracking))
        .routes(routes!(cancel_report))
        .routes(routes!(tracking_events))
        .routes(routes!(give_feedback))
        .routes(routes!(text_tracking_link))
}

fn private(mut response: Response) -> Response {
    // Capability URLs: never cached, never leaked through Referer.
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// File a report (the H5 form). One of `scene`, `location` or `address` is required (an
/// address alone goes straight to the command center). Send an
/// `Idempotency-Key` header to make retries safe: a repeat from the same client IP with the
/// same key and body returns the first report (and does not count toward the per-IP limit);
/// the same key with another body is a 422. Keys are scoped to the client's IP. Only a report
/// that files something counts toward `report_limits.per_ip` (4xx answers spend nothing).
#[utoipa::path(post, path = "/api/v1/reports", tag = "resident",
    request_body = CreateReportRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "client-chosen key, ≤ 128 chars")),
    responses(
        (status = 201, body = ReportResponse, description = "filed (or replayed)"),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
async fn create_report(
    State(reports): State<Reports>,
    State(settings): State<Arc<Settings>>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    // Everything is checked before the sender's allowance is counted (a refused request
    // spends nothing, see `services::Reports::file`).
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send JSON"));
    }
    let request: CreateReportRequest = parse_json(&body)?;
    let limits = &settings.limits;
    let description = request.description.trim().to_owned();
    if description.is_empty() {
        return Err(ApiError::invalid("description", "must not be empty"));
    }
    check_len("description", &description, limits.description_max_chars)?;
    let scene = match request.scene.as_deref() {
        Some(s) => Some(SceneId::parse(s).map_err(|_| ApiError::invalid("scene", "unknown scene"))?),
        None => None,
    };
    let location = request.location.map(|l| l.to_point("location", CoordSystem::Gcj02)).transpose()?;
    let phone = match request.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(Phone::parse(p).map_err(|e| ApiError::invalid("phone", e))?),
        None => None,
    };
    let idempotency = match headers.get("idempotency-key") {
        Some(v) => {
            let key = v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 128);
            let key = key.ok_or_else(|| ApiError::invalid("Idempotency-Key", "1..=128 visible ASCII characters"))?;
            Some((format!("report:{key}"), sha256_hex(&String::from_utf8_lossy(&body))))
        }
        None => None,
    };
    let address = request.address.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if let Some(a) = &address {
        check_len("address", a, ADDRESS_MAX_CHARS)?;
    }
    let new =
        NewReport { scene, location, category: request.category, description, phone, risk: request.risk, address };
    let receipt = match reports.file(RateScope::Ip(client_ip), new, idempotency).await? {
        Ok(receipt) => receipt,
        Err(limited) => return Err(ApiError::rate_limited(limited.message(), limited.retry_after_s)),
    };
    let base = settings.http.public_base_url.trim_end_matches('/');
    let body = ReportResponse {
        id: receipt.incident.id.to_string(),
        tracking_url: format!("{base}/t/{}", receipt.tracking_token),
        tracking_token: receipt.tracking_token,
        status: receipt.incident.status,
    };
    let mut response = private((StatusCode::CREATED, Json(body)).into_response());
    if receipt.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// What the resident sees: status, timeline, and once claimed the mediator's name, phone,
/// live position, distance and ETA (the position is hidden again once resolved).
#[utoipa::path(get, path = "/api/v1/track/{tracking_token}", tag = "resident",
    params(("tracking_token" = String, Path, description = "from the report response")),
    responses((status = 200, body = TrackingView), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn get_tracking(
    State(incidents): State<Incidents>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    let view = incidents.tracking(&token).await?;
    Ok(private(Json(view).into_response()))
}

/// The resident withdraws the report (only before a mediator has taken it).
#[utoipa::path(post, path = "/api/v1/track/{tracking_token}/cancel", tag = "resident",
    params(("tracking_token" = String, Path, description = "from the report response")),
    responses((status = 200, body = TrackingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_report(
    State(incidents): State<Incidents>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    let incident = incidents.tracked(&token).await?;
    incidents.cancel(&incident.id).await?;
    let view = incidents.tracking(&token).await?;
    Ok(private(Json(view).into_response()))
}

/// The tracking view as Server-Sent Events: an `update` event with the same JSON as
/// `GET /api/v1/track/{tracking_token}` at once, then after every change (state, or the
/// mediator moving). EventSource reconnects by itself.
///
/// At most `push.tracking_streams_per_token` streams per tracking token and
/// `push.tracking_streams_per_ip` per client address are open on one instance (429 beyond);
/// all the streams of one report share one read of it per change.
#[utoipa::path(get, path = "/api/v1/track/{tracking_token}/events", tag = "resident",
    params(("tracking_token" = String, Path, description = "from the report response")),
    responses((status = 200, content_type = "text/event-stream", description = "`update` events carrying a TrackingView"),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody, description = "too many streams open")))]
async fn tracking_events(
    State(tracking): State<TrackingStreams>,
    ClientIp(client_ip): ClientIp,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    use crate::dispatch::tracking::OpenError;
    let stream = tracking.open(&token, client_ip).await.map_err(|e| match e {
        OpenError::Dispatch(e) => ApiError::from(e),
        full @ (OpenError::PerToken(_) | OpenError::PerIp(_)) => ApiError::rate_limited(full.to_string(), 5),
    })?;
    // The first event is the view held now; then one per change.
    let events = futures_util::stream::unfold((stream, true), |(mut stream, first)| async move {
        if !first {
            stream.view.changed().await.ok()?;
        }
        let view = stream.view.borrow_and_update().clone();
        let event = axum::response::sse::Event::default().event("update").json_data(&*view).ok()?;
        Some((Ok::<_, std::convert::Infallible>(event), (stream, false)))
    });
    let sse = axum::response::sse::Sse::new(events).keep_alive(axum::response::sse::KeepAlive::default());
    Ok(private(sse.into_response()))
}

/// The follow-up visit (回访).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// 1 (very unhappy) ..= 5 (very happy).
    pub rating: u8,
    /// Optional words (≤ 1000 characters).
    #[serde(default)]
    pub comment: Option<String>,
    /// False: "not resolved", which reopens the incident to the command center.
    #[serde(default = "yes")]
    pub resolved: bool,
}

fn yes() -> bool {
    true
}

/// After resolution, the resident rates it (1–5) and may say it is not resolved, which
/// reopens it to the command center. Once per report.
#[utoipa::path(post, path = "/api/v1/track/{tracking_token}/feedback", tag = "resident",
    params(("tracking_token" = String, Path, description = "from the report response")), request_body = FeedbackRequest,
    responses((status = 200, body = TrackingView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not resolved yet, or already answered"), (status = 422, body = ErrorBody)))]
async fn give_feedback(
    State(incidents): State<Incidents>,
    State(settings): State<Arc<Settings>>,
    ApiPath(token): ApiPath<String>,
    super::error::ApiJson(body): super::error::ApiJson<FeedbackRequest>,
) -> Result<Response, ApiError> {
    if !(1..=5).contains(&body.rating) {
        return Err(ApiError::invalid("rating", "1..=5"));
    }
    let comment = body.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(c) = &comment {
        check_len("comment", c, settings.limits.note_max_chars)?;
    }
    let incident = incidents.tracked(&token).await?;
    incidents.feedback(&incident.id, body.rating, comment, body.resolved).await?;
    Ok(private(Json(incidents.tracking(&token).await?).into_response()))
}

/// Where to text the tracking link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextLinkRequest {
    /// A mainland mobile number.
    pub phone: String,
}

/// Text this page's link to a phone (the H5 form's reporters have no chat to find it in).
/// Only where `sms.url` is configured (`sms_available` in the tracking view); at most
/// `sms.per_report` texts per report a day.
#[utoipa::path(post, path = "/api/v1/track/{tracking_token}/sms", tag = "resident",
    params(("tracking_token" = String, Path, description = "from the report response")), request_body = TextLinkRequest,
    responses((status = 204, description = "handed to the SMS gateway"),
        (status = 404, body = ErrorBody, description = "unknown token, or `sms_unavailable`: texts are not configured"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "`sms_failed`: the gateway did not take it")))]
async fn text_tracking_link(
    State(reports): State<Reports>,
    ApiPath(token): ApiPath<String>,
    super::error::ApiJson(body): super::error::ApiJson<TextLinkRequest>,
) -> Result<Response, ApiError> {
    let phone = Phone::parse(body.phone.trim()).map_err(|e| ApiError::invalid("phone", e))?;
    match reports.text_tracking_link(&token, &phone).await? {
        Ok(()) => Ok(private(StatusCode::NO_CONTENT.into_response())),
        Err(limited) => Err(ApiError::rate_limited(limited.message(), limited.retry_after_s)),
    }
}
