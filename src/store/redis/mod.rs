//! The Redis backend: [`RedisStore`] (the [`Store`] port) and [`RedisBus`] (the [`Bus`] port).
//! See `keys.rs` for the key layout and `scripts.rs` for the atomic scripts.
//!
//! Semantics match `memory.rs` exactly; `store/conformance.rs` checks both.
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

pub mod keys;
mod scripts;

use self::keys::Keys;
use self::scripts::write_code;
use super::durability::ServerSettings;
use super::wechat::{CachedToken, DeliveryClaim, RateCount, ResidentSession};
use super::{
    AccountWrite, AreaNote, Bus, BusMessage, BusReceiver, ClaimedTimer, Expect, IncidentWrite, RememberedKey, Store,
    StoreError, TimerKey, TimerOp, WriteOutcome,
};
use crate::domain::account::{Account, Fix, Phone, Presence, Role};
use crate::domain::audit::{AUDIT_KEEP, AuditEntry};
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::Incident;
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::domain::timeline::TimelineEntry;
use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::{
    Cmd, ErrorKind, FromRedisValue, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Longest wait for one connection attempt (and for the whole of `connect`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect backoff bounds, for commands and for the bus subscriber.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);
/// Attempts per background reconnect cycle; a later command starts a new cycle.
const RECONNECT_ATTEMPTS: usize = 6;
/// How many bus messages a slow subscriber may fall behind before it gets `Resync`. Positions
/// alone are thousands a second in a city (20,000 phones every 5 s is 4,000/s), and a resync
/// rereads every position, so the buffer must ride out a stall of a few seconds rather than
/// turn it into a storm of rebuilds (about 1.5 MiB at this size).
const BUS_CAPACITY: usize = 16 * 1024;
/// How often the bus subscriber pings, to notice a silently dead connection.
const BUS_PING_INTERVAL: Duration = Duration::from_secs(5);
/// Longest idempotency TTL passed to `PEXPIRE` (a longer one would overflow Redis's clock).
const MAX_IDEMPOTENCY_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]`, `rediss://…`, or `redis+unix:///path/to.sock`.
    pub url: String,
    /// Key prefix; becomes the hash tag `{prefix}` of every key (see `keys.rs`).
    pub prefix: String,
    /// Upper bound on every command, including the wait for a reconnect.
    pub command_timeout: Duration,
    /// Redis Cluster seed nodes (`redis://host:port` each). Non-empty: cluster mode, and `url`
    /// is not used.
    pub cluster_nodes: Vec<String>,
}

impl RedisConfig {
    /// True when this describes a Redis Cluster.
    #[must_use]
    pub fn is_cluster(&self) -> bool {
        !self.cluster_nodes.is_empty()
    }
}

/// A URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***{}", &url[..scheme_end], &url[at..]),
        _ => url.to_owned(),
    }
}

impl fmt::Debug for RedisConfig {
    // The URL may carry a password: show everything but the user info.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self.cluster_nodes.iter().map(|n| redact(n)).collect();
        f.debug_struct("RedisConfig")
            .field("url", &redact(&self.url))
            .field("prefix", &self.prefix)
            .field("command_timeout", &self.command_timeout)
            .field("cluster_nodes", &nodes)
            .finish()
    }
}

/// The command connection. An enum so that store methods only see [`ConnectionLike`],
/// whatever the topology.
#[derive(Clone)]
enum Connection {
    /// One server (or a proxy), multiplexed, reconnecting by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: routes by slot, follows redirects, reconnects per node.
    Cluster(::redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Connect, bounded by [`CONNECT_TIMEOUT`].
    async fn open(settings: &RedisConfig) -> Result<Self, StoreError> {
        if settings.is_cluster() {
            return Self::open_cluster(settings).await;
        }
        let client = client(&settings.url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(settings.command_timeout))
            .set_connection_timeout(Some(CONNECT_TIMEOUT.min(settings.command_timeout.max(RECONNECT_MIN_DELAY))))
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY)
            .set_number_of_retries(RECONNECT_ATTEMPTS);
        match tokio::time::timeout(CONNECT_TIMEOUT, ConnectionManager::new_with_config(client, config)).await {
            Ok(Ok(manager)) => Ok(Self::Single(manager)),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut("connect")))),
        }
    }

    /// Connect to a cluster through its seed nodes, bounded by [`CONNECT_TIMEOUT`].
    async fn open_cluster(settings: &RedisConfig) -> Result<Self, StoreError> {
        let to_ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let client = ::redis::cluster::ClusterClientBuilder::new(settings.cluster_nodes.iter().map(String::as_str))
            .connection_timeout(CONNECT_TIMEOUT.min(settings.command_timeout.max(RECONNECT_MIN_DELAY)))
            .response_timeout(settings.command_timeout)
            .retries(u32::try_from(RECONNECT_ATTEMPTS).unwrap_or(u32::MAX))
            .min_retry_wait(to_ms(RECONNECT_MIN_DELAY))
            .max_retry_wait(to_ms(RECONNECT_MAX_DELAY))
            .tcp_settings(tcp_settings())
            .build()
            .map_err(unavailable)?;
        match tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_connection()).await {
            Ok(Ok(conn)) => Ok(Self::Cluster(conn)),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut("cluster connect")))),
        }
    }
}

/// Every connection to Redis disables Nagle's algorithm (`TCP_NODELAY`). Commands are small
/// and many are in flight at once on one multiplexed connection; with Nagle, each write waits
/// until Redis has acknowledged the previous one (in practice, until its reply), so concurrent
/// requests would queue behind each other's round trips. redis-rs leaves Nagle on by default.
fn tcp_settings() -> ::redis::io::tcp::TcpSettings {
    ::redis::io::tcp::TcpSettings::default().set_nodelay(true)
}

/// A client for one server URL, with [`tcp_settings`].
fn client(url: &str) -> Result<::redis::Client, RedisError> {
    ::redis::Client::open(url.into_connection_info()?.set_tcp_settings(tcp_settings()))
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// A command that did not finish within the configured time.
#[derive(Debug, thiserror::Error)]
#[error("redis {0} timed out")]
struct TimedOut(&'static str);

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// Sort a Redis error into the two things a caller can act on.
fn classify(e: RedisError) -> StoreError {
    let script_failure = e.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
        && e.detail().is_some_and(|d| d.contains("script"));
    // Errors inside a pipeline carry no top-level code, hence the text check as well.
    let text = e.to_string();
    let corrupt = matches!(e.kind(), ErrorKind::Parse | ErrorKind::UnexpectedReturnType)
        || matches!(e.code(), Some("WRONGTYPE" | "CORRUPT"))
        || text.contains("WRONGTYPE")
        || text.contains("CORRUPT")
        || script_failure;
    if corrupt {
        StoreError::Corrupt(e.to_string())
    } else if let Some(code @ ("OOM" | "READONLY" | "MISCONF")) = e.code() {
        StoreError::RefusesWrites(format!("{code} {}", e.detail().unwrap_or_default()))
    } else {
        StoreError::Unavailable(Box::new(e))
    }
}

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

/// The Redis store. Cheap to clone; clones share one multiplexed connection.
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

    /// Build `incidents:open` from the incidents written before it existed (once per
    /// deployment: a marker key says it is done; every later write keeps it). Walks every
    /// incident in chunks of 500, each checked and indexed atomically. Returns how many open
    /// ones were added.
    ///
    /// # Errors
    /// The store's error; the next start tries again (adding is idempotent).
    pub async fn index_open_incidents(&self) -> Result<usize, StoreError> {
        const CHUNK: usize = 500;
        let marker = self.keys.open_incidents_built();
        let built: bool = self.query(::redis::cmd("EXISTS").arg(&marker)).await?;
        if built {
            return Ok(0);
        }
        let (mut start, mut added) = (0, 0);
        loop {
            let chunk: Vec<(String, i64)> = self
                .query(
                    ::redis::cmd("ZRANGE")
                        .arg(self.keys.incidents_by_created())
                        .arg(start)
                        .arg(start + CHUNK - 1)
                        .arg("WITHSCORES"),
                )
                .await?;
            if !chunk.is_empty() {
                let mut inv = scripts::INDEX_OPEN.prepare_invoke();
                inv.key(self.keys.open_incidents());
                for (id, created) in &chunk {
                    inv.key(self.keys.incident(&parse_incident_id(id)?)).arg(id).arg(created);
                }
                let n: usize = self.invoke(&inv).await?;
                added += n;
            }
            if chunk.len() < CHUNK {
                break;
            }
            start += CHUNK;
        }
        self.query::<()>(::redis::cmd("SET").arg(&marker).arg("1")).await?;
        Ok(added)
    }

    /// The key builder this store uses (for operators' tools and tests).
    #[must_use]
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Redis's persistence and eviction settings, read from the node that holds this
    /// deployment's keys (on a cluster, the master of the `{prefix}` slot). One `CONFIG GET`
    /// per setting: several names in one call need Redis 7.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis is unreachable or refuses `CONFIG` (renamed away
    /// on some managed services).
    pub async fn server_settings(&self) -> Result<ServerSettings, StoreError> {
        let mut seen = ServerSettings::default();
        for (name, into) in [
            ("appendonly", &mut seen.appendonly),
            ("appendfsync", &mut seen.appendfsync),
            ("no-appendfsync-on-rewrite", &mut seen.no_appendfsync_on_rewrite),
            ("maxmemory-policy", &mut seen.maxmemory_policy),
        ] {
            let mut cmd = ::redis::cmd("CONFIG");
            cmd.arg("GET").arg(name);
            let reply: HashMap<String, String> = match &self.conn {
                Connection::Single(_) => self.query(&cmd).await?,
                Connection::Cluster(conn) => {
                    use ::redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                    let route = Route::with_key(self.keys.tag(), SlotAddr::Master);
                    let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                    let value = self.bounded("config", conn.clone().route_command(cmd, routing)).await?;
                    ::redis::from_redis_value(value).map_err(|e| corrupt("CONFIG GET reply", e))?
                }
            };
            reply.get(name).unwrap_or(&String::new()).clone_into(into);
        }
        Ok(seen)
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
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.idempotent("command", |mut conn| async move { cmd.query_async(&mut conn).await }).await
    }

    /// One idempotent pipeline (not a transaction).
    async fn query_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, StoreError> {
        self.idempotent("pipeline", |mut conn| async move { pipe.query_async(&mut conn).await }).await
    }

    /// One script call. Never retried here: a failed call may have run.
    async fn invoke<T: FromRedisValue>(&self, invocation: &::redis::ScriptInvocation<'_>) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.bounded("script", async move { invocation.invoke_async(&mut conn).await }).await
    }

    /// Remove stored positions older than `cutoff` (phones gone silent), at most `max` per
    /// call; returns how many were removed. Duty flags are kept. Safe to run from every
    /// instance at once (each removal is atomic and idempotent).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    pub async fn prune_fixes_older_than(&self, cutoff: Timestamp, max: usize) -> Result<usize, StoreError> {
        let mut inv = scripts::PRUNE_FIXES.prepare_invoke();
        inv.key(self.keys.fixes()).key(self.keys.fix_times()).arg(ms(cutoff)).arg(max.max(1));
        let removed: usize = self.invoke(&inv).await?;
        Ok(removed)
    }

    async fn set_members(&self, key: String) -> Result<Vec<IncidentId>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("SMEMBERS").arg(key)).await?;
        let mut ids = raw.iter().map(|s| parse_incident_id(s)).collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.query(&::redis::cmd("PING")).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        // A small write with a TTL: refused exactly when our own writes would be (OOM,
        // READONLY, MISCONF all deny `SET`), and it never accumulates.
        let now_ms = Timestamp::now().as_millisecond().to_string();
        let () = self.query(::redis::cmd("SET").arg(self.keys.ready_probe()).arg(now_ms).arg("PX").arg(60_000)).await?;
        Ok(())
    }

    async fn insert_account(&self, account: &Account) -> Result<bool, StoreError> {
        let json = encode("account", account)?;
        let mut inv = scripts::INSERT_ACCOUNT.prepare_invoke();
        inv.key(self.keys.accounts())
            .key(self.keys.phones())
            .arg(account.id.to_string())
            .arg(account.phone.full())
            .arg(json);
        let created: i64 = self.invoke(&inv).await?;
        Ok(created == 1)
    }

    async fn update_account(&self, account: &Account, expected_version: u64) -> Result<bool, StoreError> {
        let json = encode("account", account)?;
        let mut inv = scripts::UPDATE_ACCOUNT.prepare_invoke();
        inv.key(self.keys.accounts())
            .arg(account.id.to_string())
            .arg(expected_version)
            .arg(account.phone.full())
            .arg(json);
        let replaced: i64 = self.invoke(&inv).await?;
        Ok(replaced == 1)
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let raw: Option<String> =
            self.query(::redis::cmd("HGET").arg(self.keys.accounts()).arg(id.to_string())).await?;
        raw.map(|json| decode("account", &json)).transpose()
    }

    async fn get_accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<Account>>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let fields: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let raw: Vec<Option<String>> = self.query(::redis::cmd("HMGET").arg(self.keys.accounts()).arg(fields)).await?;
        raw.into_iter().map(|json| json.map(|j| decode("account", &j)).transpose()).collect()
    }

    async fn account_by_phone(&self, phone: &Phone) -> Result<Option<Account>, StoreError> {
        // Two reads: an account is created atomically with its phone entry. A phone change
        // between them moves both in one script, so an account that no longer has this phone
        // is not the answer.
        let id: Option<String> = self.query(::redis::cmd("HGET").arg(self.keys.phones()).arg(phone.full())).await?;
        let Some(id) = id else { return Ok(None) };
        Ok(self.get_account(&parse_account_id(&id)?).await?.filter(|a| a.phone == *phone))
    }

    async fn list_accounts(&self, role: Role) -> Result<Vec<Account>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("HVALS").arg(self.keys.accounts())).await?;
        let mut accounts = Vec::new();
        for json in raw {
            let account: Account = decode("account", &json)?;
            if account.role == role {
                accounts.push(account);
            }
        }
        // Ids are UUIDv7: id order is creation order, as in the memory store.
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(accounts)
    }

    async fn insert_accounts(&self, accounts: &[Account], audit: &[AuditEntry]) -> Result<Vec<usize>, StoreError> {
        let mut inv = scripts::INSERT_ACCOUNTS.prepare_invoke();
        inv.key(self.keys.accounts()).key(self.keys.phones()).key(self.keys.audit());
        inv.arg(accounts.len()).arg(AUDIT_KEEP);
        for a in accounts {
            inv.arg(a.id.to_string()).arg(a.phone.full()).arg(encode("account", a)?);
        }
        for e in audit {
            inv.arg(encode("audit entry", e)?);
        }
        self.invoke(&inv).await
    }

    async fn change_account(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<AccountWrite, StoreError> {
        let mut inv = scripts::CHANGE_ACCOUNT.prepare_invoke();
        inv.key(self.keys.accounts()).key(self.keys.phones()).key(self.keys.audit());
        inv.arg(account.id.to_string())
            .arg(expected_version)
            .arg(account.phone.full())
            .arg(encode("account", account)?)
            .arg(AUDIT_KEEP);
        for e in audit {
            inv.arg(encode("audit entry", e)?);
        }
        let outcome: i64 = self.invoke(&inv).await?;
        Ok(match outcome {
            1 => AccountWrite::Written,
            2 => AccountWrite::PhoneTaken,
            _ => AccountWrite::Conflict,
        })
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let key = self.keys.audit();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("LPUSH")
            .arg(&key)
            .arg(encode("audit entry", entry)?)
            .ignore()
            .cmd("LTRIM")
            .arg(&key)
            .arg(0)
            .arg(AUDIT_KEEP - 1)
            .ignore();
        self.query_pipe::<()>(&pipe).await
    }

    async fn list_audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        if limit == 0 {
            let total: u64 = self.query(::redis::cmd("LLEN").arg(self.keys.audit())).await?;
            return Ok((vec![], total));
        }
        let key = self.keys.audit();
        let mut pipe = ::redis::pipe();
        pipe.cmd("LRANGE").arg(&key).arg(offset).arg(offset + limit - 1).cmd("LLEN").arg(&key);
        let (raw, total): (Vec<String>, u64) = self.query_pipe(&pipe).await?;
        let entries = raw.iter().map(|json| decode("audit entry", json)).collect::<Result<Vec<_>, _>>()?;
        Ok((entries, total))
    }

    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError> {
        let flag = if on { "1" } else { "0" };
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.duty()).arg(mediator.to_string()).arg(flag)).await
    }

    async fn set_fix(&self, mediator: &AccountId, fix: &Fix) -> Result<(), StoreError> {
        self.set_fixes(&[(mediator.clone(), *fix)]).await
    }

    async fn set_fixes(&self, fixes: &[(AccountId, Fix)]) -> Result<(), StoreError> {
        if fixes.is_empty() {
            return Ok(());
        }
        // MULTI/EXEC: each fix and its time move together (same slot), so pruning by time never
        // removes a fresher fix. Idempotent, so retrying after a dropped connection is safe.
        let mut hset = ::redis::cmd("HSET");
        hset.arg(self.keys.fixes());
        let mut zadd = ::redis::cmd("ZADD");
        zadd.arg(self.keys.fix_times());
        for (mediator, fix) in fixes {
            let id = mediator.to_string();
            hset.arg(&id).arg(encode("fix", fix)?);
            zadd.arg(ms(fix.at)).arg(id);
        }
        let mut pipe = ::redis::pipe();
        pipe.atomic().add_command(hset).ignore().add_command(zadd).ignore();
        self.query_pipe::<()>(&pipe).await
    }

    async fn all_presence(&self) -> Result<Vec<Presence>, StoreError> {
        let mut pipe = ::redis::pipe();
        pipe.cmd("HGETALL").arg(self.keys.duty()).cmd("HGETALL").arg(self.keys.fixes());
        let (duty, fixes): (HashMap<String, String>, HashMap<String, String>) = self.query_pipe(&pipe).await?;
        let mut all: BTreeMap<AccountId, Presence> = BTreeMap::new();
        let blank = |id: &AccountId| Presence { mediator_id: id.clone(), on_duty: false, fix: None };
        for (id, flag) in duty {
            let id = parse_account_id(&id)?;
            let on_duty = match flag.as_str() {
                "1" => true,
                "0" => false,
                other => return Err(StoreError::Corrupt(format!("duty flag {other:?}"))),
            };
            all.entry(id.clone()).or_insert_with(|| blank(&id)).on_duty = on_duty;
        }
        for (id, json) in fixes {
            let id = parse_account_id(&id)?;
            let fix: Fix = decode("fix", &json)?;
            all.entry(id.clone()).or_insert_with(|| blank(&id)).fix = Some(fix);
        }
        Ok(all.into_values().collect())
    }

    async fn insert_scene(&self, scene: &Scene) -> Result<(), StoreError> {
        let json = encode("scene", scene)?;
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.scenes()).arg(scene.id.to_string()).arg(json)).await
    }

    async fn note_in_area(&self, cell: &str, note: &AreaNote, keep: Duration) -> Result<(), StoreError> {
        let key = self.keys.area_notes(cell);
        let (at_ms, keep_ms) = (note.at.as_millisecond(), i64::try_from(keep.as_millis()).unwrap_or(i64::MAX / 2));
        let mut pipe = ::redis::pipe();
        // The member carries the place, so a look-back filters by distance without reading
        // incidents: "<id> <lat> <lng>".
        let member = format!("{} {} {}", note.id, note.place.lat(), note.place.lng());
        pipe.cmd("ZADD").arg(&key).arg(at_ms).arg(member).ignore();
        pipe.cmd("ZREMRANGEBYSCORE").arg(&key).arg("-inf").arg(format!("({}", at_ms.saturating_sub(keep_ms))).ignore();
        pipe.cmd("PEXPIRE").arg(&key).arg(keep_ms.max(1)).ignore();
        let spots = self.keys.noted_areas();
        pipe.cmd("ZADD").arg(&spots).arg("GT").arg(at_ms).arg(cell).ignore();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&spots)
            .arg("-inf")
            .arg(format!("({}", at_ms.saturating_sub(keep_ms)))
            .ignore();
        // Idempotent (ZADD of the same member and score), so a retry is harmless.
        self.query_pipe::<()>(&pipe).await
    }

    async fn noted_in_areas(
        &self,
        cells: &[String],
        since: Timestamp,
        newest: usize,
    ) -> Result<Vec<AreaNote>, StoreError> {
        if cells.is_empty() || newest == 0 {
            return Ok(vec![]);
        }
        let mut pipe = ::redis::pipe();
        for c in cells {
            pipe.cmd("ZREVRANGEBYSCORE")
                .arg(self.keys.area_notes(c))
                .arg("+inf")
                .arg(since.as_millisecond())
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(newest);
        }
        let raw: Vec<Vec<(String, f64)>> = self.query_pipe(&pipe).await?;
        raw.iter().flatten().map(|(member, score)| parse_area_note(member, *score)).collect()
    }

    async fn noted_areas(&self, since: Timestamp) -> Result<Vec<String>, StoreError> {
        self.query(::redis::cmd("ZRANGEBYSCORE").arg(self.keys.noted_areas()).arg(since.as_millisecond()).arg("+inf"))
            .await
    }

    async fn count_noted(&self, cell: &str, since: Timestamp) -> Result<u64, StoreError> {
        self.query(::redis::cmd("ZCOUNT").arg(self.keys.area_notes(cell)).arg(since.as_millisecond()).arg("+inf")).await
    }

    async fn put_area(&self, area: &crate::domain::area::Area) -> Result<(), StoreError> {
        let json = encode("area", area)?;
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.areas()).arg(&area.code).arg(json)).await
    }

    async fn list_areas(&self) -> Result<Vec<crate::domain::area::Area>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("HVALS").arg(self.keys.areas())).await?;
        let mut areas =
            raw.iter().map(|json| decode::<crate::domain::area::Area>("area", json)).collect::<Result<Vec<_>, _>>()?;
        areas.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(areas)
    }

    async fn get_scene(&self, id: &SceneId) -> Result<Option<Scene>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("HGET").arg(self.keys.scenes()).arg(id.to_string())).await?;
        raw.map(|json| decode("scene", &json)).transpose()
    }

    async fn list_scenes(&self) -> Result<Vec<Scene>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("HVALS").arg(self.keys.scenes())).await?;
        let mut scenes = raw.iter().map(|json| decode::<Scene>("scene", json)).collect::<Result<Vec<_>, _>>()?;
        scenes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(scenes)
    }

    async fn write_incident(&self, w: &IncidentWrite) -> Result<WriteOutcome, StoreError> {
        let id = &w.incident.id;
        let idempotency = w.creation.as_ref().and_then(|c| c.idempotency.as_ref());
        let timeline = w.append.iter().map(|entry| encode("timeline entry", entry)).collect::<Result<Vec<_>, _>>()?;
        let announce = w
            .announce
            .iter()
            .filter(|m| !matches!(m, BusMessage::Resync))
            .map(|m| encode("bus message", m))
            .collect::<Result<Vec<_>, _>>()?;
        let flag = |b: bool| if b { "1" } else { "0" };

        // The KEYS/ARGV order is the contract documented on `scripts::WRITE_INCIDENT`.
        let mut inv = scripts::WRITE_INCIDENT.prepare_invoke();
        inv.key(self.keys.incident(id))
            .key(self.keys.timeline(id))
            .key(self.keys.timers())
            .key(self.keys.incidents_by_created())
            .key(self.keys.open_incidents());
        if let Some(creation) = &w.creation {
            inv.key(self.keys.tracking(&creation.tracking_hash));
            if let Some(claim) = idempotency {
                inv.key(self.keys.idempotency(&claim.key_hash));
            }
        }
        for m in &w.offers_open {
            inv.key(self.keys.offers(m));
        }
        for m in &w.offers_close {
            inv.key(self.keys.offers(m));
        }
        if let Some(hold) = &w.hold {
            inv.key(self.keys.holds(&hold.mediator_id)).key(self.keys.claims(&hold.day));
        }
        if let Some(m) = &w.release {
            inv.key(self.keys.holds(m));
        }

        let expect = match w.expect {
            Expect::Absent => "absent".to_owned(),
            Expect::Version(v) => v.to_string(),
        };
        // A sub-millisecond TTL still remembers the key for a moment, as memory does.
        let idem_ttl_ms = idempotency.map_or(0, |c| {
            u64::try_from(c.ttl.as_millis())
                .unwrap_or(u64::MAX)
                .clamp(u64::from(!c.ttl.is_zero()), MAX_IDEMPOTENCY_TTL_MS)
        });
        inv.arg(expect)
            .arg(w.incident.version)
            .arg(encode("incident", &w.incident)?)
            .arg(id.to_string())
            .arg(ms(w.incident.created_at))
            .arg(flag(w.creation.is_some()))
            .arg(flag(idempotency.is_some()))
            .arg(idempotency.map_or("", |c| c.fingerprint.as_str()))
            .arg(idem_ttl_ms)
            .arg(w.hold.as_ref().map_or(0, |h| h.capacity))
            .arg(w.append.len())
            .arg(w.timers.len())
            .arg(w.offers_open.len())
            .arg(w.offers_close.len())
            .arg(flag(w.hold.is_some()))
            .arg(flag(w.release.is_some()))
            .arg(idempotency.map_or("", |c| c.receipt.as_str()))
            .arg(announce.len())
            .arg(self.keys.bus_channel())
            .arg(w.hold.as_ref().map_or(String::new(), |h| h.mediator_id.to_string()))
            .arg(w.hold.as_ref().map_or("", |h| h.day.as_str()))
            .arg(w.release.as_ref().map_or(String::new(), ToString::to_string))
            .arg(flag(!w.incident.status.is_closed()));
        for entry in timeline {
            inv.arg(entry);
        }
        for op in &w.timers {
            match op {
                TimerOp::Schedule(key, due) => inv.arg("s").arg(key.member()).arg(ms(*due)),
                TimerOp::Cancel(key) => inv.arg("c").arg(key.member()).arg(0),
            };
        }
        for message in announce {
            inv.arg(message);
        }

        let (code, first_id, same, receipt): (i64, String, i64, String) = self.invoke(&inv).await?;
        match code {
            write_code::WRITTEN => Ok(WriteOutcome::Written),
            write_code::CONFLICT => Ok(WriteOutcome::Conflict),
            write_code::AT_CAPACITY => Ok(WriteOutcome::AtCapacity),
            write_code::REPLAYED => Ok(WriteOutcome::Replayed {
                incident_id: parse_incident_id(&first_id)?,
                same_request: same == 1,
                receipt,
            }),
            other => Err(StoreError::Corrupt(format!("write_incident script returned code {other}"))),
        }
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("HGET").arg(self.keys.incident(id)).arg("doc")).await?;
        raw.map(|json| decode("incident", &json)).transpose()
    }

    async fn get_incidents(&self, ids: &[IncidentId]) -> Result<Vec<Incident>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut pipe = ::redis::pipe();
        for id in ids {
            pipe.cmd("HGET").arg(self.keys.incident(id)).arg("doc");
        }
        let raw: Vec<Option<String>> = self.query_pipe(&pipe).await?;
        raw.into_iter().flatten().map(|json| decode("incident", &json)).collect()
    }

    async fn open_incidents(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let ids: Vec<String> =
            self.query(::redis::cmd("ZRANGE").arg(self.keys.open_incidents()).arg(0).arg(limit - 1)).await?;
        let ids = ids.iter().map(|s| parse_incident_id(s)).collect::<Result<Vec<_>, _>>()?;
        self.get_incidents(&ids).await
    }

    async fn list_incidents(&self, from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<Incident>, StoreError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        // Newest first over [from, to); equal scores come in reverse id order, as in memory.
        let ids: Vec<String> = self
            .query(
                ::redis::cmd("ZRANGE")
                    .arg(self.keys.incidents_by_created())
                    .arg(format!("({}", ms(to)))
                    .arg(ms(from))
                    .arg("BYSCORE")
                    .arg("REV")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        let ids = ids.iter().map(|s| parse_incident_id(s)).collect::<Result<Vec<_>, _>>()?;
        self.get_incidents(&ids).await
    }

    async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("LRANGE").arg(self.keys.timeline(id)).arg(0).arg(-1)).await?;
        raw.iter().map(|json| decode("timeline entry", json)).collect()
    }

    async fn append_timeline(&self, id: &IncidentId, entries: &[TimelineEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut cmd = ::redis::cmd("RPUSH");
        cmd.arg(self.keys.timeline(id));
        for entry in entries {
            cmd.arg(encode("timeline entry", entry)?);
        }
        // Not idempotent: sent once, never retried.
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded("append", async move { cmd.query_async(&mut conn).await }).await?;
        Ok(())
    }

    async fn incident_by_tracking(&self, tracking_hash: &str) -> Result<Option<IncidentId>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("GET").arg(self.keys.tracking(tracking_hash))).await?;
        raw.map(|s| parse_incident_id(&s)).transpose()
    }

    async fn remembered_key(&self, key_hash: &str) -> Result<Option<RememberedKey>, StoreError> {
        let (id, fingerprint, receipt): (Option<String>, Option<String>, Option<String>) =
            self.query(::redis::cmd("HMGET").arg(self.keys.idempotency(key_hash)).arg(&["id", "fp", "r"])).await?;
        let Some(id) = id else { return Ok(None) };
        Ok(Some(RememberedKey {
            incident_id: parse_incident_id(&id)?,
            fingerprint: fingerprint.unwrap_or_default(),
            receipt: receipt.unwrap_or_default(),
        }))
    }

    async fn offered_to(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError> {
        self.set_members(self.keys.offers(mediator)).await
    }

    async fn held_by(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError> {
        self.set_members(self.keys.holds(mediator)).await
    }

    async fn hold_counts(&self, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError> {
        if mediators.is_empty() {
            return Ok(vec![]);
        }
        let mut pipe = ::redis::pipe();
        for m in mediators {
            pipe.cmd("SCARD").arg(self.keys.holds(m));
        }
        let counts: Vec<u64> = self.query_pipe(&pipe).await?;
        Ok(counts.into_iter().map(|n| u32::try_from(n).unwrap_or(u32::MAX)).collect())
    }

    async fn claims_on(&self, day: &str, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError> {
        if mediators.is_empty() {
            return Ok(vec![]);
        }
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(self.keys.claims(day));
        for m in mediators {
            cmd.arg(m.to_string());
        }
        let raw: Vec<Option<u32>> = self.query(&cmd).await?;
        Ok(raw.into_iter().map(Option::unwrap_or_default).collect())
    }

    async fn claim_due_timers(
        &self,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedTimer>, StoreError> {
        if max == 0 {
            return Ok(vec![]);
        }
        let now_ms = ms(now);
        let token = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut inv = scripts::CLAIM_DUE_TIMERS.prepare_invoke();
        inv.key(self.keys.timers()).arg(now_ms).arg(token).arg(max);
        let members: Vec<String> = self.invoke(&inv).await?;
        let mut claimed = Vec::with_capacity(members.len());
        for member in members {
            match TimerKey::parse_member(&member) {
                Some(key) => claimed.push(ClaimedTimer { key, lease_token: token }),
                // Skipping (rather than failing the batch) keeps one bad member from
                // blocking every good deadline leased with it.
                None => tracing::error!(member = %member, "unparseable timer member skipped"),
            }
        }
        Ok(claimed)
    }

    async fn finish_timer(&self, timer: &ClaimedTimer) -> Result<(), StoreError> {
        let mut inv = scripts::FINISH_TIMER.prepare_invoke();
        inv.key(self.keys.timers()).arg(timer.key.member()).arg(timer.lease_token);
        let _removed: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let first: Vec<(String, f64)> =
            self.query(::redis::cmd("ZRANGE").arg(self.keys.timers()).arg(0).arg(0).arg("WITHSCORES")).await?;
        first.first().map(|(_, score)| score_to_timestamp(*score)).transpose()
    }

    async fn timer_due(&self, key: &TimerKey) -> Result<Option<Timestamp>, StoreError> {
        let score: Option<f64> = self.query(::redis::cmd("ZSCORE").arg(self.keys.timers()).arg(key.member())).await?;
        score.map(score_to_timestamp).transpose()
    }

    // --- residents via WeChat (issue #3) ---------------------------------------------------

    async fn put_resident_session(
        &self,
        openid_hash: &str,
        session: &ResidentSession,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let json = encode("resident session", session)?;
        self.query::<()>(
            ::redis::cmd("SET").arg(self.keys.wechat_session(openid_hash)).arg(json).arg("PX").arg(ttl_ms(ttl)),
        )
        .await
    }

    async fn resident_session(&self, openid_hash: &str) -> Result<Option<ResidentSession>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("GET").arg(self.keys.wechat_session(openid_hash))).await?;
        raw.map(|json| decode("resident session", &json)).transpose()
    }

    async fn claim_delivery(&self, key_hash: &str, lease: Duration) -> Result<DeliveryClaim, StoreError> {
        let mut inv = scripts::CLAIM_DELIVERY.prepare_invoke();
        inv.key(self.keys.wechat_delivery(key_hash)).arg(ttl_ms(lease));
        let raw: String = self.invoke(&inv).await?;
        Ok(match raw.as_str() {
            "" => DeliveryClaim::Claimed,
            "p" => DeliveryClaim::Pending,
            other => match other.strip_prefix("a:") {
                Some(reply) => DeliveryClaim::Answered(reply.to_owned()),
                None => return Err(corrupt("delivery record", "unknown marker")),
            },
        })
    }

    async fn finish_delivery(&self, key_hash: &str, reply: &str, ttl: Duration) -> Result<(), StoreError> {
        self.query::<()>(
            ::redis::cmd("SET")
                .arg(self.keys.wechat_delivery(key_hash))
                .arg(format!("a:{reply}"))
                .arg("PX")
                .arg(ttl_ms(ttl)),
        )
        .await
    }

    async fn release_delivery(&self, key_hash: &str) -> Result<(), StoreError> {
        let mut inv = scripts::RELEASE_DELIVERY.prepare_invoke();
        inv.key(self.keys.wechat_delivery(key_hash));
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn remember_signed_url(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let mut inv = scripts::REMEMBER_SIGNED_URL.prepare_invoke();
        inv.key(self.keys.wechat_signed_url(url_hash)).arg(body_hash).arg(ttl_ms(ttl));
        self.invoke(&inv).await
    }

    async fn hit_rate_window(&self, key_hash: &str, window: Duration) -> Result<RateCount, StoreError> {
        let mut inv = scripts::HIT_RATE_WINDOW.prepare_invoke();
        inv.key(self.keys.rate_window(key_hash)).arg(ttl_ms(window));
        let (count, pttl): (u64, i64) = self.invoke(&inv).await?;
        Ok(RateCount { count, resets_in: Duration::from_millis(u64::try_from(pttl).unwrap_or(0)) })
    }

    async fn clear_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        let _: i64 = self.query(::redis::cmd("DEL").arg(self.keys.rate_window(key_hash))).await?;
        Ok(())
    }

    async fn refund_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        let mut inv = scripts::REFUND_RATE_WINDOW.prepare_invoke();
        inv.key(self.keys.rate_window(key_hash));
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn wechat_token(&self) -> Result<Option<CachedToken>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("GET").arg(self.keys.wechat_token())).await?;
        raw.map(|json| decode("wechat token", &json)).transpose()
    }

    async fn put_wechat_token(&self, token: &CachedToken) -> Result<(), StoreError> {
        let left_ms = ms(token.expires_at) - ms(Timestamp::now());
        if left_ms <= 0 {
            return Ok(());
        }
        let json = encode("wechat token", token)?;
        self.query::<()>(::redis::cmd("SET").arg(self.keys.wechat_token()).arg(json).arg("PX").arg(left_ms)).await
    }

    async fn drop_wechat_token(&self, stale: &str) -> Result<(), StoreError> {
        let mut inv = scripts::DROP_WECHAT_TOKEN.prepare_invoke();
        inv.key(self.keys.wechat_token()).arg(stale);
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn lock_wechat_token_refresh(&self, holder: &str, lease: Duration) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .query(
                ::redis::cmd("SET")
                    .arg(self.keys.wechat_token_lock())
                    .arg(holder)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms(lease)),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn unlock_wechat_token_refresh(&self, holder: &str) -> Result<(), StoreError> {
        let mut inv = scripts::UNLOCK_IF_HOLDER.prepare_invoke();
        inv.key(self.keys.wechat_token_lock()).arg(holder);
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn wechat_qr(&self, scene: &SceneId) -> Result<Option<String>, StoreError> {
        self.query(::redis::cmd("HGET").arg(self.keys.wechat_qr()).arg(scene.to_string())).await
    }

    async fn put_wechat_qr(&self, scene: &SceneId, url: &str) -> Result<(), StoreError> {
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.wechat_qr()).arg(scene.to_string()).arg(url)).await
    }

    async fn set_incident_openid(&self, id: &IncidentId, openid: &str, ttl: Duration) -> Result<(), StoreError> {
        self.query::<()>(::redis::cmd("SET").arg(self.keys.wechat_incident(id)).arg(openid).arg("PX").arg(ttl_ms(ttl)))
            .await
    }

    async fn incident_openid(&self, id: &IncidentId) -> Result<Option<String>, StoreError> {
        self.query(::redis::cmd("GET").arg(self.keys.wechat_incident(id))).await
    }
}

/// The cross-instance bus on Redis pub/sub.
///
/// Publishing uses the command connection; a background task holds a dedicated subscriber
/// connection and fans messages out to local subscribers. Pub/sub is fire-and-forget, so after
/// any reconnect the task sends a local [`BusMessage::Resync`] (never published to Redis) and
/// subscribers rebuild their state from the store. The task stops when the `cancel` token
/// given to [`RedisBus::start`] is cancelled or the bus is dropped.
pub struct RedisBus {
    conn: Connection,
    channel: String,
    command_timeout: Duration,
    tx: broadcast::Sender<BusMessage>,
    /// Stops the subscriber task when the bus is dropped.
    _stop: DropGuard,
}

impl fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBus").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connect, subscribe, and start the subscriber task. Messages published after this
    /// returns reach this bus's subscribers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached within the connect timeout, or
    /// when the URL or prefix is invalid.
    pub async fn start(settings: &RedisConfig, cancel: CancellationToken) -> Result<Self, StoreError> {
        let keys = Keys::new(&settings.prefix).map_err(unavailable)?;
        // Standalone: the one server. Cluster: any node hears every classic PUBLISH, so the
        // subscriber uses one seed at a time and moves to the next when it fails.
        let urls = if settings.is_cluster() { settings.cluster_nodes.clone() } else { vec![settings.url.clone()] };
        let clients = urls.iter().map(|url| client(url)).collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
        let conn = Connection::open(settings).await?;
        let channel = keys.bus_channel();
        let (subscriber, seed) = subscribe_any(&clients, 0, &channel).await?;
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        let stop = cancel.child_token();
        let listener = Listener {
            clients,
            seed,
            channel: channel.clone(),
            tx: tx.clone(),
            stop: stop.clone(),
            ping_timeout: settings.command_timeout,
        };
        tokio::spawn(listener.run(subscriber));
        Ok(Self { conn, channel, command_timeout: settings.command_timeout, tx, _stop: stop.drop_guard() })
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), StoreError> {
        if matches!(message, BusMessage::Resync) {
            // Resync is local by definition: other instances decide for themselves.
            let _ = self.tx.send(BusMessage::Resync);
            return Ok(());
        }
        let payload = encode("bus message", message)?;
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("PUBLISH").arg(&self.channel).arg(payload).to_owned();
        match tokio::time::timeout(self.command_timeout, cmd.query_async::<i64>(&mut conn)).await {
            Ok(result) => result.map(drop).map_err(classify),
            Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut("publish")))),
        }
    }

    fn subscribe(&self) -> BusReceiver {
        BusReceiver::new(self.tx.subscribe())
    }
}

/// Subscribe through the first of `clients`, starting at `first` and wrapping around, that
/// answers; returns the subscriber and the index of the client that served it.
async fn subscribe_any(
    clients: &[::redis::Client],
    first: usize,
    channel: &str,
) -> Result<(::redis::aio::PubSub, usize), StoreError> {
    let mut last = StoreError::Unavailable(Box::new(TimedOut("subscribe: no node given")));
    for i in 0..clients.len() {
        let at = (first + i) % clients.len();
        match subscribe(&clients[at], channel).await {
            Ok(subscriber) => return Ok((subscriber, at)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Open a dedicated pub/sub connection subscribed to `channel`, bounded by [`CONNECT_TIMEOUT`].
async fn subscribe(client: &::redis::Client, channel: &str) -> Result<::redis::aio::PubSub, StoreError> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut("subscribe")))),
    }
}

/// The subscriber task's state.
struct Listener {
    /// One client per node the subscriber may use (one for a standalone server).
    clients: Vec<::redis::Client>,
    /// The client currently (or last) subscribed through.
    seed: usize,
    channel: String,
    tx: broadcast::Sender<BusMessage>,
    stop: CancellationToken,
    ping_timeout: Duration,
}

impl Listener {
    async fn run(mut self, mut subscriber: ::redis::aio::PubSub) {
        loop {
            self.pump(subscriber).await;
            if self.stop.is_cancelled() {
                return;
            }
            tracing::warn!(channel = %self.channel, "bus subscriber disconnected; reconnecting");
            let Some(fresh) = self.reconnect().await else { return };
            subscriber = fresh;
            tracing::info!(channel = %self.channel, "bus subscriber reconnected; asking for resync");
            // No receivers is fine: nobody on this instance is listening yet.
            let _ = self.tx.send(BusMessage::Resync);
        }
    }

    /// Forward messages until the connection dies or the bus stops.
    async fn pump(&self, subscriber: ::redis::aio::PubSub) {
        let (mut sink, mut stream) = subscriber.split();
        let mut ping = tokio::time::interval(BUS_PING_INTERVAL);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await; // the first tick is immediate
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                msg = stream.next() => {
                    let Some(msg) = msg else { return };
                    match serde_json::from_slice::<BusMessage>(msg.get_payload_bytes()) {
                        Ok(message) => {
                            let _ = self.tx.send(message);
                        }
                        Err(e) => tracing::warn!(error = %e, "undecodable bus message dropped"),
                    }
                }
                _ = ping.tick() => {
                    let alive = tokio::time::timeout(self.ping_timeout, sink.ping::<Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        return;
                    }
                }
            }
        }
    }

    /// Resubscribe with capped, jittered exponential backoff, trying the next node first (the one that
    /// failed is the likeliest to be down); `None` when the bus stopped meanwhile.
    async fn reconnect(&mut self) -> Option<::redis::aio::PubSub> {
        let mut backoff = crate::retry::Backoff::new(RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return None,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
            match subscribe_any(&self.clients, self.seed + 1, &self.channel).await {
                Ok((subscriber, seed)) => {
                    self.seed = seed;
                    return Some(subscriber);
                }
                Err(e) => tracing::debug!(error = %e, "bus resubscribe failed"),
            }
        }
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
    fn config_debug_hides_the_password() {
        let config = RedisConfig {
            url: "redis://:s3cret@redis.internal:6379/0".into(),
            prefix: "gd".into(),
            command_timeout: Duration::from_secs(1),
            cluster_nodes: vec!["redis://:n0de-pass@10.0.0.1:7000".into()],
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("n0de-pass"), "{shown}");
        assert!(shown.contains("redis://***@redis.internal:6379/0"), "{shown}");
    }

    #[test]
    fn timer_scores_must_be_whole_milliseconds() {
        assert_eq!(score_to_timestamp(1_800_000_300_000.0).unwrap(), Timestamp::from_second(1_800_000_300).unwrap());
        for bad in [f64::NAN, f64::INFINITY, 1.5, 1e300] {
            assert!(matches!(score_to_timestamp(bad), Err(StoreError::Corrupt(_))), "{bad}");
        }
    }
}
