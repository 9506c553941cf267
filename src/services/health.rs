//! Health: whether this instance should get traffic (not draining, Redis's settings keep
//! acknowledged writes safe, the store takes a write now), and what may not be written while
//! they do not.

use crate::store::durability::Guard;
use crate::store::{HealthProbe, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Why an instance is not ready, or that it is.
#[derive(Debug)]
pub enum Readiness {
    /// Ready for traffic.
    Ready,
    /// Shutting down.
    Draining,
    /// Redis's settings could lose acknowledged writes: the reason, naming each setting.
    Unsafe(String),
    /// The store answers but refuses writes (out of memory, a replica, `MISCONF`).
    RefusesWrites(String),
    /// The store failed otherwise.
    Failed(StoreError),
}

/// Readiness and the durability guard. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    probe: Arc<dyn HealthProbe>,
    durability: Arc<Guard>,
    draining: Arc<AtomicBool>,
}

impl Health {
    /// Probing the store through `probe`, with the guard watching Redis's settings and the
    /// flag set on shutdown.
    #[must_use]
    pub fn new(probe: Arc<dyn HealthProbe>, durability: Arc<Guard>, draining: Arc<AtomicBool>) -> Self {
        Self { probe, durability, draining }
    }

    /// Why writes must be refused now (Redis's settings could lose them), if they must.
    #[must_use]
    pub fn unsafe_writes(&self) -> Option<String> {
        self.durability.shortfall()
    }

    /// Whether this instance should get traffic, probing the store with a write.
    pub async fn readiness(&self) -> Readiness {
        if self.draining.load(Ordering::Relaxed) {
            return Readiness::Draining;
        }
        if let Some(why) = self.unsafe_writes() {
            return Readiness::Unsafe(why);
        }
        match self.probe.probe_write().await {
            Ok(()) => Readiness::Ready,
            Err(StoreError::RefusesWrites(why)) => Readiness::RefusesWrites(why),
            Err(e) => Readiness::Failed(e),
        }
    }
}
