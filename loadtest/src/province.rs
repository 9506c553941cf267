//! Province mode (`--province`): the position pipeline at a province's rate (250,000
//! mediators every 5 s: 50,000 positions/s) without an OS socket per phone, which one machine
//! cannot hold (20,000 open files per process here).
//!
//! The service runs in this process (`App::start`, Redis backend, its own runtime and threads
//! named `gd-app`), and a driver hands it every phone's text message through
//! `http::mediator::phone_message`, the function the phone's socket calls for each message it
//! reads: JSON decoding, validation, the durability guard, the enabled-account check, the
//! position batcher, the Redis write with its bus message (`store_fixes`), this instance's
//! feed, the position index and the screens' batches all run as they do for a socket. NOT
//! exercised: the WebSocket framing and TCP reads of 250,000 sockets, their per-socket tasks
//! and pings (measured per position by the socket runs: `--sizes`). A second instance (the release
//! binary, a separate process) follows the bus as every further instance would, so its CPU is
//! what each extra instance costs per position. The phones' paths are generated on the
//! driver's own runtime; only the hand-over (a channel, as a socket's read loop hands a
//! message to its handler) runs on the service's threads, and CPU is read per thread.

use crate::city::{City, Rng, Walker};
use crate::cost::{self, BusCount};
use crate::procs;
use anyhow::Context;
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::store::durability::{Durability, Guard};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The province run's knobs.
pub struct Province {
    /// Mediators on duty.
    pub mediators: usize,
    /// Seconds between one phone's positions.
    pub period: Duration,
    /// Length of each cost window.
    pub window: Duration,
    /// Command-center screens on the in-process instance.
    pub screens: usize,
    /// Reports per second in the last window.
    pub rate: f64,
}

/// Name of the in-process service's threads (its CPU is read from them).
const APP_THREADS: &str = "gd-app";
/// Driver slices per period: every slice hands over 1/SLICES of the phones' positions.
const SLICE: Duration = Duration::from_millis(10);
/// Tasks handing messages to the service (a socket each would be 250,000).
const HANDLERS: usize = 8;

/// Run it and print the cost figures.
pub async fn run(p: &Province) -> anyhow::Result<()> {
    // The service, in this process on threads of its own.
    let app_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, usize::from))
        .thread_name(APP_THREADS)
        .enable_all()
        .build()?;
    let outcome = run_on(p, &app_rt).await;
    // A runtime may not be dropped (blocking) inside another one.
    app_rt.shutdown_background();
    outcome
}

async fn run_on(p: &Province, app_rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("gd-province-").tempdir()?;
    let (mut redis, redis_port) = procs::start_redis(dir.path())?;
    let prefix = "lt";
    let url = format!("redis://127.0.0.1:{redis_port}");
    let mut conn = redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?;
    let memory_before = cost::redis_used_memory(&mut conn).await?;
    let bus = BusCount::start(redis_port, format!("{{{prefix}}}:bus")).await?;

    let store = grid_dispatch::store::redis::RedisStore::connect(&grid_dispatch::store::redis::RedisConfig {
        url: url.clone(),
        prefix: prefix.into(),
        command_timeout: Duration::from_secs(30),
        cluster_nodes: vec![],
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let seeding = Instant::now();
    let ids = crate::seed::insert_accounts(&store, grid_dispatch::domain::account::Role::Mediator, p.mediators).await?;
    let keys = grid_dispatch::auth::JwtKeys::hmac(
        &secrecy::SecretString::from(procs::SECRET),
        "grid-dispatch",
        "grid-dispatch",
    );
    let operators =
        crate::seed::seed_accounts(&store, &keys, grid_dispatch::domain::account::Role::Operator, p.screens).await?;
    println!("seeded {} mediators in {:.1}s", ids.len(), seeding.elapsed().as_secs_f64());

    let mut settings = grid_dispatch::config::Settings::defaults();
    settings.redis.url.clone_from(&url);
    settings.redis.prefix = prefix.into();
    settings.http.addr = "127.0.0.1:0".parse()?;
    settings.auth.jwt_secret = Some(secrecy::SecretString::from(procs::SECRET));
    // As the service processes of a load test run (`procs::start_server`).
    settings.report_limits.per_ip = 0;
    settings.http.max_in_flight = 8192;
    settings.http.max_connections = 19_000;
    let app = app_rt.spawn(grid_dispatch::app::App::start(settings)).await??;
    let base = format!("http://{}", app.addr());
    // A second instance, a process of its own: what every further instance pays per position.
    let (other, other_base) = procs::start_server(dir.path(), 1, redis_port, prefix).await?;

    // Duty on for everyone, through the phone's path.
    let presence = grid_dispatch::services::Presence::new(app.dispatcher().clone(), app.ports());
    let health = grid_dispatch::services::Health::new(
        app.ports().health.clone(),
        Arc::new(Guard::new(Durability::None)),
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let clock: Arc<dyn grid_dispatch::clock::Clock> = Arc::new(grid_dispatch::clock::SystemClock);
    let ids: Arc<[AccountId]> = ids.into();
    {
        let mut going = tokio::task::JoinSet::new();
        for part in 0..64 {
            let (presence, health, clock, ids) = (presence.clone(), health.clone(), clock.clone(), ids.clone());
            going.spawn_on(
                async move {
                    let duty = r#"{"type":"duty","on":true}"#;
                    for id in ids.iter().skip(part).step_by(64) {
                        grid_dispatch::http::mediator::phone_message(&presence, &health, clock.as_ref(), id, duty)
                            .await;
                    }
                },
                app_rt.handle(),
            );
        }
        while going.join_next().await.transpose()?.is_some() {}
    }
    println!("{} mediators on duty", ids.len());

    // The hand-over: batches of (mediator index, text) from the driver to handler tasks.
    let mut handlers = vec![];
    let mut inboxes = vec![];
    for _ in 0..HANDLERS {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(u32, String)>>(64);
        inboxes.push(tx);
        let (presence, health, clock, ids) = (presence.clone(), health.clone(), clock.clone(), ids.clone());
        handlers.push(app_rt.spawn(async move {
            let mut replies = 0u64;
            while let Some(batch) = rx.recv().await {
                for (i, text) in batch {
                    let me = &ids[i as usize];
                    if grid_dispatch::http::mediator::phone_message(&presence, &health, clock.as_ref(), me, &text)
                        .await
                        .is_some()
                    {
                        replies += 1;
                    }
                }
            }
            replies
        }));
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let driver = tokio::spawn(drive(ids.len(), p.period, inboxes, stop_rx));
    // Screens on the in-process instance.
    let screen_stats: &'static crate::screen::ScreenStats = Box::leak(Box::new(crate::screen::ScreenStats::new()));
    let (screens_stop, screens_stop_rx) = tokio::sync::watch::channel(false);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let bases = [base.clone(), other_base];
    let mut meter = cost::Meter {
        groups: vec![(cost::SERVICE, vec![]), ("second instance (bus only)", vec![other.pid()])],
        redis: conn.clone(),
        http: &http,
        bases: &bases,
        bus,
        thread_groups: vec![(cost::SERVICE, APP_THREADS)],
    };
    tokio::time::sleep(p.period).await;
    let a = meter.snapshot(0, 0).await?;
    tokio::time::sleep(p.window).await;
    let w_positions = {
        let b = meter.snapshot(0, 0).await?;
        cost::Window::between(&meter, &a, &b)
    };
    println!("{}", cost::describe("province window 1 (positions only)", &w_positions));

    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(p.screens.max(1));
    let watching: Vec<_> = operators
        .iter()
        .map(|op| {
            tokio::spawn(crate::screen::watch(
                base.clone(),
                op.token.clone(),
                screen_stats,
                ready_tx.clone(),
                screens_stop_rx.clone(),
            ))
        })
        .collect();
    drop(ready_tx);
    for _ in 0..p.screens {
        tokio::time::timeout(crate::screen::CONNECT_WITHIN, ready_rx.recv())
            .await
            .context("a screen got no snapshot")?;
    }
    tokio::time::sleep(p.period).await;
    let updates = || screen_stats.position_updates.load(std::sync::atomic::Ordering::Relaxed);
    let a = meter.snapshot(0, updates()).await?;
    tokio::time::sleep(p.window).await;
    let w_screens = {
        let b = meter.snapshot(0, updates()).await?;
        cost::Window::between(&meter, &a, &b)
    };
    println!("{}", cost::describe("province window 2 (positions, screens)", &w_screens));

    let stats: &'static crate::fleet::Stats = Box::leak(Box::new(crate::fleet::Stats::new()));
    let filed = || stats.reports_ok.load(std::sync::atomic::Ordering::Relaxed);
    let a = meter.snapshot(filed(), updates()).await?;
    let reports = (p.rate * p.window.as_secs_f64()) as usize;
    crate::fleet::post_reports(std::slice::from_ref(&base), http.clone(), p.rate, reports, stats).await;
    let w_reports = {
        let b = meter.snapshot(filed(), updates()).await?;
        cost::Window::between(&meter, &a, &b)
    };
    println!("{}", cost::describe("province window 3 (positions, screens, reports)", &w_reports));

    let mut costs = cost::Costs::from_windows(&w_positions, &w_screens, &w_reports);
    costs.mediators = ids.len();
    costs.instances = 2;
    costs.redis_bytes_per_mediator = (cost::redis_used_memory(&mut conn).await? - memory_before) / ids.len() as f64;
    let mut presence = 0.0;
    for key in ["fix", "fix_at", "duty"] {
        presence += cost::key_bytes(&mut conn, &format!("{{{prefix}}}:{key}")).await?;
    }
    costs.presence_bytes_per_mediator = presence / ids.len() as f64;
    let per_extra_instance = w_positions.group("second instance (bus only)") * 1e6 / w_positions.received_per_s;

    let _ = stop_tx.send(true);
    let sent = driver.await?;
    let _ = screens_stop.send(true);
    for w in watching {
        let _ = w.await;
    }
    let mut replies = 0;
    for h in handlers {
        replies += h.await?;
    }
    let rss = procs::rss_bytes(std::process::id()).unwrap_or(0);
    redis.check_alive()?;
    drop(other);
    app_rt.spawn(app.stop()).await?;

    println!();
    println!(
        "## Province simulation ({} mediators every {:?}, in-process driver; see province.rs for what is not exercised)",
        costs.mediators, p.period
    );
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!(
        "| positions handed over / received / stored per second (window 1) | {:.0} / {:.0} / {:.0} | 50,000 |",
        sent.1, w_positions.received_per_s, w_positions.stored_per_s
    );
    println!("| positions refused or answered with an error | {replies} of {} | 0 |", sent.0);
    for (figure, value, target) in costs.rows() {
        println!("| {figure} | {value} | {target} |");
    }
    println!("| each further instance (bus, index, no screens) per position | {per_extra_instance:.2} µs | |");
    println!(
        "| this process's RSS (the service and the driver) / redis-server RSS | {:.0} / {:.0} MiB | |",
        rss as f64 / 1_048_576.0,
        procs::rss_bytes(redis.pid()).unwrap_or(0) as f64 / 1_048_576.0
    );
    println!(
        "| Redis CPU in window 1 / 2 / 3, % of one core | {:.0} / {:.0} / {:.0} % | one primary carries it if well under 100 % |",
        w_positions.redis_cores * 100.0,
        w_screens.redis_cores * 100.0,
        w_reports.redis_cores * 100.0
    );
    cost::print(&costs);
    Ok(())
}

/// Hand every phone's next position to the handlers, a slice of the phones every [`SLICE`],
/// until `stop`; (positions handed over, per second).
async fn drive(
    phones: usize,
    period: Duration,
    inboxes: Vec<tokio::sync::mpsc::Sender<Vec<(u32, String)>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (u64, f64) {
    let city = City::xining_30km();
    let mut rng = Rng::new(0x9e37);
    let mut walkers: Vec<Walker> = (0..phones).map(|_| Walker::new(&city, &mut rng)).collect();
    let slices = (period.as_nanos() / SLICE.as_nanos()).max(1) as usize;
    let per_slice = phones.div_ceil(slices);
    let mut tick = tokio::time::interval(SLICE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut sent, started) = (0u64, Instant::now());
    let mut slice = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        let from = slice * per_slice;
        let to = (from + per_slice).min(phones);
        let mut batches: Vec<Vec<(u32, String)>> = vec![Vec::new(); inboxes.len()];
        for i in from..to {
            let w = &mut walkers[i];
            w.step(&city, &mut rng, period.as_secs_f64());
            let at = w.at();
            let text = format!(r#"{{"type":"position","lat":{},"lng":{},"coord":"wgs84"}}"#, at.lat(), at.lng());
            batches[i % inboxes.len()].push((i as u32, text));
        }
        for (inbox, batch) in inboxes.iter().zip(batches) {
            sent += batch.len() as u64;
            if inbox.send(batch).await.is_err() {
                return (sent, sent as f64 / started.elapsed().as_secs_f64());
            }
        }
        slice = (slice + 1) % slices;
    }
    (sent, sent as f64 / started.elapsed().as_secs_f64())
}
