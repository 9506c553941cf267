//! The durable-deadline runner. Deadlines live in the store (a Redis sorted set scored by due
//! time, or its in-memory twin), so they survive restarts and are shared by every instance.
//! Due deadlines are claimed with a lease (moved forward, not deleted), acted on idempotently
//! through the state machine, then removed with a fencing check. An instance that dies mid-way
//! leaves its claims to come back when the lease ends: at least once delivery, exactly-once
//! effect. Key-expiry notifications are never used.
//!
//! Each instance's runner sleeps on the injected clock until the soonest deadline in the
//! store. A write that sets a sooner one (on any instance) says so on the bus
//! ([`crate::store::BusMessage::NextDeadline`]) and the feed wakes the runner at once; it
//! looks again. `timers.poll_interval` (real time) is only a safety net for news the bus
//! lost.

use crate::dispatch::Dispatcher;
use crate::domain::incident::Deadline;
use crate::store::{ClaimedTimer, IncidentStore, TimerKey, TimerKind};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why firing a deadline failed (it comes back after its lease).
pub type FireError = Box<dyn std::error::Error + Send + Sync>;

/// Fires the deadlines of a capability outside the engine (issue #21: call-ins; issue #20:
/// the case file's; the reports capability's offer waves), through the same claim, lease and
/// fencing as every other deadline.
#[async_trait::async_trait]
pub trait TimerHandler: Send + Sync + 'static {
    /// Whether this handler fires deadlines of `kind`.
    fn handles(&self, kind: TimerKind) -> bool;

    /// Fire one due deadline idempotently: true when it changed something, false when it was
    /// stale (already done, or its subject is gone).
    ///
    /// # Errors
    /// Whatever kept it from acting; the deadline comes back after its lease.
    async fn fire(&self, key: &TimerKey) -> Result<bool, FireError>;
}

/// Incidents whose due deadlines one instance fires at once.
pub const CONCURRENT_INCIDENTS: usize = 16;

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerStep {
    /// Deadlines claimed.
    pub claimed: usize,
    /// Of those, how many changed an incident (the rest were stale: already claimed etc.).
    pub fired: usize,
    /// Deadlines whose action failed (left to come back after the lease).
    pub failed: usize,
}

/// Polls and fires due deadlines.
pub struct TimerRunner {
    dispatcher: Dispatcher,
    /// Where the deadlines are kept (claimed, finished, the soonest read).
    incidents: Arc<dyn IncidentStore>,
    /// Woken by the bus feed when a sooner deadline may have been set.
    wake: Arc<tokio::sync::Notify>,
    handlers: Vec<Arc<dyn TimerHandler>>,
}

impl TimerRunner {
    /// A runner of the deadlines in `incidents`, firing the incidents' through `dispatcher`,
    /// looking again whenever `wake` is notified.
    #[must_use]
    pub fn new(dispatcher: Dispatcher, incidents: Arc<dyn IncidentStore>, wake: Arc<tokio::sync::Notify>) -> Self {
        Self { dispatcher, incidents, wake, handlers: vec![] }
    }

    /// This runner, also firing the kinds `handler` handles.
    #[must_use]
    pub fn with_handler(mut self, handler: Arc<dyn TimerHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Claim and fire what is due now: one incident's deadlines in due order, different
    /// incidents' at once (up to [`CONCURRENT_INCIDENTS`]), so a backlog (after a stall or a
    /// restart) clears in round trips, not one after another.
    ///
    /// # Errors
    /// The store's error when claiming failed (nothing was claimed).
    pub async fn step(&self) -> Result<TimerStep, crate::store::StoreError> {
        let settings = &self.dispatcher.settings().timers;
        let now = self.dispatcher.now();
        let claimed = self.incidents.claim_due_timers(now, settings.lease, settings.batch).await?;
        let mut step = TimerStep { claimed: claimed.len(), ..TimerStep::default() };
        let mut by_incident: Vec<Vec<ClaimedTimer>> = vec![];
        for timer in claimed {
            match by_incident.iter_mut().find(|g| g[0].key.incident_id == timer.key.incident_id) {
                Some(group) => group.push(timer),
                None => by_incident.push(vec![timer]),
            }
        }
        let mut outcomes = futures_util::stream::iter(by_incident)
            .map(|group| async move {
                let mut done = TimerStep::default();
                for timer in group {
                    match self.fire(&timer).await {
                        Ok(fired) => {
                            done.fired += usize::from(fired);
                            if let Err(e) = self.incidents.finish_timer(&timer).await {
                                // The lease will bring it back; firing again is a no-op.
                                tracing::warn!(error = %e, timer = %timer.key.member(), "could not finish a fired timer");
                            }
                        }
                        Err(e) => {
                            done.failed += 1;
                            tracing::warn!(error = %e, timer = %timer.key.member(), "timer action failed; it returns after its lease");
                        }
                    }
                }
                done
            })
            .buffer_unordered(CONCURRENT_INCIDENTS);
        while let Some(done) = outcomes.next().await {
            step.fired += done.fired;
            step.failed += done.failed;
        }
        Ok(step)
    }

    async fn fire(&self, timer: &ClaimedTimer) -> Result<bool, FireError> {
        let d = &self.dispatcher;
        let id = &timer.key.incident_id;
        if let Some(handler) = self.handlers.iter().find(|h| h.handles(timer.key.kind)) {
            let fired = handler.fire(&timer.key).await?;
            if fired {
                metrics::counter!("gd_timers_fired_total", "kind" => timer.key.kind.as_str()).increment(1);
                tracing::info!(incident_id = %id, kind = timer.key.kind.as_str(), "deadline fired");
            }
            return Ok(fired);
        }
        let fired = match timer.key.kind {
            TimerKind::Escalate => d.escalate(id).await?,
            TimerKind::RemindArrive => d.deadline(id, Deadline::Arrive, false).await?,
            TimerKind::RemindResolve => d.deadline(id, Deadline::Resolve, false).await?,
            TimerKind::ArriveDue => d.deadline(id, Deadline::Arrive, true).await?,
            TimerKind::ResolveDue => d.deadline(id, Deadline::Resolve, true).await?,
            TimerKind::Climb => d.climb(id).await?,
            // A kind whose capability is not wired into this runner: nothing to do here.
            TimerKind::Wave
            | TimerKind::CallInRemindAck
            | TimerKind::CallInAckDue
            | TimerKind::CallInRemindRespond
            | TimerKind::CallInRespondDue
            | TimerKind::Webhook
            | TimerKind::CasePerformance
            | TimerKind::CaseConfirmation
            | TimerKind::CaseDeadline => false,
        };
        if fired {
            metrics::counter!("gd_timers_fired_total", "kind" => timer.key.kind.as_str()).increment(1);
            tracing::info!(incident_id = %id, kind = timer.key.kind.as_str(), "deadline fired");
        }
        Ok(fired)
    }

    /// Run until `cancel`: fire what is due, then sleep until the soonest deadline in the
    /// store (by the injected clock), or until woken by news of a sooner one, or at most
    /// `timers.poll_interval` (real time); at once again when a claimed batch was full.
    pub async fn run(self, cancel: CancellationToken) {
        let settings = self.dispatcher.settings().timers.clone();
        let wake = self.wake.clone();
        let clock = self.dispatcher.clock().clone();
        let mut backoff = crate::retry::Backoff::new(settings.poll_interval, Duration::from_secs(5));
        loop {
            let (soonest, pause) = match self.step().await {
                Ok(step) if step.claimed >= settings.batch => continue,
                Ok(_) => {
                    backoff.reset();
                    match self.incidents.next_timer_due().await {
                        Ok(soonest) => (soonest, settings.poll_interval),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not read the next deadline; polling");
                            (None, settings.poll_interval)
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "timer poll failed; store unavailable?");
                    (None, backoff.next_delay())
                }
            };
            let until_due = async {
                match soonest {
                    Some(due) => clock.sleep_until(due).await,
                    None => clock.sleep_until(jiff::Timestamp::MAX).await,
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = wake.notified() => {}
                () = until_due => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
