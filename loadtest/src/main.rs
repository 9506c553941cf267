//! grid-dispatch load test: starts a `redis-server` and the service (release build) on
//! 127.0.0.1, measures raw-Redis baselines with `redis-benchmark` on that same Redis, then
//! drives the service through its public API (mediator WebSockets, resident reports, accepts),
//! seeds pending escalation deadlines, runs the matcher micro-benchmark, and prints every
//! figure next to its baseline as a ratio. Bounded in count and time; stops by itself.
//!
//! ```sh
//! cargo build --release && cargo run --release --manifest-path loadtest/Cargo.toml
//! cargo run --release --manifest-path loadtest/Cargo.toml -- --smoke    # seconds, tiny numbers
//! ```
//! Options (defaults are the issue's targets): `--mediators 20000 --period-s 5 --rate 200
//! --duration-s 60 --accept-share 0.2 --blast-sockets 200 --blast-s 10 --pending 100000
//! --matcher-mediators 100000 --instances auto --screens auto` (one command-center screen per
//! instance). `--only escalation` runs just the escalation phase (no baselines, phones or
//! screens), e.g. `--only escalation --instances 3` for exactly-once across three instances.
//! `--only write [--writes 5000]` times the atomic incident write itself against an `EVALSHA`
//! floor on the same Redis (no service, seconds). `--against OLDER_BIN [--rounds 2]` runs the
//! cost windows for an older build and this one, interleaved, and compares them (`against.rs`).
//!
//! One process may hold at most ~20,000 open files here, so mediators are spread over
//! service instances (`--instances`, by default one per 10,000 mediators, all on the one
//! Redis: reports go to each in turn, so offers cross instances through the bus) and over
//! fleet worker processes (one per 10,000 mediators; see `worker.rs`).

mod against;
mod alloc;
mod baseline;
mod bus;
mod city;
mod cost;
mod escalation;
mod fleet;
mod matcher_bench;
mod positional_write;
mod probe;
mod procs;
mod province;
mod report;
mod screen;
mod seed;
mod worker;
mod write_bench;

use anyhow::{Context, bail};
use fleet::{Behaviour, Mediator, Stats};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// The run's knobs.
#[derive(Debug, Clone)]
struct Options {
    mediators: usize,
    period: Duration,
    rate: f64,
    duration: Duration,
    accept_share: f64,
    blast_sockets: usize,
    blast: Duration,
    pending: usize,
    escalation_window: Duration,
    matcher_mediators: usize,
    matcher_budget: Duration,
    /// Service instances (0: one per [`SOCKETS_PER_PROCESS`] mediators).
    instances: usize,
    /// Command-center screens watching the live feed, spread over the instances (None: one
    /// per instance).
    screens: Option<usize>,
    /// Run only the escalation phase (`--only escalation`).
    only_escalation: bool,
    /// Run only the write micro-benchmark (`--only write`).
    only_write: bool,
    /// Writes of each kind the write micro-benchmark times.
    writes: usize,
    /// Run only what the cost figures need (`--only cost`): no ingest blast, escalations or
    /// matcher micro-benchmark.
    only_cost: bool,
    /// Run the cost phases once per size, each in a fresh child run (`--sizes 5000,10000,20000`).
    sizes: Vec<usize>,
    /// Length of each cost window (positions only; with screens). None: two periods.
    cost_window: Option<Duration>,
    /// Province simulation (`--province`): `mediators` (default 250,000) driven in-process.
    province: bool,
    /// Compare with this older service binary (`--against BIN`, see `against.rs`).
    against: Option<std::path::PathBuf>,
    /// Rounds of the comparison (`--rounds`).
    rounds: usize,
}

/// Sockets one process (service instance or fleet worker) is given: half the open-files
/// limit, so the fewest processes share the two cores (each extra one adds its own copy of the
/// bus traffic and its own threads to schedule) and the issue's 20,000 phones need two.
const SOCKETS_PER_PROCESS: usize = 10_000;

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut o = Self {
            mediators: 20_000,
            period: Duration::from_secs(5),
            rate: 200.0,
            duration: Duration::from_secs(60),
            accept_share: 0.2,
            blast_sockets: 200,
            blast: Duration::from_secs(10),
            pending: 100_000,
            escalation_window: Duration::from_secs(30),
            matcher_mediators: 100_000,
            matcher_budget: Duration::from_secs(3),
            instances: 0,
            screens: None,
            only_escalation: false,
            only_write: false,
            writes: 5_000,
            only_cost: false,
            sizes: vec![],
            cost_window: None,
            province: false,
            against: None,
            rounds: 2,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--province" {
                o.province = true;
                if !args.iter().any(|a| a == "--mediators") {
                    o.mediators = 250_000;
                }
                continue;
            }
            if flag == "--smoke" {
                o = Self {
                    mediators: 200,
                    period: Duration::from_secs(1),
                    rate: 20.0,
                    duration: Duration::from_secs(3),
                    blast_sockets: 20,
                    blast: Duration::from_secs(2),
                    pending: 2_000,
                    escalation_window: Duration::from_secs(3),
                    matcher_mediators: 10_000,
                    matcher_budget: Duration::from_millis(300),
                    ..o
                };
                continue;
            }
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            let secs = |v: &str| v.parse::<f64>().map(Duration::from_secs_f64);
            match flag.as_str() {
                "--mediators" => o.mediators = value.parse()?,
                "--period-s" => o.period = secs(value)?,
                "--rate" => o.rate = value.parse()?,
                "--duration-s" => o.duration = secs(value)?,
                "--accept-share" => o.accept_share = value.parse()?,
                "--blast-sockets" => o.blast_sockets = value.parse()?,
                "--blast-s" => o.blast = secs(value)?,
                "--pending" => o.pending = value.parse()?,
                "--window-s" => o.escalation_window = secs(value)?,
                "--matcher-mediators" => o.matcher_mediators = value.parse()?,
                "--instances" => o.instances = if value == "auto" { 0 } else { value.parse()? },
                "--screens" => o.screens = if value == "auto" { None } else { Some(value.parse()?) },
                "--only" if value == "escalation" => o.only_escalation = true,
                "--only" if value == "write" => o.only_write = true,
                "--writes" => o.writes = value.parse()?,
                "--only" if value == "cost" => o.only_cost = true,
                "--sizes" => o.sizes = value.split(',').map(str::parse).collect::<Result<_, _>>()?,
                "--cost-window-s" => o.cost_window = Some(secs(value)?),
                "--against" => o.against = Some(value.into()),
                "--rounds" => o.rounds = value.parse()?,
                other => bail!("unknown option {other}"),
            }
        }
        if o.province {
            return Ok(o);
        }
        if o.mediators == 0 || o.rate <= 0.0 || o.blast_sockets > o.mediators || o.mediators > 28_000 {
            bail!("need 0 < blast-sockets ≤ mediators ≤ 28000 (one loopback source address) and rate > 0");
        }
        if o.instances == 0 {
            o.instances = o.mediators.div_ceil(SOCKETS_PER_PROCESS);
        }
        if o.sizes.iter().any(|&n| n == 0 || n > 28_000) {
            bail!("--sizes: each size in 1..=28000");
        }
        Ok(o)
    }

    /// How long each cost window lasts.
    fn cost_window(&self) -> Duration {
        self.cost_window.unwrap_or(self.period * 2)
    }
}

use cost::metric;

/// Only the escalation phase: `o.instances` service instances on a fresh Redis, `o.pending`
/// deadlines seeded, lateness and duplicates read back.
async fn escalation_only(o: &Options, dir: &std::path::Path, redis_port: u16) -> anyhow::Result<()> {
    let prefix = "lt";
    let (mut servers, _) = procs::start_servers(&procs::server_binary()?, dir, o.instances, redis_port, prefix).await?;
    let esc = escalation::run(redis_port, prefix, o.pending, o.escalation_window).await?;
    for server in &mut servers {
        server.check_alive()?;
    }
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!("| {} | p99 ≤ 10 ms, exactly once across {} instances |", esc.cells(o.escalation_window), o.instances);
    Ok(())
}

/// Phase 1, ingest capacity: K sockets send positions back to back (to the first instance;
/// the others follow every position through the bus, as they would in production).
async fn ingest(
    o: &Options,
    http: &reqwest::Client,
    bases: &[String],
    mediators: &[Mediator],
    stats: &'static Stats,
) -> anyhow::Result<f64> {
    let first = &bases[..1];
    let base = bases[0].clone();
    let before = metric(http, first, "gd_positions_received_total").await;
    let t0 = Instant::now();
    let until = t0 + o.blast;
    let blasts: Vec<_> = mediators[..o.blast_sockets]
        .iter()
        .enumerate()
        .map(|(i, m)| tokio::spawn(fleet::blast(base.clone(), m.clone(), i as u64 + 1, until, stats)))
        .collect();
    for b in blasts {
        b.await?;
    }
    let ingest_per_s = (metric(http, first, "gd_positions_received_total").await - before) / t0.elapsed().as_secs_f64();
    println!("ingest: {ingest_per_s:.0} positions/s through {} sockets", o.blast_sockets);
    // The sockets' TCP buffers still hold positions the server has not read: let it drain
    // so the backlog does not count as steady-state traffic.
    let mut last = metric(http, first, "gd_positions_received_total").await;
    let draining = Instant::now();
    while draining.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = metric(http, first, "gd_positions_received_total").await;
        if now <= last {
            break;
        }
        last = now;
    }
    Ok(ingest_per_s)
}

/// Total resident set size of `servers`.
fn rss_of(servers: &[procs::Owned]) -> u64 {
    servers.iter().map(|s| procs::rss_bytes(s.pid()).unwrap_or(0)).sum()
}

fn quantiles(h: &std::sync::Mutex<hdrhistogram::Histogram<u64>>) -> (f64, f64, f64, u64) {
    let h = h.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let ms = |us: u64| us as f64 / 1000.0;
    (ms(h.value_at_quantile(0.5)), ms(h.value_at_quantile(0.99)), ms(h.max()), h.len())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--fleet-worker") {
        return worker::serve().await;
    }
    let o = Options::parse()?;
    if o.province {
        println!("# grid-dispatch province simulation; options: {o:?}");
        let screens = o.screens.unwrap_or(1);
        let province = province::Province {
            mediators: o.mediators,
            period: o.period,
            window: o.cost_window(),
            screens,
            rate: o.rate,
        };
        return province::run(&province).await;
    }
    let fd_limit = procs::raise_fd_limit();
    if let Some(older) = &o.against {
        println!("# grid-dispatch load test, two builds interleaved; options: {o:?}");
        return against::run(&o, older).await;
    }
    let dir = tempfile::Builder::new().prefix("gd-loadtest-").tempdir()?;
    let (mut redis, redis_port) = procs::start_redis(dir.path())?;
    println!(
        "# grid-dispatch load test ({} cores, open files {fd_limit}), loopback only",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("options: {o:?}");
    if o.only_escalation {
        return escalation_only(&o, dir.path(), redis_port).await;
    }
    if o.only_write {
        let writes = write_bench::run(redis_port, o.writes).await?;
        println!("| figure | value | baselines (same run) | ratios p50 / p99 |");
        println!("|---|---|---|---|");
        println!("{}", writes.rows());
        return Ok(());
    }
    if !o.sizes.is_empty() {
        drop(redis);
        return cost::run_sizes(&o.sizes, &std::env::args().skip(1).collect::<Vec<_>>()).await;
    }

    // --- raw-Redis baselines, same Redis, same run ----------------------------------------
    let geoadd = baseline::run(
        redis_port,
        50,
        200_000,
        1_000_000,
        &["GEOADD", "bench:geoadd", "101.__rand_int__", "36.__rand_int__", "m:__rand_int__"],
    )?;
    // GEOSEARCH over as many members as mediators online, spread over the same city.
    baseline::seed_geo(redis_port, o.mediators).await?;
    let search = baseline::GEOSEARCH;
    let geosearch_c50 = baseline::run(redis_port, 50, 100_000, 1, &search)?;
    let geosearch_c1 = baseline::run(redis_port, 1, 20_000, 1, &search)?;
    println!("baselines: GEOADD -c50 {geoadd:?}; GEOSEARCH -c50 {geosearch_c50:?}; GEOSEARCH -c1 {geosearch_c1:?}");

    // --- the service ----------------------------------------------------------------------
    let prefix = "lt";
    let mut redis_conn =
        redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))?.get_multiplexed_async_connection().await?;
    let memory_before = cost::redis_used_memory(&mut redis_conn).await?;
    let bus = cost::BusCount::start(redis_port, format!("{{{prefix}}}:bus")).await?;
    let (mut servers, bases) =
        procs::start_servers(&procs::server_binary()?, dir.path(), o.instances, redis_port, prefix).await?;
    let idle_rss = rss_of(&servers);
    let screens = o.screens.unwrap_or(bases.len());
    let (mediators, operators) = seed::seed_staff(redis_port, prefix, o.mediators, screens).await?;
    println!("seeded {} mediator and {screens} operator accounts", mediators.len());

    let stats: &'static Stats = Box::leak(Box::new(Stats::new()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).timeout(Duration::from_secs(30)).build()?;

    // Phase 1: ingest capacity (not in a cost-only run: it leaves positions of its own).
    let ingest_per_s = if o.only_cost { f64::NAN } else { ingest(&o, &http, &bases, &mediators, stats).await? };

    // Phase 2: steady state: M sockets streaming (over the instances, from worker processes),
    // R reports/s (to each instance in turn), a share accepted.
    let behaviour = Behaviour { period: o.period, accept_share: o.accept_share };
    let connecting = Instant::now();
    let (workers, ready) = worker::start_fleet(&bases, &mediators, SOCKETS_PER_PROCESS, behaviour).await?;
    let procs = workers.len();
    println!(
        "{ready} sockets on duty in {:.1}s ({} instances, {procs} fleet processes)",
        connecting.elapsed().as_secs_f64(),
        bases.len()
    );
    // Who used the cores in the steady window: Redis, the service, the phones, the residents.
    let cpu_groups: [(&str, Vec<u32>); 4] = [
        ("redis-server", vec![redis.pid()]),
        (cost::SERVICE, servers.iter().map(procs::Owned::pid).collect()),
        (cost::FLEET, workers.iter().map(worker::Worker::pid).collect()),
        ("orchestrator (residents, probe)", vec![std::process::id()]),
    ];
    let mut meter = cost::Meter {
        groups: cpu_groups.iter().map(|(n, p)| (*n, p.clone())).collect(),
        redis: redis_conn.clone(),
        http: &http,
        bases: &bases,
        bus,
        thread_groups: vec![],
    };
    let (w_positions, watching, screen_stats, w_screens) =
        positions_then_screens(&o, &mut meter, &bases, &operators).await?;
    screen_stats.reset();
    let positions_before = metric(&http, &bases, "gd_positions_received_total").await;
    let dropped_before = metric(&http, &bases, "gd_ws_slow_consumer_dropped_total").await;
    let redis_latency = report::redis_latency_monitor(redis_port).await?;
    let cpu_of = |pids: &[u32]| pids.iter().filter_map(|&pid| procs::cpu_ticks(pid)).sum::<u64>();
    let cpu_before: Vec<u64> = cpu_groups.iter().map(|(_, pids)| cpu_of(pids)).collect();
    let bus_channel =
        grid_dispatch::store::redis::keys::Keys::new(prefix).map_err(|e| anyhow::anyhow!("{e:?}"))?.bus_channel();
    let sniffer = bus::start(redis_port, &bus_channel).await?;
    let reports_before = stats.reports_ok.load(Ordering::Relaxed);
    let probe = probe::Probe::start();
    let steady = Instant::now();
    let reports = (o.rate * o.duration.as_secs_f64()) as usize;
    // Cost window 3: positions, screens and reports (the steady window).
    let filed = || stats.reports_ok.load(Ordering::Relaxed);
    let updates = || screen_stats.position_updates.load(Ordering::Relaxed);
    let steady_from = meter.snapshot(filed(), updates()).await?;
    fleet::post_reports(&bases, http.clone(), o.rate, reports, stats).await;
    let w_reports = {
        let b = meter.snapshot(filed(), updates()).await?;
        cost::Window::between(&meter, &steady_from, &b)
    };
    println!("{}", cost::describe("cost window 3 (positions, screens, reports)", &w_reports));
    let steady_s = steady.elapsed().as_secs_f64();
    // Let offers and accepts of the last reports land: the offers are counted in the workers,
    // so give them a bounded moment.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let machine = probe.finish();
    let probed = steady.elapsed();
    let bus_traffic = sniffer.finish().await;
    let bus_reports = stats.reports_ok.load(Ordering::Relaxed) - reports_before;
    watching.stop().await;
    let cpu_use: Vec<(&str, f64)> = cpu_groups
        .iter()
        .zip(&cpu_before)
        .map(|((name, pids), before)| {
            let ticks = cpu_of(pids).saturating_sub(*before) as f64;
            (*name, ticks / probe::ticks_per_second() / probed.as_secs_f64())
        })
        .collect();
    let redis_events = report::redis_latency_events(&redis_latency).await?;
    let sustained_positions = (metric(&http, &bases, "gd_positions_received_total").await - positions_before)
        / steady.elapsed().as_secs_f64();
    let dropped = metric(&http, &bases, "gd_ws_slow_consumer_dropped_total").await - dropped_before;
    let steady_rss = rss_of(&servers);
    let mut costs = cost::Costs::from_windows(&w_positions, &w_screens, &w_reports);
    costs.mediators = ready;
    costs.instances = bases.len();
    costs.redis_bytes_per_mediator =
        (cost::redis_used_memory(&mut redis_conn).await? - memory_before) / ready.max(1) as f64;
    let mut presence_bytes = 0.0;
    for key in ["fix", "fix_at", "duty"] {
        presence_bytes += cost::key_bytes(&mut redis_conn, &format!("{{{prefix}}}:{key}")).await?;
    }
    costs.presence_bytes_per_mediator = presence_bytes / ready.max(1) as f64;
    let lost_before = stats.sockets_lost.load(Ordering::Relaxed);
    for w in workers {
        w.finish(stats).await?;
    }
    let sockets_lost = stats.sockets_lost.load(Ordering::Relaxed) - lost_before;
    for server in &mut servers {
        server.check_alive()?;
    }

    // Phase 3: escalations with many pending deadlines.
    let esc = if o.only_cost {
        None
    } else {
        Some(escalation::run(redis_port, prefix, o.pending, o.escalation_window).await?)
    };
    for server in &mut servers {
        server.check_alive()?;
    }
    let final_rss = rss_of(&servers);
    let redis_rss = procs::rss_bytes(redis.pid()).unwrap_or(0);
    redis.check_alive()?;

    // Phase 4: matcher micro-benchmark (in this process; Redis for the GEOSEARCH side).
    let matcher = if o.only_cost {
        None
    } else {
        Some(matcher_bench::run(o.matcher_mediators, redis_port, o.matcher_budget).await?)
    };
    drop(servers);
    // Keep the service's logs of this run (warnings, resyncs) next to the build.
    for n in 0..bases.len() {
        let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/last-server-{n}.log"));
        let _ = std::fs::copy(dir.path().join(format!("server-{n}.log")), &kept);
    }

    // --- report ---------------------------------------------------------------------------
    let (op50, op99, opmax, offers) = quantiles(&stats.offer_us);
    let (ap50, ap99, apmax, accepts) = quantiles(&stats.accept_us);
    let (rp50, rp99, _, _) = quantiles(&stats.report_us);
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!();
    println!("## Results (every figure / its raw-Redis baseline from this run)");
    println!("| figure | value | baseline | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| position ingest through WebSockets | {ingest_per_s:.0}/s | GEOADD -c 50: {:.0}/s | {:.2}× | ≥ 0.5× |",
        geoadd.rps,
        ingest_per_s / geoadd.rps
    );
    println!(
        "| positions sustained ({} phones every {:?}) | {sustained_positions:.0}/s | GEOADD -c 50: {:.0}/s | {:.3}× | — |",
        ready,
        o.period,
        geoadd.rps,
        sustained_positions / geoadd.rps
    );
    let achieved_rate = stats.reports_ok.load(Ordering::Relaxed) as f64 / steady_s;
    println!(
        "| reports filed | {achieved_rate:.0}/s (asked {:.0}/s) | GEOSEARCH -c 50: {:.0}/s | {:.3}× | — |",
        o.rate,
        geosearch_c50.rps,
        achieved_rate / geosearch_c50.rps
    );
    for (name, ours, theirs, target) in [
        ("report → offer p50", op50, geosearch_c50.p50_ms, ""),
        ("report → offer p99", op99, geosearch_c50.p99_ms, "p99 ≤ 5 ms"),
        ("report → offer max", opmax, geosearch_c50.max_ms, ""),
        ("accept p50", ap50, geosearch_c50.p50_ms, ""),
        ("accept p99", ap99, geosearch_c50.p99_ms, ""),
        ("accept max", apmax, geosearch_c50.max_ms, ""),
        ("report POST p50", rp50, geosearch_c50.p50_ms, ""),
        ("report POST p99", rp99, geosearch_c50.p99_ms, ""),
    ] {
        println!(
            "| {name} | {ours:.2} ms | GEOSEARCH -c 50 same quantile: {theirs:.3} ms | {:.1}× | {target} |",
            ours / theirs
        );
    }
    if let Some(esc) = &esc {
        report::print_escalations(esc, o.escalation_window, &geosearch_c1);
    }
    if let Some(matcher) = &matcher {
        report::print_matcher(matcher);
    }
    println!(
        "| server RSS idle / steady / after escalations (all instances) | {:.0} / {:.0} / {:.0} MiB | redis-server RSS: {:.0} MiB | {:.2}× (steady) | — |",
        mb(idle_rss),
        mb(steady_rss),
        mb(final_rss),
        mb(redis_rss),
        steady_rss as f64 / redis_rss.max(1) as f64
    );
    println!(
        "| offers received per report filed | {:.2} ({} offers, {} reports) | dispatch.offer_count 5 | {:.2} | 1 |",
        stats.offers_received.load(Ordering::Relaxed) as f64 / stats.reports_ok.load(Ordering::Relaxed).max(1) as f64,
        stats.offers_received.load(Ordering::Relaxed),
        stats.reports_ok.load(Ordering::Relaxed),
        stats.offers_received.load(Ordering::Relaxed) as f64
            / (5 * stats.reports_ok.load(Ordering::Relaxed)).max(1) as f64
    );
    println!(
        "| accepts won / lost the race | {} / {} ({} timed) | | | |",
        stats.accepts_won.load(Ordering::Relaxed),
        stats.accepts_lost.load(Ordering::Relaxed),
        accepts
    );
    println!(
        "| WebSocket messages dropped (slow-consumer drops) / sockets lost / connect errors | {dropped:.0} / {sockets_lost} / {} | | | 0 |",
        stats.connect_errors.load(Ordering::Relaxed)
    );
    println!("| errors (HTTP not 2xx/409, transport) | {} | | | 0 |", stats.errors.load(Ordering::Relaxed));
    report::print_screens(screen_stats, screens, probed, o.period);
    bus::print(&bus_traffic, probed, bus_reports);
    report::print_machine(&machine, probed, stats, &redis_events);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "| CPU in the steady window, % of one core ({} % is all {cores} cores): {} | {} | | | — |",
        cores * 100,
        cpu_use.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(" / "),
        cpu_use.iter().map(|(_, share)| format!("{:.0} %", share * 100.0)).collect::<Vec<_>>().join(" / ")
    );
    let samples = stats.error_samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    if !samples.is_empty() {
        println!("error samples: {samples:?}");
    }
    println!("offer latency samples: {offers}; steady window {steady_s:.1}s");
    costs.offer_p99_ms = op99;
    costs.geosearch_p99_ms = geosearch_c50.p99_ms;
    cost::print(&costs);
    Ok(())
}

/// Cost windows 1 (positions only; one period first, so every phone has streamed again) and
/// 2 (with the command center's screens, once each has its snapshot of every mediator on duty,
/// and one more period): the windows, and the screens, still watching.
async fn positions_then_screens(
    o: &Options,
    meter: &mut cost::Meter<'_>,
    bases: &[String],
    operators: &[Mediator],
) -> anyhow::Result<(cost::Window, screen::Screens, &'static screen::ScreenStats, cost::Window)> {
    tokio::time::sleep(o.period).await;
    let w_positions = meter.measure(o.cost_window(), || (0, 0)).await?;
    println!("{}", cost::describe("cost window 1 (positions only)", &w_positions));
    let screen_stats: &'static screen::ScreenStats = Box::leak(Box::new(screen::ScreenStats::new()));
    let tokens: Vec<String> = operators.iter().map(|op| op.token.clone()).collect();
    let watching = screen::Screens::start(bases, &tokens, screen_stats).await?;
    tokio::time::sleep(o.period).await;
    let w_screens =
        meter.measure(o.cost_window(), || (0, screen_stats.position_updates.load(Ordering::Relaxed))).await?;
    println!("{}", cost::describe("cost window 2 (positions, screens)", &w_screens));
    Ok((w_positions, watching, screen_stats, w_screens))
}
