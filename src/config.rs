//! Settings: `config/default.toml` (compiled in) → `config/{GD_ENV}.toml` → `GD_*` environment.
//! Validated at load; a bad value fails fast and names its key. Secrets come only from the
//! environment and are held in `secrecy` types.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// The documented defaults, compiled into the binary so it runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layers could not be read or parsed.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is out of range; the message names the key.
    #[error("configuration key {key}: {reason}")]
    Invalid {
        /// The offending key, dotted.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Everything the service can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `[http]`.
    pub http: HttpSettings,
    /// `[redis]`.
    pub redis: RedisSettings,
    /// `[auth]`.
    pub auth: AuthSettings,
    /// `[dispatch]`.
    pub dispatch: DispatchSettings,
    /// `[timers]`.
    pub timers: TimerSettings,
    /// `[push]`.
    pub push: PushSettings,
    /// `[limits]`.
    pub limits: LimitSettings,
    /// `[log]`.
    pub log: LogSettings,
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
    /// Failures before lockout.
    pub login_max_failures: u32,
    /// Lockout length.
    #[serde(with = "humantime_serde")]
    pub login_lockout: Duration,
    /// HMAC key; from `GD_AUTH__JWT_SECRET` only.
    #[serde(skip)]
    pub jwt_secret: Option<SecretString>,
}

/// `[dispatch]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DispatchSettings {
    /// Unclaimed this long → escalate.
    #[serde(with = "humantime_serde")]
    pub escalate_after: Duration,
    /// Offers per report.
    pub offer_count: usize,
    /// Search radius, metres.
    pub search_radius_m: f64,
    /// Positions older than this are ignored.
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
    /// H3 resolution of the index.
    pub index_resolution: u8,
    /// Specialty match counts as this many metres nearer.
    pub specialty_bonus_m: f64,
    /// Idempotency-Key memory.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// Suggestions in an incident's detail.
    pub suggest_count: usize,
}

/// `[timers]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TimerSettings {
    /// Poll period.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Claim lease.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Claims per poll.
    pub batch: usize,
}

/// `[push]`.
#[derive(Debug, Clone, Deserialize)]
pub struct PushSettings {
    /// Per-socket queue length.
    pub socket_queue: usize,
    /// Ping period.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Bus buffer per subscriber.
    pub bus_capacity: usize,
    /// Live-feed batching period.
    #[serde(with = "humantime_serde")]
    pub live_batch_interval: Duration,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Description length, characters.
    pub description_max_chars: usize,
    /// Name length, characters.
    pub name_max_chars: usize,
    /// Note length, characters.
    pub note_max_chars: usize,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// "json" or "pretty".
    pub format: String,
    /// tracing filter.
    pub level: String,
}

impl Settings {
    /// Load all layers (see the module docs) and validate.
    ///
    /// # Errors
    /// [`ConfigError`] naming the bad key.
    pub fn load() -> Result<Self, ConfigError> {
        let env_name = std::env::var("GD_ENV").unwrap_or_else(|_| "local".into());
        let built = config::Config::builder()
            .add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml))
            .add_source(config::File::with_name(&format!("config/{env_name}")).required(false))
            .add_source(
                config::Environment::with_prefix("GD")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("http.allowed_origins"),
            )
            .build()?;
        let mut settings: Self = built.try_deserialize()?;
        settings.auth.jwt_secret =
            std::env::var("GD_AUTH__JWT_SECRET").ok().filter(|s| !s.is_empty()).map(SecretString::from);
        settings.validate()?;
        Ok(settings)
    }

    /// The compiled-in defaults alone (tests start here and override in code).
    ///
    /// # Panics
    /// Never for the shipped file; a test guards it.
    #[must_use]
    pub fn defaults() -> Self {
        config::Config::builder()
            .add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .expect("config/default.toml is valid")
    }

    /// Check ranges and relations.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.into() });
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose_secret().len() < 32
        {
            return bad("auth.jwt_secret (GD_AUTH__JWT_SECRET)", "must be at least 32 bytes");
        }
        if crate::domain::location::resolution(self.dispatch.index_resolution).is_err() {
            return bad("dispatch.index_resolution", "must be 0..=15");
        }
        if !(self.dispatch.search_radius_m.is_finite() && self.dispatch.search_radius_m > 0.0) {
            return bad("dispatch.search_radius_m", "must be a positive number of metres");
        }
        if self.dispatch.search_radius_m > 100_000.0 {
            return bad("dispatch.search_radius_m", "must be at most 100 km");
        }
        if !self.dispatch.specialty_bonus_m.is_finite() || self.dispatch.specialty_bonus_m < 0.0 {
            return bad("dispatch.specialty_bonus_m", "must be zero or more metres");
        }
        if self.dispatch.offer_count == 0 || self.dispatch.offer_count > 50 {
            return bad("dispatch.offer_count", "must be 1..=50");
        }
        if self.dispatch.escalate_after.is_zero() {
            return bad("dispatch.escalate_after", "must be more than zero");
        }
        if self.timers.poll_interval.is_zero() || self.timers.lease < Duration::from_secs(1) || self.timers.batch == 0 {
            return bad("timers", "poll_interval > 0, lease ≥ 1s and batch ≥ 1 are required");
        }
        if self.http.body_limit_bytes < 1024 {
            return bad("http.body_limit_bytes", "must be at least 1024");
        }
        if self.push.socket_queue == 0 {
            return bad("push.socket_queue", "must be at least 1");
        }
        if !matches!(self.log.format.as_str(), "json" | "pretty") {
            return bad("log.format", "must be \"json\" or \"pretty\"");
        }
        if !(self.http.public_base_url.starts_with("http://") || self.http.public_base_url.starts_with("https://")) {
            return bad("http.public_base_url", "must start with http:// or https://");
        }
        Ok(())
    }

    /// True when no Redis is configured (embedded, non-durable store).
    #[must_use]
    pub fn uses_memory_store(&self) -> bool {
        self.redis.url.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_load_and_validate() {
        let s = Settings::defaults();
        s.validate().unwrap();
        assert_eq!(s.dispatch.escalate_after, Duration::from_secs(300));
        assert!(s.uses_memory_store());
    }

    #[test]
    fn a_short_jwt_secret_is_refused_and_named() {
        let mut s = Settings::defaults();
        s.auth.jwt_secret = Some(SecretString::from("too-short"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("GD_AUTH__JWT_SECRET"), "{err}");
    }
}
