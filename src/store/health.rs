//! The [`HealthProbe`] port: is the backend there, does it take writes, does it keep them safely.

use super::StoreError;
use async_trait::async_trait;

/// The Redis settings the durability guard looks at, as `CONFIG GET` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// `appendonly`.
    pub appendonly: String,
    /// `appendfsync`.
    pub appendfsync: String,
    /// `no-appendfsync-on-rewrite`.
    pub no_appendfsync_on_rewrite: String,
    /// `maxmemory-policy`.
    pub maxmemory_policy: String,
}

/// The health probe: whether the backend answers, takes writes, and keeps them safely.
#[async_trait]
pub trait HealthProbe: Send + Sync + 'static {
    /// Is the backend reachable?
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it is not.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Does the backend take writes now? A Redis can answer `PING` and still refuse every
    /// write: out of memory under `maxmemory` with `noeviction`, a read-only replica, or
    /// `MISCONF` after a failed RDB save with `stop-writes-on-bgsave-error`.
    ///
    /// # Errors
    /// [`StoreError::RefusesWrites`] when it answers and refuses, [`StoreError::Unavailable`]
    /// when it does not answer.
    async fn probe_write(&self) -> Result<(), StoreError> {
        self.ping().await
    }

    /// The backend's persistence settings, for the durability guard
    /// ([`super::durability::Guard`]); `None` for a backend with nothing to configure (memory).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when they cannot be read (unreachable, or `CONFIG` refused).
    async fn persistence_settings(&self) -> Result<Option<ServerSettings>, StoreError> {
        Ok(None)
    }
}
