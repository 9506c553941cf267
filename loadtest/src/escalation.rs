//! Escalation lateness with many pending deadlines: seed N unclaimed incidents straight into
//! the service's Redis (through the library's store, the same atomic write a report makes),
//! their deadlines spread over ten minutes, let the running service fire what falls due in
//! the observation window, then read back how late each fired and how often.

use futures_util::StreamExt;
use grid_dispatch::domain::incident::Event;
use grid_dispatch::store::{IncidentStore, WriteOutcome, conformance};
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

/// What the escalation phase measured.
#[derive(Debug, Clone)]
pub struct EscalationFigures {
    /// Deadlines pending when the window opened.
    pub pending: usize,
    /// Deadlines that fell due by the end of the window (some while seeding, if it was slow).
    pub due: usize,
    /// Of those, the ones due in the window, whose lateness is timed.
    pub timed: usize,
    /// Of those, escalated (exactly once each is the requirement).
    pub fired: usize,
    /// Fired more than once (timeline has more than one escalation).
    pub duplicates: usize,
    /// Lateness percentiles, ms: p50, p99, max.
    pub late_ms: (u64, u64, u64),
    /// Seeding rate, incidents per second (informative).
    pub seeded_per_s: f64,
    /// The machine over the window: the probe thread's wake-up lateness p99 and max (ms), CPU
    /// pressure, and how many escalations later than [`SLOW`] overlapped one of its stalls.
    pub machine: Machine,
}

/// An escalation this late is matched against the machine's stalls.
const SLOW: Duration = Duration::from_millis(10);

/// What the probe saw while the window's deadlines fell due.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Probe wake-up lateness p99 / max, ms.
    pub probe_late_ms: (f64, f64),
    /// Share of the window some runnable task waited for a core.
    pub cpu_pressure: Option<f64>,
    /// Escalations later than [`SLOW`].
    pub slow: usize,
    /// Of those, overlapping a stall of the probe (the machine held every thread back).
    pub slow_in_stall: usize,
}

impl EscalationFigures {
    /// The table's figure and value cells: what was measured, observed over `window`.
    pub fn cells(&self, window: Duration) -> String {
        let m = &self.machine;
        format!(
            "escalation lateness p50 / p99 / max ({} pending, seeded at {:.0}/s; {} due, {} of them in the {window:?} timed; {} fired, {} twice) | {} / {} / {} ms (machine in the window: probe wake-up p99 / max {:.1} / {:.1} ms, CPU pressure {}; {} escalations over {SLOW:?}, {} of them during a stall)",
            self.pending,
            self.seeded_per_s,
            self.due,
            self.timed,
            self.fired,
            self.duplicates,
            self.late_ms.0,
            self.late_ms.1,
            self.late_ms.2,
            m.probe_late_ms.0,
            m.probe_late_ms.1,
            m.cpu_pressure.map_or_else(|| "n/a".to_owned(), |p| format!("{:.1} %", p * 100.0)),
            m.slow,
            m.slow_in_stall,
        )
    }
}

/// Run the phase against the service's Redis (`prefix` = the service's).
pub async fn run(redis_port: u16, prefix: &str, pending: usize, window: Duration) -> anyhow::Result<EscalationFigures> {
    let store = crate::seed::connect_store(redis_port, prefix).await?;
    let lead = Duration::from_secs(5);
    let spread = Duration::from_secs(600);
    let seeded_at = jiff::Timestamp::now();
    let started = Instant::now();
    let writes = futures_util::stream::iter(0..pending)
        .map(|i| {
            let store = store.clone();
            async move {
                let offset = lead + spread.mul_f64(i as f64 / pending as f64);
                let mut incident = conformance::incident(&[]);
                incident.created_at = seeded_at;
                incident.escalate_at = seeded_at + jiff::SignedDuration::try_from(offset).unwrap_or_default();
                let write = conformance::creation(&incident, &format!("{i:064x}"));
                match store.write_incident(&write).await {
                    Ok(WriteOutcome::Written) => Ok((incident.id, incident.escalate_at)),
                    other => Err(anyhow::anyhow!("seeding a deadline: {other:?}")),
                }
            }
        })
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await;
    let seeded: Vec<_> = writes.into_iter().collect::<Result<_, _>>()?;
    let seeded_per_s = pending as f64 / started.elapsed().as_secs_f64();

    // Observe: the window opens when the first deadline is due, or when seeding is done if it
    // took longer than the lead (on a busy machine): lateness is timed with every deadline
    // pending, not while Redis is busy taking them. Those due before it still count for
    // "exactly once".
    let first_due = seeded_at + jiff::SignedDuration::try_from(lead).unwrap_or_default();
    let window_start = first_due.max(jiff::Timestamp::now());
    let window_end = window_start + jiff::SignedDuration::try_from(window).unwrap_or_default();
    let probe = crate::probe::Probe::start();
    let wait = window_end.duration_since(jiff::Timestamp::now()).unsigned_abs();
    tokio::time::sleep(wait).await;
    let findings = probe.finish();
    tokio::time::sleep(Duration::from_secs(2)).await; // the last ones' writes land

    let due: Vec<_> = seeded.iter().filter(|(_, at)| *at <= window_end).map(|(id, _)| id.clone()).collect();
    let mut late = Histogram::<u64>::new_with_bounds(1, 3_600_000, 3)?;
    let (mut fired, mut duplicates, mut timed) = (0, 0, 0);
    let mut slow = vec![];
    let ns = |t: jiff::Timestamp| u64::try_from(t.as_nanosecond()).unwrap_or(0);
    for chunk in due.chunks(500) {
        for incident in store.get_incidents(chunk).await.map_err(|e| anyhow::anyhow!("{e:?}"))? {
            let Some(at) = incident.escalated_at else { continue };
            fired += 1;
            if incident.escalate_at >= window_start {
                timed += 1;
                let ms = at.duration_since(incident.escalate_at).as_millis().max(1);
                late.saturating_record(u64::try_from(ms).unwrap_or(u64::MAX));
                if at.duration_since(incident.escalate_at).unsigned_abs() > SLOW {
                    slow.push((ns(incident.escalate_at), ns(at)));
                }
            }
            let timeline = store.timeline(&incident.id).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if timeline.iter().filter(|e| matches!(e.event, Event::Escalated)).count() > 1 {
                duplicates += 1;
            }
        }
    }
    Ok(EscalationFigures {
        pending,
        due: due.len(),
        timed,
        fired,
        duplicates,
        late_ms: (late.value_at_quantile(0.5), late.value_at_quantile(0.99), late.max()),
        seeded_per_s,
        machine: Machine {
            probe_late_ms: (
                findings.late_us.value_at_quantile(0.99) as f64 / 1000.0,
                findings.late_us.max() as f64 / 1000.0,
            ),
            cpu_pressure: findings.cpu_pressure,
            slow: slow.len(),
            slow_in_stall: findings.overlapping(&slow),
        },
    })
}
