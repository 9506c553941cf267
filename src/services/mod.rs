//! Services by capability: what the HTTP edge may call. Each is a cheap-clone handle for one
//! capability (incidents, reports, presence, areas, scenes, resident chat, statistics, health;
//! accounts with login live in [`crate::accounts`]), composed into the app state
//! (`http::state::AppState`), so a handler takes the one service it uses and never sees a
//! store.
//!
//! The services share one engine underneath ([`crate::dispatch::Dispatcher`]: the conflict
//! retry loop, the write plan, the bus feed and the caches ranking reads); each exposes only
//! its capability's use cases and owns what it can: [`Areas`] the area map (the engine reads
//! it through [`crate::dispatch::Held`]), [`ResidentChat`] the WeChat conversation,
//! [`Reports`] filing, the duplicate look-back over its [`RecentReports`] (which the engine
//! keeps current through `Held`), offer [`Waves`] (fired by the timer runner through its
//! `TimerHandler`) and the SMS sender. Nothing here knows HTTP (`tests/architecture.rs`).

mod areas;
mod health;
mod incidents;
mod presence;
mod reports;
mod resident_chat;
mod roster;
mod scenes;
mod statistics;

pub use areas::Areas;
pub use health::{Health, Readiness};
pub use incidents::Incidents;
pub use presence::Presence;
pub(crate) use reports::{CELLS_PER_READ, HOTSPOT_NOTES_PER_AREA, HOTSPOT_WINDOW};
pub use reports::{NewReport, RateScope, RecentReports, ReportReceipt, Reports, Waves};
pub use resident_chat::{ChatReply, ResidentChat};
pub use roster::RosterEntry;
pub use scenes::Scenes;
pub use statistics::Statistics;

/// A backend failure, as the services' errors carry it (`DispatchError::Store`,
/// `AccountError::Store`): the edge maps it to 503 or 500 without reaching for a store.
pub use crate::store::StoreError;
