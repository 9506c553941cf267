//! This instance's open video sockets, by session and seat: signaling is relayed between the
//! sockets of one session, which all run on the instance that holds the session's room (see
//! docs/operations.md: route `/api/v1/video/ws` by its `session` query parameter).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// The sockets of every session on this instance. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Rooms(Arc<RoomsInner>);

/// One session's sockets here: seat id → (connection number, queue).
type Room = HashMap<String, (u64, mpsc::Sender<Outbound>)>;

#[derive(Debug, Default)]
struct RoomsInner {
    /// Session id → its room. Never held across an `.await`.
    rooms: Mutex<HashMap<String, Room>>,
    next: AtomicU64,
}

/// One socket's place in a room.
#[derive(Debug)]
pub struct Membership {
    /// Its connection number (a reconnect of the same seat gets a new one).
    pub conn: u64,
    /// What it is told.
    pub rx: mpsc::Receiver<Outbound>,
}

impl Rooms {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Room>) -> T) -> T {
        f(&mut self.0.rooms.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Seat `seat` in `session`: a socket the seat already had is told to close (replaced).
    #[must_use]
    pub fn enter(&self, session: &str, seat: &str) -> Membership {
        let (tx, rx) = mpsc::channel(QUEUE);
        let conn = self.0.next.fetch_add(1, Ordering::Relaxed);
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

    /// Seats with an open socket here.
    #[must_use]
    pub fn present(&self, session: &str) -> Vec<String> {
        self.with(|r| r.get(session).map(|room| room.keys().cloned().collect()).unwrap_or_default())
    }

    /// Tell one seat; false if it has no socket here.
    pub fn tell(&self, session: &str, seat: &str, message: Outbound) -> bool {
        let tx = self.with(|r| r.get(session).and_then(|room| room.get(seat)).map(|(_, tx)| tx.clone()));
        tx.is_some_and(|tx| tx.try_send(message).is_ok())
    }

    /// Tell every seat but `except`.
    pub fn tell_all(&self, session: &str, except: Option<&str>, message: &Outbound) {
        let targets: Vec<_> = self.with(|r| {
            r.get(session)
                .map(|room| {
                    room.iter().filter(|(s, _)| Some(s.as_str()) != except).map(|(_, (_, tx))| tx.clone()).collect()
                })
                .unwrap_or_default()
        });
        for tx in targets {
            let _ = tx.try_send(message.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_seat_replaces_its_old_socket_and_the_old_one_leaving_changes_nothing() {
        let rooms = Rooms::default();
        let mut first = rooms.enter("s", "p1");
        let second = rooms.enter("s", "p1");
        assert_eq!(first.rx.try_recv(), Ok(Outbound::Close(crate::video::close::REPLACED, "opened again elsewhere")));
        assert!(!rooms.leave("s", "p1", first.conn));
        assert_eq!(rooms.present("s"), vec!["p1".to_owned()]);
        assert!(rooms.leave("s", "p1", second.conn));
        assert!(rooms.present("s").is_empty());
    }
}
