//! The machine's own hiccups, measured in the same run: a thread that does nothing but sleep
//! 1 ms at a time and note how late it wakes. It needs no CPU to speak of, so when it wakes
//! 5 ms late the machine (the other processes on the two cores, or the host under this VM) held
//! every thread back, ours included. The steady phase's slow offers are then matched against
//! the probe's stalls to tell a stall of the machine from a queue in the service.
//!
//! Alongside, the kernel's own view over the same window: CPU pressure
//! (`/proc/pressure/cpu`, share of time some runnable task waited for a core) and steal time
//! (`/proc/stat`, time the host ran something else on our virtual cores).

use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A wake-up later than this is a stall worth remembering.
const STALL: Duration = Duration::from_millis(2);
/// At most this many stalls are kept (a bound on memory in a pathological run).
const KEEP: usize = 100_000;
const TICK: Duration = Duration::from_millis(1);

/// A running probe.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Findings>,
    pressure_before: Option<u64>,
    steal_before: Option<u64>,
    started: Instant,
}

/// What it saw.
pub struct Findings {
    /// Lateness of each wake-up, µs.
    pub late_us: Histogram<u64>,
    /// Stalls: (wall-clock ns when the sleep should have ended, ns when it did).
    pub stalls: Vec<(u64, u64)>,
    /// Share of the window some runnable task waited for a core (`None`: no PSI here).
    pub cpu_pressure: Option<f64>,
    /// Share of the window the host stole from our cores (`None`: not reported).
    pub steal: Option<f64>,
}

impl Probe {
    /// Start probing.
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut late_us = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut stalls = vec![];
            while !flag.load(Ordering::Relaxed) {
                let due_ns = crate::fleet::unix_ns() + TICK.as_nanos() as u64;
                let due = Instant::now() + TICK;
                std::thread::sleep(TICK);
                let late = Instant::now().saturating_duration_since(due);
                late_us.saturating_record(u64::try_from(late.as_micros()).unwrap_or(u64::MAX).max(1));
                if late >= STALL && stalls.len() < KEEP {
                    stalls.push((due_ns, due_ns + late.as_nanos() as u64));
                }
            }
            Findings { late_us, stalls, cpu_pressure: None, steal: None }
        });
        Self { stop, thread, pressure_before: cpu_pressure_us(), steal_before: steal_ticks(), started: Instant::now() }
    }

    /// Stop and report.
    pub fn finish(self) -> Findings {
        let window = self.started.elapsed();
        self.stop.store(true, Ordering::Relaxed);
        let mut findings = self.thread.join().expect("the probe thread does not panic");
        let window_us = window.as_micros().max(1) as f64;
        findings.cpu_pressure =
            self.pressure_before.zip(cpu_pressure_us()).map(|(a, b)| b.saturating_sub(a) as f64 / window_us);
        // USER_HZ ticks over all cores, against the window times the cores.
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let tick_us = 1e6 / ticks_per_second();
        findings.steal = self
            .steal_before
            .zip(steal_ticks())
            .map(|(a, b)| b.saturating_sub(a) as f64 * tick_us / (window_us * cores));
        findings
    }
}

impl Findings {
    /// How many of `slow` (intervals of wall-clock ns) overlap one of the probe's stalls.
    pub fn overlapping(&self, slow: &[(u64, u64)]) -> usize {
        let mut stalls = self.stalls.clone();
        stalls.sort_unstable();
        // Longest stall so far, by start: an interval overlaps a stall iff some stall starting
        // before the interval's end ends after its start.
        let mut reach = Vec::with_capacity(stalls.len());
        let mut furthest = 0;
        for &(_, end) in &stalls {
            furthest = furthest.max(end);
            reach.push(furthest);
        }
        slow.iter()
            .filter(|&&(from, to)| {
                let before_end = stalls.partition_point(|&(start, _)| start < to);
                before_end > 0 && reach[before_end - 1] > from
            })
            .count()
    }

    /// Time the probe spent stalled, as a share of `window`.
    pub fn stalled_share(&self, window: Duration) -> f64 {
        let stalled: u64 = self.stalls.iter().map(|(a, b)| b - a).sum();
        stalled as f64 / window.as_nanos().max(1) as f64
    }
}

/// `/proc/pressure/cpu`'s "some" total, µs.
fn cpu_pressure_us() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|l| l.starts_with("some "))?;
    some.split_whitespace().find_map(|f| f.strip_prefix("total="))?.parse().ok()
}

/// The `steal` column of `/proc/stat`'s `cpu` line, in USER_HZ ticks.
fn steal_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = text.lines().find(|l| l.starts_with("cpu "))?;
    cpu.split_whitespace().nth(8)?.parse().ok()
}

/// The machine's 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// USER_HZ: the unit of `/proc`'s CPU times.
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_offers_are_matched_to_overlapping_stalls() {
        let findings = Findings {
            late_us: Histogram::new(3).unwrap(),
            stalls: vec![(300, 320), (100, 150), (110, 120)],
            cpu_pressure: None,
            steal: None,
        };
        let slow = [(90, 101), (140, 160), (150, 300), (121, 130), (319, 400), (0, 100), (321, 999)];
        // (0, 100) ends as the first stall starts, (321, 999) starts after the last ended;
        // (150, 300) starts as one ends and ends as the next starts: none of these overlap.
        assert_eq!(findings.overlapping(&slow), 4);
        assert_eq!(findings.overlapping(&[]), 0);
    }
}
