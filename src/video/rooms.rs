//! This instance's open video sockets, by session and seat. Whatever the room tells its
//! sockets travels over the bus ([`crate::store::BusMessage::VideoRoom`]) and every instance
//! hands it to the sockets it holds here, so two participants of one session may have landed on
//! different instances (docs/architecture.md, "Video signaling across instances").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// Messages queued for one socket before it counts as stalled (and is dropped).
const QUEUE: usize = 256;

/// What a socket is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// Send this text.
    Text(Arc<str>),
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// Who, in one session, a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience<'a> {
    /// The one seat addressed (None: every seat but `except`).
    pub seat: Option<&'a str>,
    /// Left out when addressing everyone.
    pub except: Option<&'a str>,
    /// A connection of the seat that is spared (the one that just replaced the others).
    pub spare_conn: Option<u64>,
}

impl<'a> Audience<'a> {
    /// Exactly this seat.
    #[must_use]
    pub const fn seat(seat: &'a str) -> Self {
        Self { seat: Some(seat), except: None, spare_conn: None }
    }

    /// Everyone in the session but `except`.
    #[must_use]
    pub const fn all_but(except: Option<&'a str>) -> Self {
        Self { seat: None, except, spare_conn: None }
    }

    fn includes(&self, seat: &str, conn: u64) -> bool {
        self.seat.is_none_or(|s| s == seat) && self.except != Some(seat) && self.spare_conn != Some(conn)
    }
}

/// The sockets of every session on this instance. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Rooms(Arc<RoomsInner>);

/// One session's sockets here: seat id → (connection number, queue).
type Room = HashMap<String, (u64, mpsc::Sender<Outbound>)>;

#[derive(Debug, Default)]
struct RoomsInner {
    /// Session id → its room. Never held across an `.await`.
    rooms: Mutex<HashMap<String, Room>>,
}

/// One socket's place in a room.
#[derive(Debug)]
pub struct Membership {
    /// Its connection number (a reconnect of the same seat gets a new one).
    pub conn: u64,
    /// What it is told.
    pub rx: mpsc::Receiver<Outbound>,
}

/// A connection number no other socket of any instance has: random, so instances need not
/// agree on a counter (a seat's record names the connection that holds it).
#[must_use]
pub fn new_conn() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_default();
    u64::from_le_bytes(bytes)
}

impl Rooms {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Room>) -> T) -> T {
        f(&mut self.0.rooms.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Seat `seat` in `session` with connection `conn` (from [`new_conn`]): a socket the seat
    /// already had here is told to close (replaced).
    #[must_use]
    pub fn enter(&self, session: &str, seat: &str, conn: u64) -> Membership {
        let (tx, rx) = mpsc::channel(QUEUE);
        let old = self.with(|r| r.entry(session.to_owned()).or_default().insert(seat.to_owned(), (conn, tx)));
        if let Some((_, old)) = old {
            let _ = old.try_send(Outbound::Close(super::close::REPLACED, "opened again elsewhere"));
        }
        Membership { conn, rx }
    }

    /// The socket `conn` of `seat` left; false if a newer socket of the seat had replaced it.
    pub fn leave(&self, session: &str, seat: &str, conn: u64) -> bool {
        self.with(|r| {
            let Some(room) = r.get_mut(session) else { return false };
            if room.get(seat).is_none_or(|(c, _)| *c != conn) {
                return false;
            }
            room.remove(seat);
            if room.is_empty() {
                r.remove(session);
            }
            true
        })
    }

    /// Hand `message` to the sockets of `session` here that `audience` names; how many.
    pub fn deliver(&self, session: &str, audience: Audience<'_>, message: &Outbound) -> usize {
        let targets: Vec<_> = self.with(|r| {
            r.get(session)
                .map(|room| {
                    room.iter()
                        .filter(|(seat, (conn, _))| audience.includes(seat, *conn))
                        .map(|(_, (_, tx))| tx.clone())
                        .collect()
                })
                .unwrap_or_default()
        });
        // A full queue is a stalled page: it misses this, and its socket's pings find it out.
        targets.iter().filter(|tx| tx.try_send(message.clone()).is_ok()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_seat_replaces_its_old_socket_and_the_old_one_leaving_changes_nothing() {
        let rooms = Rooms::default();
        let mut first = rooms.enter("s", "p1", 1);
        let second = rooms.enter("s", "p1", 2);
        assert_eq!(first.rx.try_recv(), Ok(Outbound::Close(crate::video::close::REPLACED, "opened again elsewhere")));
        assert!(!rooms.leave("s", "p1", first.conn));
        assert!(rooms.leave("s", "p1", second.conn));
        assert!(!rooms.leave("s", "p1", second.conn));
    }

    #[test]
    fn a_message_reaches_exactly_the_seats_its_audience_names() {
        let rooms = Rooms::default();
        let (mut a, mut b, mut other) = (rooms.enter("s", "a", 1), rooms.enter("s", "b", 2), rooms.enter("t", "a", 3));
        let hi = Outbound::Text("hi".into());
        assert_eq!(rooms.deliver("s", Audience::seat("a"), &hi), 1);
        assert_eq!(rooms.deliver("s", Audience::all_but(Some("a")), &hi), 1);
        let spared = Audience { seat: Some("b"), except: None, spare_conn: Some(2) };
        assert_eq!(rooms.deliver("s", spared, &hi), 0, "the sparing connection is left alone");
        assert_eq!((a.rx.try_recv(), b.rx.try_recv()), (Ok(hi.clone()), Ok(hi)));
        assert!(a.rx.try_recv().is_err() && b.rx.try_recv().is_err() && other.rx.try_recv().is_err());
    }
}
