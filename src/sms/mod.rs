//! Text messages to residents' phones (the tracking link, on request from the H5 page): the
//! [`SmsSender`] port, its HTTP implementation for a gateway, and the `[sms]` settings.
//!
//! The gateway protocol is ours and small, so any provider (Aliyun, Tencent Cloud, a carrier's
//! platform) sits behind a thin adapter: `POST sms.url` with `Authorization: Bearer
//! <GD_SMS__API_KEY>` and `{"phone", "text", "sign"}`; any 2xx means accepted. Unconfigured
//! (`sms.url` empty), nothing is ever sent and the page does not offer it.
//! Depends on nothing in the crate but the phone type.

use crate::domain::account::Phone;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// `[sms]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SmsSettings {
    /// The gateway's endpoint; empty: SMS is off.
    #[serde(default)]
    pub url: String,
    /// The signature (签名) the gateway prefixes, e.g. "城中区矛盾纠纷调处中心".
    #[serde(default)]
    pub sign: String,
    /// Deadline of one gateway call.
    #[serde(with = "humantime_serde", default = "default_timeout")]
    pub timeout: Duration,
    /// Texts one report may ask for per day (a page cannot be used to spam a number).
    #[serde(default = "default_per_report")]
    pub per_report: u32,
    /// `GD_SMS__API_KEY`, from the environment only.
    #[serde(skip)]
    pub api_key: Option<SecretString>,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            sign: String::new(),
            timeout: default_timeout(),
            per_report: default_per_report(),
            api_key: None,
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_per_report() -> u32 {
    3
}

impl SmsSettings {
    /// Check the section.
    ///
    /// # Errors
    /// The offending key and why.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        let url = self.url.trim();
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return Err(("sms.url", "an http(s):// URL, or empty to turn SMS off"));
        }
        if self.timeout.is_zero() {
            return Err(("sms.timeout", "must be more than zero"));
        }
        Ok(())
    }
}

/// Why a text did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The gateway could not be reached or did not answer in time.
    #[error("the SMS gateway is unreachable")]
    Unreachable(#[source] reqwest::Error),
    /// The gateway answered with a non-success status.
    #[error("the SMS gateway refused the message (HTTP {0})")]
    Refused(u16),
}

/// Sends one text to one phone.
#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// Send `text` to `phone`.
    ///
    /// # Errors
    /// [`SmsError`] when the gateway did not accept it.
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError>;
}

/// The sender for `settings`, or None when SMS is off.
#[must_use]
pub fn from_settings(settings: &SmsSettings) -> Option<Arc<dyn SmsSender>> {
    if !is_configured(settings) {
        return None;
    }
    Some(Arc::new(HttpSms::new(settings.clone())))
}

/// Whether texts can be sent here (`sms.url` is set).
#[must_use]
pub fn is_configured(settings: &SmsSettings) -> bool {
    !settings.url.trim().is_empty()
}

/// An SMS gateway over HTTP (see the module docs for the protocol).
pub struct HttpSms {
    settings: SmsSettings,
    http: reqwest::Client,
}

impl HttpSms {
    /// A sender for `settings.url`.
    #[must_use]
    pub fn new(settings: SmsSettings) -> Self {
        let http = reqwest::Client::builder().timeout(settings.timeout).build().unwrap_or_default();
        Self { settings, http }
    }
}

#[async_trait]
impl SmsSender for HttpSms {
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError> {
        let body = serde_json::json!({ "phone": phone.full(), "text": text, "sign": self.settings.sign });
        let mut request = self.http.post(self.settings.url.trim()).json(&body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(SmsError::Unreachable)?;
        if response.status().is_success() { Ok(()) } else { Err(SmsError::Refused(response.status().as_u16())) }
    }
}
