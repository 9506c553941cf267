//! Settings: `config/default.toml` (compiled in) → `{GD_ENV}.toml` (see [`sources`]: found in
//! `GD_CONFIG_DIR`, beside the binary or in the working directory) → `GD_*` environment.
//! Validated at load; a bad value fails fast and names its key. Secrets come only from the
//! environment and are held in `secrecy` types.
//!
//! One file per group of sections: the service itself (`service.rs`: `[http]`, `[redis]`,
//! `[auth]`, `[metrics]`, `[log]`), handling reports (`dispatch.rs`: `[dispatch]`, `[timers]`,
//! `[push]`, `[limits]`, `[lifecycle]`, `[ladder]`, `[triage]`, `[resident]`), WeChat and
//! report limits (`wechat.rs`), the base map (`map.rs`); the checks across them in
//! `validate.rs`. Capabilities with settings of their own keep them beside their code.

pub mod sources;

pub use sources::Environment;

mod dispatch;
mod map;
mod service;
mod validate;
mod wechat;

pub use dispatch::{
    ColourDeadlines, DispatchSettings, LadderSettings, LifecycleSettings, LimitSettings, PushSettings,
    ResidentSettings, TimerSettings, TriageSettings,
};
pub use map::{BaseMap, MapSettings, MapSource};
pub use service::{AuthSettings, HttpSettings, LogSettings, MetricsSettings, RedisSettings};
pub use wechat::{ReportLimitSettings, WechatSettings};

use serde::Deserialize;
use std::time::Duration;

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
