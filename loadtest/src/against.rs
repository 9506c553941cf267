//! `--against <older binary>`: the steady window run for two builds of the service in one
//! run, interleaved (A = the older binary, B = this build's `GD_LOADTEST_SERVER_BIN`): A, B,
//! A, B … for `--rounds` rounds, so both see the same weather of a shared machine.
//!
//! Each leg is the cost run's workload (`--only cost`): a fresh `redis-server`, its GEOSEARCH
//! `-c 50` baseline, fresh instances of the binary, accounts seeded, the phones on duty, then
//! the three cost windows (positions only; with the screens; with residents reporting, which
//! is the window report → offer and accept are timed in). Every figure is printed per leg and
//! pooled per binary (one histogram per binary over all its rounds), with the ratio B/A.
//!
//! Seeding goes through this build's library (accounts written straight to Redis, tokens
//! minted with the run's key); everything else goes through the public API. An older binary
//! that cannot read those accounts never gets its phones on duty: the leg fails with a message.

use crate::fleet::{Behaviour, Stats};
use crate::{Options, SOCKETS_PER_PROCESS, baseline, cost, procs, worker};
use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What one leg (one binary in one round) measured.
struct Leg {
    /// Its round, from 1.
    round: usize,
    /// 0: A (against), 1: B (this build).
    side: usize,
    geosearch_p99_ms: f64,
    offer_us: Histogram<u64>,
    accept_us: Histogram<u64>,
    costs: cost::Costs,
    reports_per_s: f64,
    /// 1-minute load average at the end of the reporting window.
    load: Option<f64>,
    /// Share of the reporting window some task waited for a core.
    cpu_pressure: Option<f64>,
}

/// The figures compared, in order: name, and how to read it from a leg's histograms and
/// costs (`None`: a quantile of the offer/accept histograms).
const FIGURES: [&str; 7] = [
    "report → offer p50 ms",
    "report → offer p99 ms",
    "report → offer max ms",
    "accept p50 ms",
    "accept p99 ms",
    "service CPU µs / position",
    "service CPU µs / report",
];

/// Run the comparison: `against` is A, [`procs::server_binary`] is B.
pub async fn run(o: &Options, against: &Path) -> anyhow::Result<()> {
    // Absolute: the instances run in a directory of their own.
    let absolute = |p: &Path| std::fs::canonicalize(p).with_context(|| format!("{} is missing", p.display()));
    let binaries = [absolute(against)?, procs::server_binary()?];
    println!("A (against): {}", binaries[0].display());
    println!("B (this build): {}", binaries[1].display());
    let mut legs = vec![];
    for round in 1..=o.rounds {
        for (side, binary) in binaries.iter().enumerate() {
            let name = ["A", "B"][side];
            println!("### round {round}, {name}");
            let leg = one_leg(o, binary, round, side)
                .await
                .with_context(|| format!("round {round}, {name} ({})", binary.display()))?;
            print_leg(&leg);
            legs.push(leg);
        }
    }
    print_summary(&legs);
    Ok(())
}

/// One binary's leg: fresh Redis, baseline, instances, phones, the three cost windows.
async fn one_leg(o: &Options, binary: &Path, round: usize, side: usize) -> anyhow::Result<Leg> {
    let dir = tempfile::Builder::new().prefix("gd-against-").tempdir()?;
    let (mut redis, port) = procs::start_redis(dir.path())?;
    baseline::seed_geo(port, o.mediators).await?;
    let geosearch = baseline::run(port, 50, 100_000, 1, &baseline::GEOSEARCH)?;
    let prefix = "lt";
    let (mut servers, bases) = procs::start_servers(binary, dir.path(), o.instances, port, prefix).await?;
    let operators = o.screens.unwrap_or(bases.len());
    let (mediators, operators) = crate::seed::seed_staff(port, prefix, o.mediators, operators).await?;
    let behaviour = Behaviour { period: o.period, accept_share: o.accept_share };
    let (workers, ready) = worker::start_fleet(&bases, &mediators, SOCKETS_PER_PROCESS, behaviour).await?;
    if ready < mediators.len() {
        for server in &mut servers {
            server.check_alive()?;
        }
        bail!(
            "only {ready} of {} phones went on duty: this binary may not read the accounts this build's \
             library seeds, or reject its tokens (see its log, {})",
            mediators.len(),
            dir.path().join("server-0.log").display()
        );
    }
    let stats: &'static Stats = Box::leak(Box::new(Stats::new()));
    let mut redis_conn =
        redis::Client::open(format!("redis://127.0.0.1:{port}"))?.get_multiplexed_async_connection().await?;
    let bus = cost::BusCount::start(port, format!("{{{prefix}}}:bus")).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).timeout(Duration::from_secs(30)).build()?;
    let mut meter = cost::Meter {
        groups: vec![
            ("redis-server", vec![redis.pid()]),
            (cost::SERVICE, servers.iter().map(procs::Owned::pid).collect()),
            (cost::FLEET, workers.iter().map(worker::Worker::pid).collect()),
        ],
        redis: redis_conn.clone(),
        http: &http,
        bases: &bases,
        bus,
        thread_groups: vec![],
    };
    let (w_positions, screens, screen_stats, w_screens) =
        crate::positions_then_screens(o, &mut meter, &bases, &operators).await?;
    let updates = || screen_stats.position_updates.load(Ordering::Relaxed);
    let probe = crate::probe::Probe::start();
    let filed = || stats.reports_ok.load(Ordering::Relaxed);
    let from = meter.snapshot(filed(), updates()).await?;
    let reports = (o.rate * o.duration.as_secs_f64()) as usize;
    crate::fleet::post_reports(&bases, http.clone(), o.rate, reports, stats).await;
    let to = meter.snapshot(filed(), updates()).await?;
    let w_reports = cost::Window::between(&meter, &from, &to);
    let machine = probe.finish();
    let load = crate::probe::load_average();
    // The offers and accepts of the last reports land (timed in the workers).
    tokio::time::sleep(Duration::from_secs(3)).await;
    screens.stop().await;
    for w in workers {
        w.finish(stats).await?;
    }
    for server in &mut servers {
        server.check_alive()?;
    }
    redis.check_alive()?;
    let mut costs = cost::Costs::from_windows(&w_positions, &w_screens, &w_reports);
    costs.redis_bytes_per_mediator = cost::redis_used_memory(&mut redis_conn).await? / ready.max(1) as f64;
    let lock =
        |h: &std::sync::Mutex<Histogram<u64>>| h.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    Ok(Leg {
        round,
        side,
        geosearch_p99_ms: geosearch.p99_ms,
        offer_us: lock(&stats.offer_us),
        accept_us: lock(&stats.accept_us),
        costs,
        reports_per_s: w_reports.reports_per_s,
        load,
        cpu_pressure: machine.cpu_pressure,
    })
}

/// The [`FIGURES`] of histograms and per-unit costs.
fn figures(offer: &Histogram<u64>, accept: &Histogram<u64>, us_per_position: f64, us_per_report: f64) -> [f64; 7] {
    let ms = |h: &Histogram<u64>, q: f64| if h.is_empty() { f64::NAN } else { h.value_at_quantile(q) as f64 / 1000.0 };
    [
        ms(offer, 0.5),
        ms(offer, 0.99),
        if offer.is_empty() { f64::NAN } else { offer.max() as f64 / 1000.0 },
        ms(accept, 0.5),
        ms(accept, 0.99),
        us_per_position,
        us_per_report,
    ]
}

/// The latency figures (the first five) are also given as × the GEOSEARCH p99.
fn cell(i: usize, value: f64, geosearch_p99_ms: f64) -> String {
    if i < 5 { format!("{value:.2} ({:.2}×)", value / geosearch_p99_ms) } else { format!("{value:.1}") }
}

fn machine(load: Option<f64>, pressure: Option<f64>) -> String {
    format!(
        "load {} / CPU pressure {}",
        load.map_or("?".to_owned(), |l| format!("{l:.2}")),
        pressure.map_or("?".to_owned(), |p| format!("{:.1} %", p * 100.0))
    )
}

fn print_leg(leg: &Leg) {
    let f = figures(&leg.offer_us, &leg.accept_us, leg.costs.service_us_per_position, leg.costs.service_us_per_report);
    println!(
        "round {} {}: {} offers, {:.0} reports/s, GEOSEARCH -c 50 p99 {:.3} ms, {}",
        leg.round,
        ["A", "B"][leg.side],
        leg.offer_us.len(),
        leg.reports_per_s,
        leg.geosearch_p99_ms,
        machine(leg.load, leg.cpu_pressure)
    );
    for (i, name) in FIGURES.iter().enumerate() {
        println!("  {name}: {}", cell(i, f[i], leg.geosearch_p99_ms));
    }
}

/// Per round (A, B, B/A) and pooled per binary.
fn print_summary(legs: &[Leg]) {
    println!();
    println!(
        "## A (against) vs B (this build), same run, interleaved (latency: value (× that leg's GEOSEARCH -c 50 p99))"
    );
    println!("| round | figure | A | B | B/A |");
    println!("|---|---|---|---|---|");
    let rounds = legs.iter().map(|l| l.round).max().unwrap_or(0);
    for round in 1..=rounds {
        let pair: Vec<&Leg> = legs.iter().filter(|l| l.round == round).collect();
        let [a, b] = pair.as_slice() else { continue };
        let fa = figures(&a.offer_us, &a.accept_us, a.costs.service_us_per_position, a.costs.service_us_per_report);
        let fb = figures(&b.offer_us, &b.accept_us, b.costs.service_us_per_position, b.costs.service_us_per_report);
        for (i, name) in FIGURES.iter().enumerate() {
            println!(
                "| {round} | {name} | {} | {} | {:.2} |",
                cell(i, fa[i], a.geosearch_p99_ms),
                cell(i, fb[i], b.geosearch_p99_ms),
                fb[i] / fa[i]
            );
        }
        println!(
            "| {round} | machine in the reporting window | {} | {} | |",
            machine(a.load, a.cpu_pressure),
            machine(b.load, b.cpu_pressure)
        );
    }
    // Pooled: one histogram per binary over its rounds; CPU per unit and GEOSEARCH p99 the
    // mean of its rounds.
    let pooled = |side: usize| -> ([f64; 7], f64) {
        let mine: Vec<&Leg> = legs.iter().filter(|l| l.side == side).collect();
        let n = mine.len().max(1) as f64;
        let empty = || Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
        let (mut offer, mut accept) = (empty(), empty());
        for l in &mine {
            let _ = offer.add(&l.offer_us);
            let _ = accept.add(&l.accept_us);
        }
        let mean = |f: fn(&Leg) -> f64| mine.iter().map(|l| f(l)).sum::<f64>() / n;
        let figures = figures(
            &offer,
            &accept,
            mean(|l| l.costs.service_us_per_position),
            mean(|l| l.costs.service_us_per_report),
        );
        (figures, mean(|l| l.geosearch_p99_ms))
    };
    let ((fa, ga), (fb, gb)) = (pooled(0), pooled(1));
    for (i, name) in FIGURES.iter().enumerate() {
        println!("| all | {name} | {} | {} | {:.2} |", cell(i, fa[i], ga), cell(i, fb[i], gb), fb[i] / fa[i]);
    }
}
