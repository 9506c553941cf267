//! [`Leases`] on the memory backend.

use super::{Expiring, MemoryStore, live};
use crate::store::Leases;
use crate::store::StoreError;
use crate::store::leases::RateCount;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl Leases for MemoryStore {
    async fn remember_signed_url(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        if let Some(first) = live(&mut g.wechat.signed_urls, url_hash, now) {
            return Ok(Some(first.clone()));
        }
        g.wechat.signed_urls.insert(url_hash.to_owned(), Expiring::new(body_hash.to_owned(), now, ttl));
        Ok(None)
    }

    async fn hit_rate_window(&self, key_hash: &str, window: Duration) -> Result<RateCount, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        let entry = match live(&mut g.wechat.windows, key_hash, now) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => {
                g.wechat.windows.insert(key_hash.to_owned(), Expiring::new(1, now, window));
                1
            }
        };
        let resets_in = g
            .wechat
            .windows
            .get(key_hash)
            .map_or(window, |e| e.until.duration_since(now).try_into().unwrap_or(Duration::ZERO));
        Ok(RateCount { count: entry, resets_in })
    }

    async fn clear_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        self.lock().wechat.windows.remove(key_hash);
        Ok(())
    }

    async fn refund_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        let now = self.now();
        if let Some(n) = live(&mut self.lock().wechat.windows, key_hash, now) {
            *n = n.saturating_sub(1);
        }
        Ok(())
    }
}
