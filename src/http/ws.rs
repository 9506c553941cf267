//! WebSocket plumbing shared by the mediator and operator sockets: size limits, Origin check,
//! server pings, and the pump between a hub subscription and the socket.

use super::error::ApiError;
use crate::config::Settings;
use crate::push::Subscription;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Largest client message accepted on a socket.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

/// Who is on the other end of a socket, for its outbound limit: the largest message it can be
/// sent, which is also what it holds in its own write buffer when the peer stops reading
/// (beyond the kernel's; a stalled socket waits on its one message while the hub's queue,
/// `push.socket_queue`, fills and then drops it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A mediator's phone: offers and notices, a few KiB each; thousands of sockets.
    Phone,
    /// A command-center screen: the snapshot carries every mediator on duty and every open
    /// incident (about 120 B and 1 KiB each: 20,000 mediators and 5,000 incidents come to
    /// 7 MiB); tens of sockets.
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

/// Close codes (RFC 6455 §7.4.1).
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TRY_AGAIN_LATER: u16 = 1013;
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

/// Run a socket until it closes, the hub drops it, or the server shuts down.
///
/// `first` is sent right after registration (a snapshot), `on_text` handles client text.
pub async fn pump<F, Fut>(
    socket: WebSocket,
    mut subscription: Subscription,
    first: Vec<String>,
    ping_every: Duration,
    shutdown: CancellationToken,
    mut on_text: F,
) where
    F: FnMut(Utf8Bytes) -> Fut,
    Fut: Future<Output = Inbound>,
{
    let (mut tx, mut rx) = socket.split();
    for text in first {
        if tx.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let closing = |code: u16, reason: &'static str| Message::Close(Some(CloseFrame { code, reason: reason.into() }));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                let _ = tx.send(closing(close::GOING_AWAY, "server restarting")).await;
                return;
            }
            outbound = subscription.rx.recv() => match outbound {
                Some(payload) => {
                    if tx.send(Message::Text(payload.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                None => {
                    // The hub dropped us: our queue was full (a stalled reader).
                    let _ = tx.send(closing(close::TRY_AGAIN_LATER, "too slow; reconnect")).await;
                    return;
                }
            },
            inbound = rx.next() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    if let Inbound::Reply(reply) = on_text(text).await
                        && tx.send(Message::Text(reply.into())).await.is_err() {
                            return;
                        }
                }
                Some(Ok(Message::Binary(_))) => {
                    let _ = tx.send(closing(close::POLICY, "text frames only")).await;
                    return;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
            _ = ping.tick() => {
                if tx.send(Message::Ping(bytes::Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    }
}
