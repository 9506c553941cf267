//! WeChat and report rate limits (issue #3): the Official Account webhook, the outbound API
//! and notifications (`[wechat]`, its secrets from the environment), how many reports one
//! sender may file (`[report_limits]`), and their checks.

use super::{ConfigError, Settings, sources};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

fn default_passive_reply_deadline() -> Duration {
    Duration::from_millis(4500)
}

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
    pub(super) fn validate_wechat(&self) -> Result<(), ConfigError> {
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
mod tests {
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
