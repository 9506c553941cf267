//! The pure core: ids, places, accounts, the incident state machine and its timeline.
//! Nothing here depends on tokio, redis, axum or any other module of this crate.

pub mod account;
pub mod area;
pub mod audit;
pub mod category;
pub mod department;
pub mod grade;
pub mod ids;
pub mod incident;
pub mod location;
pub mod name;
pub mod news;
pub mod scene;
pub mod timeline;
pub mod triage;
