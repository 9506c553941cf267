//! Residents' tracking streams on this instance. All the streams of one tracking token share one
//! watcher: it hears this instance's changes (the bus feed announces them), reads the store
//! once per change that concerns its report, and hands that view to every one of those
//! streams; a stream that joins takes the view held, without reading. Caps per token and per
//! client IP bound what one client can hold open, so one client cannot multiply the reads.
//!
//! Counts are per instance (each holds its own connections).

use super::{DispatchError, Dispatcher, TrackingView};
use crate::auth::sha256_hex;
use crate::domain::ids::{AccountId, IncidentId};
use crate::push::{Change, Hub};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// How many streams one instance holds open.
#[derive(Debug, Clone, Copy)]
pub struct StreamCaps {
    /// For one tracking token.
    pub per_token: usize,
    /// From one client IP.
    pub per_ip: usize,
}

/// Why a stream was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// This token has as many streams open as allowed.
    #[error("this tracking link has {0} live views open already; close one")]
    PerToken(usize),
    /// This address has as many streams open as allowed.
    #[error("this address has {0} live views open already; close one")]
    PerIp(usize),
    /// The token is unknown, or the store failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
}

/// This instance's tracking streams. Cheap to clone.
#[derive(Clone)]
pub struct TrackingStreams(Arc<Inner>);

struct Inner {
    dispatcher: Dispatcher,
    hub: Hub,
    caps: StreamCaps,
    shutdown: CancellationToken,
    /// Views read by watchers after a change (their first read, made by the stream that
    /// started them, is not counted).
    refreshes: AtomicU64,
    /// std Mutex: never held across an await.
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    by_ip: HashMap<IpAddr, usize>,
    /// By the token's digest.
    watchers: HashMap<String, Watcher>,
}

struct Watcher {
    id: u64,
    view: watch::Receiver<Arc<TrackingView>>,
    streams: usize,
    stop: CancellationToken,
}

/// One open stream: its report's view now and after each change (the channel closes when the
/// watcher stops: shutdown, or a failed read; EventSource reconnects). Leaves the caps on drop.
pub struct TrackingStream {
    /// The latest view.
    pub view: watch::Receiver<Arc<TrackingView>>,
    _slot: Slot,
}

/// A stream's place in the counts.
struct Slot {
    streams: TrackingStreams,
    key: String,
    ip: IpAddr,
    /// The watcher it joined (None while the first read is under way).
    watcher: Option<u64>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.lock();
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
        if let Some(w) = open.watchers.get_mut(&self.key)
            && Some(w.id) == self.watcher
        {
            w.streams = w.streams.saturating_sub(1);
            if w.streams == 0 {
                w.stop.cancel();
                open.watchers.remove(&self.key);
            }
        }
    }
}

impl TrackingStreams {
    /// No streams yet; watchers read through `dispatcher` and hear `hub`'s changes.
    #[must_use]
    pub fn new(dispatcher: Dispatcher, hub: Hub, caps: StreamCaps, shutdown: CancellationToken) -> Self {
        Self(Arc::new(Inner { dispatcher, hub, caps, shutdown, refreshes: AtomicU64::new(0), open: Mutex::default() }))
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.0.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Views read after changes so far, by every watcher on this instance.
    #[must_use]
    pub fn refreshes(&self) -> u64 {
        self.0.refreshes.load(Ordering::Relaxed)
    }

    /// Open a stream for `token` from `ip`: it joins the token's watcher, or starts one with a
    /// first read.
    ///
    /// # Errors
    /// [`OpenError::PerToken`] / [`OpenError::PerIp`] over the caps; `Dispatch(NotFound)` for
    /// an unknown token; `Dispatch(Store)`.
    pub async fn open(&self, token: &str, ip: IpAddr) -> Result<TrackingStream, OpenError> {
        let key = sha256_hex(token);
        let mut slot = {
            let mut open = self.lock();
            if open.by_ip.get(&ip).copied().unwrap_or(0) >= self.0.caps.per_ip {
                return Err(OpenError::PerIp(self.0.caps.per_ip));
            }
            let joined = self.join(&mut open, &key)?;
            *open.by_ip.entry(ip).or_default() += 1;
            let watcher = joined.as_ref().map(|(id, _)| *id);
            let slot = Slot { streams: self.clone(), key: key.clone(), ip, watcher };
            if let Some((_, view)) = joined {
                return Ok(TrackingStream { view, _slot: slot });
            }
            slot
        };
        // Hear changes before reading, so none falls in between.
        let changes = self.0.hub.watch_changes();
        let (view, holder) = self.0.dispatcher.tracking_and_holder(token).await?;
        let incident = IncidentId::parse(&view.id).map_err(|_| DispatchError::NotFound)?;
        let mut open = self.lock();
        // Another stream of this token may have started a watcher meanwhile: join it.
        if let Some((id, view)) = self.join(&mut open, &key)? {
            slot.watcher = Some(id);
            return Ok(TrackingStream { view, _slot: slot });
        }
        open.next_id += 1;
        let id = open.next_id;
        let (tx, rx) = watch::channel(Arc::new(view));
        let stop = self.0.shutdown.child_token();
        open.watchers.insert(key.clone(), Watcher { id, view: rx.clone(), streams: 1, stop: stop.clone() });
        drop(open);
        slot.watcher = Some(id);
        let watch = Watch { streams: self.clone(), key, id, token: token.to_owned(), incident, holder };
        tokio::spawn(watch.run(changes, tx, stop));
        Ok(TrackingStream { view: rx, _slot: slot })
    }

    /// Join the token's watcher if there is one (counting the stream in it).
    #[expect(clippy::type_complexity, reason = "a private helper's (id, view) pair")]
    fn join(&self, open: &mut Open, key: &str) -> Result<Option<(u64, watch::Receiver<Arc<TrackingView>>)>, OpenError> {
        let Some(w) = open.watchers.get_mut(key) else { return Ok(None) };
        if w.streams >= self.0.caps.per_token {
            return Err(OpenError::PerToken(self.0.caps.per_token));
        }
        w.streams += 1;
        Ok(Some((w.id, w.view.clone())))
    }
}

/// One token's watcher.
struct Watch {
    streams: TrackingStreams,
    key: String,
    id: u64,
    token: String,
    incident: IncidentId,
    /// Whose moves change the view (the holder, while the claim is active).
    holder: Option<AccountId>,
}

impl Watch {
    /// Does this change concern the report?
    fn concerns(&self, change: &Change) -> bool {
        match change {
            Change::Incident(id) => *id == self.incident,
            Change::Mediator(m) => self.holder.as_ref() == Some(m),
        }
    }

    /// Read once per change that concerns the report until stopped (the last stream left, or
    /// shutdown) or a read fails; then the streams end.
    async fn run(
        mut self,
        mut changes: broadcast::Receiver<Change>,
        tx: watch::Sender<Arc<TrackingView>>,
        stop: CancellationToken,
    ) {
        use broadcast::error::{RecvError, TryRecvError};
        loop {
            let change = tokio::select! {
                () = stop.cancelled() => break,
                change = changes.recv() => change,
            };
            match change {
                Ok(c) if !self.concerns(&c) => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
            // Changes already waiting are covered by the read that follows.
            while !matches!(changes.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
            let inner = &self.streams.0;
            inner.refreshes.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("gd_tracking_refreshes_total").increment(1);
            match inner.dispatcher.tracking_and_holder(&self.token).await {
                Ok((view, holder)) => {
                    self.holder = holder;
                    tx.send_replace(Arc::new(view));
                }
                Err(e) => {
                    tracing::debug!(error = %e, incident_id = %self.incident, "tracking read failed; its streams end");
                    break;
                }
            }
        }
        let mut open = self.streams.lock();
        if open.watchers.get(&self.key).is_some_and(|w| w.id == self.id) {
            open.watchers.remove(&self.key);
        }
    }
}
