//! [`WechatStore`] on the memory backend.

use super::{Expiring, MemoryStore, live, live_slot};
use crate::domain::ids::{IncidentId, SceneId};
use crate::store::StoreError;
use crate::store::WechatStore;
use crate::store::wechat::{CachedToken, DeliveryClaim, ResidentSession};
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl WechatStore for MemoryStore {
    async fn put_resident_session(
        &self,
        openid_hash: &str,
        session: &ResidentSession,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.sessions.insert(openid_hash.to_owned(), Expiring::new(session.clone(), now, ttl));
        Ok(())
    }

    async fn resident_session(&self, openid_hash: &str) -> Result<Option<ResidentSession>, StoreError> {
        let now = self.now();
        Ok(live(&mut self.lock().wechat.sessions, openid_hash, now).cloned())
    }

    async fn claim_delivery(&self, key_hash: &str, lease: Duration) -> Result<DeliveryClaim, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        Ok(match live(&mut g.wechat.deliveries, key_hash, now) {
            Some(Some(reply)) => DeliveryClaim::Answered(reply.clone()),
            Some(None) => DeliveryClaim::Pending,
            None => {
                g.wechat.deliveries.insert(key_hash.to_owned(), Expiring::new(None, now, lease));
                DeliveryClaim::Claimed
            }
        })
    }

    async fn finish_delivery(&self, key_hash: &str, reply: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.deliveries.insert(key_hash.to_owned(), Expiring::new(Some(reply.to_owned()), now, ttl));
        Ok(())
    }

    async fn release_delivery(&self, key_hash: &str) -> Result<(), StoreError> {
        let now = self.now();
        let mut g = self.lock();
        if matches!(live(&mut g.wechat.deliveries, key_hash, now), Some(None)) {
            g.wechat.deliveries.remove(key_hash);
        }
        Ok(())
    }

    async fn wechat_token(&self) -> Result<Option<CachedToken>, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        if g.wechat.token.as_ref().is_some_and(|t| t.expires_at <= now) {
            g.wechat.token = None;
        }
        Ok(g.wechat.token.clone())
    }

    async fn put_wechat_token(&self, token: &CachedToken) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.token = Some(token.clone()).filter(|t| t.expires_at > now);
        Ok(())
    }

    async fn drop_wechat_token(&self, stale: &str) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.wechat.token.as_ref().is_some_and(|t| t.token == stale) {
            g.wechat.token = None;
        }
        Ok(())
    }

    async fn lock_wechat_token_refresh(&self, holder: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        let mut slot = std::mem::take(&mut g.wechat.refresh_lock);
        let free = live_slot(&mut slot, now).is_none();
        g.wechat.refresh_lock = if free { Some(Expiring::new(holder.to_owned(), now, lease)) } else { slot };
        Ok(free)
    }

    async fn unlock_wechat_token_refresh(&self, holder: &str) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.wechat.refresh_lock.as_ref().is_some_and(|l| l.value == holder) {
            g.wechat.refresh_lock = None;
        }
        Ok(())
    }

    async fn wechat_qr(&self, scene: &SceneId) -> Result<Option<String>, StoreError> {
        Ok(self.lock().wechat.qr.get(scene).cloned())
    }

    async fn put_wechat_qr(&self, scene: &SceneId, url: &str) -> Result<(), StoreError> {
        self.lock().wechat.qr.insert(scene.clone(), url.to_owned());
        Ok(())
    }

    async fn set_incident_openid(&self, id: &IncidentId, openid: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.incident_openids.insert(id.clone(), Expiring::new(openid.to_owned(), now, ttl));
        Ok(())
    }

    async fn incident_openid(&self, id: &IncidentId) -> Result<Option<String>, StoreError> {
        let now = self.now();
        Ok(live(&mut self.lock().wechat.incident_openids, id, now).cloned())
    }
}
