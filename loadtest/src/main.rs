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
//! floor on the same Redis (no service, seconds).
//!
//! One process may hold at most ~20,000 open files here, so mediators are spread over
//! service instances (`--instances`, by default one per 10,000 mediators, all on the one
//! Redis: reports go to each in turn, so offers cross instances through the bus) and over
//! fleet worker processes (one per 10,000 mediators; see `worker.rs`).

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
mod screen;
mod worker;
mod write_bench;

use anyhow::{Context, bail};
use fleet::{Behaviour, Mediator, Stats};
use grid_dispatch::auth::JwtKeys;
use grid_dispatch::domain::account::{Account, Role};
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::store::Directory;
use grid_dispatch::store::redis::{RedisConfig, RedisStore};
use secrecy::SecretString;
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
    let mut servers = vec![];
    for n in 0..o.instances {
        servers.push(procs::start_server(dir, n, redis_port, prefix).await?.0);
    }
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
    {
        let client = redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let city = city::City::xining_30km();
        let mut rng = city::Rng::new(42);
        for chunk in (0..o.mediators).collect::<Vec<_>>().chunks(1000) {
            let mut cmd = redis::cmd("GEOADD");
            cmd.arg("bench:geo");
            for i in chunk {
                let p = city.random_point(&mut rng);
                cmd.arg(p.lng()).arg(p.lat()).arg(format!("m{i}"));
            }
            let _: i64 = cmd.query_async(&mut conn).await?;
        }
    }
    let search =
        ["GEOSEARCH", "bench:geo", "FROMLONLAT", "101.78", "36.62", "BYRADIUS", "2", "km", "ASC", "COUNT", "10"];
    let geosearch_c50 = baseline::run(redis_port, 50, 100_000, 1, &search)?;
    let geosearch_c1 = baseline::run(redis_port, 1, 20_000, 1, &search)?;
    println!("baselines: GEOADD -c50 {geoadd:?}; GEOSEARCH -c50 {geosearch_c50:?}; GEOSEARCH -c1 {geosearch_c1:?}");

    // --- the service ----------------------------------------------------------------------
    let prefix = "lt";
    let mut redis_conn =
        redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))?.get_multiplexed_async_connection().await?;
    let memory_before = cost::redis_used_memory(&mut redis_conn).await?;
    let bus = cost::BusCount::start(redis_port, format!("{{{prefix}}}:bus")).await?;
    let mut servers = vec![];
    let mut bases = vec![];
    for n in 0..o.instances {
        let (server, base) = procs::start_server(dir.path(), n, redis_port, prefix).await?;
        servers.push(server);
        bases.push(base);
    }
    let idle_rss = rss_of(&servers);
    let store = RedisStore::connect(&RedisConfig {
        url: format!("redis://127.0.0.1:{redis_port}"),
        prefix: prefix.into(),
        command_timeout: Duration::from_secs(10),
        cluster_nodes: vec![],
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let keys = JwtKeys::hmac(&SecretString::from(procs::SECRET), "grid-dispatch", "grid-dispatch");
    let mediators = seed_accounts(&store, &keys, Role::Mediator, o.mediators).await?;
    let screens = o.screens.unwrap_or(bases.len());
    let operators = seed_accounts(&store, &keys, Role::Operator, screens).await?;
    println!("seeded {} mediator and {screens} operator accounts", mediators.len());

    let stats: &'static Stats = Box::leak(Box::new(Stats::new()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).timeout(Duration::from_secs(30)).build()?;

    // Phase 1: ingest capacity (not in a cost-only run: it leaves positions of its own).
    let ingest_per_s = if o.only_cost { f64::NAN } else { ingest(&o, &http, &bases, &mediators, stats).await? };

    // Phase 2: steady state: M sockets streaming (over the instances, from worker processes),
    // R reports/s (to each instance in turn), a share accepted.
    let behaviour = Behaviour { period: o.period, accept_share: o.accept_share };
    let connecting = Instant::now();
    let procs = mediators.len().div_ceil(SOCKETS_PER_PROCESS);
    let mut workers = vec![];
    for p in 0..procs {
        let shard = worker::Shard {
            bases: bases.clone(),
            mediators: mediators
                .iter()
                .enumerate()
                .skip(p)
                .step_by(procs)
                .map(|(i, m)| (i % bases.len(), m.clone()))
                .collect(),
            first_seed: 0x1000 + (p * mediators.len()) as u64,
            behaviour,
        };
        workers.push(worker::Worker::start(&shard).await?);
    }
    let mut ready = 0;
    for w in &mut workers {
        ready += w.ready().await?;
    }
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
    // Cost window 1: positions only (one period first, so every phone has streamed again).
    tokio::time::sleep(o.period).await;
    let w_positions = {
        let a = meter.snapshot(0, 0).await?;
        tokio::time::sleep(o.cost_window()).await;
        {
            let b = meter.snapshot(0, 0).await?;
            cost::Window::between(&meter, &a, &b)
        }
    };
    println!("{}", cost::describe("cost window 1 (positions only)", &w_positions));
    // The command center watches: its screens take their snapshot (every mediator on duty).
    let screen_stats: &'static screen::ScreenStats = Box::leak(Box::new(screen::ScreenStats::new()));
    let (screens_stop, screens_stop_rx) = tokio::sync::watch::channel(false);
    let (screen_ready_tx, mut screen_ready) = tokio::sync::mpsc::channel(screens.max(1));
    // On a thread and runtime of their own: parsing their feed (thousands of positions a
    // second) must not hold up posting the residents' reports, whose send is where report →
    // offer starts. (A real screen is a browser on another machine.)
    let screens_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let watching: Vec<_> = operators
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let base = bases[i % bases.len()].clone();
            let (ready, stop) = (screen_ready_tx.clone(), screens_stop_rx.clone());
            screens_rt.spawn(screen::watch(base, op.token.clone(), screen_stats, ready, stop))
        })
        .collect();
    drop(screen_ready_tx);
    for _ in 0..screens {
        tokio::time::timeout(screen::CONNECT_WITHIN, screen_ready.recv())
            .await
            .context("a command-center screen got no snapshot")?;
    }
    // One full period so every phone has streamed at least once more.
    tokio::time::sleep(o.period).await;
    // Cost window 2: positions and screens.
    let w_screens = {
        let updates = || screen_stats.position_updates.load(Ordering::Relaxed);
        let a = meter.snapshot(0, updates()).await?;
        tokio::time::sleep(o.cost_window()).await;
        {
            let b = meter.snapshot(0, updates()).await?;
            cost::Window::between(&meter, &a, &b)
        }
    };
    println!("{}", cost::describe("cost window 2 (positions, screens)", &w_screens));
    screen_stats.reset();
    let positions_before = metric(&http, &bases, "gd_positions_received_total").await;
    let dropped_before = metric(&http, &bases, "gd_ws_slow_consumer_dropped_total").await;
    let redis_latency = redis_latency_monitor(redis_port).await?;
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
    let _ = screens_stop.send(true);
    for w in watching {
        let _ = w.await;
    }
    screens_rt.shutdown_background();
    let cpu_use: Vec<(&str, f64)> = cpu_groups
        .iter()
        .zip(&cpu_before)
        .map(|((name, pids), before)| {
            let ticks = cpu_of(pids).saturating_sub(*before) as f64;
            (*name, ticks / probe::ticks_per_second() / probed.as_secs_f64())
        })
        .collect();
    let redis_events = redis_latency_events(&redis_latency).await?;
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
        print_escalations(esc, o.escalation_window, &geosearch_c1);
    }
    if let Some(matcher) = &matcher {
        print_matcher(matcher);
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
    print_screens(screen_stats, screens, probed, o.period);
    bus::print(&bus_traffic, probed, bus_reports);
    print_machine(&machine, probed, stats, &redis_events);
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

/// Phase 3's row.
fn print_escalations(esc: &escalation::EscalationFigures, window: Duration, geosearch_c1: &baseline::Bench) {
    println!(
        "| {} | GEOSEARCH -c 1 p99: {:.3} ms | p99 {:.0}× | p99 ≤ 10 ms, exactly once |",
        esc.cells(window),
        geosearch_c1.p99_ms,
        esc.late_ms.1 as f64 / geosearch_c1.p99_ms
    );
}

/// Phase 4's rows.
fn print_matcher(matcher: &matcher_bench::MatcherFigures) {
    println!(
        "| nearest-10 among {}k online (index) | {:.0}/s | GEOSEARCH 2 km COUNT 10, 1 client: {:.0}/s | {:.1}× | ≥ 100× |",
        matcher.mediators / 1000,
        matcher.index_qps,
        matcher.geosearch_qps,
        matcher.index_qps / matcher.geosearch_qps
    );
    println!(
        "| nearest-10 brute-force scan | {:.0}/s | GEOSEARCH, 1 client: {:.0}/s | {:.2}× | — |",
        matcher.brute_qps,
        matcher.geosearch_qps,
        matcher.brute_qps / matcher.geosearch_qps
    );
    println!(
        "| index vs brute force | {:.0}× faster, {} of the checked queries differ | | | 0 differ |",
        matcher.index_qps / matcher.brute_qps,
        matcher.mismatches
    );
    println!("| index memory per online mediator | {:.0} B | | | ≤ 300 B |", matcher.bytes_per_mediator);
}

/// What the command center's screens saw in the steady window.
fn print_screens(s: &screen::ScreenStats, screens: usize, window: Duration, period: Duration) {
    let (r50, r99, rmax, reports) = quantiles(&s.report_us);
    let (l50, l99, lmax, _) = quantiles(&s.position_lag_us);
    let per_screen = |n: u64| n as f64 / screens.max(1) as f64 / window.as_secs_f64();
    println!(
        "| command-center screens ({screens}): report → on the screen p50 / p99 / max ({reports} seen) | {r50:.2} / {r99:.2} / {rmax:.1} ms | | | — |"
    );
    println!(
        "| screens: position received → drawn p50 / p99 / max (batched every `push.live_batch_interval`; phones move every {period:?}) | {l50:.0} / {l99:.0} / {lmax:.0} ms | | | — |"
    );
    println!(
        "| screens: per screen, position updates / messages / KiB per second; snapshot KiB; screens lost | {:.0} / {:.1} / {:.0}; {:.0}; {} | | | 0 lost |",
        per_screen(s.position_updates.load(Ordering::Relaxed)),
        per_screen(s.messages.load(Ordering::Relaxed)),
        per_screen(s.bytes.load(Ordering::Relaxed)) / 1024.0,
        s.snapshot_bytes.load(Ordering::Relaxed) as f64 / 1024.0,
        s.lost.load(Ordering::Relaxed)
    );
    if let Some(why) = s.first_loss.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
        println!("first screen lost: {why}");
    }
}

/// Redis's latency monitor, on from now: every event (command, expiry cycle, fork…) of 2 ms
/// or more is kept by Redis itself.
async fn redis_latency_monitor(port: u16) -> anyhow::Result<redis::aio::MultiplexedConnection> {
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}"))?.get_multiplexed_async_connection().await?;
    let () = redis::cmd("CONFIG").arg("SET").arg("latency-monitor-threshold").arg(2).query_async(&mut conn).await?;
    let _: i64 = redis::cmd("LATENCY").arg("RESET").query_async(&mut conn).await?;
    let () = redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(2000).query_async(&mut conn).await?;
    let () = redis::cmd("CONFIG").arg("SET").arg("slowlog-max-len").arg(1024).query_async(&mut conn).await?;
    let () = redis::cmd("SLOWLOG").arg("RESET").query_async(&mut conn).await?;
    Ok(conn)
}

/// `LATENCY LATEST` (each kind of event seen, its longest and latest), then the slow log's
/// commands of 2 ms or more by command and kind of key (how many, the longest), as lines.
async fn redis_latency_events(conn: &redis::aio::MultiplexedConnection) -> anyhow::Result<Vec<String>> {
    let mut conn = conn.clone();
    let rows: Vec<(String, i64, i64, i64)> = redis::cmd("LATENCY").arg("LATEST").query_async(&mut conn).await?;
    let mut events: Vec<String> =
        rows.into_iter().map(|(event, _, latest, max)| format!("{event} max {max} ms (latest {latest} ms)")).collect();
    let slow: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").arg(1024).query_async(&mut conn).await?;
    let mut by_command = std::collections::BTreeMap::<String, (i64, i64)>::new();
    for entry in slow {
        let redis::Value::Array(fields) = entry else { continue };
        let (Some(redis::Value::Int(us)), Some(redis::Value::Array(args))) = (fields.get(2), fields.get(3)) else {
            continue;
        };
        let text = |v: &redis::Value| match v {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        // The kind of key (`{lt}:inc`, not the incident's id). EVALSHA <sha> <numkeys> <first
        // key>: the key names the script's subject.
        let kind = |key: String| key.splitn(3, ':').take(2).collect::<Vec<_>>().join(":");
        let name = match args.first().map(text).as_deref() {
            Some(c) if c.eq_ignore_ascii_case("evalsha") => {
                format!("EVALSHA {}", kind(args.get(3).map(text).unwrap_or_default()))
            }
            Some(c) => format!("{c} {}", kind(args.get(1).map(text).unwrap_or_default())),
            None => continue,
        };
        let seen = by_command.entry(name).or_default();
        *seen = (seen.0 + 1, seen.1.max(us / 1000));
    }
    events.extend(
        by_command.into_iter().map(|(name, (count, max))| format!("slowlog {name} ×{count}, longest {max} ms")),
    );
    Ok(events)
}

/// The machine's own stalls in the steady window, and how many slow offers fell in one.
fn print_machine(machine: &probe::Findings, window: Duration, stats: &Stats, redis_events: &[String]) {
    let q = |p: f64| machine.late_us.value_at_quantile(p) as f64 / 1000.0;
    let pct = |share: Option<f64>| share.map_or("not reported".to_owned(), |s| format!("{:.1} %", s * 100.0));
    println!(
        "| machine: a thread sleeping 1 ms wakes late by p50 / p99 / p99.9 / max | {:.2} / {:.2} / {:.2} / {:.1} ms | | | — |",
        q(0.5),
        q(0.99),
        q(0.999),
        machine.late_us.max() as f64 / 1000.0
    );
    println!(
        "| machine: time that thread was held ≥ 2 ms / CPU pressure (some task waiting) / steal | {:.2} % / {} / {} of the steady window | | | — |",
        machine.stalled_share(window) * 100.0,
        pct(machine.cpu_pressure),
        pct(machine.steal)
    );
    let slow = stats.slow_offers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let first_wave = stats.offer_us.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
    let spans: Vec<(u64, u64)> = slow.iter().map(|&(sent, _, received)| (sent, received)).collect();
    println!(
        "| first-wave offers ≥ {:?} / of them during a machine stall ≥ 2 ms | {} of {first_wave} / {} | | | — |",
        fleet::OFFER_TARGET,
        slow.len(),
        machine.overlapping(&spans)
    );
    // Where their time went: before the service stamped the report (the client's send, the
    // connection, the request's parsing), and after (its write, the bus, the socket, the phone).
    let median_ms = |mut v: Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).map_or(0.0, |ns| *ns as f64 / 1e6)
    };
    println!(
        "| those slow offers: median time before the service stamped the report / after | {:.2} / {:.2} ms | | | — |",
        median_ms(slow.iter().map(|&(sent, created, _)| created.saturating_sub(sent)).collect()),
        median_ms(slow.iter().map(|&(_, created, received)| received.saturating_sub(created)).collect())
    );
    println!(
        "| redis-server's own latency events ≥ 2 ms (LATENCY LATEST) | {} | | | — |",
        if redis_events.is_empty() { "none".to_owned() } else { redis_events.join("; ") }
    );
}

/// Create `n` accounts of `role` directly in the store (hashing 20,000 passwords through the
/// admin API would measure argon2, not dispatch) and mint their tokens.
async fn seed_accounts(store: &RedisStore, keys: &JwtKeys, role: Role, n: usize) -> anyhow::Result<Vec<Mediator>> {
    let now = jiff::Timestamp::now();
    insert_accounts(store, role, n)
        .await?
        .iter()
        .map(|id| {
            let token = keys.issue(&id.to_string(), role, Duration::from_secs(7200), now)?.0;
            Ok(Mediator { token })
        })
        .collect()
}

/// Create `n` accounts of `role` directly in the store; their ids.
async fn insert_accounts(store: &RedisStore, role: Role, n: usize) -> anyhow::Result<Vec<AccountId>> {
    use futures_util::StreamExt;
    let hash = grid_dispatch::auth::hash_password("loadtest-password").map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = jiff::Timestamp::now();
    let accounts: Vec<Account> = (0..n)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "id": AccountId::generate(),
                "role": role.as_str(),
                "name": format!("压测{i}"),
                "phone": format!("{}{:08}", if role == Role::Mediator { 137 } else { 136 }, i),
                "password_hash": hash,
                "enabled": true,
                "specialties": [],
                "capacity": 3,
                "created_at": now,
                "version": 1,
            }))
        })
        .collect::<Result<_, _>>()?;
    let inserted = futures_util::stream::iter(accounts.iter())
        .map(|a| store.insert_account(a))
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await;
    for r in inserted {
        if !r.map_err(|e| anyhow::anyhow!("{e:?}"))? {
            bail!("a seeded phone was taken");
        }
    }
    Ok(accounts.into_iter().map(|a| a.id).collect())
}
