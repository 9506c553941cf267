//! The Redis backend: [`RedisStore`] (every storage port, one file per port: `incidents.rs`,
//! `directory.rs`, `presence.rs`, `leases.rs`, `wechat.rs`, `health.rs`) and [`RedisBus`] (the
//! [`Bus`] port). See `keys.rs` for the key layout and `scripts.rs` for the atomic scripts.
//!
//! Semantics match `memory/` exactly; `store/conformance/` checks both.
//!
//! Failure model:
//! - Every command is bounded by `command_timeout` (client response timeout plus an outer
//!   `tokio` timeout that also covers waiting for a reconnect), so callers never hang.
//! - Connection, I/O and timeout failures become [`StoreError::Unavailable`] (HTTP 503); data
//!   that does not decode, or has the wrong Redis type, becomes [`StoreError::Corrupt`].
//! - Commands go through a [`ConnectionManager`]: after an outage the first commands fail, it
//!   reconnects in the background, and later commands succeed without recreating the store.
//! - A timed-out write is ambiguous: the script may or may not have run. Callers re-read the
//!   incident (its version tells) before retrying.
//!
//! Requires Redis ≥ 6.2 (`ZRANGE … BYSCORE REV`). Nothing here depends on HTTP or dispatch.
//!
//! # Redis Cluster
//!
//! With [`RedisConfig::cluster_nodes`] set, commands go through a cluster connection
//! (`::redis::cluster_async::ClusterConnection`) that follows `MOVED`/`ASK` and reconnects per
//! node. Nothing else changes: every key carries the one `{prefix}` hash tag (`keys.rs`), so
//! every script and pipeline is single-slot, and `EVALSHA` goes to the node owning that slot.
//! On `NOSCRIPT`, redis-rs's [`::redis::ScriptInvocation`] sends `SCRIPT LOAD`, which the
//! cluster connection fans out to every primary, then retries the `EVALSHA` once: a failed-over
//! or restarted node (empty script cache) is handled like a standalone restart.
//!
//! The bus uses classic `PUBLISH`/`SUBSCRIBE`, not sharded pub/sub (`SPUBLISH`, Redis 7):
//! - in a cluster a classic message reaches subscribers on every node, so the subscriber can
//!   hold a plain connection to any one seed node and move to the next seed when it fails
//!   (followed by a `Resync`), with no slot tracking;
//! - it keeps the minimum server at 6.2 for both topologies;
//! - its cost, each message forwarded over the cluster bus to every node, is one copy per node
//!   per message; every instance needs every message anyway (positions feed every instance's
//!   index), and one sharded channel would put the whole bus on one shard, no cheaper in total.
//!   Spreading the bus itself (per-area channels, `SPUBLISH`) is the step after this one.
//!
//! Here the store itself (its round trips, bounded and classified) and the value codecs every
//! port file shares; reaching Redis (`connection.rs`: settings, the standalone or cluster
//! connection, error sorting) and the bus (`bus.rs`) beside it.

mod bus;
mod connection;
mod directory;
mod health;
mod incidents;
pub mod keys;
mod leases;
mod presence;
mod scripts;
mod wechat;
mod write;

pub use bus::RedisBus;
pub use connection::RedisConfig;

use self::keys::Keys;
use super::plan::MAX_IDEMPOTENCY_TTL_MS;
use super::{AreaNote, Bus, StoreError};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::location::GeoPoint;
use ::redis::{Cmd, FromRedisValue, Pipeline, RedisError};
use connection::{Connection, TimedOut, classify, unavailable};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn corrupt(what: &str, e: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn decode<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

fn encode<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(what, e))
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A zset score (ms since epoch) back to a timestamp.
fn score_to_timestamp(score: f64) -> Result<Timestamp, StoreError> {
    // Scores are whole milliseconds written by us; anything else is not our data.
    #[expect(clippy::cast_possible_truncation, reason = "range and integrality are checked first")]
    let millis = (score.is_finite() && score.fract() == 0.0 && score.abs() < 9.0e15).then_some(score as i64);
    millis
        .and_then(|m| Timestamp::from_millisecond(m).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("timer score {score} is not a timestamp")))
}

fn parse_incident_id(s: &str) -> Result<IncidentId, StoreError> {
    IncidentId::parse(s).map_err(|e| corrupt("incident id", e))
}

fn parse_area_note(member: &str, score: f64) -> Result<AreaNote, StoreError> {
    let mut parts = member.split(' ');
    let (Some(id), Some(lat), Some(lng), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(StoreError::Corrupt(format!("hot-spot note {member:?}")));
    };
    let coord = |s: &str| s.parse::<f64>().map_err(|e| corrupt("hot-spot note coordinate", e));
    let place = GeoPoint::new(coord(lat)?, coord(lng)?).map_err(|e| corrupt("hot-spot note place", e))?;
    Ok(AreaNote { id: parse_incident_id(id)?, at: score_to_timestamp(score)?, place })
}

fn parse_account_id(s: &str) -> Result<AccountId, StoreError> {
    AccountId::parse(s).map_err(|e| corrupt("account id", e))
}

/// The Redis store. Cheap to clone; clones share one multiplexed connection, and `app.rs`
/// hands clones to every capability with a store of its own (case file, departments, video) and
/// publishes the bus through it, so an instance holds this one command connection. Nothing may
/// send a blocking command (`BLPOP`, `XREAD BLOCK`, `WAIT`) through it: every other caller's
/// reply would queue behind it. Such a command gets a connection of its own, as the bus's
/// subscriber has (a subscribed connection takes no other command).
#[derive(Clone)]
pub struct RedisStore {
    conn: Connection,
    keys: Keys,
    command_timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("tag", &self.keys.tag()).finish_non_exhaustive()
    }
}

/// The bus of `store`'s deployment (`settings` describe it), publishing through `store`'s
/// connection and subscribed until `cancel`. Only the subscriber has a connection of its own:
/// a subscribed connection takes no other command.
///
/// # Errors
/// As [`RedisBus::start`].
pub async fn start_bus(
    store: &RedisStore,
    settings: &RedisConfig,
    cancel: CancellationToken,
) -> Result<Arc<dyn Bus>, StoreError> {
    Ok(Arc::new(RedisBus::start_on(store.conn.clone(), settings, cancel).await?))
}

impl RedisStore {
    /// Connect to the Redis at `settings.url`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached within the connect timeout, or
    /// when the URL or prefix is invalid (the source error says which).
    pub async fn connect(settings: &RedisConfig) -> Result<Self, StoreError> {
        let keys = Keys::new(&settings.prefix).map_err(unavailable)?;
        let conn = Connection::open(settings).await?;
        Ok(Self { conn, keys, command_timeout: settings.command_timeout })
    }

    /// The key builder this store uses (for operators' tools and tests).
    #[must_use]
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Run one command for a capability's own port (the video room, issue #22) on this store's
    /// connection, with its timeout and error sorting. `repeatable`: the command may be sent
    /// again after a dropped connection (never for one that takes something, like `GETDEL`).
    ///
    /// # Errors
    /// As every store call: [`StoreError::Unavailable`], [`StoreError::RefusesWrites`].
    pub async fn command<T: FromRedisValue>(&self, cmd: &Cmd, repeatable: bool) -> Result<T, StoreError> {
        if repeatable {
            return self.query(cmd).await;
        }
        let mut conn = self.conn.clone();
        self.bounded("command", async move { cmd.query_async(&mut conn).await }).await
    }

    /// Run one Redis round trip, bounded in time, with errors classified.
    async fn bounded<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.command_timeout, fut).await {
            Ok(result) => result.map_err(classify),
            Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut(what)))),
        }
    }

    /// Run an idempotent round trip; if the connection turns out to be dead, try once more on
    /// the reconnected one, all within one `command_timeout`. (The first command after an
    /// outage is the one that finds the dropped connection; retrying it spares the caller a
    /// spurious 503. Only idempotent commands may be retried like this.)
    async fn idempotent<T, F, Fut>(&self, what: &'static str, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut(Connection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.bounded(what, async move {
            match attempt(self.conn.clone()).await {
                Err(e) if e.is_io_error() => attempt(self.conn.clone()).await,
                other => other,
            }
        })
        .await
    }

    /// One idempotent command (every plain command this store sends is idempotent).
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.idempotent("command", |mut conn| async move { cmd.query_async(&mut conn).await }).await
    }

    /// One idempotent pipeline (not a transaction).
    async fn query_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, StoreError> {
        self.idempotent("pipeline", |mut conn| async move { pipe.query_async(&mut conn).await }).await
    }

    /// One script call. Never retried here: a failed call may have run.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &::redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.bounded("script", async move { invocation.invoke_async(&mut conn).await }).await
    }

    async fn set_members(&self, key: String) -> Result<Vec<IncidentId>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("SMEMBERS").arg(key)).await?;
        let mut ids = raw.iter().map(|s| parse_incident_id(s)).collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }
}

/// A TTL in whole milliseconds for `PX`/`PEXPIRE`: at least 1, at most ~100 years.
fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).clamp(1, MAX_IDEMPOTENCY_TTL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_scores_must_be_whole_milliseconds() {
        assert_eq!(score_to_timestamp(1_800_000_300_000.0).unwrap(), Timestamp::from_second(1_800_000_300).unwrap());
        for bad in [f64::NAN, f64::INFINITY, 1.5, 1e300] {
            assert!(matches!(score_to_timestamp(bad), Err(StoreError::Corrupt(_))), "{bad}");
        }
    }
}
