//! What a unit of work costs: each process's own CPU time over a window divided by the work
//! done in it (absolute times are noise on a shared machine; CPU time spent is not, or much
//! less so). Three windows in one run separate the costs:
//! 1. positions only (phones streaming, no screens, no reports): service and Redis CPU per
//!    position;
//! 2. the same with the command-center screens watching: the extra CPU per screen update;
//! 3. the same with residents reporting: the extra CPU per report (its offers, accepts and
//!    screen events included).
//!
//! Beside CPU: the bus (a subscriber of our own counts every message and byte published on
//! the bus channel, by kind) and Redis's memory per mediator.

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Sum of a counter in Prometheus text (all label sets), over every instance in `bases`.
pub async fn metric(http: &reqwest::Client, bases: &[String], name: &str) -> f64 {
    let mut sum = 0.0;
    for base in bases {
        let Ok(resp) = http.get(format!("{base}/metrics")).send().await else { return f64::NAN };
        let text = resp.text().await.unwrap_or_default();
        sum += text
            .lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    sum
}

/// Messages and bytes published on the bus, by kind (`"t"` of the JSON), counted by a
/// subscriber of the load test's own (what one instance receives; every instance receives it).
#[derive(Default)]
pub struct BusCount {
    by_kind: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl BusCount {
    /// Subscribe to `channel` on the Redis at `port` and count until the process ends.
    pub async fn start(port: u16, channel: String) -> anyhow::Result<&'static Self> {
        let me: &'static Self = Box::leak(Box::default());
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&channel).await?;
        tokio::spawn(async move {
            let mut stream = pubsub.on_message();
            while let Some(msg) = stream.next().await {
                let payload = msg.get_payload_bytes();
                me.add(&kind_of(payload), payload.len() as u64);
            }
        });
        Ok(me)
    }

    fn add(&self, kind: &str, bytes: u64) {
        let mut by_kind = self.by_kind.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = by_kind.entry(kind.to_owned()).or_default();
        seen.0 += 1;
        seen.1 += bytes;
    }

    /// (messages, bytes) so far, by kind.
    pub fn snapshot(&self) -> BTreeMap<String, (u64, u64)> {
        self.by_kind.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// The kind of a bus message: the `t` of a JSON one, `fixes` for a binary position batch
/// (`grid_dispatch::store::bus_codec`), `binary:<first byte>` otherwise.
fn kind_of(payload: &[u8]) -> String {
    if payload.first() == Some(&0x01) {
        return "fixes".to_owned();
    }
    if payload.first() == Some(&b'{') {
        // `{"t":"fixes",…`: read just the tag, not the whole (large) batch.
        let head = &payload[..payload.len().min(64)];
        let text = String::from_utf8_lossy(head);
        if let Some(rest) = text.split_once("\"t\":\"").map(|(_, r)| r)
            && let Some((kind, _)) = rest.split_once('"')
        {
            return kind.to_owned();
        }
        return "json".to_owned();
    }
    format!("binary:{:#04x}", payload.first().copied().unwrap_or(0))
}

/// Redis's own CPU (user + system, seconds) from `INFO cpu`.
pub async fn redis_cpu_s(conn: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<f64> {
    let info: String = redis::cmd("INFO").arg("cpu").query_async(conn).await?;
    Ok(info_field(&info, "used_cpu_user") + info_field(&info, "used_cpu_sys"))
}

/// Redis's `used_memory` (bytes) from `INFO memory`.
pub async fn redis_used_memory(conn: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<f64> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    Ok(info_field(&info, "used_memory"))
}

/// `MEMORY USAGE` of `key` (bytes; 0 if missing).
pub async fn key_bytes(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> anyhow::Result<f64> {
    let bytes: Option<u64> = redis::cmd("MEMORY").arg("USAGE").arg(key).arg("SAMPLES").arg(0).query_async(conn).await?;
    Ok(bytes.unwrap_or(0) as f64)
}

/// CPU seconds of this process's threads whose name starts with `prefix`.
fn thread_cpu_s(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return f64::NAN };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let Some((head, tail)) = stat.rsplit_once(')') else { continue };
        if !head.split_once('(').is_some_and(|(_, name)| name.starts_with(prefix)) {
            continue;
        }
        let mut f = tail.split_whitespace().skip(11);
        ticks += f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    ticks as f64 / crate::probe::ticks_per_second()
}

fn info_field(info: &str, name: &str) -> f64 {
    info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok()).unwrap_or(f64::NAN)
}

/// Everything counted at one moment.
pub struct Snapshot {
    at: Instant,
    /// CPU seconds per group of processes (same order as the meter's groups).
    cpu_s: Vec<f64>,
    redis_cpu_s: f64,
    received: f64,
    stored: f64,
    bus: BTreeMap<String, (u64, u64)>,
    /// Work counted by the caller (reports filed, screen updates).
    reports: u64,
    screen_updates: u64,
}

/// What to read a snapshot from.
pub struct Meter<'a> {
    /// Process groups whose CPU is read from `/proc` (name, pids).
    pub groups: Vec<(&'static str, Vec<u32>)>,
    /// A connection to the Redis under test.
    pub redis: redis::aio::MultiplexedConnection,
    /// The service instances (metrics).
    pub http: &'a reqwest::Client,
    /// See `http`.
    pub bases: &'a [String],
    /// The bus counter.
    pub bus: &'static BusCount,
    /// Threads of this process counted into a group (group name, thread-name prefix): the
    /// province mode runs the service in-process.
    pub thread_groups: Vec<(&'static str, &'static str)>,
}

impl Meter<'_> {
    /// Read everything now; `reports` and `screen_updates` are the caller's counters.
    pub async fn snapshot(&mut self, reports: u64, screen_updates: u64) -> anyhow::Result<Snapshot> {
        let tick = crate::probe::ticks_per_second();
        let cpu_s = self
            .groups
            .iter()
            .map(|(name, pids)| {
                let threads: f64 =
                    self.thread_groups.iter().filter(|(n, _)| n == name).map(|(_, prefix)| thread_cpu_s(prefix)).sum();
                pids.iter().filter_map(|&p| crate::procs::cpu_ticks(p)).sum::<u64>() as f64 / tick + threads
            })
            .collect();
        Ok(Snapshot {
            at: Instant::now(),
            cpu_s,
            redis_cpu_s: redis_cpu_s(&mut self.redis).await?,
            received: metric(self.http, self.bases, "gd_positions_received_total").await,
            stored: metric(self.http, self.bases, "gd_positions_total").await,
            bus: self.bus.snapshot(),
            reports,
            screen_updates,
        })
    }
}

impl Meter<'_> {
    /// A window of length `len` from now: `counters` gives (reports, screen updates) so far.
    pub async fn measure(
        &mut self,
        len: std::time::Duration,
        counters: impl Fn() -> (u64, u64),
    ) -> anyhow::Result<Window> {
        let (reports, updates) = counters();
        let a = self.snapshot(reports, updates).await?;
        tokio::time::sleep(len).await;
        let (reports, updates) = counters();
        let b = self.snapshot(reports, updates).await?;
        Ok(Window::between(self, &a, &b))
    }
}

/// What happened between two snapshots, per second.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Length, seconds.
    pub secs: f64,
    /// CPU used per second (cores), per group.
    pub cores: Vec<(&'static str, f64)>,
    /// Redis's own CPU per second (cores), from `INFO cpu`.
    pub redis_cores: f64,
    /// Positions received and stored per second.
    pub received_per_s: f64,
    /// See `received_per_s`.
    pub stored_per_s: f64,
    /// Bus messages and bytes per second, by kind.
    pub bus_per_s: BTreeMap<String, (f64, f64)>,
    /// Reports filed per second.
    pub reports_per_s: f64,
    /// Screen position updates per second (all screens).
    pub screen_updates_per_s: f64,
}

impl Window {
    /// From `a` to `b`.
    pub fn between(meter: &Meter<'_>, a: &Snapshot, b: &Snapshot) -> Self {
        let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
        let mut bus_per_s = BTreeMap::new();
        for (kind, (m, bytes)) in &b.bus {
            let (m0, b0) = a.bus.get(kind).copied().unwrap_or_default();
            bus_per_s.insert(kind.clone(), ((m - m0) as f64 / secs, (bytes - b0) as f64 / secs));
        }
        Self {
            secs,
            cores: meter
                .groups
                .iter()
                .zip(a.cpu_s.iter().zip(&b.cpu_s))
                .map(|((n, _), (x, y))| (*n, (y - x) / secs))
                .collect(),
            redis_cores: (b.redis_cpu_s - a.redis_cpu_s) / secs,
            received_per_s: (b.received - a.received) / secs,
            stored_per_s: (b.stored - a.stored) / secs,
            bus_per_s,
            reports_per_s: b.reports.saturating_sub(a.reports) as f64 / secs,
            screen_updates_per_s: b.screen_updates.saturating_sub(a.screen_updates) as f64 / secs,
        }
    }

    /// Cores used by one group.
    pub fn group(&self, name: &str) -> f64 {
        self.cores.iter().find(|(n, _)| *n == name).map_or(f64::NAN, |(_, c)| *c)
    }

    /// Bus messages and bytes per second, all kinds.
    fn bus_total(&self) -> (f64, f64) {
        self.bus_per_s.values().fold((0.0, 0.0), |(m, b), (m1, b1)| (m + m1, b + b1))
    }
}

/// The group name of the service instances (see [`Meter::groups`]).
pub const SERVICE: &str = "service instances";
/// The group name of the fleet processes (phones).
pub const FLEET: &str = "fleet processes (phones)";

/// Per-unit costs from the three windows (µs of CPU, bytes).
#[derive(Debug, Clone, Default)]
pub struct Costs {
    /// Mediators on duty, service instances.
    pub mediators: usize,
    /// See `mediators`.
    pub instances: usize,
    /// Positions received per second in the positions-only window.
    pub positions_per_s: f64,
    /// Service CPU µs per position (all instances; received and stored, and every instance's
    /// handling of its bus message).
    pub service_us_per_position: f64,
    /// Redis CPU µs per position (the write, and publishing it to every subscriber).
    pub redis_us_per_position: f64,
    /// Service CPU µs per screen position update (window 2 minus window 1).
    pub service_us_per_screen_update: f64,
    /// Service and Redis CPU µs per report (window 3 minus window 2).
    pub service_us_per_report: f64,
    /// See `service_us_per_report`.
    pub redis_us_per_report: f64,
    /// Bus messages and bytes published per position stored (positions-only window).
    pub bus_messages_per_position: f64,
    /// See `bus_messages_per_position`.
    pub bus_bytes_per_position: f64,
    /// Redis `used_memory` growth per mediator (accounts, duty, position), bytes.
    pub redis_bytes_per_mediator: f64,
    /// Of that, the position keys (`fix`, `fix_at`, `duty`), bytes per mediator.
    pub presence_bytes_per_mediator: f64,
    /// Report → offer p99 (ms) and the GEOSEARCH -c 50 p99 of the same run.
    pub offer_p99_ms: f64,
    /// See `offer_p99_ms`.
    pub geosearch_p99_ms: f64,
    /// Fleet (phones) CPU µs per position sent (the load generator's own cost).
    pub fleet_us_per_position: f64,
}

impl Costs {
    /// From the three windows.
    pub fn from_windows(pos: &Window, screens: &Window, reports: &Window) -> Self {
        let per = |cores: f64, rate: f64| if rate > 0.0 { cores * 1e6 / rate } else { f64::NAN };
        let (bus_m, bus_b) = pos.bus_total();
        Self {
            positions_per_s: pos.received_per_s,
            service_us_per_position: per(pos.group(SERVICE), pos.received_per_s),
            redis_us_per_position: per(pos.redis_cores, pos.received_per_s),
            fleet_us_per_position: per(pos.group(FLEET), pos.received_per_s),
            service_us_per_screen_update: per(
                screens.group(SERVICE) - pos.group(SERVICE) * screens.received_per_s / pos.received_per_s.max(1e-9),
                screens.screen_updates_per_s,
            ),
            service_us_per_report: per(
                reports.group(SERVICE)
                    - screens.group(SERVICE) * reports.received_per_s / screens.received_per_s.max(1e-9),
                reports.reports_per_s,
            ),
            redis_us_per_report: per(
                reports.redis_cores - screens.redis_cores * reports.received_per_s / screens.received_per_s.max(1e-9),
                reports.reports_per_s,
            ),
            bus_messages_per_position: bus_m / pos.stored_per_s.max(1e-9),
            bus_bytes_per_position: bus_b / pos.stored_per_s.max(1e-9),
            ..Self::default()
        }
    }

    /// As one JSON line (a child run hands it to the `--sizes` orchestrator).
    pub fn to_json(&self) -> Value {
        json!([
            self.mediators,
            self.instances,
            self.positions_per_s,
            self.service_us_per_position,
            self.redis_us_per_position,
            self.service_us_per_screen_update,
            self.service_us_per_report,
            self.redis_us_per_report,
            self.bus_messages_per_position,
            self.bus_bytes_per_position,
            self.redis_bytes_per_mediator,
            self.presence_bytes_per_mediator,
            self.offer_p99_ms,
            self.geosearch_p99_ms,
            self.fleet_us_per_position,
        ])
    }

    /// See [`Self::to_json`].
    pub fn from_json(v: &Value) -> Self {
        let f = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
        Self {
            mediators: v[0].as_u64().unwrap_or(0) as usize,
            instances: v[1].as_u64().unwrap_or(0) as usize,
            positions_per_s: f(2),
            service_us_per_position: f(3),
            redis_us_per_position: f(4),
            service_us_per_screen_update: f(5),
            service_us_per_report: f(6),
            redis_us_per_report: f(7),
            bus_messages_per_position: f(8),
            bus_bytes_per_position: f(9),
            redis_bytes_per_mediator: f(10),
            presence_bytes_per_mediator: f(11),
            offer_p99_ms: f(12),
            geosearch_p99_ms: f(13),
            fleet_us_per_position: f(14),
        }
    }

    /// The rows of the cost table (figure, value, target), for one run.
    pub fn rows(&self) -> Vec<(String, String, &'static str)> {
        vec![
            (
                format!(
                    "service CPU per position ({} instances, {:.0} positions/s)",
                    self.instances, self.positions_per_s
                ),
                format!("{:.1} µs", self.service_us_per_position),
                "≤ 20 µs",
            ),
            ("Redis CPU per position".into(), format!("{:.1} µs", self.redis_us_per_position), "≤ 5 µs"),
            (
                "service CPU per screen position update".into(),
                format!("{:.2} µs", self.service_us_per_screen_update),
                "",
            ),
            (
                "service CPU per report (its offers, accepts, screen events)".into(),
                format!("{:.0} µs", self.service_us_per_report),
                "",
            ),
            ("Redis CPU per report".into(), format!("{:.0} µs", self.redis_us_per_report), ""),
            (
                "bus per position stored: messages / bytes published (each instance receives a copy)".into(),
                format!("{:.4} / {:.1} B", self.bus_messages_per_position, self.bus_bytes_per_position),
                "",
            ),
            (
                "Redis memory per mediator: all (account, duty, position) / position keys".into(),
                format!("{:.0} / {:.0} B", self.redis_bytes_per_mediator, self.presence_bytes_per_mediator),
                "",
            ),
            (
                "load generator (phones) CPU per position sent".into(),
                format!("{:.1} µs", self.fleet_us_per_position),
                "",
            ),
        ]
    }
}

/// One line per window: its length and what was measured in it (for the log).
pub fn describe(name: &str, w: &Window) -> String {
    let (m, b) = w.bus_total();
    format!(
        "{name}: {:.1}s, {:.0} positions/s received ({:.0} stored), {:.0} reports/s, {:.0} screen updates/s; CPU {}; redis {:.0} %; bus {:.0} msg/s {:.0} KiB/s {:?}",
        w.secs,
        w.received_per_s,
        w.stored_per_s,
        w.reports_per_s,
        w.screen_updates_per_s,
        w.cores.iter().map(|(n, c)| format!("{n} {:.0} %", c * 100.0)).collect::<Vec<_>>().join(", "),
        w.redis_cores * 100.0,
        m,
        b / 1024.0,
        w.bus_per_s.iter().map(|(k, (m, b))| format!("{k}: {m:.1}/s {:.0} B/s", b)).collect::<Vec<_>>(),
    )
}

/// The `--sizes` table: one row per size, and whether per-unit costs stay flat (linear growth).
pub fn print_sizes(all: &[Costs]) {
    println!();
    println!("## Cost by size (each size a fresh run; CPU time per unit of work)");
    println!(
        "| mediators | instances | positions/s | service µs/position | Redis µs/position | µs/screen update | service µs/report | Redis µs/report | bus msgs / B per position | Redis B/mediator | report → offer p99 / GEOSEARCH p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for c in all {
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.2} | {:.0} | {:.0} | {:.4} / {:.1} | {:.0} | {:.2} / {:.2} ms ({:.2}×) |",
            c.mediators,
            c.instances,
            c.positions_per_s,
            c.service_us_per_position,
            c.redis_us_per_position,
            c.service_us_per_screen_update,
            c.service_us_per_report,
            c.redis_us_per_report,
            c.bus_messages_per_position,
            c.bus_bytes_per_position,
            c.redis_bytes_per_mediator,
            c.offer_p99_ms,
            c.geosearch_p99_ms,
            c.offer_p99_ms / c.geosearch_p99_ms
        );
    }
    if let (Some(first), Some(last)) = (all.first(), all.last()) {
        let ratio = |a: f64, b: f64| b / a;
        let grow = last.mediators as f64 / first.mediators.max(1) as f64;
        let pos = ratio(first.service_us_per_position, last.service_us_per_position);
        let redis = ratio(first.redis_us_per_position, last.redis_us_per_position);
        let mem = ratio(first.redis_bytes_per_mediator, last.redis_bytes_per_mediator);
        let linear = |r: f64| {
            if (0.75..=1.33).contains(&r) {
                "flat: linear"
            } else if r > 1.33 {
                "grows: worse than linear"
            } else {
                "falls: better than linear"
            }
        };
        println!(
            "growth ×{grow:.0} in mediators: service µs/position ×{pos:.2} ({}), Redis µs/position ×{redis:.2} ({}), Redis B/mediator ×{mem:.2} ({})",
            linear(pos),
            linear(redis),
            linear(mem)
        );
    }
}

/// The cost table of one run, and the line a `--sizes` orchestrator reads back.
pub fn print(costs: &Costs) {
    println!();
    println!("## Costs (each process's CPU time over a window / the work done in it)");
    println!("| figure | value | target |");
    println!("|---|---|---|");
    for (figure, value, target) in costs.rows() {
        println!("| {figure} | {value} | {target} |");
    }
    println!("{COSTS_LINE}{}", costs.to_json());
}

/// How a run's costs start on its stdout (see [`print`]).
const COSTS_LINE: &str = "COSTS ";

/// `--sizes a,b,c`: one fresh cost-only run per size (a child copy of this binary with the
/// same options but `--mediators <size> --only cost`), its output passed through, then the
/// table of all sizes.
pub async fn run_sizes(sizes: &[usize], args: &[String]) -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;
    // The caller's options, without the ones each child gets its own of.
    let mut forwarded = vec![];
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--sizes" | "--mediators" | "--only" | "--instances" => {
                it.next();
            }
            _ => forwarded.push(flag.clone()),
        }
    }
    let mut all = vec![];
    for &size in sizes {
        println!("### {size} mediators");
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(&forwarded)
            .args(["--mediators", &size.to_string(), "--only", "cost"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("child stdout"))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            match line.strip_prefix(COSTS_LINE) {
                Some(json) => all.push(Costs::from_json(&serde_json::from_str(json)?)),
                None => println!("{line}"),
            }
        }
        let status = child.wait().await?;
        anyhow::ensure!(status.success(), "the run with {size} mediators failed: {status}");
    }
    print_sizes(&all);
    Ok(())
}
