//! The atomic incident write's own latency: one client awaiting each `write_incident` through
//! the library's Redis store (a report's creation with three offers, then the claim that takes
//! it), interleaved with the same writes through the positional script it replaced
//! (`positional_write.rs`, under another prefix), and a one-key `EVALSHA` round trip, all on
//! the same Redis in the same run, so each figure reads as a ratio.

use crate::positional_write;
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::domain::incident::Status;
use grid_dispatch::store::redis::keys::Keys;
use grid_dispatch::store::redis::{RedisConfig, RedisStore};
use grid_dispatch::store::{
    Expect, Hold, IncidentStore, IncidentWrite, TimerKey, TimerKind, TimerOp, WriteOutcome, conformance,
};
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

/// Latency quantiles, µs: p50, p99, max.
#[derive(Debug, Clone, Copy)]
pub struct Quantiles {
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest.
    pub max_us: u64,
}

impl Quantiles {
    fn of(h: &Histogram<u64>) -> Self {
        Self { p50_us: h.value_at_quantile(0.5), p99_us: h.value_at_quantile(0.99), max_us: h.max() }
    }
}

/// What the write benchmark measured.
#[derive(Debug, Clone, Copy)]
pub struct WriteFigures {
    /// Writes of each kind.
    pub writes: usize,
    /// Creating an incident (with its timer, three offers and a tracking key): the named plan.
    pub create: Quantiles,
    /// Claiming it (version check, capacity guard, offers closed, timer cancelled): the plan.
    pub claim: Quantiles,
    /// The same creations through the positional script (before the plan).
    pub create_before: Quantiles,
    /// The same claims through the positional script.
    pub claim_before: Quantiles,
    /// `EVALSHA` of a one-key `GET`, the floor for any script call.
    pub evalsha: Quantiles,
}

impl WriteFigures {
    /// One table row per figure: value, baselines, ratios (p50 / p99).
    pub fn rows(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        let ratio = |a: Quantiles, b: Quantiles| {
            format!(
                "{:.2}× / {:.2}×",
                a.p50_us as f64 / b.p50_us.max(1) as f64,
                a.p99_us as f64 / b.p99_us.max(1) as f64
            )
        };
        let q = |q: Quantiles| format!("{:.3} / {:.3} / {:.3} ms", ms(q.p50_us), ms(q.p99_us), ms(q.max_us));
        let row = |name: &str, now: Quantiles, before: Quantiles| {
            format!(
                "| write: {name} p50 / p99 / max ({} writes, one client) | {} | positional script: {}; EVALSHA one-key GET: {} | {} to positional; {} to EVALSHA |",
                self.writes,
                q(now),
                q(before),
                q(self.evalsha),
                ratio(now, before),
                ratio(now, self.evalsha),
            )
        };
        format!("{}\n{}", row("create", self.create, self.create_before), row("claim", self.claim, self.claim_before))
    }
}

/// Run `writes` creations and claims of each kind (after a warm-up) against the Redis on
/// `redis_port`.
pub async fn run(redis_port: u16, writes: usize) -> anyhow::Result<WriteFigures> {
    let url = format!("redis://127.0.0.1:{redis_port}");
    let store = RedisStore::connect(&RedisConfig {
        url: url.clone(),
        prefix: "wb".into(),
        command_timeout: Duration::from_secs(10),
        cluster_nodes: vec![],
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let before = Before {
        script: redis::Script::new(positional_write::SCRIPT),
        keys: Keys::new("wp").map_err(|e| anyhow::anyhow!("{e:?}"))?,
    };
    let mediators: Vec<AccountId> = (0..3).map(|_| AccountId::generate()).collect();
    let new_hist = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3);
    let mut h: Vec<Histogram<u64>> = (0..5).map(|_| new_hist()).collect::<Result<_, _>>()?;
    let warm_up = writes / 10;
    for n in 0..warm_up + writes {
        let incident = conformance::incident(&mediators);
        let create = conformance::creation(&incident, &format!("wb-{}", incident.id));
        let taker = &mediators[n % mediators.len()];
        let mut next = incident.clone();
        next.status = Status::Claimed;
        next.claimed_by = Some(taker.clone());
        next.version += 1;
        let mut claim = IncidentWrite::new(next, Expect::Version(incident.version));
        claim.timers.push(TimerOp::Cancel(TimerKey {
            kind: TimerKind::Escalate,
            incident_id: incident.id.clone(),
            sub: None,
        }));
        claim.offers_close = mediators.clone();
        claim.hold = Some(Hold { mediator_id: taker.clone(), capacity: u32::MAX, day: "2026-12-06".into() });

        let timed = n >= warm_up;
        let [plan_create, plan_claim, old_create, old_claim, _] = &mut h[..] else { unreachable!("five") };
        // Interleaved, so load on the machine falls on both alike.
        timed_write(&store, &create, timed.then_some(plan_create)).await?;
        before.timed_write(&mut conn, &create, timed.then_some(old_create)).await?;
        timed_write(&store, &claim, timed.then_some(plan_claim)).await?;
        before.timed_write(&mut conn, &claim, timed.then_some(old_claim)).await?;
    }

    let script = redis::Script::new("return redis.call('GET', KEYS[1])");
    for n in 0..warm_up + writes {
        let t = Instant::now();
        let _: Option<String> = script.key("wb:floor").invoke_async(&mut conn).await?;
        if n >= warm_up {
            h[4].record(t.elapsed().as_micros().max(1) as u64)?;
        }
    }
    Ok(WriteFigures {
        writes,
        create: Quantiles::of(&h[0]),
        claim: Quantiles::of(&h[1]),
        create_before: Quantiles::of(&h[2]),
        claim_before: Quantiles::of(&h[3]),
        evalsha: Quantiles::of(&h[4]),
    })
}

/// One write through the store, which must apply; its latency goes to `into` (none during the
/// warm-up).
async fn timed_write(store: &RedisStore, w: &IncidentWrite, into: Option<&mut Histogram<u64>>) -> anyhow::Result<()> {
    let t = Instant::now();
    let outcome = store.write_incident(w).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let took = t.elapsed();
    anyhow::ensure!(outcome == WriteOutcome::Written, "{outcome:?}");
    if let Some(h) = into {
        h.record(took.as_micros().max(1) as u64)?;
    }
    Ok(())
}

/// The positional script and its keys (another prefix, so the two never meet).
struct Before {
    script: redis::Script,
    keys: Keys,
}

impl Before {
    /// One write through the positional script, which must apply (code 0).
    async fn timed_write(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        w: &IncidentWrite,
        into: Option<&mut Histogram<u64>>,
    ) -> anyhow::Result<()> {
        let t = Instant::now();
        let (code, ..): (i64, String, i64, String) =
            positional_write::invocation(&self.script, &self.keys, w).invoke_async(conn).await?;
        let took = t.elapsed();
        anyhow::ensure!(code == 0, "positional write answered {code}");
        if let Some(h) = into {
            h.record(took.as_micros().max(1) as u64)?;
        }
        Ok(())
    }
}
