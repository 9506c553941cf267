//! Time, injected: the service reads "now" and waits for a moment through a [`Clock`], so tests
//! can hold time still and move it on ([`ManualClock`]) instead of shortening durations.
//!
//! What runs on this clock: every "now" of the use cases, the memory store and the WeChat
//! notifier, and the timer runner's wait for the next deadline. What does not: waits that
//! bound how long the service itself may take (request timeouts, retry backoff, the timer
//! runner's safety-net poll) run on tokio's monotonic time, and Redis keeps its own clock for
//! key expiry.

use jiff::{SignedDuration, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::watch;

/// A future a clock resolves.
pub type Wait = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;

    /// Resolves once [`Clock::now`] has reached `deadline` (at once if it has).
    fn sleep_until(&self, deadline: Timestamp) -> Wait;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> Wait {
        // tokio's timer is monotonic and ticks in whole milliseconds, rounding up; the wall
        // clock is read again after each sleep (it may have been stepped), in steps of at most
        // an hour (so a deadline years ahead is fine too).
        Box::pin(async move {
            loop {
                let wait = deadline.duration_since(Timestamp::now());
                if wait <= SignedDuration::ZERO {
                    return;
                }
                tokio::time::sleep(wait.unsigned_abs().min(Duration::from_secs(3600))).await;
            }
        })
    }
}

/// A clock that stands still until told to move: for in-process tests (advance time instead
/// of shortening durations). Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<Timestamp>,
    /// The latest time a waiter saw when it began (or resumed) waiting for a later one.
    parked_at: watch::Sender<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self { now: watch::Sender::new(start), parked_at: watch::Sender::new(Timestamp::MIN) }
    }

    /// A clock standing at the current wall-clock time, whole milliseconds (as deadlines are
    /// stored).
    #[must_use]
    pub fn starting_now() -> Self {
        Self::new(Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    /// Move the clock on by `by`, waking whoever waits for a moment up to the new time.
    pub fn advance(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(by).unwrap_or(Timestamp::MAX));
    }

    /// Resolves once a waiter on this clock has seen its current time and gone back to
    /// waiting for a later one: e.g. the timer runner has fired everything due by now. Waits
    /// forever when nothing ever waits on the clock (bound it with a timeout).
    pub async fn idle(&self) {
        let now = *self.now.borrow();
        let mut parked = self.parked_at.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = parked.wait_for(|at| *at >= now).await;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: Timestamp) -> Wait {
        let mut now = self.now.subscribe();
        let parked_at = self.parked_at.clone();
        Box::pin(async move {
            loop {
                let seen = *now.borrow_and_update();
                if seen >= deadline {
                    return;
                }
                parked_at.send_if_modified(|at| {
                    let later = seen > *at;
                    if later {
                        *at = seen;
                    }
                    later
                });
                if now.changed().await.is_err() {
                    // The clock is gone: time stands still for good.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_a_waiter_only_once_it_reaches_the_deadline() {
        let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap());
        let deadline = clock.now().checked_add(SignedDuration::from_mins(5)).unwrap();
        let mut waiting = tokio::spawn(clock.sleep_until(deadline));
        clock.idle().await;
        clock.advance(Duration::from_secs(299));
        clock.idle().await;
        assert!(tokio::time::timeout(Duration::from_millis(20), &mut waiting).await.is_err(), "not before");
        clock.advance(Duration::from_secs(1));
        waiting.await.unwrap();
        assert_eq!(clock.now(), deadline);
    }

    #[tokio::test]
    async fn the_system_clock_sleeps_until_its_deadline() {
        let deadline = SystemClock.now().checked_add(SignedDuration::from_millis(30)).unwrap();
        SystemClock.sleep_until(deadline).await;
        assert!(SystemClock.now() >= deadline);
    }
}
