//! Video mediation (issue #22): starting sessions on an incident, one-time invitations, the
//! command center's live list and observer seats, joining without an account, TURN
//! credentials, and the signaling socket (`/api/v1/video/ws`): a seat's page sends `signal`
//! messages addressed to another seat id and the server relays them inside the session only,
//! filling in `from` itself.

use super::auth::{MediatorAuth, OperatorAuth};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use super::state::AppState;
use super::ws;
use crate::domain::account::Role;
use crate::domain::ids::IncidentId;
use crate::video::rooms::Outbound;
use crate::video::service::{EndedBy, IceConfig, SeatTicket, StaffCaller};
use crate::video::session::{Seat, SeatKind, VideoSession};
use crate::video::{Video, VideoError};
use axum::Json;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Video routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_session, list_live_sessions))
        .routes(routes!(invite_participant))
        .routes(routes!(observe_session))
        .routes(routes!(end_session))
        .routes(routes!(join_session))
        .routes(routes!(mint_ice))
        .routes(routes!(video_socket))
        .routes(routes!(tracking_invitation))
}

impl From<VideoError> for ApiError {
    fn from(e: VideoError) -> Self {
        let message = e.to_string();
        match e {
            VideoError::NotFound => Self::not_found(),
            VideoError::NotYours => Self::forbidden(message),
            VideoError::AlreadyLive(_) => Self::new(StatusCode::CONFLICT, "session_live", message),
            VideoError::Ended => Self::new(StatusCode::GONE, "session_ended", message),
            VideoError::Full => Self::new(StatusCode::CONFLICT, "session_full", message),
            VideoError::TooManyInvitations => Self::new(StatusCode::CONFLICT, "too_many_invitations", message),
            VideoError::InvitationExpired => Self::new(StatusCode::GONE, "invitation_expired", message),
            VideoError::InvitationUsed => Self::new(StatusCode::GONE, "invitation_used", message),
            VideoError::NotInvited => Self::new(StatusCode::FORBIDDEN, "not_invited", message),
            VideoError::NotHere => Self::new(StatusCode::CONFLICT, "not_here", message),
            VideoError::ObserverSends => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "observer_sends_media", message),
            VideoError::Invalid { field, reason } => Self::invalid(field, reason),
            VideoError::Contended => Self::unavailable("contended", message, 1),
            VideoError::Dispatch(e) => e.into(),
            VideoError::Store(e) => e.into(),
        }
    }
}

/// A mediator or an operator (or admin).
struct StaffAuth(StaffCaller);

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Ok(MediatorAuth(id)) = MediatorAuth::from_request_parts(parts, state).await {
            return Ok(Self(StaffCaller { role: Role::Mediator, account_id: Some(id.to_string()), scope: None }));
        }
        let op = OperatorAuth::from_request_parts(parts, state).await?;
        Ok(Self(StaffCaller {
            role: Role::Operator,
            account_id: op.account.map(|a| a.to_string()),
            scope: Some(op.scope),
        }))
    }
}

/// Start a session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The incident.
    pub incident_id: String,
}

/// A seat in a session: open `page` (or the socket with `seat_token`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatResponse {
    /// The session.
    pub session_id: String,
    /// The seat's id in the room.
    pub seat_id: String,
    /// What for.
    pub kind: SeatKind,
    /// The seat's secret: opens the socket and fetches TURN credentials. Keep it in the page.
    pub seat_token: String,
    /// The room page for this seat (the token travels in the fragment, never to a server log).
    pub page: String,
}

impl From<SeatTicket> for SeatResponse {
    fn from(t: SeatTicket) -> Self {
        let observer = if t.kind == SeatKind::Observer { "&observer=1" } else { "" };
        let page = format!("/v#seat={}{observer}", t.token);
        Self { session_id: t.session_id, seat_id: t.seat_id, kind: t.kind, seat_token: t.token, page }
    }
}

/// The holder of the incident (or an operator) starts a video session on it and gets the
/// host's seat. One live session per incident: starting again gives the caller a fresh seat in
/// the live one (their earlier seat there stops working).
#[utoipa::path(post, path = "/api/v1/video/sessions", tag = "video",
    security(("mediator" = []), ("operator" = []), ("admin" = [])), request_body = StartRequest,
    responses((status = 201, body = SeatResponse), (status = 403, body = ErrorBody, description = "not the holder"),
        (status = 404, body = ErrorBody)))]
async fn start_session(
    State(video): State<Video>,
    StaffAuth(caller): StaffAuth,
    ApiJson(body): ApiJson<StartRequest>,
) -> Result<(StatusCode, Json<SeatResponse>), ApiError> {
    let incident = IncidentId::parse(&body.incident_id).map_err(|_| ApiError::invalid("incident_id", "not an id"))?;
    Ok((StatusCode::CREATED, Json(video.start(&caller, &incident).await?.into())))
}

/// Invite someone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// `party` (also shown on the tracking page), `department` or `operator`.
    pub kind: SeatKind,
    /// How the room shows them, ≤ 20 characters (default by kind: 当事人, 部门专家, 指挥中心).
    #[serde(default)]
    pub label: Option<String>,
}

/// A one-time invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    /// The token (once used, it is refused).
    pub token: String,
    /// The link to send (relative to this server).
    pub link: String,
    /// When it stops working.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// A one-time invitation link (30 minutes by default; at most 20 per session).
#[utoipa::path(post, path = "/api/v1/video/sessions/{id}/invitations", tag = "video",
    security(("mediator" = []), ("operator" = []), ("admin" = [])), params(("id" = String, Path, description = "session id")),
    request_body = InviteRequest,
    responses((status = 201, body = InvitationResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "too_many_invitations"), (status = 410, body = ErrorBody, description = "session_ended"),
        (status = 422, body = ErrorBody)))]
async fn invite_participant(
    State(video): State<Video>,
    StaffAuth(caller): StaffAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<InvitationResponse>), ApiError> {
    let t = video.invite(&caller, &id, body.kind, body.label.as_deref()).await?;
    let link = format!("/v/{}", t.token);
    Ok((StatusCode::CREATED, Json(InvitationResponse { token: t.token, link, expires_at: t.expires_at })))
}

/// The command center joins a live session as an observer (receives only; at most 2).
#[utoipa::path(post, path = "/api/v1/video/sessions/{id}/observe", tag = "video",
    security(("operator" = []), ("admin" = [])), params(("id" = String, Path, description = "session id")),
    responses((status = 201, body = SeatResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
async fn observe_session(
    State(video): State<Video>,
    op: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<SeatResponse>), ApiError> {
    let caller =
        StaffCaller { role: Role::Operator, account_id: op.account.map(|a| a.to_string()), scope: Some(op.scope) };
    Ok((StatusCode::CREATED, Json(video.observe(&caller, &id).await?.into())))
}

/// End a session: every page is closed; the timeline records who took part and how long.
#[utoipa::path(post, path = "/api/v1/video/sessions/{id}/end", tag = "video",
    security(("mediator" = []), ("operator" = []), ("admin" = [])), params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn end_session(
    State(video): State<Video>,
    StaffAuth(caller): StaffAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    video.end(&id, EndedBy::Staff(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A live session as the command center lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveSession {
    /// The session.
    pub id: String,
    /// Its incident.
    pub incident_id: String,
    /// When it started.
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// Seats (removed ones left out).
    pub participants: Vec<LiveParticipant>,
}

/// A seat in a live session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveParticipant {
    /// Seat id.
    pub id: String,
    /// What for.
    pub kind: SeatKind,
    /// Label.
    pub label: String,
    /// In the room now.
    pub in_room: bool,
}

impl From<VideoSession> for LiveSession {
    fn from(s: VideoSession) -> Self {
        let participants = s
            .seats
            .iter()
            .filter(|p| !p.removed)
            .map(|p| LiveParticipant {
                id: p.id.clone(),
                kind: p.kind,
                label: p.label.clone(),
                in_room: p.in_room_since.is_some(),
            })
            .collect();
        Self { id: s.id, incident_id: s.incident_id.to_string(), started_at: s.started_at, participants }
    }
}

/// Live sessions, oldest first (the big screen's 视频调解 list).
#[utoipa::path(get, path = "/api/v1/video/sessions", tag = "video", security(("operator" = []), ("admin" = [])),
    responses((status = 200, body = Vec<LiveSession>), (status = 403, body = ErrorBody)))]
async fn list_live_sessions(State(video): State<Video>, op: OperatorAuth) -> Result<Json<Vec<LiveSession>>, ApiError> {
    Ok(Json(video.live(&op.scope).await?.into_iter().map(LiveSession::from).collect()))
}

/// Use an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The invitation token from the link.
    pub invitation: String,
}

/// Take a seat with a one-time invitation (no account, no install). A used invitation is
/// refused (410 `invitation_used`), so is an expired one (410 `invitation_expired`).
#[utoipa::path(post, path = "/api/v1/video/join", tag = "video", request_body = JoinRequest,
    responses((status = 201, body = SeatResponse), (status = 409, body = ErrorBody, description = "session_full"),
        (status = 410, body = ErrorBody, description = "invitation_used, invitation_expired, session_ended")))]
async fn join_session(
    State(video): State<Video>,
    ApiJson(body): ApiJson<JoinRequest>,
) -> Result<(StatusCode, Json<SeatResponse>), ApiError> {
    Ok((StatusCode::CREATED, Json(video.join(&body.invitation).await?.into())))
}

/// A seat's request for ICE servers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IceRequest {
    /// The seat token.
    pub seat_token: String,
}

/// One ICE server, as `RTCPeerConnection` takes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IceServer {
    /// `turn:`/`turns:`/`stun:` URLs.
    pub urls: Vec<String>,
    /// TURN username (`<expiry>:<user>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password (HMAC of the username; expires with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What a page needs to connect.
#[derive(Debug, Serialize, ToSchema)]
pub struct IceResponse {
    /// For `RTCPeerConnection`'s `iceServers`.
    pub ice_servers: Vec<IceServer>,
    /// `relay` (relayed paths only) or `all`.
    pub ice_transport_policy: &'static str,
    /// When the TURN credential expires (fetch again before: an ICE restart needs a fresh one).
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The number to call instead when the browser cannot do video calls (may be empty).
    pub fallback_phone: String,
}

fn ice_response(ice: IceConfig, fallback_phone: &str) -> IceResponse {
    let ice_servers = if ice.urls.is_empty() {
        Vec::new()
    } else {
        vec![IceServer { urls: ice.urls, username: ice.username, credential: ice.credential }]
    };
    IceResponse {
        ice_servers,
        ice_transport_policy: if ice.relay_only { "relay" } else { "all" },
        expires_at: ice.expires_at,
        fallback_phone: fallback_phone.to_owned(),
    }
}

/// TURN credentials for a seat (the TURN REST API scheme: username `expiry:user`, password
/// base64(HMAC-SHA1(secret, username))), minted now.
#[utoipa::path(post, path = "/api/v1/video/ice", tag = "video", request_body = IceRequest,
    responses((status = 200, body = IceResponse), (status = 403, body = ErrorBody, description = "not_invited"),
        (status = 410, body = ErrorBody, description = "session_ended")))]
async fn mint_ice(
    State(video): State<Video>,
    ApiJson(body): ApiJson<IceRequest>,
) -> Result<Json<IceResponse>, ApiError> {
    let ice = video.ice(&body.seat_token).await?;
    Ok(Json(ice_response(ice, video.fallback_phone())))
}

/// The parties' invitation waiting on the resident's tracking page.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingInvitation {
    /// The room link, when a video session waits for the resident.
    pub link: Option<String>,
}

/// Whether the mediator has invited the resident holding this tracking token to a video
/// session (the tracking page shows a "join" button).
#[utoipa::path(get, path = "/api/v1/video/track/{tracking_token}", tag = "video",
    params(("tracking_token" = String, Path, description = "the resident's tracking token")),
    responses((status = 200, body = TrackingInvitation), (status = 404, body = ErrorBody)))]
async fn tracking_invitation(
    State(video): State<Video>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<TrackingInvitation>, ApiError> {
    let link = video.party_link(&token).await?.map(|t| format!("/v/{t}"));
    Ok(Json(TrackingInvitation { link }))
}

/// The socket's query.
#[derive(Debug, Deserialize)]
struct SocketQuery {
    /// The seat token.
    seat: String,
}

/// Signaling socket of one seat, on any instance (the room's messages reach every instance
/// through the bus). First message `welcome` {you, peers, runs_room}; then
/// `joined` {peer}, `left` {id}, `signal` {from, description|candidate}, `state` {from, …}.
/// The page sends `signal` {to, description|candidate}, `state` {muted, camera_off,
/// audio_only, network}, `invite` {kind, label?} (answered `invited` {kind, link,
/// expires_at}), `remove` {id} and `end` (the last three only from the host or an operator). Close codes: 4409 the seat opened the room elsewhere; 4410 removed by the
/// mediator; 4411 the session ended; 1001, 1008, 1009 as on the other sockets. A seat that is
/// not the session's (or was removed) gets 403 `not_invited` and no socket. A `signal` to a
/// seat not in the room is answered `error` `not_here`; an observer's description that would
/// send media (an `m=` line with `a=sendrecv`/`a=sendonly`), `error` `observer_sends_media`.
#[utoipa::path(get, path = "/api/v1/video/ws", tag = "video",
    params(("seat" = String, Query, description = "the seat token")),
    responses((status = 101, description = "switching protocols"), (status = 403, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
async fn video_socket(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SocketQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    ws::check_origin(&headers, &state.settings)?;
    let video = state.video.clone();
    let (session, seat) = video.admit(&query.seat).await?;
    let (welcome, membership) = video.enter(&session, &seat).await?;
    let (ping_every, within, shutdown) =
        (state.settings.push.ping_interval, state.settings.push.write_timeout, state.shutdown.clone());
    Ok(ws::limits(upgrade, ws::Peer::Phone)
        .on_upgrade(move |socket| async move {
            let conn = membership.conn;
            run_socket(socket, &video, &session.id, &seat, welcome, membership.rx, ping_every, within, shutdown).await;
            video.left(&session.id, &seat, conn).await;
        })
        .into_response())
}

/// Pump one seat's socket until it closes, is replaced, removed or ended, or the server stops.
#[allow(clippy::too_many_arguments, reason = "one socket's parts, passed once")]
async fn run_socket(
    socket: WebSocket,
    video: &Video,
    session_id: &str,
    seat: &Seat,
    welcome: String,
    mut rx: tokio::sync::mpsc::Receiver<Outbound>,
    ping_every: std::time::Duration,
    within: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (mut tx, mut inbound) = socket.split();
    if !matches!(tokio::time::timeout(within, tx.send(Message::Text(welcome.into()))).await, Ok(Ok(()))) {
        return;
    }
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let (mut heard, mut missed) = (true, 0u8);
    let close = loop {
        let outgoing = tokio::select! {
            () = shutdown.cancelled() => break Some((ws::close::GOING_AWAY, "server restarting")),
            out = rx.recv() => match out {
                Some(Outbound::Text(text)) => Message::Text(text.as_ref().into()),
                Some(Outbound::Close(code, reason)) => break Some((code, reason)),
                None => break Some((ws::close::TRY_AGAIN_LATER, "too slow; reconnect")),
            },
            msg = inbound.next() => {
                heard = true;
                match msg {
                    Some(Ok(Message::Text(text))) => match handle_text(video, session_id, seat, &text).await {
                        Some(reply) => Message::Text(reply.into()),
                        None => continue,
                    },
                    Some(Ok(Message::Binary(_))) => break Some((ws::close::POLICY, "text frames only")),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                }
            }
            _ = ping.tick() => {
                missed = if heard { 0 } else { missed + 1 };
                heard = false;
                if missed >= ws::MISSED_PINGS {
                    break Some((ws::close::GOING_AWAY, "no answer to pings"));
                }
                Message::Ping(bytes::Bytes::new())
            }
        };
        if !matches!(tokio::time::timeout(within, tx.send(outgoing)).await, Ok(Ok(()))) {
            break None;
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = tokio::time::timeout(within, tx.send(frame)).await;
    }
}

/// A refused request from inside the room, as the socket's `error` message (the same code and
/// message as over HTTP).
fn refused(e: VideoError) -> Option<String> {
    let e = ApiError::from(e);
    Some(serde_json::json!({ "type": "error", "code": e.code(), "message": e.message() }).to_string())
}

/// A page's message: relay, announce, invite, remove, end. Returns the reply, if any.
async fn handle_text(video: &Video, session_id: &str, seat: &Seat, text: &str) -> Option<String> {
    let error = |code: &str, message: &str| {
        Some(serde_json::json!({ "type": "error", "code": code, "message": message }).to_string())
    };
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
        return error("invalid_json", "messages are JSON objects with a type");
    };
    match message["type"].as_str() {
        Some("signal") => {
            let Some(to) = message["to"].as_str().map(str::to_owned) else {
                return error("invalid_field", "to: a seat id");
            };
            if !(message.get("description").is_some() || message.get("candidate").is_some()) {
                return error("invalid_field", "a signal carries a description or a candidate");
            }
            let forwarded = serde_json::json!({
                "type": "signal", "description": message.get("description"), "candidate": message.get("candidate"),
            });
            video.relay(session_id, seat, &to, forwarded).await.err().and_then(refused)
        }
        Some("state") => {
            let state = serde_json::json!({
                "type": "state", "muted": message["muted"].as_bool(), "camera_off": message["camera_off"].as_bool(),
                "audio_only": message["audio_only"].as_bool(), "network": message["network"].as_str().map(|n| n.chars().take(16).collect::<String>()),
            });
            video.announce(session_id, &seat.id, state).await;
            None
        }
        Some("remove") => {
            let Some(target) = message["id"].as_str() else { return error("invalid_field", "id: a seat id") };
            video.remove(session_id, seat, target).await.err().and_then(refused)
        }
        Some("invite") => {
            let kind = match serde_json::from_value::<SeatKind>(message["kind"].clone()) {
                Ok(kind) => kind,
                Err(_) => return error("invalid_field", "kind: party, department or operator"),
            };
            match video.invite_from_seat(session_id, seat, kind, message["label"].as_str()).await {
                Ok(t) => Some(
                    serde_json::json!({ "type": "invited", "kind": kind, "link": format!("/v/{}", t.token), "expires_at": t.expires_at })
                        .to_string(),
                ),
                Err(e) => refused(e),
            }
        }
        Some("end") => video.end(session_id, EndedBy::Seat(seat)).await.err().and_then(refused),
        _ => error("invalid_type", "type: signal, state, invite, remove or end"),
    }
}
