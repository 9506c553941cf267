//! The storage ports, one per concern, and the two backends that implement them all.
//!
//! - [`IncidentStore`] (`incidents.rs`): the atomic incident write with its deadlines, the
//!   incident queries and indexes, the timeline. Every write that must be exactly-once
//!   (create, claim, escalate) goes through [`IncidentStore::write_incident`]: one atomic
//!   compare-and-set on the incident's version that also applies every side effect (timeline,
//!   timers, offer and hold sets, capacity guard). On Redis that is one Lua script over keys in
//!   one hash slot; in memory it is one critical section.
//! - [`Directory`] (`directory.rs`): accounts and their audit record, scenes, areas.
//! - [`PresenceStore`] (`presence.rs`): duty and positions (a batch stored and announced on
//!   the bus in one step).
//! - [`Leases`] (`leases.rs`): keys that expire by themselves (rate windows, replay guards).
//! - [`WechatStore`] (`wechat.rs`): what the WeChat channel keeps between requests.
//! - [`HealthProbe`] (`health.rs`): reachability, writability and the durability probe
//!   (`durability.rs` judges what it reads).
//! - [`Bus`]: the cross-instance message bus; [`bus_codec`], how its messages travel
//!   (positions as compact binary frames, the rest as JSON).
//!
//! `memory/` and `redis/` implement every port, one file per port; [`Ports`] is how the app
//! holds them. `conformance/` is the one behaviour suite, per port, run on both backends.
//! Nothing here knows HTTP; nothing here decides business rules (that is `domain`).
//!
//! Here the ports' shared vocabulary, one file per concept: the durable deadlines (`timer.rs`:
//! kinds, keys, changes, claims), the incident write's parts (`write.rs`), and the bus's
//! messages and port (`bus.rs`).

mod bus;
pub mod bus_codec;
pub mod directory;
pub mod durability;
pub mod health;
pub mod incidents;
pub mod leases;
pub mod memory;
pub mod plan;
pub mod presence;
pub mod records;
pub mod redis;
mod timer;
pub mod wechat;
mod write;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use bus::{Bus, BusMessage, BusReceiver};
pub use bus_codec::FixBatch;
pub use directory::Directory;
pub use health::HealthProbe;
pub use incidents::IncidentStore;
pub use leases::Leases;
pub use presence::PresenceStore;
pub use timer::{ClaimedTimer, TIMER_SUB_MAX, TimerKey, TimerKind, TimerOp};
pub use wechat::WechatStore;
pub use write::{
    AccountWrite, AreaNote, Creation, DayClaims, Hold, IdempotencyClaim, IncidentWrite, NoteInArea, RememberedKey,
    WriteOutcome,
};

use std::sync::Arc;

/// The storage ports an instance runs on, one per concern. Cheap to clone. Callers keep only
/// the ports they use.
#[derive(Clone)]
pub struct Ports {
    /// Incidents, their deadlines, indexes and timelines.
    pub incidents: Arc<dyn IncidentStore>,
    /// Accounts, audit, scenes, areas.
    pub directory: Arc<dyn Directory>,
    /// Duty and positions.
    pub presence: Arc<dyn PresenceStore>,
    /// Rate windows and replay guards.
    pub leases: Arc<dyn Leases>,
    /// The WeChat channel's state.
    pub wechat: Arc<dyn WechatStore>,
    /// Reachability, writability, durability.
    pub health: Arc<dyn HealthProbe>,
}

impl Ports {
    /// Every port served by one backend (both backends implement them all over one connection
    /// or one lock).
    #[must_use]
    pub fn of<B>(backend: Arc<B>) -> Self
    where
        B: IncidentStore + Directory + PresenceStore + Leases + WechatStore + HealthProbe,
    {
        Self {
            incidents: backend.clone(),
            directory: backend.clone(),
            presence: backend.clone(),
            leases: backend.clone(),
            wechat: backend.clone(),
            health: backend,
        }
    }
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// A backend failure. Handlers answer 503 for `Unavailable`, 500 for `Corrupt`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or did not answer in time.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend answered but refuses writes: out of memory (`OOM`), a read-only replica
    /// (`READONLY`), or persistence failing (`MISCONF`). Holds the backend's own words.
    #[error("the store refuses writes: {0}")]
    RefusesWrites(String),
}

/// What the incident must look like before a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// It must not exist yet (creation).
    Absent,
    /// Its stored version must be exactly this.
    Version(u64),
}
