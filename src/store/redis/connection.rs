//! Reaching Redis: how to (`RedisConfig`, with passwords kept out of `Debug`), the command
//! connection (one multiplexed server connection or a cluster connection, both with
//! `TCP_NODELAY`), and sorting Redis errors into what a caller can act on.

use crate::store::StoreError;
use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::{Cmd, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value};
use std::fmt;
use std::time::Duration;

/// Longest wait for one connection attempt (and for the whole of `connect`).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect backoff bounds, for commands and for the bus subscriber.
pub(super) const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
pub(super) const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);
/// Attempts per background reconnect cycle; a later command starts a new cycle.
const RECONNECT_ATTEMPTS: usize = 6;

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
pub(super) enum Connection {
    /// One server (or a proxy), multiplexed, reconnecting by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: routes by slot, follows redirects, reconnects per node.
    Cluster(::redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Connect, bounded by [`CONNECT_TIMEOUT`].
    pub(super) async fn open(settings: &RedisConfig) -> Result<Self, StoreError> {
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
pub(super) fn client(url: &str) -> Result<::redis::Client, RedisError> {
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
pub(super) struct TimedOut(pub(super) &'static str);

pub(super) fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// Sort a Redis error into the two things a caller can act on.
pub(super) fn classify(e: RedisError) -> StoreError {
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
}
