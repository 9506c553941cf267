//! What Redis must promise before an instance takes traffic (reliability plan T04).
//!
//! An acknowledged report, claim or deadline is only as durable as Redis's settings make it:
//! without the append-only file a restart of Redis forgets everything; with `appendfsync no`
//! or `no-appendfsync-on-rewrite yes` a host crash loses what the OS had not flushed; with an
//! eviction policy other than `noeviction` Redis deletes keys (an idempotency claim, a
//! deadline) when memory runs short. The guard reads the settings at start and every
//! `redis.durability_check_every`, so a `CONFIG SET` made at run time is seen within that
//! time, and while they fall short of `redis.durability` readiness answers 503 with the reason
//! and the API refuses requests (nothing is acknowledged that the settings would lose).

use super::health::{HealthProbe, ServerSettings};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::RwLock;

/// The promise asked of Redis (`redis.durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// AOF on and fsynced before every reply: nothing acknowledged is lost, even on a power cut.
    Always,
    /// AOF on, fsynced at least every second: a host crash may lose the last second or two.
    Everysec,
    /// Nothing checked (development, tests, benchmarks).
    None,
}

impl Durability {
    /// What in `seen` falls short of this promise, in words an operator can act on (empty: ok).
    #[must_use]
    pub fn shortfalls(self, seen: &ServerSettings) -> Vec<String> {
        if self == Self::None {
            return vec![];
        }
        let mut short = vec![];
        if seen.appendonly != "yes" {
            short.push(format!(
                "appendonly is {:?}: a restart of Redis would forget every acknowledged write (set appendonly yes)",
                seen.appendonly
            ));
        }
        let fsync_ok = match self {
            Self::Always => seen.appendfsync == "always",
            Self::Everysec | Self::None => matches!(seen.appendfsync.as_str(), "always" | "everysec"),
        };
        if !fsync_ok {
            let want = if self == Self::Always { "always" } else { "everysec or always" };
            short.push(format!(
                "appendfsync is {:?}: a host crash would lose acknowledged writes (set appendfsync {want})",
                seen.appendfsync
            ));
        }
        if seen.no_appendfsync_on_rewrite == "yes" {
            short.push(
                "no-appendfsync-on-rewrite is \"yes\": writes during an AOF rewrite are not fsynced \
                 (set no-appendfsync-on-rewrite no)"
                    .to_owned(),
            );
        }
        if seen.maxmemory_policy != "noeviction" {
            short.push(format!(
                "maxmemory-policy is {:?}: Redis would delete keys (deadlines, idempotency claims) when memory \
                 runs short (set maxmemory-policy noeviction)",
                seen.maxmemory_policy
            ));
        }
        short
    }
}

/// This instance's latest verdict on Redis's settings.
#[derive(Debug)]
pub struct Guard {
    want: Durability,
    shortfall: RwLock<Option<String>>,
}

impl Guard {
    /// A guard for `want`; until its first check it finds nothing wrong.
    #[must_use]
    pub fn new(want: Durability) -> Self {
        Self { want, shortfall: RwLock::new(None) }
    }

    /// The promise it checks.
    #[must_use]
    pub fn wants(&self) -> Durability {
        self.want
    }

    /// Why Redis may not be trusted with writes now, if it may not.
    #[must_use]
    pub fn shortfall(&self) -> Option<String> {
        self.shortfall.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Record what was read: `Ok(settings)`, or `Err(why)` when they could not be read at all
    /// (e.g. `CONFIG` renamed away). Logs when the verdict changes.
    pub fn record(&self, read: Result<&ServerSettings, String>) {
        let now = match read {
            Ok(seen) => {
                let short = self.want.shortfalls(seen);
                (!short.is_empty()).then(|| format!("Redis does not keep writes safely: {}", short.join("; ")))
            }
            Err(why) => Some(format!(
                "could not read Redis's persistence settings ({why}); verify them and set redis.durability = \"none\" \
                 to skip this check"
            )),
        };
        let mut shortfall = self.shortfall.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *shortfall != now {
            match &now {
                Some(why) => tracing::error!(reason = %why, "refusing traffic until Redis's settings are fixed"),
                None => tracing::info!("Redis's persistence settings are safe; taking traffic"),
            }
            (*shortfall).clone_from(&now);
        }
    }
}

impl Guard {
    /// Read the backend's settings once and record the verdict. An unreachable Redis changes
    /// nothing here (readiness already fails on it); one that answers but refuses `CONFIG`
    /// cannot be vouched for.
    pub async fn check(&self, store: &dyn HealthProbe) {
        if self.want == Durability::None {
            return;
        }
        match store.persistence_settings().await {
            Ok(Some(seen)) => self.record(Ok(&seen)),
            Ok(None) => {}
            Err(e) => {
                if store.ping().await.is_ok() {
                    self.record(Err(error_chain(&e)));
                }
            }
        }
    }

    /// Check every `every` until `stop` (and only then return).
    pub async fn watch(
        &self,
        store: Arc<dyn HealthProbe>,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => self.check(&*store).await,
            }
        }
    }
}

/// An error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe() -> ServerSettings {
        ServerSettings {
            appendonly: "yes".into(),
            appendfsync: "always".into(),
            no_appendfsync_on_rewrite: "no".into(),
            maxmemory_policy: "noeviction".into(),
        }
    }

    #[test]
    fn each_unsafe_setting_is_named_with_its_fix() {
        assert!(Durability::Always.shortfalls(&safe()).is_empty());
        type Spoil = fn(&mut ServerSettings);
        let cases: [(Spoil, &str); 5] = [
            (|s| s.appendonly = "no".into(), "set appendonly yes"),
            (|s| s.appendfsync = "no".into(), "set appendfsync always"),
            (|s| s.appendfsync = "everysec".into(), "set appendfsync always"),
            (|s| s.no_appendfsync_on_rewrite = "yes".into(), "set no-appendfsync-on-rewrite no"),
            (|s| s.maxmemory_policy = "allkeys-lru".into(), "set maxmemory-policy noeviction"),
        ];
        for (spoil, fix) in cases {
            let mut seen = safe();
            spoil(&mut seen);
            let short = Durability::Always.shortfalls(&seen);
            assert_eq!(short.len(), 1, "{short:?}");
            assert!(short[0].contains(fix), "{short:?}");
        }
    }

    #[test]
    fn everysec_accepts_everysec_and_none_accepts_anything() {
        let everysec = ServerSettings { appendfsync: "everysec".into(), ..safe() };
        assert!(Durability::Everysec.shortfalls(&everysec).is_empty());
        let no = ServerSettings { appendfsync: "no".into(), ..safe() };
        assert_eq!(Durability::Everysec.shortfalls(&no).len(), 1);
        assert!(Durability::None.shortfalls(&ServerSettings::default()).is_empty());
    }

    #[test]
    fn the_guard_holds_the_latest_verdict() {
        let guard = Guard::new(Durability::Always);
        assert_eq!(guard.shortfall(), None);
        guard.record(Ok(&ServerSettings { appendonly: "no".into(), ..safe() }));
        assert!(guard.shortfall().is_some_and(|why| why.contains("appendonly")));
        guard.record(Ok(&safe()));
        assert_eq!(guard.shortfall(), None);
        guard.record(Err("CONFIG refused".into()));
        assert!(guard.shortfall().is_some_and(|why| why.contains("CONFIG refused")));
    }
}
