//! [`Leases`] on the Redis backend.

use super::scripts;
use super::{RedisStore, ttl_ms};
use crate::store::Leases;
use crate::store::StoreError;
use crate::store::leases::RateCount;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl Leases for RedisStore {
    async fn remember_signed_url(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let mut inv = scripts::REMEMBER_SIGNED_URL.prepare_invoke();
        inv.key(self.keys.wechat_signed_url(url_hash)).arg(body_hash).arg(ttl_ms(ttl));
        self.invoke(&inv).await
    }

    async fn hit_rate_window(&self, key_hash: &str, window: Duration) -> Result<RateCount, StoreError> {
        let mut inv = scripts::HIT_RATE_WINDOW.prepare_invoke();
        inv.key(self.keys.rate_window(key_hash)).arg(ttl_ms(window));
        let (count, pttl): (u64, i64) = self.invoke(&inv).await?;
        Ok(RateCount { count, resets_in: Duration::from_millis(u64::try_from(pttl).unwrap_or(0)) })
    }

    async fn clear_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        let _: i64 = self.query(::redis::cmd("DEL").arg(self.keys.rate_window(key_hash))).await?;
        Ok(())
    }

    async fn refund_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        let mut inv = scripts::REFUND_RATE_WINDOW.prepare_invoke();
        inv.key(self.keys.rate_window(key_hash));
        let _: i64 = self.invoke(&inv).await?;
        Ok(())
    }
}
