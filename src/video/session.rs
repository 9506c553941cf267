//! A video session and its seats: pure types and rules (who counts toward the cap, who may
//! remove whom), no I/O.

use crate::domain::ids::IncidentId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a seat is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeatKind {
    /// The mediator holding the incident (or the operator) who started it: runs the room.
    Host,
    /// A party to the dispute, invited through the tracking page or WeChat.
    Party,
    /// A department's participant (an expert, a judge).
    Department,
    /// A command-center operator taking part.
    Operator,
    /// The command center watching: receives only, not counted toward the cap.
    Observer,
}

impl SeatKind {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Party => "party",
            Self::Department => "department",
            Self::Operator => "operator",
            Self::Observer => "observer",
        }
    }

    /// Whether it sends audio and video (observers only receive).
    #[must_use]
    pub const fn sends(self) -> bool {
        !matches!(self, Self::Observer)
    }
}

/// One person's place in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// Short id, unique in the session (`p` + 8 hex): what signaling addresses.
    pub id: String,
    /// What for.
    pub kind: SeatKind,
    /// How the room and the timeline show them (never a phone or ID number).
    pub label: String,
    /// The staff account, for hosts, operators and observers.
    #[serde(default)]
    pub account_id: Option<String>,
    /// SHA-256 of the seat token (the token itself is only ever in the holder's page).
    pub token_hash: String,
    /// When their socket first opened this time (None: not in the room).
    #[serde(default)]
    pub in_room_since: Option<Timestamp>,
    /// Set when the host removed them: the seat opens no socket again.
    #[serde(default)]
    pub removed: bool,
    /// The connection (any instance's) that holds the seat now: when an older one closes, the
    /// seat has not left.
    #[serde(default)]
    pub socket: Option<u64>,
}

/// A video mediation session on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSession {
    /// The session id (UUIDv7).
    pub id: String,
    /// The incident it belongs to.
    pub incident_id: IncidentId,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended (None: live).
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// Everyone given a seat, in order.
    pub seats: Vec<Seat>,
    /// Labels of everyone who ever joined (for the timeline's summary).
    #[serde(default)]
    pub joined: Vec<String>,
    /// Invitations handed out (bounded: [`MAX_INVITATIONS`]).
    #[serde(default)]
    pub invitations: u32,
}

/// Invitations one session may hand out.
pub const MAX_INVITATIONS: u32 = 20;

/// Observers one session may have at once.
pub const MAX_OBSERVERS: usize = 2;

impl VideoSession {
    /// Seats that send media and were not removed (the ones the cap counts).
    #[must_use]
    pub fn senders(&self) -> usize {
        self.seats.iter().filter(|s| s.kind.sends() && !s.removed).count()
    }

    /// Observers not removed.
    #[must_use]
    pub fn observers(&self) -> usize {
        self.seats.iter().filter(|s| !s.kind.sends() && !s.removed).count()
    }

    /// Whether one more seat of `kind` fits: at most `max_senders` senders and
    /// [`MAX_OBSERVERS`] observers.
    #[must_use]
    pub fn has_room_for(&self, kind: SeatKind, max_senders: usize) -> bool {
        if kind.sends() { self.senders() < max_senders } else { self.observers() < MAX_OBSERVERS }
    }

    /// The seat with this id.
    #[must_use]
    pub fn seat(&self, id: &str) -> Option<&Seat> {
        self.seats.iter().find(|s| s.id == id)
    }

    /// The seat with this id, to change.
    pub fn seat_mut(&mut self, id: &str) -> Option<&mut Seat> {
        self.seats.iter_mut().find(|s| s.id == id)
    }

    /// The seat holding the token with this hash.
    #[must_use]
    pub fn seat_by_token(&self, token_hash: &str) -> Option<&Seat> {
        self.seats.iter().find(|s| s.token_hash == token_hash)
    }

    /// Whether `id` is a seat in the room now (not removed, with a socket open somewhere).
    #[must_use]
    pub fn in_room(&self, id: &str) -> bool {
        self.seat(id).is_some_and(|s| !s.removed && s.in_room_since.is_some())
    }

    /// Whether it is still going.
    #[must_use]
    pub const fn is_live(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// Whether a seat of kind `by` may remove others and end the session: the host and operators.
#[must_use]
pub const fn runs_the_room(by: SeatKind) -> bool {
    matches!(by, SeatKind::Host | SeatKind::Operator)
}

/// A one-time invitation (stored under the hash of its token, taken exactly once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The session it admits to.
    pub session_id: String,
    /// The seat it gives.
    pub kind: SeatKind,
    /// The label the seat gets.
    pub label: String,
    /// After this it is refused (410 `invitation_expired`).
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(kind: SeatKind, removed: bool) -> Seat {
        Seat {
            id: "p".into(),
            kind,
            label: String::new(),
            account_id: None,
            token_hash: String::new(),
            in_room_since: None,
            removed,
            socket: None,
        }
    }

    #[test]
    fn observers_and_removed_seats_do_not_count_toward_the_cap() {
        let mut s = VideoSession {
            id: "s".into(),
            incident_id: IncidentId::generate(),
            started_at: Timestamp::UNIX_EPOCH,
            ended_at: None,
            seats: vec![seat(SeatKind::Host, false), seat(SeatKind::Party, true), seat(SeatKind::Observer, false)],
            joined: vec![],
            invitations: 0,
        };
        assert_eq!(s.senders(), 1);
        assert!(s.has_room_for(SeatKind::Party, 2));
        s.seats.push(seat(SeatKind::Party, false));
        assert!(!s.has_room_for(SeatKind::Party, 2));
        assert!(s.has_room_for(SeatKind::Observer, 2));
        s.seats.push(seat(SeatKind::Observer, false));
        assert!(!s.has_room_for(SeatKind::Observer, 2));
    }
}
