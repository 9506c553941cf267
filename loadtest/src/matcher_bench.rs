//! Matcher micro-benchmark: nearest-10 among N online mediators in a 30 km city with
//! `PositionIndex::nearest`, against a brute-force scan and against Redis `GEOSEARCH` (one
//! client, awaiting each reply) over the same points; and the index's memory per mediator,
//! measured with the counting allocator.

use crate::alloc::allocated_bytes;
use crate::city::City;
use grid_dispatch::domain::account::{Fix, Presence};
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::domain::location::{GeoPoint, resolution};
use grid_dispatch::matcher::index::PositionIndex;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The dispatch search radius (`dispatch.search_radius_m`'s default).
const RADIUS_M: f64 = 5000.0;

/// What the micro-benchmark measured.
#[derive(Debug, Clone, Copy)]
pub struct MatcherFigures {
    /// Online mediators.
    pub mediators: usize,
    /// `nearest` queries per second, one thread.
    pub index_qps: f64,
    /// Brute-force scans per second, one thread.
    pub brute_qps: f64,
    /// GEOSEARCH BYRADIUS 2 km ASC COUNT 10 per second, one client.
    pub geosearch_qps: f64,
    /// Queries where the index's top 10 differed from the brute force's.
    pub mismatches: usize,
    /// Index heap bytes per online mediator.
    pub bytes_per_mediator: f64,
}

/// Run it. `redis_port`: the Redis for the GEOSEARCH comparison.
pub async fn run(mediators: usize, redis_port: u16, budget: Duration) -> anyhow::Result<MatcherFigures> {
    let city = City::xining_30km();
    let mut rng = crate::city::Rng::new(0x5eed);
    let now = jiff::Timestamp::now();
    let points: Vec<(AccountId, GeoPoint)> =
        (0..mediators).map(|_| (AccountId::generate(), city.random_point(&mut rng))).collect();
    let presence: Vec<Presence> = points
        .iter()
        .map(|(id, p)| Presence {
            mediator_id: id.clone(),
            on_duty: true,
            fix: Some(Fix { point: *p, at: now, accuracy_m: None }),
        })
        .collect();

    // Memory: heap growth over inserting everyone, one at a time as the bus would.
    let index = PositionIndex::new(resolution(8).map_err(anyhow::Error::msg)?);
    let before = allocated_bytes();
    for p in &presence {
        index.apply_duty(&p.mediator_id, true);
        if let Some(fix) = p.fix {
            index.apply_fix(&p.mediator_id, fix);
        }
    }
    let after = allocated_bytes();
    let bytes_per_mediator = after.saturating_sub(before) as f64 / mediators as f64;
    drop(presence);

    let queries: Vec<GeoPoint> = (0..4096).map(|_| city.random_point(&mut rng)).collect();
    let fresh = now.checked_sub(jiff::SignedDuration::from_secs(120)).unwrap_or(now);

    // Index.
    let started = Instant::now();
    let mut n = 0usize;
    while started.elapsed() < budget {
        for q in queries.iter().take(512) {
            black_box(index.nearest(*q, RADIUS_M, 10, 0.0, fresh));
            n += 1;
        }
    }
    let index_qps = n as f64 / started.elapsed().as_secs_f64();

    // Brute force (and a correctness check of the index against it).
    let started = Instant::now();
    let mut n = 0usize;
    let mut mismatches = 0usize;
    while started.elapsed() < budget || n < 20 {
        let q = queries[n % queries.len()];
        // The same question as the index's: the nearest 10 within the 5 km search radius.
        let mut d: Vec<(f64, &AccountId)> =
            points.iter().map(|(id, p)| (q.distance_m(*p), id)).filter(|(m, _)| *m <= RADIUS_M).collect();
        if d.len() > 10 {
            d.select_nth_unstable_by(9, |a, b| a.0.total_cmp(&b.0));
            d.truncate(10);
        }
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let got: Vec<AccountId> =
            index.nearest(q, RADIUS_M, 10, 0.0, fresh).into_iter().take(10).map(|x| x.mediator_id).collect();
        if got.iter().ne(d.iter().map(|(_, id)| *id)) {
            mismatches += 1;
        }
        n += 1;
    }
    let brute_qps = n as f64 / started.elapsed().as_secs_f64();

    // Redis GEOSEARCH on the same points, one client, one request at a time.
    let client = redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let key = "bench:matcher";
    let _: () = redis::cmd("DEL").arg(key).query_async(&mut conn).await?;
    for chunk in points.chunks(1000) {
        let mut cmd = redis::cmd("GEOADD");
        cmd.arg(key);
        for (id, p) in chunk {
            cmd.arg(p.lng()).arg(p.lat()).arg(id.to_string());
        }
        let _: i64 = cmd.query_async(&mut conn).await?;
    }
    let started = Instant::now();
    let mut n = 0usize;
    while started.elapsed() < budget {
        let q = queries[n % queries.len()];
        let found: Vec<String> = redis::cmd("GEOSEARCH")
            .arg(key)
            .arg("FROMLONLAT")
            .arg(q.lng())
            .arg(q.lat())
            .arg("BYRADIUS")
            .arg(2)
            .arg("km")
            .arg("ASC")
            .arg("COUNT")
            .arg(10)
            .query_async(&mut conn)
            .await?;
        black_box(found);
        n += 1;
    }
    let geosearch_qps = n as f64 / started.elapsed().as_secs_f64();
    let _: () = redis::cmd("DEL").arg(key).query_async(&mut conn).await?;

    Ok(MatcherFigures { mediators, index_qps, brute_qps, geosearch_qps, mismatches, bytes_per_mediator })
}
