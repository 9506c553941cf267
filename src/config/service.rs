//! The service's own sections: where it listens (`[http]`), its store (`[redis]`), logins and
//! tokens (`[auth]`), metrics and logs (`[metrics]`, `[log]`).

use super::ConfigError;
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// Serve `/metrics` only on this address instead of `http.addr`; empty: on `http.addr`.
    #[serde(default)]
    pub addr: String,
    /// How often the recorder drains recorded samples into its summaries.
    #[serde(with = "humantime_serde")]
    pub upkeep_interval: Duration,
    /// Bearer token `/metrics` requires; from `GD_METRICS__TOKEN` only. Unset: none.
    #[serde(skip)]
    pub token: Option<SecretString>,
}

impl MetricsSettings {
    /// The separate listen address, if one is configured.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when it is not `host:port`.
    pub fn separate_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.addr.trim().is_empty() {
            return Ok(None);
        }
        self.addr.trim().parse().map(Some).map_err(|_| ConfigError::Invalid {
            key: "metrics.addr",
            reason: "must be empty or an ip:port such as 127.0.0.1:9100".into(),
        })
    }
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Listen address.
    pub addr: SocketAddr,
    /// Public URL, for links.
    pub public_base_url: String,
    /// Largest body, bytes.
    pub body_limit_bytes: usize,
    /// Per-request deadline.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Concurrent requests before shedding.
    pub max_in_flight: usize,
    /// Extra origins allowed to open WebSockets.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Take the client IP from `X-Forwarded-For` (only behind trusted proxies).
    pub trust_forwarded_for: bool,
    /// Which `X-Forwarded-For` entry, counted from the right (1: the rightmost).
    pub trusted_hops: u32,
    /// A request's head (request line and headers) must arrive within this, counted from the
    /// connection's start or, on a kept-alive connection, from the next request's first byte.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request for this long is closed.
    #[serde(with = "humantime_serde")]
    pub keep_alive_idle_timeout: Duration,
    /// Open connections (WebSockets and streams included); beyond it new ones get 503 and are closed.
    pub max_connections: usize,
    /// On shutdown, requests and streams in progress get this long; then every connection is closed.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

/// `[redis]`.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    /// Empty: embedded memory store.
    #[serde(default)]
    pub url: String,
    /// Key prefix (inside the hash tag).
    pub prefix: String,
    /// Per-command deadline.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Redis Cluster seed nodes; non-empty selects cluster mode (then `url` must be empty).
    #[serde(default)]
    pub cluster_nodes: Vec<String>,
    /// What Redis's persistence settings must promise before this instance takes traffic.
    pub durability: crate::store::durability::Durability,
    /// How often they are read again (a `CONFIG SET` at run time is seen within this).
    #[serde(with = "humantime_serde")]
    pub durability_check_every: Duration,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Required `iss`, when non-empty.
    #[serde(default)]
    pub issuer: String,
    /// Required `aud`, when non-empty.
    #[serde(default)]
    pub audience: String,
    /// Lifetime of login tokens.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// Attempts per phone and client address before lockout.
    pub login_max_failures: u32,
    /// That lockout's window.
    #[serde(with = "humantime_serde")]
    pub login_lockout: Duration,
    /// Attempts per client address over every phone.
    pub login_ip_max_failures: u32,
    /// That limit's window.
    #[serde(with = "humantime_serde")]
    pub login_ip_window: Duration,
    /// Attempts per phone over every address, before only fresh addresses get through.
    pub login_phone_max_failures: u32,
    /// That limit's window.
    #[serde(with = "humantime_serde")]
    pub login_phone_window: Duration,
    /// Password checks at once per instance; 0: half the cores, at least 1.
    pub password_hash_concurrency: usize,
    /// HMAC key; from `GD_AUTH__JWT_SECRET` only.
    #[serde(skip)]
    pub jwt_secret: Option<SecretString>,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// "json" or "pretty".
    pub format: String,
    /// tracing filter.
    pub level: String,
}
