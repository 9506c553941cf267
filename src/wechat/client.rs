//! The outbound WeChat API (reqwest): the access token, template and subscription messages,
//! and permanent parametric QR codes.
//!
//! The access token is cached in the store and shared by every instance. One instance at a
//! time refreshes it (a store lock); the others keep using the cached one while it is valid or
//! wait briefly for the refresher. A token error on any call (40001 another refresh replaced
//! it, 40014 invalid, 42001 expired) drops the cached token only if it is still the failing one,
//! refreshes, and retries that call once.

use crate::config::WechatSettings;
use crate::domain::ids::SceneId;
use crate::store::wechat::CachedToken;
use crate::store::{StoreError, WechatStore};
use jiff::{SignedDuration, Timestamp};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Error codes meaning "this access token is no good": refresh and retry once.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// How long one refresher may hold the refresh lock.
const REFRESH_LEASE: Duration = Duration::from_secs(10);
/// Poll period while another instance refreshes.
const REFRESH_POLL: Duration = Duration::from_millis(50);

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    /// No AppID/AppSecret configured.
    #[error("the WeChat API is not configured")]
    NotConfigured,
    /// The request did not complete (network, timeout, bad JSON).
    #[error("WeChat API request failed")]
    Http(#[source] reqwest::Error),
    /// WeChat answered with a non-zero `errcode`.
    #[error("WeChat API error {code}: {message}")]
    Api {
        /// `errcode`.
        code: i64,
        /// `errmsg`.
        message: String,
    },
    /// The token cache failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another instance is refreshing the token and did not finish in time.
    #[error("the access token is being refreshed elsewhere")]
    Busy,
}

impl WechatError {
    /// Worth retrying later (network, busy, WeChat's own transient errors)?
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http(_) | Self::Busy | Self::Store(StoreError::Unavailable(_)) => true,
            // -1 system busy, 45009 frequency limit, and token trouble after the one retry.
            Self::Api { code, .. } => matches!(code, -1 | 45009) || TOKEN_ERRORS.contains(code),
            Self::NotConfigured | Self::Store(_) => false,
        }
    }
}

/// The WeChat API client. Cheap to clone.
#[derive(Clone)]
pub struct WechatClient {
    http: reqwest::Client,
    settings: Arc<WechatSettings>,
    store: Arc<dyn WechatStore>,
    /// This instance's lock-holder name.
    holder: String,
}

impl std::fmt::Debug for WechatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatClient").field("api_base", &self.settings.api_base).finish_non_exhaustive()
    }
}

impl WechatClient {
    /// A client for `settings`, caching its token in `store`.
    ///
    /// # Panics
    /// If the TLS backend cannot initialise (a broken build).
    #[must_use]
    pub fn new(settings: WechatSettings, store: Arc<dyn WechatStore>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.api_timeout)
            .connect_timeout(settings.api_timeout.min(Duration::from_secs(2)))
            .build()
            .expect("the HTTP client builds");
        Self { http, settings: Arc::new(settings), store, holder: crate::auth::random_token() }
    }

    /// True when AppID and AppSecret are configured.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.settings.api_enabled()
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &WechatSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_base.trim_end_matches('/'))
    }

    /// A valid access token: cached, or refreshed by exactly one instance.
    ///
    /// # Errors
    /// [`WechatError`] when no token can be had.
    pub async fn access_token(&self) -> Result<String, WechatError> {
        if !self.enabled() {
            return Err(WechatError::NotConfigured);
        }
        let ahead = SignedDuration::try_from(self.settings.token_refresh_ahead).unwrap_or(SignedDuration::ZERO);
        let deadline = tokio::time::Instant::now() + self.settings.api_timeout;
        loop {
            let now = Timestamp::now();
            let cached = self.store.wechat_token().await?;
            if let Some(t) = &cached
                && t.expires_at.duration_since(now) > ahead
            {
                return Ok(t.token.clone());
            }
            if self.store.lock_wechat_token_refresh(&self.holder, REFRESH_LEASE).await? {
                let fetched = self.refresh_locked().await;
                let _ = self.store.unlock_wechat_token_refresh(&self.holder).await;
                return fetched;
            }
            // Someone else refreshes: a still-valid token will do meanwhile.
            if let Some(t) = cached.filter(|t| t.expires_at > now) {
                return Ok(t.token);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WechatError::Busy);
            }
            tokio::time::sleep(REFRESH_POLL).await;
        }
    }

    /// Holding the lock: re-check the cache (the previous holder may have just refreshed),
    /// else fetch and cache.
    async fn refresh_locked(&self) -> Result<String, WechatError> {
        let ahead = SignedDuration::try_from(self.settings.token_refresh_ahead).unwrap_or(SignedDuration::ZERO);
        if let Some(t) = self.store.wechat_token().await?
            && t.expires_at.duration_since(Timestamp::now()) > ahead
        {
            return Ok(t.token);
        }
        let appid = &self.settings.appid;
        let secret = self.settings.appsecret.as_ref().ok_or(WechatError::NotConfigured)?.expose_secret().to_owned();
        let request = if self.settings.use_stable_token {
            self.http.post(self.url("/cgi-bin/stable_token")).json(&json!({
                "grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": false,
            }))
        } else {
            self.http.get(self.url("/cgi-bin/token")).query(&[
                ("grant_type", "client_credential"),
                ("appid", appid),
                ("secret", &secret),
            ])
        };
        let body = checked(request.send().await.map_err(WechatError::Http)?.json().await.map_err(WechatError::Http)?)?;
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WechatError::Api { code: -2, message: "no access_token in the answer".into() })?;
        let expires_in = body["expires_in"].as_i64().unwrap_or(7200).clamp(1, 86_400);
        let cached = CachedToken {
            token: token.to_owned(),
            expires_at: Timestamp::now()
                .saturating_add(SignedDuration::from_secs(expires_in))
                .unwrap_or(Timestamp::MAX),
        };
        self.store.put_wechat_token(&cached).await?;
        tracing::info!(expires_in, "wechat access token refreshed");
        Ok(cached.token)
    }

    /// POST `body` to an API `path` with the access token; on a token error, refresh and
    /// retry once.
    ///
    /// # Errors
    /// [`WechatError`].
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, WechatError> {
        let mut retried = false;
        loop {
            let token = self.access_token().await?;
            let answer: Value = self
                .http
                .post(self.url(path))
                .query(&[("access_token", &token)])
                .json(body)
                .send()
                .await
                .map_err(WechatError::Http)?
                .json()
                .await
                .map_err(WechatError::Http)?;
            match checked(answer) {
                Err(WechatError::Api { code, .. }) if TOKEN_ERRORS.contains(&code) && !retried => {
                    tracing::info!(code, "wechat token refused; refreshing and retrying once");
                    self.store.drop_wechat_token(&token).await?;
                    retried = true;
                }
                other => return other,
            }
        }
    }

    /// Send a template message.
    ///
    /// # Errors
    /// [`WechatError`].
    pub async fn send_template(
        &self,
        openid: &str,
        template_id: &str,
        url: &str,
        data: &Value,
        client_msg_id: &str,
    ) -> Result<(), WechatError> {
        let body = json!({
            "touser": openid, "template_id": template_id, "url": url, "data": data, "client_msg_id": client_msg_id,
        });
        self.post("/cgi-bin/message/template/send", &body).await.map(drop)
    }

    /// Send a customer-service text message (客服消息: allowed within 48 hours of the user's
    /// last message to the account).
    ///
    /// # Errors
    /// [`WechatError`].
    pub async fn send_custom_text(&self, openid: &str, content: &str) -> Result<(), WechatError> {
        let body = json!({ "touser": openid, "msgtype": "text", "text": { "content": content } });
        self.post("/cgi-bin/message/custom/send", &body).await.map(drop)
    }

    /// Send a subscription notice (`bizsend`).
    ///
    /// # Errors
    /// [`WechatError`].
    pub async fn send_subscribe(
        &self,
        openid: &str,
        template_id: &str,
        page: &str,
        data: &Value,
    ) -> Result<(), WechatError> {
        let body = json!({ "touser": openid, "template_id": template_id, "page": page, "data": data });
        self.post("/cgi-bin/message/subscribe/bizsend", &body).await.map(drop)
    }

    /// The content of a scene's permanent parametric QR code (`QR_LIMIT_STR_SCENE`), created
    /// once and cached (permanent codes never expire; there are at most 100,000 of them).
    ///
    /// # Errors
    /// [`WechatError`].
    pub async fn permanent_qr(&self, scene: &SceneId) -> Result<String, WechatError> {
        if let Some(url) = self.store.wechat_qr(scene).await? {
            return Ok(url);
        }
        let body = json!({
            "action_name": "QR_LIMIT_STR_SCENE",
            "action_info": { "scene": { "scene_str": scene.to_string() } },
        });
        let answer = self.post("/cgi-bin/qrcode/create", &body).await?;
        let url = answer["url"]
            .as_str()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| WechatError::Api { code: -2, message: "no url in the qrcode/create answer".into() })?;
        self.store.put_wechat_qr(scene, url).await?;
        Ok(url.to_owned())
    }
}

/// An answer with a non-zero `errcode` is an error.
fn checked(answer: Value) -> Result<Value, WechatError> {
    match answer["errcode"].as_i64() {
        Some(code) if code != 0 => {
            Err(WechatError::Api { code, message: answer["errmsg"].as_str().unwrap_or("").chars().take(200).collect() })
        }
        _ => Ok(answer),
    }
}
