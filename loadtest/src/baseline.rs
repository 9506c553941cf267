//! Raw-Redis baselines from `redis-benchmark` against the same server in the same run.

use anyhow::{Context, bail};
use std::process::Command;

/// One `redis-benchmark` result.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bench {
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Worst.
    pub max_ms: f64,
}

/// Run `redis-benchmark -c clients -n requests -r random_keys <command…>` and parse its summary.
pub fn run(port: u16, clients: usize, requests: usize, random_keys: usize, command: &[&str]) -> anyhow::Result<Bench> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-c", &clients.to_string(), "-n", &requests.to_string(), "-r", &random_keys.to_string()])
        .args(command)
        .output()
        .context("running redis-benchmark")?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    parse(&text).with_context(|| format!("unexpected redis-benchmark output for {command:?}:\n{text}"))
}

/// GEOSEARCH BYRADIUS 2 km ASC COUNT 10 from the city's centre, over `bench:geo`.
pub const GEOSEARCH: [&str; 11] =
    ["GEOSEARCH", "bench:geo", "FROMLONLAT", "101.78", "36.62", "BYRADIUS", "2", "km", "ASC", "COUNT", "10"];

/// Fill `bench:geo` with `members` random points over the city (as many as mediators online),
/// what [`GEOSEARCH`] searches.
pub async fn seed_geo(port: u16, members: usize) -> anyhow::Result<()> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let city = crate::city::City::xining_30km();
    let mut rng = crate::city::Rng::new(42);
    for chunk in (0..members).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("GEOADD");
        cmd.arg("bench:geo");
        for i in chunk {
            let p = city.random_point(&mut rng);
            cmd.arg(p.lng()).arg(p.lat()).arg(format!("m{i}"));
        }
        let _: i64 = cmd.query_async(&mut conn).await?;
    }
    Ok(())
}

/// Parse the "throughput summary" and "latency summary" blocks of redis-benchmark ≥ 6.2.
fn parse(text: &str) -> anyhow::Result<Bench> {
    let mut bench = Bench::default();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("throughput summary:") {
            bench.rps = rest.split_whitespace().next().unwrap_or("0").parse()?;
        }
        if line.starts_with("latency summary") {
            // Header "avg min p50 p95 p99 max", then the values.
            let values: Vec<f64> =
                lines.get(i + 2).unwrap_or(&"").split_whitespace().filter_map(|v| v.parse().ok()).collect();
            if values.len() == 6 {
                bench.p50_ms = values[2];
                bench.p99_ms = values[4];
                bench.max_ms = values[5];
            }
        }
    }
    if bench.rps <= 0.0 {
        bail!("no throughput summary");
    }
    Ok(bench)
}
