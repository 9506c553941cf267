//! Backoff for every retry loop in the crate: exponential from a first delay, capped, with
//! jitter (each delay is stretched by a random 0–100 %), so instances that failed together do
//! not hammer a recovering Redis or WeChat in step. Built on `backon`'s exponential builder.

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;

/// The delays of one retry loop; [`Backoff::reset`] after a success.
#[derive(Debug)]
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    /// Delays from `first` (jittered up to twice it), doubling, never above twice `max`.
    #[must_use]
    pub fn new(first: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::new()
            .with_min_delay(first)
            .with_max_delay(max.max(first))
            .with_jitter()
            .without_max_times();
        Self { delays: builder.build(), builder, max }
    }

    /// How long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.max)
    }

    /// Start again from the first delay (after a success).
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_jittered_and_reset() {
        let (first, max) = (Duration::from_millis(100), Duration::from_secs(1));
        let mut backoff = Backoff::new(first, max);
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= first && delays[0] < first * 2, "{delays:?}");
        assert!(delays.iter().all(|d| *d < max * 2), "capped: {delays:?}");
        assert!(delays[8] >= max, "reaches the cap: {delays:?}");
        let again: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        assert_ne!(delays[8..], again[..4], "jittered");
        backoff.reset();
        assert!(backoff.next_delay() < first * 2, "reset starts over");
    }
}
