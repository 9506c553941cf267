//! The [`Leases`] port.

use super::StoreError;
use async_trait::async_trait;
use std::time::Duration;

/// One hit on a fixed-window counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCount {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Until the window resets.
    pub resets_in: Duration,
}

/// Leases and windows: short-lived keys that expire by themselves (fixed-window rate
/// counters, remembered signed URLs).
#[async_trait]
pub trait Leases: Send + Sync + 'static {
    /// Remember a signed URL's body hash for `ttl`; returns the body hash stored first when the
    /// URL was seen before (None the first time).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn remember_signed_url(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError>;

    /// Count one hit on a fixed window of length `window` (INCR, expiry set by the first hit).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn hit_rate_window(&self, key_hash: &str, window: Duration) -> Result<RateCount, StoreError>;

    /// Forget a rate window (its next hit starts a new one).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn clear_rate_window(&self, key_hash: &str) -> Result<(), StoreError>;

    /// Take back one hit of a live window (a request that turned out not to count); the
    /// window keeps its expiry, and one that is gone or at zero stays as it is.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn refund_rate_window(&self, key_hash: &str) -> Result<(), StoreError>;
}
