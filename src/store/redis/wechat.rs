//! [`WechatStore`] on the Redis backend.

use super::scripts;
use super::{RedisStore, corrupt, decode, encode, ms, ttl_ms};
use crate::domain::ids::{IncidentId, SceneId};
use crate::store::StoreError;
use crate::store::WechatStore;
use crate::store::wechat::{CachedToken, DeliveryClaim, ResidentSession};
use async_trait::async_trait;
use jiff::Timestamp;
use std::time::Duration;

#[async_trait]
impl WechatStore for RedisStore {
    async fn put_resident_session(
        &self,
        openid_hash: &str,
        session: &ResidentSession,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let json = encode("resident session", session)?;
        self.query::<()>(
            ::redis::cmd("SET").arg(self.keys.wechat_session(openid_hash)).arg(json).arg("PX").arg(ttl_ms(ttl)),
        )
        .await
    }

    async fn resident_session(&self, openid_hash: &str) -> Result<Option<ResidentSession>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("GET").arg(self.keys.wechat_session(openid_hash))).await?;
        raw.map(|json| decode("resident session", &json)).transpose()
    }

    async fn claim_delivery(&self, key_hash: &str, lease: Duration) -> Result<DeliveryClaim, StoreError> {
        let mut inv = scripts::CLAIM_DELIVERY.prepare_invoke();
        inv.key(self.keys.wechat_delivery(key_hash)).arg(ttl_ms(lease));
        let raw: String = self.invoke(&inv).await?;
        Ok(match raw.as_str() {
            "" => DeliveryClaim::Claimed,
            "p" => DeliveryClaim::Pending,
            other => match other.strip_prefix("a:") {
                Some(reply) => DeliveryClaim::Answered(reply.to_owned()),
                None => return Err(corrupt("delivery record", "unknown marker")),
            },
        })
    }

    async fn finish_delivery(&self, key_hash: &str, reply: &str, ttl: Duration) -> Result<(), StoreError> {
        self.query::<()>(
            ::redis::cmd("SET")
                .arg(self.keys.wechat_delivery(key_hash))
                .arg(format!("a:{reply}"))
                .arg("PX")
                .arg(ttl_ms(ttl)),
        )
        .await
    }

    async fn release_delivery(&self, key_hash: &str) -> Result<(), StoreError> {
        let mut inv = scripts::RELEASE_DELIVERY.prepare_invoke();
        inv.key(self.keys.wechat_delivery(key_hash));
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn wechat_token(&self) -> Result<Option<CachedToken>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("GET").arg(self.keys.wechat_token())).await?;
        raw.map(|json| decode("wechat token", &json)).transpose()
    }

    async fn put_wechat_token(&self, token: &CachedToken) -> Result<(), StoreError> {
        let left_ms = ms(token.expires_at) - ms(Timestamp::now());
        if left_ms <= 0 {
            return Ok(());
        }
        let json = encode("wechat token", token)?;
        self.query::<()>(::redis::cmd("SET").arg(self.keys.wechat_token()).arg(json).arg("PX").arg(left_ms)).await
    }

    async fn drop_wechat_token(&self, stale: &str) -> Result<(), StoreError> {
        let mut inv = scripts::DROP_WECHAT_TOKEN.prepare_invoke();
        inv.key(self.keys.wechat_token()).arg(stale);
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn lock_wechat_token_refresh(&self, holder: &str, lease: Duration) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .query(
                ::redis::cmd("SET")
                    .arg(self.keys.wechat_token_lock())
                    .arg(holder)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms(lease)),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn unlock_wechat_token_refresh(&self, holder: &str) -> Result<(), StoreError> {
        let mut inv = scripts::UNLOCK_IF_HOLDER.prepare_invoke();
        inv.key(self.keys.wechat_token_lock()).arg(holder);
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn wechat_qr(&self, scene: &SceneId) -> Result<Option<String>, StoreError> {
        self.query(::redis::cmd("HGET").arg(self.keys.wechat_qr()).arg(scene.to_string())).await
    }

    async fn put_wechat_qr(&self, scene: &SceneId, url: &str) -> Result<(), StoreError> {
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.wechat_qr()).arg(scene.to_string()).arg(url)).await
    }

    async fn set_incident_openid(&self, id: &IncidentId, openid: &str, ttl: Duration) -> Result<(), StoreError> {
        self.query::<()>(::redis::cmd("SET").arg(self.keys.wechat_incident(id)).arg(openid).arg("PX").arg(ttl_ms(ttl)))
            .await
    }

    async fn incident_openid(&self, id: &IncidentId) -> Result<Option<String>, StoreError> {
        self.query(::redis::cmd("GET").arg(self.keys.wechat_incident(id))).await
    }
}
