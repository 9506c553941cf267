//! The in-process WebSocket hub: fan-out of messages to this instance's mediator and operator
//! sockets. Every socket has a bounded queue; a socket whose queue is full is dropped (its
//! channel closes and its task closes the WebSocket) so one stalled phone never slows others.
//!
//! Cross-instance delivery is the bus's job (`store::Bus`); the hub only knows local sockets.

pub mod wire;

use crate::domain::account::Fix;
use crate::domain::area::{AreaPath, Scope};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::location::GeoPoint;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// A message ready to send, shared by all recipients.
pub type Payload = Arc<str>;

#[derive(Default)]
struct Inner {
    next_id: u64,
    mediators: HashMap<AccountId, Vec<(u64, mpsc::Sender<Payload>)>>,
    /// Operator sockets, each with what it is shown.
    operators: Vec<(u64, mpsc::Sender<Payload>, Screen)>,
    moved: HashMap<AccountId, Fix>,
    /// Gone off duty, with where they were last (None: never placed, so shown nowhere scoped).
    off_duty: HashMap<AccountId, Option<GeoPoint>>,
}

/// What an operator socket is shown: the area its account names, and the scope that gave.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Screen {
    area: Option<String>,
    scope: Scope,
}

/// Deliver to one sender; false if the socket must be dropped (full or gone).
fn offer(tx: &mpsc::Sender<Payload>, payload: &Payload) -> bool {
    match tx.try_send(payload.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            metrics::counter!("gd_ws_slow_consumer_dropped_total").increment(1);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Something changed that a resident's tracking stream may need to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An incident changed state.
    Incident(IncidentId),
    /// A mediator moved.
    Mediator(AccountId),
}

/// Shared handle to the hub. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    queue_len: usize,
    /// Changes for tracking streams; latest-wins (a lagging stream just re-reads).
    changes: tokio::sync::broadcast::Sender<Change>,
    /// std Mutex: sends are `try_send`, nothing awaits while it is held.
    inner: Arc<Mutex<Inner>>,
}

/// Which audience a subscription belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Audience {
    Mediator(AccountId),
    Operator(Screen),
}

/// One socket's registration; unregisters on drop.
pub struct Subscription {
    id: u64,
    audience: Audience,
    hub: Hub,
    /// Messages for this socket; `None` from `recv` means the hub dropped it (too slow).
    pub rx: mpsc::Receiver<Payload>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut g = self.hub.lock();
        match &self.audience {
            Audience::Mediator(m) => {
                if let Some(list) = g.mediators.get_mut(m) {
                    list.retain(|(id, _)| *id != self.id);
                    if list.is_empty() {
                        g.mediators.remove(m);
                    }
                }
            }
            Audience::Operator(_) => g.operators.retain(|(id, ..)| *id != self.id),
        }
    }
}

impl Hub {
    /// A hub whose sockets queue at most `queue_len` messages.
    #[must_use]
    pub fn new(queue_len: usize) -> Self {
        let (changes, _) = tokio::sync::broadcast::channel(1024);
        Self { queue_len: queue_len.max(1), changes, inner: Arc::default() }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn register(&self, audience: Audience) -> Subscription {
        let (tx, rx) = mpsc::channel(self.queue_len);
        let mut g = self.lock();
        g.next_id += 1;
        let id = g.next_id;
        match &audience {
            Audience::Mediator(m) => g.mediators.entry(m.clone()).or_default().push((id, tx)),
            Audience::Operator(screen) => g.operators.push((id, tx, screen.clone())),
        }
        drop(g);
        Subscription { id, audience, hub: self.clone(), rx }
    }

    /// Register a mediator's socket (a mediator may have several: phone and tablet).
    #[must_use]
    pub fn register_mediator(&self, mediator: &AccountId) -> Subscription {
        self.register(Audience::Mediator(mediator.clone()))
    }

    /// Register an operator's socket: its account names `area`, which gave it `scope` (see
    /// [`Self::rescope_operators`]); it is sent only what lies in that scope.
    #[must_use]
    pub fn register_operator(&self, area: Option<String>, scope: Scope) -> Subscription {
        self.register(Audience::Operator(Screen { area, scope }))
    }

    /// The area map changed: drop every operator socket whose scope `resolve` now gives
    /// differently (None: it may see nothing), so its screen reconnects and starts again from
    /// a snapshot of its new scope. Returns how many were dropped.
    pub fn rescope_operators(&self, resolve: &dyn Fn(Option<&str>) -> Option<Scope>) -> usize {
        let mut g = self.lock();
        let before = g.operators.len();
        g.operators.retain(|(_, _, screen)| resolve(screen.area.as_deref()).as_ref() == Some(&screen.scope));
        before - g.operators.len()
    }

    /// Send to every local socket of these mediators.
    pub fn send_mediators(&self, mediators: &[AccountId], payload: &Payload) {
        let mut g = self.lock();
        for m in mediators {
            if let Some(list) = g.mediators.get_mut(m) {
                list.retain(|(_, tx)| offer(tx, payload));
            }
        }
    }

    /// Send to every local operator socket whose scope the message's place lies in (a message
    /// with no place goes to all).
    pub fn send_operators(&self, payload: &Payload, place: Option<&AreaPath>) {
        self.lock().operators.retain(|(_, tx, screen)| match place {
            Some(path) if !screen.scope.sees_path(path) => true,
            _ => offer(tx, payload),
        });
    }

    /// Remember a move for the next operator batch (latest wins).
    pub fn queue_position(&self, mediator: &AccountId, fix: Fix) {
        let mut g = self.lock();
        if g.operators.is_empty() {
            return;
        }
        g.off_duty.remove(mediator);
        g.moved.insert(mediator.clone(), fix);
    }

    /// Remember a duty-off for the next operator batch, with the mediator's last position (it
    /// decides which scoped screens are told).
    pub fn queue_off_duty(&self, mediator: &AccountId, last: Option<GeoPoint>) {
        let mut g = self.lock();
        if g.operators.is_empty() {
            return;
        }
        g.moved.remove(mediator);
        g.off_duty.insert(mediator.clone(), last);
    }

    /// Send the pending batch of position changes to operators, if any.
    ///
    /// A screen limited to an area gets only the moves and duty-offs that `locate` places in
    /// it: nothing of a mediator elsewhere, not even their id.
    pub fn flush_positions(&self, locate: &dyn Fn(GeoPoint) -> AreaPath) {
        let mut g = self.lock();
        if g.moved.is_empty() && g.off_duty.is_empty() {
            return;
        }
        let moved: Vec<(AccountId, Fix)> = g.moved.drain().collect();
        let off_duty: Vec<(AccountId, Option<GeoPoint>)> = g.off_duty.drain().collect();
        let scoped = g.operators.iter().any(|(_, _, screen)| screen.scope != Scope::All);
        let places: HashMap<&AccountId, AreaPath> = if scoped {
            let points = moved.iter().map(|(id, f)| (id, Some(f.point))).chain(off_duty.iter().map(|(id, p)| (id, *p)));
            points.filter_map(|(id, point)| Some((id, locate(point?)))).collect()
        } else {
            HashMap::new()
        };
        // None when nothing of the batch lies in `scope`.
        let batch = |scope: &Scope| -> Option<Payload> {
            let keep = |id: &AccountId| *scope == Scope::All || places.get(id).is_some_and(|p| scope.sees_path(p));
            let updates: Vec<_> =
                moved.iter().filter(|(id, _)| keep(id)).map(|(id, f)| wire::MediatorPosition::new(id, f)).collect();
            let off_duty: Vec<_> = off_duty.iter().filter(|(id, _)| keep(id)).map(|(id, _)| id.to_string()).collect();
            let any = !updates.is_empty() || !off_duty.is_empty();
            any.then(|| wire::to_json(&wire::OperatorMessage::Positions { updates, off_duty }).into())
        };
        // One batch per distinct scope, built only when a screen has that scope.
        let mut per_scope: Vec<(Scope, Option<Payload>)> = Vec::new();
        g.operators.retain(|(_, tx, screen)| {
            let payload = match per_scope.iter().find(|(s, _)| *s == screen.scope) {
                Some((_, p)) => p.clone(),
                None => {
                    let p = batch(&screen.scope);
                    per_scope.push((screen.scope.clone(), p.clone()));
                    p
                }
            };
            payload.is_none_or(|p| offer(tx, &p))
        });
    }

    /// Announce a change to tracking streams on this instance.
    pub fn announce(&self, change: Change) {
        // Nobody watching is fine.
        let _ = self.changes.send(change);
    }

    /// Watch changes (for one tracking stream).
    #[must_use]
    pub fn watch_changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Local sockets, for metrics: (mediator sockets, operator sockets).
    #[must_use]
    pub fn socket_counts(&self) -> (usize, usize) {
        let g = self.lock();
        (g.mediators.values().map(Vec::len).sum(), g.operators.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stalled_socket_is_dropped_without_blocking_the_others() {
        let hub = Hub::new(2);
        let m = AccountId::generate();
        let mut stalled = hub.register_mediator(&m);
        let mut healthy = hub.register_operator(None, Scope::All);
        for i in 0..5 {
            let p: Payload = format!("{{\"n\":{i}}}").into();
            hub.send_mediators(std::slice::from_ref(&m), &p);
            hub.send_operators(&p, None);
            assert_eq!(&*healthy.rx.recv().await.unwrap(), &*p);
        }
        // The stalled socket got its two queued messages, then its channel closed.
        assert!(stalled.rx.recv().await.is_some());
        assert!(stalled.rx.recv().await.is_some());
        assert!(stalled.rx.recv().await.is_none());
        assert_eq!(hub.socket_counts(), (0, 1));
    }
}
