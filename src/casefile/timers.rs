//! The case file's deadline runner: performance follow-ups, 司法确认 reminders and the
//! mediation deadline. Deadlines live in the case file's own store (`CaseFileStore::claim_due`:
//! a Redis sorted set, or its in-memory twin), set in the same write as the document that
//! says they are pending. Due ones are leased, fired through [`CaseFiles::fire`] (which
//! records each once: a compare-and-set on the document), then finished with a fencing
//! check. At-least-once delivery, exactly-once effect, on every instance at once.

use super::CaseFiles;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Deadlines one step claims.
const BATCH: usize = 100;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DueStep {
    /// Deadlines claimed.
    pub claimed: usize,
    /// Of those, how many fired (the rest were settled already, moved or moot).
    pub fired: usize,
    /// Deadlines whose action failed (back after the lease).
    pub failed: usize,
}

/// Polls the case file's deadlines.
pub struct CaseTimers {
    files: CaseFiles,
    every: Duration,
    lease: Duration,
}

impl CaseTimers {
    /// A runner polling every `every` (real time), leasing claims for `lease`.
    #[must_use]
    pub fn new(files: CaseFiles, every: Duration, lease: Duration) -> Self {
        Self { files, every, lease }
    }

    /// Claim and fire what is due now.
    pub async fn step(&self) -> DueStep {
        let now = self.files.now();
        let lease_until = self.files.after(now, self.lease);
        let claimed = match self.files.inner.store.claim_due(now, lease_until, BATCH).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "case-file deadlines could not be claimed; next poll retries");
                return DueStep { failed: 1, ..DueStep::default() };
            }
        };
        let mut step = DueStep { claimed: claimed.len(), ..DueStep::default() };
        for (id, kind) in claimed {
            match self.files.fire(&id, kind).await {
                Ok(fired) => {
                    step.fired += usize::from(fired);
                    if let Err(e) = self.files.inner.store.finish_due(&id, kind, lease_until).await {
                        tracing::warn!(incident_id = %id, error = %e, "a fired case-file deadline stays leased");
                    }
                }
                Err(e) => {
                    step.failed += 1;
                    tracing::warn!(incident_id = %id, kind = kind.as_str(), error = %e, "case-file deadline failed; retried after the lease");
                }
            }
        }
        step
    }

    /// Poll until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        loop {
            self.step().await;
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }
}
