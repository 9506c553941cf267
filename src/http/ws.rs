//! WebSocket plumbing shared by the mediator and operator sockets: size limits, Origin check,
//! server pings, close codes, and the pump between a hub subscription and the socket (which
//! also ends the socket when its token runs out, its account is revoked, or its peer stops
//! reading).

use super::error::ApiError;
use crate::config::Settings;
use crate::push::{Revoked, Subscription};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Largest client message accepted on a socket.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

/// Who is on the other end of a socket, for its outbound limit: the largest message it can be
/// sent, which is also what it holds in its own write buffer when the peer stops reading
/// (beyond the kernel's) until `push.write_timeout` drops it and frees that buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A mediator's phone: offers and notices, a few KiB each; thousands of sockets.
    Phone,
    /// A command-center screen: the snapshot carries every mediator on duty in the operator's
    /// area and its open incidents (about 100 B and 1 KiB each, at most 5,000 incidents: 20,000
    /// mediators and 5,000 incidents come to 7 MiB); tens of sockets.
    Screen,
}

impl Peer {
    /// Largest message this peer can be sent, bytes.
    #[must_use]
    pub const fn max_outbound_bytes(self) -> usize {
        match self {
            Self::Phone => 256 * 1024,
            Self::Screen => 16 * 1024 * 1024,
        }
    }
}

/// Close codes: RFC 6455 §7.4.1, and ours in the 4000s (documented in the OpenAPI text of
/// each socket route).
pub mod close {
    /// The server is shutting down: reconnect (elsewhere).
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame the socket does not take (binary).
    pub const POLICY: u16 = 1008;
    /// A client message over [`super::MAX_CLIENT_MESSAGE_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// This socket fell behind (its queue filled): reconnect.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The token ran out (past its `exp` and the leeway): sign in again.
    pub const TOKEN_EXPIRED: u16 = 4401;
    /// The account was disabled: do not reconnect.
    pub const ACCOUNT_DISABLED: u16 = 4403;
}

/// Apply our limits to an upgrade for `peer`.
pub fn limits(upgrade: WebSocketUpgrade, peer: Peer) -> WebSocketUpgrade {
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .write_buffer_size(0)
        // Client messages are tiny: a small read buffer keeps thousands of idle phones cheap
        // (the library's default is 128 KiB per socket).
        .read_buffer_size(8 * 1024)
        .max_write_buffer_size(peer.max_outbound_bytes())
}

/// Refuse cross-site upgrades: a browser's `Origin` must be this server's own (by `Host` or the
/// public URL) or listed in `http.allowed_origins`. Clients without `Origin` (apps) pass.
///
/// # Errors
/// 403 for a foreign origin.
pub fn check_origin(headers: &HeaderMap, settings: &Settings) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let origin = origin.trim_end_matches('/');
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let same_host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host);
    let public = settings.http.public_base_url.trim_end_matches('/') == origin;
    let listed = settings.http.allowed_origins.iter().any(|o| o.trim_end_matches('/') == origin);
    if same_host || public || listed { Ok(()) } else { Err(ApiError::forbidden("this origin may not open a socket")) }
}

/// What a client message did.
pub enum Inbound {
    /// Nothing to send back.
    Quiet,
    /// Send this reply.
    Reply(String),
}

/// How one socket runs: what it is sent first, and when it ends on its own.
pub struct Session {
    /// Sent right after registration (a snapshot).
    pub first: Vec<String>,
    /// Server ping period.
    pub ping_every: Duration,
    /// A write (with its flush) that takes longer means the peer stopped reading: the socket is
    /// dropped and its buffers freed.
    pub write_timeout: Duration,
    /// When the token stops being accepted: the socket closes with 4401.
    pub valid_until: Timestamp,
    /// Server shutdown: the socket closes with 1001.
    pub shutdown: CancellationToken,
}

impl Session {
    /// A session from the settings, for a token accepted until `valid_until`.
    #[must_use]
    pub fn new(settings: &Settings, shutdown: CancellationToken, first: Vec<String>, valid_until: Timestamp) -> Self {
        let push = &settings.push;
        Self { first, ping_every: push.ping_interval, write_timeout: push.write_timeout, valid_until, shutdown }
    }
}

/// Send within `within`; false if the socket must be dropped (gone, or the peer stopped reading).
async fn send(tx: &mut SplitSink<WebSocket, Message>, message: Message, within: Duration) -> bool {
    match tokio::time::timeout(within, tx.send(message)).await {
        Ok(sent) => sent.is_ok(),
        Err(_) => {
            metrics::counter!("gd_ws_write_timeouts_total").increment(1);
            false
        }
    }
}

/// The close a read error calls for (None: the connection is gone, nothing to say).
fn close_for(error: &axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::Error as E;
    match std::error::Error::source(error)?.downcast_ref::<E>()? {
        E::Capacity(_) => Some((close::TOO_BIG, "message too big")),
        E::Utf8(_) => Some((close::INVALID_PAYLOAD, "text must be UTF-8")),
        _ => None,
    }
}

/// How long until `at` by the wall clock (the one token expiry is checked against).
fn until(at: Timestamp) -> Duration {
    Duration::try_from(at.duration_since(Timestamp::now())).unwrap_or(Duration::ZERO)
}

/// Pings in a row a peer may leave unanswered (no pong, no message) before its socket is
/// closed as dead: a phone whose link died goes within two or three ping intervals.
pub const MISSED_PINGS: u8 = 2;

/// Why a socket's pump ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The peer closed, the hub dropped or revoked it, a send failed, or the server is stopping.
    Closed,
    /// The peer stopped answering pings ([`MISSED_PINGS`]): its link is probably dead.
    Silent,
}

/// Run a socket until it closes, the hub drops or revokes it, its token runs out, the peer
/// falls silent, or the server shuts down. `on_text` handles client text. Any frame from the
/// peer (a pong, a message) answers the last ping; after [`MISSED_PINGS`] unanswered ones the
/// socket is closed (1001) and the pump says [`Ended::Silent`].
pub async fn pump<F, Fut>(socket: WebSocket, mut subscription: Subscription, session: Session, mut on_text: F) -> Ended
where
    F: FnMut(Utf8Bytes) -> Fut,
    Fut: Future<Output = Inbound>,
{
    let within = session.write_timeout;
    let (mut tx, mut rx) = socket.split();
    for text in session.first {
        if !send(&mut tx, Message::Text(text.into()), within).await {
            return Ended::Closed;
        }
    }
    let mut ping = tokio::time::interval(session.ping_every);
    ping.tick().await;
    let expiry = tokio::time::sleep(until(session.valid_until));
    tokio::pin!(expiry);
    // Made once, not on every turn of the loop: a fresh `cancelled()` registers with (and its
    // drop leaves) the token's waiter list, on every message of every socket.
    let cancelled = session.shutdown.cancelled();
    tokio::pin!(cancelled);
    let (mut heard, mut missed) = (true, 0u8);
    let closing = |code: u16, reason: &'static str| Message::Close(Some(CloseFrame { code, reason: reason.into() }));
    // Biased: a revoked or expired socket is closed before anything queued is sent.
    let (code, reason) = loop {
        tokio::select! {
            biased;
            () = &mut cancelled => break (close::GOING_AWAY, "server restarting"),
            why = subscription.revocation.revoked() => match why {
                Revoked::AccountDisabled => break (close::ACCOUNT_DISABLED, "account disabled"),
                Revoked::SignedOut => break (close::TOKEN_EXPIRED, "signed out; sign in again"),
            },
            () = &mut expiry => break (close::TOKEN_EXPIRED, "token expired"),
            outbound = subscription.rx.recv() => match outbound {
                Some(payload) => {
                    if !send(&mut tx, Message::Text(payload.as_ref().into()), within).await {
                        return Ended::Closed;
                    }
                }
                // The hub dropped us: our queue was full (a stalled reader).
                None => break (close::TRY_AGAIN_LATER, "too slow; reconnect"),
            },
            inbound = rx.next() => {
                heard = true;
                match inbound {
                    Some(Ok(Message::Text(text))) => {
                        if let Inbound::Reply(reply) = on_text(text).await
                            && !send(&mut tx, Message::Text(reply.into()), within).await {
                                return Ended::Closed;
                            }
                    }
                    Some(Ok(Message::Binary(_))) => break (close::POLICY, "text frames only"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Err(e)) => match close_for(&e) {
                        Some(close) => break close,
                        None => return Ended::Closed,
                    },
                    Some(Ok(Message::Close(_))) | None => return Ended::Closed,
                }
            }
            _ = ping.tick() => {
                missed = if heard { 0 } else { missed + 1 };
                if missed >= MISSED_PINGS {
                    break (close::GOING_AWAY, NO_ANSWER);
                }
                // A peer heard from since the last tick is alive: no ping (a phone streaming
                // positions is never pinged; 20,000 of them would be thousands of pings and
                // pongs a second). A silent one is pinged, and closed at the next tick
                // unless it answers: the same 2-3 intervals as pinging every time.
                if std::mem::take(&mut heard) {
                    continue;
                }
                if !send(&mut tx, Message::Ping(bytes::Bytes::new()), within).await {
                    return Ended::Closed;
                }
            }
        }
    };
    // A dead link may never take the close frame: `send` gives up after the write timeout.
    let _ = send(&mut tx, closing(code, reason), within).await;
    if reason == NO_ANSWER { Ended::Silent } else { Ended::Closed }
}

/// The close reason of a socket that left [`MISSED_PINGS`] pings unanswered.
const NO_ANSWER: &str = "no answer to pings";
