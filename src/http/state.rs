//! What handlers share. Cheap to clone; handlers take only the service they use (`FromRef`
//! substates, or the one field), never a store.

use crate::accounts::Accounts;
use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::dispatch::tracking::TrackingStreams;
use crate::push::Hub;
use crate::services::{Areas, Health, Incidents, Presence, Reports, ResidentChat, Scenes, Statistics};
use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// Shared application state: one handle per capability, and the edge's own parts.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Staff accounts, logins, and the audit record.
    pub accounts: Accounts,
    /// Commands on incidents and their reads.
    pub incidents: Incidents,
    /// Filing reports.
    pub reports: Reports,
    /// Mediators' duty and positions, the roster.
    pub presence: Presence,
    /// The jurisdiction hierarchy and scopes.
    pub areas: Areas,
    /// QR scenes.
    pub scenes: Scenes,
    /// WeChat conversations with residents.
    pub resident_chat: ResidentChat,
    /// Figures and hot spots.
    pub statistics: Statistics,
    /// Readiness and the durability guard (while Redis's settings could lose acknowledged
    /// writes, readiness and the API answer 503).
    pub health: Health,
    /// Time (the one clock every service reads).
    pub clock: Arc<dyn Clock>,
    /// Joint handling with departments (issue #21).
    pub departments: crate::departments::Departments,
    /// The case file: parties, record, agreement, PDFs.
    pub casefiles: crate::casefile::CaseFiles,
    /// Token keys.
    pub keys: JwtKeys,
    /// This instance's sockets.
    pub hub: Hub,
    /// Video mediation (issue #22).
    pub video: crate::video::Video,
    /// This instance's residents' tracking streams.
    pub tracking: TrackingStreams,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Prometheus rendering.
    pub metrics: PrometheusHandle,
    /// Cancelled on shutdown: sockets close with 1001 so clients reconnect elsewhere.
    pub shutdown: tokio_util::sync::CancellationToken,
}
