//! The command center's big screens: operator sockets on `/api/v1/command/live` that watch
//! every mediator move and every incident change while the phones stream and residents report,
//! as a district's command center does all day.
//!
//! Each screen measures what its operators would notice: how long a new report takes to
//! appear (from the resident's send, tagged in the description as for offers), how stale the
//! positions it draws are (from the server's receipt of the phone's position, the `at` of an
//! update, to the screen), and how much it receives.

use crate::fleet::{sent_ns, unix_ns};
use anyhow::Context;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::Value;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// What every screen measured, together.
pub struct ScreenStats {
    /// Report posted → its `reported` event on a screen, µs.
    pub report_us: Mutex<Histogram<u64>>,
    /// Position received by the service → drawn on a screen, µs (one sample per update).
    pub position_lag_us: Mutex<Histogram<u64>>,
    /// Position updates received (all screens).
    pub position_updates: AtomicU64,
    /// Messages and bytes received (all screens), after the snapshot.
    pub messages: AtomicU64,
    /// See `messages`.
    pub bytes: AtomicU64,
    /// Bytes of the first snapshot, per screen (the largest).
    pub snapshot_bytes: AtomicU64,
    /// Screens that could not connect or were closed by the server.
    pub lost: AtomicU64,
    /// Why the first lost screen was lost.
    pub first_loss: Mutex<Option<String>>,
}

impl ScreenStats {
    /// All zero.
    pub fn new() -> Self {
        let hist = || Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"));
        Self {
            report_us: hist(),
            position_lag_us: hist(),
            position_updates: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            snapshot_bytes: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            first_loss: Mutex::new(None),
        }
    }

    /// Forget what was counted so far (the connect and warm-up before the steady window).
    pub fn reset(&self) {
        for h in [&self.report_us, &self.position_lag_us] {
            h.lock().unwrap_or_else(std::sync::PoisonError::into_inner).reset();
        }
        for c in [&self.position_updates, &self.messages, &self.bytes] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

impl ScreenStats {
    fn lose(&self, why: String) {
        self.lost.fetch_add(1, Ordering::Relaxed);
        self.first_loss.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(why);
    }
}

fn record(h: &Mutex<Histogram<u64>>, ns: u64) {
    h.lock().unwrap_or_else(std::sync::PoisonError::into_inner).saturating_record((ns / 1000).max(1));
}

/// Screens watching on a thread and runtime of their own: parsing their feed (thousands of
/// positions a second) must not hold up posting the residents' reports, whose send is where
/// report → offer starts. (A real screen is a browser on another machine.)
pub struct Screens {
    rt: tokio::runtime::Runtime,
    stop: watch::Sender<bool>,
    watching: Vec<tokio::task::JoinHandle<()>>,
}

impl Screens {
    /// One screen per operator token, spread over `bases`; returns once each has its snapshot.
    ///
    /// # Errors
    /// When a screen gets no snapshot within [`CONNECT_WITHIN`].
    pub async fn start(bases: &[String], tokens: &[String], stats: &'static ScreenStats) -> anyhow::Result<Self> {
        let (stop, stop_rx) = watch::channel(false);
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(tokens.len().max(1));
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        let watching = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let base = bases[i % bases.len()].clone();
                rt.spawn(watch(base, token.clone(), stats, ready_tx.clone(), stop_rx.clone()))
            })
            .collect();
        drop(ready_tx);
        let me = Self { rt, stop, watching };
        for _ in tokens {
            tokio::time::timeout(CONNECT_WITHIN, ready.recv())
                .await
                .context("a command-center screen got no snapshot")?;
        }
        Ok(me)
    }

    /// Close every screen.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for w in self.watching {
            let _ = w.await;
        }
        self.rt.shutdown_background();
    }
}

/// Hold one screen until `stop`. `connected` is told once its snapshot has arrived.
pub async fn watch(
    base: String,
    token: String,
    stats: &'static ScreenStats,
    connected: tokio::sync::mpsc::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    let url = format!("{}/api/v1/command/live?access_token={token}", base.replacen("http", "ws", 1));
    let ws = match tokio_tungstenite::connect_async_with_config(&url, None, true).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            stats.lose(format!("connect: {e}"));
            let _ = connected.send(()).await;
            return;
        }
    };
    let (_tx, mut rx) = ws.split();
    let mut snapshot_seen = false;
    loop {
        let msg = tokio::select! {
            _ = stop.changed() => return,
            msg = rx.next() => msg,
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                stats.lose(format!("closed by the server: {frame:?}"));
                return;
            }
            Some(Err(e)) => {
                stats.lose(format!("read: {e}"));
                return;
            }
            None => {
                stats.lose("the socket ended".to_owned());
                return;
            }
            Some(Ok(_)) => continue,
        };
        let received_ns = unix_ns();
        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
        match v["type"].as_str() {
            Some("snapshot") if !snapshot_seen => {
                snapshot_seen = true;
                stats.snapshot_bytes.fetch_max(text.len() as u64, Ordering::Relaxed);
                let _ = connected.send(()).await;
                continue;
            }
            Some("positions") => {
                let updates = v["updates"].as_array().map_or(&[][..], Vec::as_slice);
                stats.position_updates.fetch_add(updates.len() as u64, Ordering::Relaxed);
                for u in updates {
                    let at = u["at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
                    if let Some(at) = at.and_then(|t| u64::try_from(t.as_nanosecond()).ok()) {
                        record(&stats.position_lag_us, received_ns.saturating_sub(at));
                    }
                }
            }
            Some("incident") if v["event"]["type"] == "reported" => {
                if let Some(sent) = v["incident"]["description"].as_str().and_then(sent_ns) {
                    record(&stats.report_us, received_ns.saturating_sub(sent));
                }
            }
            _ => {}
        }
        stats.messages.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
    }
}

/// How long to wait for every screen's snapshot.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(60);
