//! The simulated people: mediators holding WebSockets (duty on, positions along a path every
//! P seconds, accepting a share of their offers) and residents posting reports at R per second.
//!
//! Mediators may run in other processes than the residents (one process cannot hold 20,000
//! sockets under this machine's open-files limit), so a report carries its send time as wall
//! clock nanoseconds in its description (`lt#<seq>@<ns>`), and every process measures
//! report → offer against the same clock.

use crate::city::{City, Rng, Walker};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// Everything the simulated clients of one process measure, shared by all of them.
pub struct Stats {
    /// Report posted → offer received on a mediator's socket, µs (every offer).
    pub offer_us: Mutex<Histogram<u64>>,
    /// Accept request → response, µs.
    pub accept_us: Mutex<Histogram<u64>>,
    /// Report POST → 201, µs.
    pub report_us: Mutex<Histogram<u64>>,
    /// Positions written to sockets.
    pub positions_sent: AtomicU64,
    /// Reports answered 201.
    pub reports_ok: AtomicU64,
    /// Offers received on sockets.
    pub offers_received: AtomicU64,
    /// Accepts answered 200 (won) and 409 (someone else was first).
    pub accepts_won: AtomicU64,
    /// See `accepts_won`.
    pub accepts_lost: AtomicU64,
    /// Sockets the server closed (1013 "too slow" included) or that failed.
    pub sockets_lost: AtomicU64,
    /// Sockets that could not be opened.
    pub connect_errors: AtomicU64,
    /// HTTP answers other than 2xx/409, and transport errors.
    pub errors: AtomicU64,
    /// The first few error descriptions.
    pub error_samples: Mutex<Vec<String>>,
    /// First-wave offers slower than [`OFFER_TARGET`]: (sent, the report's `created_at`,
    /// received), wall-clock ns (at most [`KEEP_SLOW`]), to match against the machine's stalls
    /// and to tell the time before the service took the report from the time after.
    pub slow_offers: Mutex<Vec<(u64, u64, u64)>>,
}

/// The report → offer target (p99).
pub const OFFER_TARGET: Duration = Duration::from_millis(5);
const KEEP_SLOW: usize = 50_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

/// Wall-clock nanoseconds since the Unix epoch (the same clock in every process).
pub fn unix_ns() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

impl Stats {
    /// All zero.
    pub fn new() -> Self {
        let hist = || Mutex::new(histogram());
        Self {
            offer_us: hist(),
            accept_us: hist(),
            report_us: hist(),
            positions_sent: AtomicU64::new(0),
            reports_ok: AtomicU64::new(0),
            offers_received: AtomicU64::new(0),
            accepts_won: AtomicU64::new(0),
            accepts_lost: AtomicU64::new(0),
            sockets_lost: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            error_samples: Mutex::new(Vec::new()),
            slow_offers: Mutex::new(Vec::new()),
        }
    }

    fn counters(&self) -> [(&'static str, &AtomicU64); 8] {
        [
            ("positions_sent", &self.positions_sent),
            ("reports_ok", &self.reports_ok),
            ("offers_received", &self.offers_received),
            ("accepts_won", &self.accepts_won),
            ("accepts_lost", &self.accepts_lost),
            ("sockets_lost", &self.sockets_lost),
            ("connect_errors", &self.connect_errors),
            ("errors", &self.errors),
        ]
    }

    fn histograms(&self) -> [(&'static str, &Mutex<Histogram<u64>>); 3] {
        [("offer_us", &self.offer_us), ("accept_us", &self.accept_us), ("report_us", &self.report_us)]
    }

    /// Everything measured, as JSON (a worker process hands it to the orchestrator).
    pub fn to_json(&self) -> Value {
        let mut v = json!({});
        for (name, counter) in self.counters() {
            v[name] = json!(counter.load(Ordering::Relaxed));
        }
        for (name, h) in self.histograms() {
            let h = h.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let pairs: Vec<(u64, u64)> =
                h.iter_recorded().map(|r| (r.value_iterated_to(), r.count_at_value())).collect();
            v[name] = json!(pairs);
        }
        v["error_samples"] = json!(*self.error_samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        v["slow_offers"] = json!(*self.slow_offers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        v
    }

    /// Add what another process measured (from [`Stats::to_json`]).
    pub fn absorb(&self, v: &Value) {
        for (name, counter) in self.counters() {
            counter.fetch_add(v[name].as_u64().unwrap_or(0), Ordering::Relaxed);
        }
        for (name, h) in self.histograms() {
            let mut h = h.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for pair in v[name].as_array().into_iter().flatten() {
                if let (Some(value), Some(count)) = (pair[0].as_u64(), pair[1].as_u64()) {
                    h.saturating_record_n(value, count);
                }
            }
        }
        for sample in v["error_samples"].as_array().into_iter().flatten() {
            self.sample(sample.as_str().unwrap_or_default().to_owned());
        }
        for pair in v["slow_offers"].as_array().into_iter().flatten() {
            if let (Some(sent), Some(created), Some(received)) = (pair[0].as_u64(), pair[1].as_u64(), pair[2].as_u64())
            {
                self.slow_offer((sent, created, received));
            }
        }
    }

    fn slow_offer(&self, times: (u64, u64, u64)) {
        let mut slow = self.slow_offers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slow.len() < KEEP_SLOW {
            slow.push(times);
        }
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.sample(what);
    }

    /// Keep the first few error descriptions.
    fn sample(&self, what: String) {
        let mut samples = self.error_samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if samples.len() < 5 {
            samples.push(what);
        }
    }
}

fn record(h: &Mutex<Histogram<u64>>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.lock().unwrap_or_else(std::sync::PoisonError::into_inner).saturating_record(us);
}

/// When a load-test report was sent (wall-clock ns), from its description `lt#<seq>@<ns> …`.
pub fn sent_ns(description: &str) -> Option<u64> {
    let tag = description.strip_prefix("lt#")?.split_whitespace().next()?;
    tag.split_once('@')?.1.parse().ok()
}

/// One simulated mediator's identity.
#[derive(Clone)]
pub struct Mediator {
    /// Bearer token (its `sub` is the account id).
    pub token: String,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, token: &str) -> Option<Ws> {
    let url = format!("{}/api/v1/mediator/ws?access_token={token}", base.replacen("http", "ws", 1));
    for attempt in 0..3u64 {
        // Small read buffers, as on the server: thousands of phones in one process.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024);
        if let Ok((ws, _)) = tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await {
            return Some(ws);
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
    }
    None
}

fn position(at: grid_dispatch::domain::location::GeoPoint) -> Message {
    Message::Text(json!({ "type": "position", "lat": at.lat(), "lng": at.lng(), "coord": "wgs84" }).to_string().into())
}

/// How a mediator behaves.
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// Seconds between positions.
    pub period: Duration,
    /// Share of offers accepted.
    pub accept_share: f64,
}

/// Hold one mediator's socket until `stop`: duty on, positions every period, offers measured
/// and a share accepted. `connected` is told once the socket is on duty.
#[expect(clippy::too_many_arguments, reason = "one simulated phone's whole context")]
pub async fn run_mediator(
    base: String,
    http: reqwest::Client,
    me: Mediator,
    seed: u64,
    behaviour: Behaviour,
    stats: &'static Stats,
    connected: tokio::sync::mpsc::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    let city = City::xining_30km();
    let mut rng = Rng::new(seed);
    let mut walker = Walker::new(&city, &mut rng);
    let Some(ws) = connect(&base, &me.token).await else {
        stats.connect_errors.fetch_add(1, Ordering::Relaxed);
        let _ = connected.send(()).await;
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let duty = Message::Text(json!({ "type": "duty", "on": true }).to_string().into());
    if tx.send(duty).await.is_err() || tx.send(position(walker.at())).await.is_err() {
        stats.sockets_lost.fetch_add(1, Ordering::Relaxed);
        let _ = connected.send(()).await;
        return;
    }
    stats.positions_sent.fetch_add(1, Ordering::Relaxed);
    let _ = connected.send(()).await;
    // Phones are not synchronised: a random phase within the period.
    let phase = behaviour.period.mul_f64(rng.unit());
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, behaviour.period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                walker.step(&city, &mut rng, behaviour.period.as_secs_f64());
                if tx.send(position(walker.at())).await.is_err() {
                    stats.sockets_lost.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                stats.positions_sent.fetch_add(1, Ordering::Relaxed);
            }
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                    if v["type"] == "offer" {
                        on_offer(&v, stats, &mut rng, behaviour, &http, &base, &me);
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    stats.sockets_lost.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = tx.send(Message::Close(None)).await;
}

fn on_offer(
    v: &Value,
    stats: &'static Stats,
    rng: &mut Rng,
    behaviour: Behaviour,
    http: &reqwest::Client,
    base: &str,
    me: &Mediator,
) {
    let received_ns = unix_ns();
    stats.offers_received.fetch_add(1, Ordering::Relaxed);
    // Report → offer is the first wave's latency; a wider wave a minute later is not it.
    let first_wave = v["incident"]["offered_at"] == v["incident"]["created_at"];
    let sent = v["incident"]["description"].as_str().and_then(sent_ns);
    if let Some(sent) = sent.filter(|_| first_wave) {
        let took = Duration::from_nanos(received_ns.saturating_sub(sent));
        record(&stats.offer_us, took);
        if took >= OFFER_TARGET {
            let created = v["incident"]["created_at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
            let created = created.map_or(sent, |t| u64::try_from(t.as_nanosecond()).unwrap_or(sent));
            stats.slow_offer((sent, created, received_ns));
        }
        if let Some(slow) = slow_offer_ms().filter(|ms| took.as_millis() >= u128::from(*ms)) {
            eprintln!("slow-offer sent_ms={} took_ms={} (over {slow})", sent / 1_000_000, took.as_millis());
        }
    }
    if rng.unit() >= behaviour.accept_share {
        return;
    }
    let Some(id) = v["incident"]["id"].as_str() else { return };
    let req =
        http.post(format!("{base}/api/v1/mediator/incidents/{id}/accept")).bearer_auth(&me.token).json(&json!({}));
    tokio::spawn(async move {
        let started = Instant::now();
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                record(&stats.accept_us, started.elapsed());
                stats.accepts_won.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) if r.status() == reqwest::StatusCode::CONFLICT => {
                record(&stats.accept_us, started.elapsed());
                stats.accepts_lost.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => stats.error(format!("accept: {}", r.status())),
            Err(e) => stats.error(format!("accept: {e}")),
        }
    });
}

/// Send positions back to back on an open socket until `until` (ingest capacity).
pub async fn blast(base: String, me: Mediator, seed: u64, until: Instant, stats: &'static Stats) {
    let city = City::xining_30km();
    let mut rng = Rng::new(seed);
    let mut walker = Walker::new(&city, &mut rng);
    let Some(ws) = connect(&base, &me.token).await else {
        stats.connect_errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let (mut tx, mut rx) = ws.split();
    // Drain what the server sends (duty echo, offers) so its queue never fills.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    let duty = Message::Text(json!({ "type": "duty", "on": true }).to_string().into());
    if tx.send(duty).await.is_err() {
        stats.sockets_lost.fetch_add(1, Ordering::Relaxed);
        return;
    }
    while Instant::now() < until {
        walker.step(&city, &mut rng, 1.0);
        if tx.send(position(walker.at())).await.is_err() {
            stats.sockets_lost.fetch_add(1, Ordering::Relaxed);
            break;
        }
        stats.positions_sent.fetch_add(1, Ordering::Relaxed);
    }
    let _ = tx.send(Message::Close(None)).await;
    drain.abort();
}

/// Post `count` reports at `rate` per second at random places in the city, to each of `bases`
/// in turn.
pub async fn post_reports(bases: &[String], http: reqwest::Client, rate: f64, count: usize, stats: &'static Stats) {
    let city = City::xining_30km();
    let mut rng = Rng::new(0xbeef);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut inflight = tokio::task::JoinSet::new();
    for seq in 0..count {
        tick.tick().await;
        let at = city.random_point(&mut rng);
        let body = json!({
            "location": { "lat": at.lat(), "lng": at.lng(), "coord": "wgs84" },
            "category": "neighbor",
            "description": format!("lt#{seq}@{} 楼上装修噪音", unix_ns()),
            "phone": "13812345678",
        });
        let req = http.post(format!("{}/api/v1/reports", bases[seq % bases.len()])).json(&body);
        inflight.spawn(async move {
            let started = Instant::now();
            match req.send().await {
                Ok(r) if r.status().is_success() => {
                    record(&stats.report_us, started.elapsed());
                    stats.reports_ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(r) => stats.error(format!("report: {}", r.status())),
                Err(e) => stats.error(format!("report: {e}")),
            }
        });
        while inflight.try_join_next().is_some() {}
    }
    while inflight.join_next().await.is_some() {}
}

/// `LT_SLOW_OFFER_MS=<n>`: print every first-wave offer slower than n ms (when, how slow), to
/// see whether a tail is spread out (queueing) or bunched (a stall).
fn slow_offer_ms() -> Option<u64> {
    static SLOW: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *SLOW.get_or_init(|| std::env::var("LT_SLOW_OFFER_MS").ok().and_then(|v| v.parse().ok()))
}
