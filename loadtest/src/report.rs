//! The printed rows of a full run that are not costs: escalations, the matcher, the screens,
//! the machine's stalls and Redis's own latency events (its latency monitor and slow log).

use crate::fleet::{self, Stats};
use crate::{baseline, escalation, matcher_bench, probe, quantiles, screen};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Phase 3's row.
pub fn print_escalations(esc: &escalation::EscalationFigures, window: Duration, geosearch_c1: &baseline::Bench) {
    println!(
        "| {} | GEOSEARCH -c 1 p99: {:.3} ms | p99 {:.0}× | p99 ≤ 10 ms, exactly once |",
        esc.cells(window),
        geosearch_c1.p99_ms,
        esc.late_ms.1 as f64 / geosearch_c1.p99_ms
    );
}

/// Phase 4's rows.
pub fn print_matcher(matcher: &matcher_bench::MatcherFigures) {
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
pub fn print_screens(s: &screen::ScreenStats, screens: usize, window: Duration, period: Duration) {
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
pub async fn redis_latency_monitor(port: u16) -> anyhow::Result<redis::aio::MultiplexedConnection> {
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
pub async fn redis_latency_events(conn: &redis::aio::MultiplexedConnection) -> anyhow::Result<Vec<String>> {
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
pub fn print_machine(machine: &probe::Findings, window: Duration, stats: &Stats, redis_events: &[String]) {
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
