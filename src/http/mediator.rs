//! Mediators' phones: the socket (offers in; positions and duty out), the same over plain HTTP
//! for phones that cannot hold a socket, and the accept → arrive → resolve actions.

use super::auth::{MediatorAuth, MediatorSession};
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody, check_len, parse_json};
use super::resident::LocationInput;
use super::state::AppState;
use super::ws::{self, Inbound};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::account::Fix;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Outcome;
use crate::domain::location::CoordSystem;
use crate::push::wire::{self, IncidentView, MediatorMessage};
use crate::services::{Health, Incidents, Presence};
use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A position report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionRequest {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// `gcj02` (default: phone map SDKs and WeChat) or `wgs84` (browser geolocation, GPS).
    #[serde(default)]
    pub coord: Option<CoordSystem>,
    /// Accuracy radius, metres.
    #[serde(default)]
    pub accuracy_m: Option<f32>,
    /// When the phone was there (defaults to now; a time ahead of the server's clock counts as
    /// now). A position older than `dispatch.stale_after` (2 min) is refused: 422
    /// `invalid_field` over HTTP, an `error` message on the socket; nothing is stored.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

impl PositionRequest {
    fn to_fix(&self, now: Timestamp) -> Result<Fix, ApiError> {
        let point = LocationInput { lat: self.lat, lng: self.lng, coord: self.coord }
            .to_point("position", CoordSystem::Gcj02)?;
        let accuracy_m = match self.accuracy_m {
            Some(a) if !a.is_finite() || a < 0.0 => {
                return Err(ApiError::invalid("accuracy_m", "must be a positive number"));
            }
            other => other,
        };
        Ok(Fix { point, at: self.at.unwrap_or(now), accuracy_m })
    }
}

/// Going on or off duty.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyRequest {
    /// On duty: willing to receive offers.
    pub on: bool,
}

/// Closing an incident.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// How it ended.
    pub outcome: Outcome,
    /// What was agreed, or where it was referred.
    #[serde(default)]
    pub note: Option<String>,
}

/// A `position` message as a phone sends it, read in one pass. Nearly every socket message is
/// one, and the tagged [`MediatorClientMessage`] buffers each message into a generic tree before
/// reading it; this accepts exactly what its `position` variant accepts (the same fields, the
/// same types, nothing else), and anything it refuses is read again as a
/// `MediatorClientMessage`, which gives the error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SocketPosition {
    #[serde(rename = "type")]
    _kind: PositionTag,
    lat: f64,
    lng: f64,
    #[serde(default)]
    coord: Option<CoordSystem>,
    #[serde(default)]
    accuracy_m: Option<f32>,
    #[serde(default)]
    at: Option<Timestamp>,
}

/// The one `type` a [`SocketPosition`] has.
#[derive(Deserialize)]
enum PositionTag {
    #[serde(rename = "position")]
    Position,
}

impl From<SocketPosition> for PositionRequest {
    fn from(p: SocketPosition) -> Self {
        Self { lat: p.lat, lng: p.lng, coord: p.coord, accuracy_m: p.accuracy_m, at: p.at }
    }
}

/// Client → server socket messages.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediatorClientMessage {
    /// Where I am.
    Position(PositionRequest),
    /// On or off duty.
    Duty(DutyRequest),
    /// Heartbeat: the server answers `pong` (pages cannot see WebSocket pings, so they send
    /// their own to notice a dead link).
    Ping,
}

/// Mediator routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mediator_socket))
        .routes(routes!(post_position))
        .routes(routes!(post_duty))
        .routes(routes!(list_offers))
        .routes(routes!(list_incidents))
        .routes(routes!(accept_offer))
        .routes(routes!(decline_offer))
        .routes(routes!(report_arrival))
        .routes(routes!(resolve_incident))
}

fn incident_id(raw: &str) -> Result<IncidentId, ApiError> {
    IncidentId::parse(raw).map_err(|_| ApiError::not_found())
}

/// One message from a phone. While Redis's settings could lose writes (`redis.durability`),
/// positions and duty changes are refused (`error`, `store_unsafe`), as over HTTP.
async fn handle_client_text(
    presence: &Presence,
    health: &Health,
    clock: &dyn Clock,
    me: &AccountId,
    text: &str,
) -> Result<Option<MediatorMessage>, ApiError> {
    let message = match serde_json::from_str::<SocketPosition>(text) {
        Ok(position) => MediatorClientMessage::Position(position.into()),
        Err(_) => parse_json::<MediatorClientMessage>(text.as_bytes())?,
    };
    if let Some(why) = health.unsafe_writes() {
        return Err(super::store_unsafe(why));
    }
    match message {
        MediatorClientMessage::Position(p) => {
            let fix = p.to_fix(clock.now())?;
            // Disabled since the socket opened: its positions are neither stored nor shown
            // (the socket is closing with 4403).
            if presence.is_enabled_mediator(me).await? {
                presence.record_position_in_background(me, fix)?;
            }
            Ok(None)
        }
        MediatorClientMessage::Duty(d) => {
            presence.set_duty(me, d.on).await?;
            Ok(Some(MediatorMessage::Duty { on: d.on }))
        }
        MediatorClientMessage::Ping => Ok(Some(MediatorMessage::Pong)),
    }
}

/// One text message from a phone, handled as its socket handles it; the reply to send, if
/// any. Public for the load test's province mode, which carries many phones' messages without
/// an OS socket each (`loadtest/src/province.rs`); not part of the HTTP API.
#[doc(hidden)]
pub async fn phone_message(
    presence: &Presence,
    health: &Health,
    clock: &dyn Clock,
    me: &AccountId,
    text: &str,
) -> Option<String> {
    match handle_client_text(presence, health, clock, me, text).await {
        Ok(None) => None,
        Ok(Some(reply)) => Some(wire::to_json(&reply)),
        Err(e) => {
            Some(wire::to_json(&MediatorMessage::Error { code: e.code().to_owned(), message: e.message().to_owned() }))
        }
    }
}

/// The mediator's socket (token in `?access_token=`). Server → client: `offer`, `offer_closed`,
/// `assigned`, `duty`, `risk_changed`, `pong`, `error`; client → server: `position`, `duty`,
/// `ping` (see the schemas `MediatorMessage` and `MediatorClientMessage`). Open offers are sent
/// on connect. The server pings a socket it has not heard from (no message, no pong) for a
/// `push.ping_interval`, and closes one silent for two intervals (1001); the mediator then
/// leaves the live map (duty stays) until a position comes again. A phone streaming positions
/// is never pinged.
///
/// The socket closes with 4401 when the token runs out (past `exp` and 30 s of leeway) and
/// with 4403 when the account is disabled (within a second or two, on every instance).
/// Close codes: 1001 server restarting, or no answer to two pings; 1007 text that is not UTF-8;
/// 1008 binary frame; 1009 message over 16 KiB; 1013 too slow (queue full), reconnect; 4401
/// token expired, sign in again; 4403 account disabled, do not reconnect.
#[utoipa::path(get, path = "/api/v1/mediator/ws", tag = "mediator",
    security(("mediator" = [])),
    params(("access_token" = Option<String>, Query, description = "JWT, for browsers that cannot set headers")),
    responses((status = 101, description = "switching protocols"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn mediator_socket(
    State(state): State<AppState>,
    MediatorSession { id: me, valid_until }: MediatorSession,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    ws::check_origin(&headers, &state.settings)?;
    let subscription = state.hub.register_mediator(&me);
    // Registered before the snapshot is read, so nothing falls in between (a duplicate offer
    // is possible; clients key offers by incident id).
    let on_duty = state.presence.on_duty(&me);
    let mut first = vec![wire::to_json(&MediatorMessage::Duty { on: on_duty })];
    for incident in state.incidents.open_offers(&me).await? {
        first.push(wire::to_json(&MediatorMessage::Offer { incident }));
    }
    let session = ws::Session::new(&state.settings, state.shutdown.clone(), first, valid_until);
    Ok(ws::limits(upgrade, ws::Peer::Phone)
        .on_upgrade(move |socket| async move {
            let ended = ws::pump(socket, subscription, session, |text| {
                let (presence, health, clock, me) =
                    (state.presence.clone(), state.health.clone(), state.clock.clone(), me.clone());
                async move {
                    match phone_message(&presence, &health, clock.as_ref(), &me, &text).await {
                        None => Inbound::Quiet,
                        Some(reply) => Inbound::Reply(reply),
                    }
                }
            })
            .await;
            // Another live socket of theirs here (a tablet) still reaches them.
            if ended == ws::Ended::Silent && !state.hub.has_mediator(&me) {
                state.presence.lost_contact(&me).await;
            }
        })
        .into_response())
}

/// Report a position over HTTP (when a socket cannot be held).
#[utoipa::path(post, path = "/api/v1/mediator/position", tag = "mediator", security(("mediator" = [])),
    request_body = PositionRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn post_position(
    State(presence): State<Presence>,
    State(clock): State<Arc<dyn Clock>>,
    MediatorAuth(me): MediatorAuth,
    ApiJson(body): ApiJson<PositionRequest>,
) -> Result<StatusCode, ApiError> {
    presence.record_position(&me, body.to_fix(clock.now())?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Go on or off duty over HTTP.
#[utoipa::path(post, path = "/api/v1/mediator/duty", tag = "mediator", security(("mediator" = [])),
    request_body = DutyRequest,
    responses((status = 200, body = DutyRequest), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn post_duty(
    State(presence): State<Presence>,
    MediatorAuth(me): MediatorAuth,
    ApiJson(body): ApiJson<DutyRequest>,
) -> Result<Json<DutyRequest>, ApiError> {
    presence.set_duty(&me, body.on).await?;
    Ok(Json(body))
}

/// Offers still open for me (polling fallback), newest first.
#[utoipa::path(get, path = "/api/v1/mediator/offers", tag = "mediator", security(("mediator" = [])),
    responses((status = 200, body = Vec<IncidentView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_offers(
    State(incidents): State<Incidents>,
    MediatorAuth(me): MediatorAuth,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    Ok(Json(incidents.open_offers(&me).await?))
}

/// Incidents I hold, with the residents' phones.
#[utoipa::path(get, path = "/api/v1/mediator/incidents", tag = "mediator", security(("mediator" = [])),
    responses((status = 200, body = Vec<IncidentView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_incidents(
    State(incidents): State<Incidents>,
    MediatorAuth(me): MediatorAuth,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    Ok(Json(incidents.held(&me).await?))
}

/// Grab an offer. Exactly one mediator gets 200; every other gets 409 `already_claimed`.
/// Repeating a successful accept returns 200 again.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/accept", tag = "mediator", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = IncidentView, description = "yours: includes the resident's phone"),
        (status = 404, body = ErrorBody, description = "unknown or not offered to you"),
        (status = 409, body = ErrorBody, description = "already_claimed, at_capacity or wrong_state"),
        (status = 503, body = ErrorBody)))]
async fn accept_offer(
    State(incidents): State<Incidents>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let incident = incidents.accept(&me, &incident_id(&id)?).await?;
    Ok(Json(IncidentView::for_holder(&incident)))
}

/// Turn an offer down.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/decline", tag = "mediator", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decline_offer(
    State(incidents): State<Incidents>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    incidents.decline(&me, &incident_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// I am there.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/arrive", tag = "mediator", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn report_arrival(
    State(incidents): State<Incidents>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let incident = incidents.arrive(&me, &incident_id(&id)?).await?;
    Ok(Json(IncidentView::for_holder(&incident)))
}

/// Close the incident with an outcome.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/resolve", tag = "mediator", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = ResolveRequest,
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn resolve_incident(
    State(incidents): State<Incidents>,
    State(settings): State<Arc<Settings>>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ResolveRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let note = body.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(n) = &note {
        check_len("note", n, settings.limits.note_max_chars)?;
    }
    let incident = incidents.resolve(&me, &incident_id(&id)?, body.outcome, note).await?;
    Ok(Json(IncidentView::for_holder(&incident)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a message reads as: the one-pass position, or None when it is left to the tagged
    /// reading; and what the tagged reading makes of it.
    fn both(text: &str) -> (Option<String>, Result<String, ()>) {
        let fast = serde_json::from_str::<SocketPosition>(text).ok().map(|p| format!("{:?}", PositionRequest::from(p)));
        let full = serde_json::from_str::<MediatorClientMessage>(text).map(|m| format!("{m:?}")).map_err(drop);
        (fast, full)
    }

    #[test]
    fn the_one_pass_position_reads_exactly_what_the_tagged_message_reads() {
        let accepted = [
            r#"{"type":"position","lat":39.9,"lng":116.4}"#,
            r#"{"lng":116.4,"type":"position","lat":39.9,"coord":"wgs84","accuracy_m":12.5}"#,
            r#"{"type":"position","lat":39.9,"lng":116.4,"at":"2026-12-06T08:00:00Z","coord":null}"#,
        ];
        for text in accepted {
            let (fast, full) = both(text);
            assert_eq!(fast.map(|p| format!("Position({p})")), full.ok(), "{text}");
        }
        let left_to_the_tagged_reading = [
            r#"{"type":"duty","on":true}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"position","lat":39.9,"lng":116.4,"speed":3}"#,
            r#"{"type":"position","lat":"39.9","lng":116.4}"#,
            r#"{"type":"position","lat":39.9}"#,
            r#"{"type":"Position","lat":39.9,"lng":116.4}"#,
            r#"{"lat":39.9,"lng":116.4}"#,
        ];
        for text in left_to_the_tagged_reading {
            let (fast, full) = both(text);
            assert_eq!(fast, None, "{text}");
            if text.contains("position") || !text.contains("type") {
                assert!(full.is_err(), "{text}");
            }
        }
    }
}
