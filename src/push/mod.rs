//! The in-process WebSocket hub: fan-out of messages to this instance's mediator and operator
//! sockets. Every socket has a bounded queue; a socket whose queue is full is dropped (its
//! channel closes and its task closes the WebSocket) so one stalled phone never slows others.
//!
//! Cross-instance delivery is the bus's job (`store::Bus`); the hub only knows local sockets.
//!
//! Revocation: every socket of an account is registered under it, so disabling the account
//! ([`Hub::revoke`], called by the bus feed on every instance) unhooks them from delivery at once
//! and tells each socket's task why, so it closes with a code that says so.

pub mod call_in;
mod render;
pub mod wire;

use crate::domain::account::Fix;
use crate::domain::area::{AreaPath, Scope};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::location::GeoPoint;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};

/// A message ready to send, shared by all recipients.
pub type Payload = Arc<str>;

#[derive(Default)]
struct Inner {
    next_id: u64,
    mediators: HashMap<AccountId, Vec<(u64, mpsc::Sender<Payload>)>>,
    /// Operator sockets, each with what it is shown.
    operators: Vec<(u64, mpsc::Sender<Payload>, Screen)>,
    /// Open screens per viewer (the token's `sub`), for `push.screens_per_account`.
    screens: HashMap<String, usize>,
    /// Each account's sockets (mediators' and operators'), to tell them they are revoked.
    revocable: HashMap<AccountId, Vec<(u64, oneshot::Sender<Revoked>)>>,
    moved: HashMap<AccountId, Fix>,
    /// Gone off duty, with where they were last (None: never placed, so shown nowhere scoped).
    off_duty: HashMap<AccountId, Option<GeoPoint>>,
}

/// What an operator socket is shown: the area its account names, and the scope that gave;
/// and whom it is counted against (None: not counted).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Screen {
    area: Option<String>,
    scope: Scope,
    viewer: Option<String>,
}

impl Inner {
    fn unhook(&mut self, id: u64, audience: &Audience) {
        match audience {
            Audience::Mediator(m) => {
                if let Some(list) = self.mediators.get_mut(m) {
                    list.retain(|(i, _)| *i != id);
                    if list.is_empty() {
                        self.mediators.remove(m);
                    }
                }
            }
            Audience::Operator(_) => self.operators.retain(|(i, ..)| *i != id),
        }
    }
}

/// Why the server ends a socket on its own (the socket's close code says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// An admin disabled the account.
    AccountDisabled,
    /// An admin revoked the account's tokens or reset its password: sign in again.
    SignedOut,
}

/// Who watches a command-center screen: counted against the caps, revoked with the account.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The token's `sub` (an account id, or an operations name).
    pub sub: String,
    /// The operator's account (None for an operations admin token).
    pub account: Option<AccountId>,
}

/// How many screens one instance holds open.
#[derive(Debug, Clone, Copy)]
pub struct ScreenCaps {
    /// Per viewer.
    pub per_account: usize,
    /// In all.
    pub total: usize,
}

/// A screen refused by [`ScreenCaps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScreensFull {
    /// This viewer has as many screens open as allowed.
    #[error("this account has {0} command-center screens open already")]
    PerAccount(usize),
    /// This instance holds as many screens as allowed.
    #[error("this server holds {0} command-center screens already")]
    Total(usize),
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
    account: Option<AccountId>,
    hub: Hub,
    /// Messages for this socket; `None` from `recv` means the hub dropped it (too slow).
    pub rx: mpsc::Receiver<Payload>,
    /// Told once if the account is revoked.
    pub revocation: Revocation,
}

/// A socket's ear for [`Hub::revoke`] (a field of its own, so a task can wait on it and on
/// the message queue at once).
pub struct Revocation(Option<oneshot::Receiver<Revoked>>);

impl Revocation {
    /// Wait until the socket's account is revoked (forever if it never is, or has no account).
    pub async fn revoked(&mut self) -> Revoked {
        if let Some(rx) = self.0.as_mut()
            && let Ok(why) = rx.await
        {
            self.0 = None;
            return why;
        }
        // Heard already, or the hub let go of the sender: nothing more will come.
        self.0 = None;
        std::future::pending().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut g = self.hub.lock();
        g.unhook(self.id, &self.audience);
        if let Audience::Operator(Screen { viewer: Some(v), .. }) = &self.audience
            && let Some(n) = g.screens.get_mut(v)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.screens.remove(v);
            }
        }
        if let Some(account) = &self.account
            && let Some(list) = g.revocable.get_mut(account)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                g.revocable.remove(account);
            }
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

    /// Register under the held lock `g` (so a cap checked by the caller still holds).
    fn register_locked(&self, g: &mut Inner, audience: Audience, account: Option<AccountId>) -> Subscription {
        let (tx, rx) = mpsc::channel(self.queue_len);
        g.next_id += 1;
        let id = g.next_id;
        match &audience {
            Audience::Mediator(m) => g.mediators.entry(m.clone()).or_default().push((id, tx)),
            Audience::Operator(screen) => {
                g.operators.push((id, tx, screen.clone()));
                if let Some(v) = &screen.viewer {
                    *g.screens.entry(v.clone()).or_default() += 1;
                }
            }
        }
        let revoked = account.as_ref().map(|a| {
            let (tell, told) = oneshot::channel();
            g.revocable.entry(a.clone()).or_default().push((id, tell));
            told
        });
        Subscription { id, audience, account, hub: self.clone(), rx, revocation: Revocation(revoked) }
    }

    /// Register a mediator's socket (a mediator may have several: phone and tablet).
    #[must_use]
    pub fn register_mediator(&self, mediator: &AccountId) -> Subscription {
        let mut g = self.lock();
        self.register_locked(&mut g, Audience::Mediator(mediator.clone()), Some(mediator.clone()))
    }

    /// Register an operator's socket: its account names `area`, which gave it `scope` (see
    /// [`Self::rescope_operators`]); it is sent only what lies in that scope. Uncounted and
    /// tied to no account (a screen is [`Self::register_screen`]).
    #[must_use]
    pub fn register_operator(&self, area: Option<String>, scope: Scope) -> Subscription {
        let mut g = self.lock();
        self.register_locked(&mut g, Audience::Operator(Screen { area, scope, viewer: None }), None)
    }

    /// Register a command-center screen of `viewer` (as [`Self::register_operator`]) within
    /// `caps`.
    ///
    /// # Errors
    /// [`ScreensFull`] when the viewer or this instance has as many screens as allowed.
    pub fn register_screen(
        &self,
        area: Option<String>,
        scope: Scope,
        viewer: Viewer,
        caps: ScreenCaps,
    ) -> Result<Subscription, ScreensFull> {
        let mut g = self.lock();
        if g.screens.get(&viewer.sub).copied().unwrap_or(0) >= caps.per_account {
            return Err(ScreensFull::PerAccount(caps.per_account));
        }
        if g.operators.len() >= caps.total {
            return Err(ScreensFull::Total(caps.total));
        }
        let audience = Audience::Operator(Screen { area, scope, viewer: Some(viewer.sub) });
        Ok(self.register_locked(&mut g, audience, viewer.account))
    }

    /// Revoke every local socket of `account`: nothing more is delivered to them, and each is
    /// told `why` (its task closes it). Returns how many there were.
    pub fn revoke(&self, account: &AccountId, why: Revoked) -> usize {
        let mut g = self.lock();
        let Some(sockets) = g.revocable.remove(account) else { return 0 };
        let count = sockets.len();
        for (id, tell) in sockets {
            g.unhook(id, &Audience::Mediator(account.clone()));
            g.operators.retain(|(i, ..)| *i != id);
            // A socket already gone does not listen: fine.
            let _ = tell.send(why);
        }
        drop(g);
        metrics::counter!("gd_ws_revoked_total").increment(count as u64);
        count
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

    /// Whether this mediator has a socket on this instance.
    #[must_use]
    pub fn has_mediator(&self, mediator: &AccountId) -> bool {
        self.lock().mediators.contains_key(mediator)
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

    #[tokio::test]
    async fn revoking_an_account_unhooks_its_sockets_and_tells_them_why() {
        let hub = Hub::new(8);
        let m = AccountId::generate();
        let mut phone = hub.register_mediator(&m);
        let viewer = Viewer { sub: "op".into(), account: Some(AccountId::generate()) };
        let caps = ScreenCaps { per_account: 1, total: 2 };
        let other = hub.register_screen(None, Scope::All, viewer.clone(), caps).unwrap();
        assert_eq!(hub.register_screen(None, Scope::All, viewer, caps).err(), Some(ScreensFull::PerAccount(1)));
        assert_eq!(hub.revoke(&m, Revoked::AccountDisabled), 1);
        assert_eq!(phone.revocation.revoked().await, Revoked::AccountDisabled);
        hub.send_mediators(std::slice::from_ref(&m), &Payload::from("{}"));
        assert!(phone.rx.recv().await.is_none(), "nothing more is delivered");
        assert_eq!(hub.socket_counts(), (0, 1));
        drop(other);
        assert_eq!(hub.socket_counts(), (0, 0));
    }
}
