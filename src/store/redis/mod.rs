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

mod directory;
mod health;
mod incidents;
pub mod keys;
mod leases;
mod presence;
mod scripts;
mod wechat;
mod write;

use self::keys::Keys;
use super::plan::MAX_IDEMPOTENCY_TTL_MS;
use super::{AreaNote, Bus, BusMessage, BusReceiver, StoreError};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::location::GeoPoint;
use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::{
    Cmd, ErrorKind, FromRedisValue, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
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
        Self::start_on(Connection::open(settings).await?, settings, cancel).await
    }

    /// As [`RedisBus::start`], publishing through `conn`.
    async fn start_on(conn: Connection, settings: &RedisConfig, cancel: CancellationToken) -> Result<Self, StoreError> {
        let keys = Keys::new(&settings.prefix).map_err(unavailable)?;
        // Standalone: the one server. Cluster: any node hears every classic PUBLISH, so the
        // subscriber uses one seed at a time and moves to the next when it fails.
        let urls = if settings.is_cluster() { settings.cluster_nodes.clone() } else { vec![settings.url.clone()] };
        let clients = urls.iter().map(|url| client(url)).collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
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
        let payload = super::bus_codec::encode(message)?;
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
                    match super::bus_codec::decode(msg.get_payload_bytes()) {
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
