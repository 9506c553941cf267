//! The room's sockets, on whichever instance each landed: entering and leaving, relaying
//! signaling, announcing state. Everything a socket is told goes out on the bus as a
//! [`BusMessage::VideoRoom`]; every instance's [`Video::run_relay`] hands it to the sockets it
//! holds ([`Rooms`](super::Rooms)). One sender's messages keep their order: its socket handler
//! publishes them one after another on one connection, Redis delivers a channel's messages in
//! order, and each instance's relay is one task.

use super::{Video, VideoError};
use crate::domain::incident::Event;
use crate::domain::timeline::ActorRole;
use crate::store::{BusMessage, BusReceiver};
use crate::video::rooms::{self, Audience, Membership, Outbound};
use crate::video::sdp;
use crate::video::session::{Seat, SeatKind, VideoSession, runs_the_room};
use serde_json::json;
use tokio_util::sync::CancellationToken;

impl Video {
    /// Tell the sockets of `session_id` that `audience` names, on every instance.
    ///
    /// # Errors
    /// `Store` when the bus refused it (nobody was told).
    pub(super) async fn tell(
        &self,
        session_id: &str,
        audience: Audience<'_>,
        message: Outbound,
    ) -> Result<(), VideoError> {
        let (text, close_code) = match message {
            Outbound::Text(text) => (Some(text.to_string()), None),
            Outbound::Close(code, _) => (None, Some(code)),
        };
        let message = BusMessage::VideoRoom {
            session_id: session_id.to_owned(),
            seat: audience.seat.map(str::to_owned),
            except: audience.except.map(str::to_owned),
            spare_conn: audience.spare_conn,
            text,
            close_code,
        };
        self.0.bus.publish(&message).await.map_err(|e| {
            tracing::warn!(session_id, error = %e, "could not tell the video room");
            VideoError::Store(e)
        })
    }

    /// Hand a [`BusMessage::VideoRoom`] to the sockets it names on this instance (other
    /// messages are not the room's); how many sockets got it.
    pub fn deliver(&self, message: &BusMessage) -> usize {
        let BusMessage::VideoRoom { session_id, seat, except, spare_conn, text, close_code } = message else {
            return 0;
        };
        let out = match (text, close_code) {
            (Some(text), _) => Outbound::Text(text.as_str().into()),
            (None, Some(code)) => Outbound::Close(*code, crate::video::close::reason(*code)),
            (None, None) => return 0,
        };
        let audience = Audience { seat: seat.as_deref(), except: except.as_deref(), spare_conn: *spare_conn };
        self.0.rooms.deliver(session_id, audience, &out)
    }

    /// Deliver the video rooms' bus messages to this instance's sockets until `stop` (the app
    /// runs one per instance, subscribed before the first socket opens).
    pub async fn run_relay(&self, mut rx: BusReceiver, stop: CancellationToken) {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                message = rx.recv() => message,
            };
            match message {
                None => return,
                Some(BusMessage::Resync) => {
                    // Pages whose negotiation lost a message see their connection fail and
                    // restart ICE; nothing here to rebuild.
                    tracing::warn!("video signaling may have been missed (bus lagged or reconnected)");
                }
                Some(message) => {
                    self.deliver(&message);
                }
            }
        }
    }

    /// A socket of `seat` opened: it holds the seat now (a socket the seat had, on any
    /// instance, is closed: replaced); everyone else is told; the first time this stay begins,
    /// the timeline says so. Returns the welcome message and the membership.
    ///
    /// # Errors
    /// As [`Self::admit`]; `Store`.
    pub async fn enter(&self, session: &VideoSession, seat: &Seat) -> Result<(String, Membership), VideoError> {
        let now = self.now();
        let conn = rooms::new_conn();
        let (session, first_time) = self
            .change(&session.id, |s| {
                if !s.is_live() {
                    return Err(VideoError::Ended);
                }
                let Some(me) = s.seat_mut(&seat.id).filter(|m| !m.removed) else { return Err(VideoError::NotInvited) };
                let first = me.in_room_since.is_none();
                me.in_room_since.get_or_insert(now);
                me.socket = Some(conn);
                if first && !s.joined.contains(&seat.label) {
                    s.joined.push(seat.label.clone());
                }
                Ok(first)
            })
            .await?;
        let membership = self.0.rooms.enter(&session.id, &seat.id, conn);
        let peers: Vec<_> = session
            .seats
            .iter()
            .filter(|s| s.id != seat.id && session.in_room(&s.id))
            .map(|s| json!({ "id": s.id, "kind": s.kind, "label": s.label }))
            .collect();
        let me = json!({ "id": seat.id, "kind": seat.kind, "label": seat.label });
        let welcome = json!({
            "type": "welcome", "you": me, "peers": peers, "session_id": session.id,
            "incident_id": session.incident_id, "started_at": session.started_at,
            "runs_room": runs_the_room(seat.kind),
        });
        // The seat's sockets elsewhere close; then the others hear of the newcomer (whose
        // offers follow on the same connection, so after this).
        let replaced = Audience { seat: Some(&seat.id), except: None, spare_conn: Some(conn) };
        let close = Outbound::Close(crate::video::close::REPLACED, "opened again elsewhere");
        let _ = self.tell(&session.id, replaced, close).await;
        let joined = Outbound::Text(json!({ "type": "joined", "peer": me }).to_string().into());
        let _ = self.tell(&session.id, Audience::all_but(Some(&seat.id)), joined).await;
        if first_time {
            let event = Event::VideoJoined {
                session_id: session.id.clone(),
                kind: seat.kind.as_str().into(),
                label: seat.label.clone(),
            };
            self.timeline(&session.incident_id, ActorRole::System, seat.account_id.clone(), event).await;
        }
        Ok((welcome.to_string(), membership))
    }

    /// A socket of `seat` closed. If no newer socket (on any instance) holds the seat, it has
    /// left the room: everyone else is told and the timeline gets the stay's length.
    pub async fn left(&self, session_id: &str, seat: &Seat, conn: u64) {
        if !self.0.rooms.leave(session_id, &seat.id, conn) {
            return;
        }
        let now = self.now();
        let changed = self
            .change(session_id, |s| {
                let me = s.seat_mut(&seat.id).ok_or(VideoError::NotInvited)?;
                if me.socket != Some(conn) {
                    return Ok(None);
                }
                me.socket = None;
                Ok(Some((me.in_room_since.take(), me.removed)))
            })
            .await;
        let (session, since, removed) = match changed {
            Ok((session, Some((since, removed)))) => (session, since, removed),
            Ok((_, None)) => return,
            Err(e) => {
                tracing::warn!(session_id, error = %e, "could not record a video participant leaving");
                return;
            }
        };
        let left = Outbound::Text(json!({ "type": "left", "id": seat.id }).to_string().into());
        let _ = self.tell(session_id, Audience::all_but(None), left).await;
        if let Some(since) = since {
            let seconds = u64::try_from(now.duration_since(since).as_secs()).unwrap_or(0);
            let event =
                Event::VideoLeft { session_id: session.id.clone(), label: seat.label.clone(), seconds, removed };
            self.timeline(&session.incident_id, ActorRole::System, seat.account_id.clone(), event).await;
        }
    }

    /// Relay a signaling message from `from` to exactly the seat `to`, wherever its socket is
    /// (`from` is filled in here, so no page can speak for another). An observer's
    /// descriptions must receive only.
    ///
    /// # Errors
    /// `NotHere` when `to` is not in the room; `ObserverSends`; `Store`.
    pub async fn relay(
        &self,
        session_id: &str,
        from: &Seat,
        to: &str,
        mut message: serde_json::Value,
    ) -> Result<(), VideoError> {
        if from.kind == SeatKind::Observer
            && let Some(description) = message.get("description").filter(|d| !d.is_null())
        {
            let sdp = description["sdp"].as_str().unwrap_or_default();
            if sdp.is_empty() || sdp::sends_media(sdp) {
                return Err(VideoError::ObserverSends);
            }
        }
        if to == from.id || !self.session(session_id).await?.in_room(to) {
            return Err(VideoError::NotHere);
        }
        message["from"] = json!(from.id);
        message.as_object_mut().map(|m| m.remove("to"));
        self.tell(session_id, Audience::seat(to), Outbound::Text(message.to_string().into())).await
    }

    /// Tell everyone else in the room that `from`'s state changed (muted, camera off…).
    pub async fn announce(&self, session_id: &str, from: &str, mut message: serde_json::Value) {
        message["from"] = json!(from);
        let _ = self.tell(session_id, Audience::all_but(Some(from)), Outbound::Text(message.to_string().into())).await;
    }
}
