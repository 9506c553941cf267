//! The [`WechatStore`] port and its types (issue #3): what the webhook, the conversation and
//! the outbound client keep between requests and share between instances.
//!
//! Keys are SHA-256 hex of the user-supplied identity (openid, dedupe key), so no user input
//! reaches a key. TTLs run on the backend's clock: Redis's own, the injected one in memory.

use super::StoreError;
use crate::domain::ids::{IncidentId, SceneId};
use crate::domain::location::GeoPoint;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A resident's conversation state: where their next text is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidentSession {
    /// The scene they scanned, if any.
    #[serde(default)]
    pub scene: Option<SceneId>,
    /// The place (WGS-84): the scene's, or one they sent (which wins).
    #[serde(default)]
    pub place: Option<GeoPoint>,
    /// When the place was set (the text window starts here).
    pub bound_at: Timestamp,
}

/// Who answers a delivery (WeChat may send it up to 4 times, to any instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// This caller is first: process it, then `finish_delivery` (or `release_delivery`).
    Claimed,
    /// Another caller is processing it now.
    Pending,
    /// It was answered: send the same answer again.
    Answered(String),
}

/// The WeChat access token as cached for every instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    /// The token (a secret: never logged).
    pub token: String,
    /// When WeChat said it expires.
    pub expires_at: Timestamp,
}

/// WeChat state: residents' conversations, delivery dedupe, the access token (and the lock on
/// its refresh), scenes' QR codes and who reported what.
#[async_trait]
pub trait WechatStore: Send + Sync + 'static {
    /// Bind a resident (by openid hash) to a conversation state, for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_resident_session(
        &self,
        openid_hash: &str,
        session: &ResidentSession,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// A resident's conversation state, if bound and not expired.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn resident_session(&self, openid_hash: &str) -> Result<Option<ResidentSession>, StoreError>;

    /// Claim a delivery by its dedupe-key hash (SET NX with a `lease`): exactly one concurrent
    /// caller gets `Claimed`; others see `Pending` until it finishes, then `Answered`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn claim_delivery(&self, key_hash: &str, lease: Duration) -> Result<DeliveryClaim, StoreError>;

    /// Record the answer to a claimed delivery, kept for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn finish_delivery(&self, key_hash: &str, reply: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Drop an unfinished claim (processing failed: WeChat's retry may try again).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn release_delivery(&self, key_hash: &str) -> Result<(), StoreError>;

    /// The cached WeChat access token, unless expired.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn wechat_token(&self) -> Result<Option<CachedToken>, StoreError>;

    /// Cache the access token until its `expires_at`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_wechat_token(&self, token: &CachedToken) -> Result<(), StoreError>;

    /// Forget the cached token only if it is still `stale` (someone may have refreshed it).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn drop_wechat_token(&self, stale: &str) -> Result<(), StoreError>;

    /// Take the token-refresh lock for `lease` (true) unless another holder has it (false).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn lock_wechat_token_refresh(&self, holder: &str, lease: Duration) -> Result<bool, StoreError>;

    /// Release the token-refresh lock if `holder` still has it.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn unlock_wechat_token_refresh(&self, holder: &str) -> Result<(), StoreError>;

    /// The cached content of a scene's permanent WeChat QR code (from `qrcode/create`).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn wechat_qr(&self, scene: &SceneId) -> Result<Option<String>, StoreError>;

    /// Cache a scene's permanent WeChat QR content (permanent codes never expire).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_wechat_qr(&self, scene: &SceneId, url: &str) -> Result<(), StoreError>;

    /// Remember which WeChat user reported an incident (for their notifications), for `ttl`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn set_incident_openid(&self, id: &IncidentId, openid: &str, ttl: Duration) -> Result<(), StoreError>;

    /// The WeChat user who reported an incident, if any.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn incident_openid(&self, id: &IncidentId) -> Result<Option<String>, StoreError>;
}
