//! Settings: `config/default.toml` (compiled in) → `{GD_ENV}.toml` (see [`sources`]: found in
//! `GD_CONFIG_DIR`, beside the binary or in the working directory) → `GD_*` environment.
//! Validated at load; a bad value fails fast and names its key. Secrets come only from the
//! environment and are held in `secrecy` types.

pub mod sources;

pub use sources::Environment;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

mod map;
pub use map::{BaseMap, MapSettings, MapSource};

/// The documented defaults, compiled into the binary so it runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

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
    /// `[lifecycle]`.
    pub lifecycle: LifecycleSettings,
    /// `[triage]`.
    pub triage: TriageSettings,
    /// `[ladder]`.
    pub ladder: LadderSettings,
    /// `[map]`: the base map under every page's map.
    #[serde(default)]
    pub map: MapSettings,
    /// The base map's old place (`[pages] tile_*`, moved to `[map]`): refused when set, so a
    /// configured base map never silently disappears.
    #[serde(default)]
    pub pages: Option<std::collections::HashMap<String, serde_json::Value>>,
    /// `[log]`.
    pub log: LogSettings,
    /// `[wechat]` (issue #3).
    pub wechat: WechatSettings,
    /// `[report_limits]` (issue #3).
    pub report_limits: ReportLimitSettings,
    /// `[metrics]`.
    pub metrics: MetricsSettings,
    /// `[resident]`: what the resident's pages need (the district's centre, the center's phone).
    #[serde(default)]
    pub resident: ResidentSettings,
    /// `[sms]`: texts to residents (the tracking link).
    #[serde(default)]
    pub sms: crate::sms::SmsSettings,
    /// `[departments]`: call-in deadlines (issue #21).
    #[serde(default)]
    pub departments: crate::departments::config::DepartmentSettings,
    /// `[video]`: video mediation (issue #22): TURN, invitations, the room's limits.
    #[serde(default)]
    pub video: crate::video::VideoSettings,
    /// `[casefile]`: committees, seals, the PDF font (issue #20).
    #[serde(default)]
    pub casefile: crate::casefile::CaseFileSettings,
    /// `GD_ENV` (not a file key).
    #[serde(skip)]
    pub environment: Environment,
    /// The `{GD_ENV}.toml` layered over the defaults, if any (logged at start).
    #[serde(skip)]
    pub loaded_from: Option<std::path::PathBuf>,
}

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

/// `[resident]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResidentSettings {
    /// The district's centre (WGS-84): where the report form's map starts, and where a report
    /// whose place is only typed in words is filed.
    #[serde(default = "default_home_lat")]
    pub home_lat: f64,
    /// See `home_lat`.
    #[serde(default = "default_home_lng")]
    pub home_lng: f64,
    /// The command center's public phone number, shown to a resident while the command center
    /// is finding a mediator (empty: none shown).
    #[serde(default)]
    pub center_phone: String,
}

impl Default for ResidentSettings {
    fn default() -> Self {
        Self { home_lat: default_home_lat(), home_lng: default_home_lng(), center_phone: String::new() }
    }
}

fn default_home_lat() -> f64 {
    36.6171
}

fn default_home_lng() -> f64 {
    101.7782
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
    /// A mediator whose home grid or community is the incident's counts as this much nearer.
    pub home_area_bonus_m: f64,
    /// Idempotency-Key memory.
    #[serde(with = "humantime_serde")]
    pub idempotency_ttl: Duration,
    /// Suggestions in an incident's detail.
    pub suggest_count: usize,
    /// Time between offer waves.
    #[serde(with = "humantime_serde")]
    pub wave_interval: Duration,
    /// Unanswered offers lapse after this.
    #[serde(with = "humantime_serde")]
    pub offer_ttl: Duration,
    /// A position older than this is forgotten (index and store): the phone went silent.
    #[serde(with = "humantime_serde")]
    pub forget_positions_after: Duration,
    /// Positions arriving within this window are written to the store and announced to the
    /// other instances together (latest per mediator wins); 0 writes each at once.
    #[serde(with = "humantime_serde")]
    pub position_batch_window: Duration,
}

/// `[timers]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TimerSettings {
    /// Safety-net poll period (real time): the runner sleeps until the soonest deadline and is
    /// woken by news of a sooner one; this bounds the wait if such news was lost.
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
    /// Ping period; two unanswered pings close a socket as dead.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// Bus buffer per subscriber.
    pub bus_capacity: usize,
    /// Live-feed batching period.
    #[serde(with = "humantime_serde")]
    pub live_batch_interval: Duration,
    /// A socket write slower than this drops the socket (a peer that stopped reading).
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Command-center screens per account, per instance.
    pub screens_per_account: usize,
    /// Command-center screens in all, per instance.
    pub screens_total: usize,
    /// Tracking streams per tracking token, per instance.
    pub tracking_streams_per_token: usize,
    /// Tracking streams per client IP, per instance.
    pub tracking_streams_per_ip: usize,
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

/// Deadlines for one risk colour.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ColourDeadlines {
    /// Arrive within this of the claim.
    #[serde(with = "humantime_serde")]
    pub arrive_within: Duration,
    /// Resolve within this of the claim.
    #[serde(with = "humantime_serde")]
    pub resolve_within: Duration,
}

/// `[lifecycle]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleSettings {
    /// Reminder lead time.
    #[serde(with = "humantime_serde")]
    pub remind_before: Duration,
    /// Red deadlines.
    pub red: ColourDeadlines,
    /// Yellow deadlines.
    pub yellow: ColourDeadlines,
    /// Blue deadlines.
    pub blue: ColourDeadlines,
}

impl LifecycleSettings {
    /// The deadlines for `risk`.
    #[must_use]
    pub fn for_risk(&self, risk: crate::domain::category::Risk) -> ColourDeadlines {
        use crate::domain::category::Risk;
        match risk {
            Risk::Red => self.red,
            Risk::Yellow => self.yellow,
            Risk::Blue => self.blue,
        }
    }
}

fn default_passive_reply_deadline() -> Duration {
    Duration::from_millis(4500)
}

/// `[ladder]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LadderSettings {
    /// A community or street command center that has not assigned an escalated incident
    /// within this time passes it one level up.
    #[serde(with = "humantime_serde")]
    pub climb_after: Duration,
}

/// `[triage]`.
#[derive(Debug, Clone, Deserialize)]
pub struct TriageSettings {
    /// Red keywords.
    #[serde(default)]
    pub red_keywords: Vec<String>,
    /// Yellow keywords.
    #[serde(default)]
    pub yellow_keywords: Vec<String>,
    /// Lowest colour per category.
    #[serde(default)]
    pub category_floor: std::collections::HashMap<crate::domain::category::Category, crate::domain::category::Risk>,
}

impl TriageSettings {
    /// As domain rules.
    #[must_use]
    pub fn rules(&self) -> crate::domain::triage::TriageRules {
        crate::domain::triage::TriageRules {
            red_keywords: self.red_keywords.clone(),
            yellow_keywords: self.yellow_keywords.clone(),
            category_floor: self.category_floor.clone(),
        }
    }
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
        let environment = Environment::parse(std::env::var("GD_ENV").ok().as_deref())?;
        let explicit = std::env::var_os("GD_CONFIG_DIR").filter(|d| !d.is_empty()).map(std::path::PathBuf::from);
        let loaded_from = sources::env_file(environment, explicit.as_deref(), &sources::default_dirs())?;
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml));
        if let Some(file) = &loaded_from {
            builder = builder.add_source(config::File::from(file.as_path()).required(true));
        }
        let built = builder
            .add_source(
                config::Environment::with_prefix("GD")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("http.allowed_origins")
                    .with_list_parse_key("redis.cluster_nodes")
                    .with_list_parse_key("video.turn_urls"),
            )
            .build()?;
        let mut settings: Self = built.try_deserialize()?;
        settings.environment = environment;
        settings.loaded_from = loaded_from;
        settings.auth.jwt_secret = sources::secret_from_env("GD_AUTH__JWT_SECRET")?;
        settings.metrics.token = sources::secret_from_env("GD_METRICS__TOKEN")?;
        settings.wechat.load_secrets_from_env()?;
        settings.sms.api_key = sources::secret_from_env("GD_SMS__API_KEY")?;
        settings.departments.webhook.secret = sources::secret_from_env("GD_DEPARTMENTS__WEBHOOK__SECRET")?;
        settings.video.turn_secret = sources::secret_from_env("GD_VIDEO__TURN_SECRET")?;
        settings.casefile.keys = sources::secret_from_env("GD_CASEFILE__KEYS")?;
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
        let a = &self.auth;
        if a.login_lockout.is_zero() || a.login_ip_window.is_zero() || a.login_phone_window.is_zero() {
            return bad("auth.login_lockout / login_ip_window / login_phone_window", "must be more than zero");
        }
        if a.password_hash_concurrency > 64 {
            return bad("auth.password_hash_concurrency", "must be 0 (half the cores) to 64");
        }
        if self.environment == Environment::Production {
            if self.auth.jwt_secret.is_none() {
                return bad(
                    "auth.jwt_secret (GD_AUTH__JWT_SECRET)",
                    "is required in production (a random key per run would log everyone out on restart)",
                );
            }
            if self.uses_memory_store() {
                return bad(
                    "redis.url (GD_REDIS__URL)",
                    "is required in production (the embedded store forgets everything on restart)",
                );
            }
        }
        self.metrics.separate_addr()?;
        self.departments.validate().map_err(|reason| ConfigError::Invalid { key: "departments", reason })?;
        self.casefile.grading.validate().map_err(|reason| ConfigError::Invalid { key: "casefile.grading", reason })?;
        if self.metrics.upkeep_interval.is_zero() {
            return bad("metrics.upkeep_interval", "must be more than zero");
        }
        if self.http.header_read_timeout.is_zero() || self.http.keep_alive_idle_timeout.is_zero() {
            return bad("http", "header_read_timeout and keep_alive_idle_timeout must be more than zero");
        }
        if self.http.max_connections == 0 {
            return bad("http.max_connections", "must be at least 1");
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
        if !self.dispatch.home_area_bonus_m.is_finite() || self.dispatch.home_area_bonus_m < 0.0 {
            return bad("dispatch.home_area_bonus_m", "must be zero or more metres");
        }
        if !self.dispatch.specialty_bonus_m.is_finite() || self.dispatch.specialty_bonus_m < 0.0 {
            return bad("dispatch.specialty_bonus_m", "must be zero or more metres");
        }
        if self.dispatch.offer_count == 0 || self.dispatch.offer_count > 50 {
            return bad("dispatch.offer_count", "must be 1..=50");
        }
        if self.dispatch.position_batch_window > Duration::from_secs(1) {
            return bad("dispatch.position_batch_window", "must be at most 1s");
        }
        if self.dispatch.forget_positions_after < self.dispatch.stale_after {
            return bad("dispatch.forget_positions_after", "must be at least dispatch.stale_after");
        }
        if !self.redis.cluster_nodes.is_empty() && !self.redis.url.trim().is_empty() {
            return bad("redis.cluster_nodes", "set either redis.url or redis.cluster_nodes, not both");
        }
        if self.redis.cluster_nodes.iter().any(|n| !(n.starts_with("redis://") || n.starts_with("rediss://"))) {
            return bad("redis.cluster_nodes", "every seed node must be a redis:// or rediss:// URL");
        }
        if self.redis.durability_check_every < Duration::from_millis(100) {
            return bad("redis.durability_check_every", "must be at least 100ms");
        }
        self.map.validate()?;
        if let Err((key, why)) = self.video.validate() {
            return bad(key, why);
        }
        if let Err((key, why)) = self.sms.validate() {
            return bad(key, why);
        }
        if crate::domain::location::GeoPoint::new(self.resident.home_lat, self.resident.home_lng).is_err() {
            return bad("resident.home_lat", "home_lat/home_lng must be a valid WGS-84 point");
        }
        let phone = self.resident.center_phone.trim();
        if phone.len() > 32 || !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ')) {
            return bad("resident.center_phone", "digits, spaces, '-' or '+', at most 32 characters");
        }
        if self.dispatch.wave_interval.is_zero() {
            return bad("dispatch.wave_interval", "must be more than zero");
        }
        if self.dispatch.offer_ttl < self.dispatch.wave_interval {
            return bad("dispatch.offer_ttl", "must be at least dispatch.wave_interval");
        }
        for (key, d) in [
            ("lifecycle.red", self.lifecycle.red),
            ("lifecycle.yellow", self.lifecycle.yellow),
            ("lifecycle.blue", self.lifecycle.blue),
        ] {
            if d.arrive_within.is_zero() || d.resolve_within < d.arrive_within {
                return bad(key, "arrive_within > 0 and resolve_within ≥ arrive_within are required");
            }
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
        if self.push.write_timeout.is_zero() {
            return bad("push.write_timeout", "must be more than zero");
        }
        for (key, value) in [
            ("push.screens_per_account", self.push.screens_per_account),
            ("push.screens_total", self.push.screens_total),
            ("push.tracking_streams_per_token", self.push.tracking_streams_per_token),
            ("push.tracking_streams_per_ip", self.push.tracking_streams_per_ip),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if !matches!(self.log.format.as_str(), "json" | "pretty") {
            return bad("log.format", "must be \"json\" or \"pretty\"");
        }
        if !(self.http.public_base_url.starts_with("http://") || self.http.public_base_url.starts_with("https://")) {
            return bad("http.public_base_url", "must start with http:// or https://");
        }
        self.validate_wechat()?;
        Ok(())
    }

    /// True when no Redis is configured (embedded, non-durable store).
    #[must_use]
    pub fn uses_memory_store(&self) -> bool {
        self.redis.url.trim().is_empty() && self.redis.cluster_nodes.is_empty()
    }

    /// How often silent phones' positions are looked for (a tenth of the forget window).
    #[must_use]
    pub fn position_sweep_interval(&self) -> Duration {
        (self.dispatch.forget_positions_after / 10).clamp(Duration::from_millis(100), Duration::from_secs(60))
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
    fn cluster_nodes_select_cluster_mode_and_are_checked() {
        let mut s = Settings::defaults();
        s.redis.cluster_nodes = vec!["redis://127.0.0.1:7000".into(), "redis://127.0.0.1:7001".into()];
        s.validate().unwrap();
        assert!(!s.uses_memory_store());
        s.redis.url = "redis://127.0.0.1:6379".into();
        assert!(s.validate().unwrap_err().to_string().contains("redis.cluster_nodes"));
        s.redis.url.clear();
        s.redis.cluster_nodes = vec!["127.0.0.1:7000".into()];
        assert!(s.validate().unwrap_err().to_string().contains("redis.cluster_nodes"));
    }

    #[test]
    fn a_short_jwt_secret_is_refused_and_named() {
        let mut s = Settings::defaults();
        s.auth.jwt_secret = Some(SecretString::from("too-short"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("GD_AUTH__JWT_SECRET"), "{err}");
    }

    #[test]
    fn the_client_ip_keys_are_checked_and_the_old_one_says_where_it_moved() {
        let mut s = Settings::defaults();
        s.report_limits.trust_forwarded_for = Some(true);
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("http.trust_forwarded_for"), "{err}");
        s.report_limits.trust_forwarded_for = None;
        s.http.trust_forwarded_for = true;
        s.http.trusted_hops = 0;
        assert!(s.validate().unwrap_err().to_string().contains("http.trusted_hops"));
        s.http.trusted_hops = 2;
        s.validate().unwrap();
    }
}

// --- WeChat and report rate limits (issue #3) -------------------------------------------------

/// `[wechat]`: the Official Account webhook, the outbound API and notifications.
#[derive(Debug, Clone, Deserialize)]
pub struct WechatSettings {
    /// AppID (`wx…`): checked inside every safe-mode plaintext; used for the outbound API.
    pub appid: String,
    /// Original id (`gh_…`): every delivery's `ToUserName` must equal it.
    pub original_id: String,
    /// Base URL of WeChat's API (tests point it at a local fake).
    pub api_base: String,
    /// Fetch the access token from `cgi-bin/stable_token` (true) or `cgi-bin/token`.
    pub use_stable_token: bool,
    /// Refresh the cached access token this long before it expires.
    #[serde(with = "humantime_serde")]
    pub token_refresh_ahead: Duration,
    /// Deadline of one outbound API call.
    #[serde(with = "humantime_serde")]
    pub api_timeout: Duration,
    /// A text this soon after a scan (or a location) files a report at that place.
    #[serde(with = "humantime_serde")]
    pub text_window: Duration,
    /// Deliveries whose `timestamp` is further than this from now are refused.
    #[serde(with = "humantime_serde")]
    pub timestamp_window: Duration,
    /// How long a resident's scan binding is kept.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// How long the answer to a delivery is remembered for WeChat's retries.
    #[serde(with = "humantime_serde")]
    pub dedupe_ttl: Duration,
    /// Longest a delivery waits for a concurrent copy of itself before answering `success`.
    #[serde(with = "humantime_serde")]
    pub reply_budget: Duration,
    /// A passive reply ready later than this after its delivery arrived is too late for
    /// WeChat (it waits 5 s): it also goes out as a customer-service message.
    #[serde(with = "humantime_serde", default = "default_passive_reply_deadline")]
    pub passive_reply_deadline: Duration,
    /// The datum of `LOCATION` events (`wgs84` or `gcj02`); location messages are GCJ-02.
    pub location_event_coord: crate::domain::location::CoordSystem,
    /// `template` (template messages) or `subscribe` (subscription notices, `bizsend`).
    pub message_api: String,
    /// Template id of a mediator's new-offer message (empty: not sent).
    pub template_offer: String,
    /// Template id of "your report was taken" to the resident.
    pub template_claimed: String,
    /// Template id of "the mediator has arrived".
    pub template_arrived: String,
    /// Template id of "your report was resolved".
    pub template_resolved: String,
    /// Template id of a department account's notices: called in, handed the lead, urged.
    pub template_call_in: String,
    /// Template id of a case-file deadline (issue #20): the follow-up or the mediation deadline
    /// to the holding mediator, the 司法确认 reminder to them and to a resident who reported
    /// through WeChat (empty: not sent).
    #[serde(default)]
    pub template_case_due: String,
    /// Notifications waiting for delivery; beyond it new ones are dropped (logged), never waited on.
    pub notify_queue: usize,
    /// Attempts per notification.
    pub notify_attempts: u32,
    /// First retry delay; doubles per attempt.
    #[serde(with = "humantime_serde")]
    pub notify_backoff: Duration,
    /// The webhook Token; from `GD_WECHAT__TOKEN` only. Unset: the webhook answers 404.
    #[serde(skip)]
    pub token: Option<SecretString>,
    /// The 43-character EncodingAESKey; from `GD_WECHAT__AES_KEY` only (safe mode).
    #[serde(skip)]
    pub aes_key: Option<SecretString>,
    /// The AppSecret; from `GD_WECHAT__APPSECRET` only. Unset: notifications are skipped.
    #[serde(skip)]
    pub appsecret: Option<SecretString>,
}

impl WechatSettings {
    /// Read the three secrets from the environment (empty values count as unset).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a value that is all whitespace.
    pub fn load_secrets_from_env(&mut self) -> Result<(), ConfigError> {
        self.token = sources::secret_from_env("GD_WECHAT__TOKEN")?;
        self.aes_key = sources::secret_from_env("GD_WECHAT__AES_KEY")?;
        self.appsecret = sources::secret_from_env("GD_WECHAT__APPSECRET")?;
        Ok(())
    }

    /// The webhook is served when a Token is configured.
    #[must_use]
    pub fn webhook_enabled(&self) -> bool {
        self.token.is_some()
    }

    /// The outbound API (notifications, WeChat QR codes) is usable.
    #[must_use]
    pub fn api_enabled(&self) -> bool {
        !self.appid.is_empty() && self.appsecret.is_some()
    }
}

/// `[report_limits]`: how many reports one sender may file per window.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportLimitSettings {
    /// Reports per WeChat user (openid) per window; 0 turns the limit off.
    pub per_openid: u32,
    /// Reports per client IP per window (H5 form); 0 turns the limit off.
    pub per_ip: u32,
    /// The fixed window.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// The key's old place (moved to `http.trust_forwarded_for`): refused when set, so a
    /// deployment that set it does not silently count every resident as its proxy.
    #[serde(default)]
    pub trust_forwarded_for: Option<bool>,
}

impl Settings {
    fn validate_wechat(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.into() });
        let w = &self.wechat;
        if let Some(key) = &w.aes_key {
            if crate::wechat::crypto::aes_key(key.expose_secret()).is_err() {
                return bad("wechat.aes_key (GD_WECHAT__AES_KEY)", "must be the 43-character EncodingAESKey");
            }
            if w.appid.is_empty() {
                return bad("wechat.appid", "is required with an EncodingAESKey (safe mode checks it)");
            }
        }
        if w.webhook_enabled() && !w.original_id.starts_with("gh_") {
            return bad("wechat.original_id", "must be the account's original id gh_… when the webhook is on");
        }
        if !(w.api_base.starts_with("http://") || w.api_base.starts_with("https://")) {
            return bad("wechat.api_base", "must start with http:// or https://");
        }
        if !matches!(w.message_api.as_str(), "template" | "subscribe") {
            return bad("wechat.message_api", "must be \"template\" or \"subscribe\"");
        }
        if w.text_window.is_zero() || w.timestamp_window.is_zero() || w.session_ttl.is_zero() {
            return bad("wechat", "text_window, timestamp_window and session_ttl must be more than zero");
        }
        if w.dedupe_ttl < Duration::from_secs(60) {
            return bad("wechat.dedupe_ttl", "must be at least 1m (WeChat retries for ~15 s)");
        }
        if w.reply_budget.is_zero() || w.reply_budget > Duration::from_secs(4) {
            return bad("wechat.reply_budget", "must be more than zero and at most 4s (WeChat waits 5 s)");
        }
        if w.passive_reply_deadline > Duration::from_secs(5) {
            return bad("wechat.passive_reply_deadline", "at most 5s (WeChat waits 5 s for a reply)");
        }
        if w.notify_queue == 0 || !(1..=10).contains(&w.notify_attempts) {
            return bad("wechat", "notify_queue ≥ 1 and notify_attempts 1..=10 are required");
        }
        if self.report_limits.window.is_zero() {
            return bad("report_limits.window", "must be more than zero");
        }
        if self.pages.as_ref().is_some_and(|p| !p.is_empty()) {
            return bad("pages", "the base map moved to [map] (map.source, map.tile_url, map.datum …; GD_MAP__*)");
        }
        if self.report_limits.trust_forwarded_for.is_some() {
            return bad(
                "report_limits.trust_forwarded_for",
                "moved to http.trust_forwarded_for (GD_HTTP__TRUST_FORWARDED_FOR), with http.trusted_hops",
            );
        }
        if self.http.trust_forwarded_for && !(1..=10).contains(&self.http.trusted_hops) {
            return bad("http.trusted_hops", "must be 1..=10 (how many trusted proxies append to X-Forwarded-For)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod wechat_config_tests {
    use super::*;

    #[test]
    fn wechat_secrets_are_checked_and_named() {
        let mut s = Settings::defaults();
        assert!(!s.wechat.webhook_enabled() && !s.wechat.api_enabled());
        s.wechat.token = Some(SecretString::from("tok"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("wechat.original_id"), "{err}");
        s.wechat.original_id = "gh_123".into();
        s.validate().unwrap();
        s.wechat.aes_key = Some(SecretString::from("too-short"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("GD_WECHAT__AES_KEY"), "{err}");
        s.wechat.aes_key = Some(SecretString::from("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"));
        assert!(s.validate().unwrap_err().to_string().contains("wechat.appid"));
        s.wechat.appid = "wx2c2769f8efd9abc2".into();
        s.validate().unwrap();
        s.wechat.message_api = "sms".into();
        assert!(s.validate().unwrap_err().to_string().contains("wechat.message_api"));
    }
}
