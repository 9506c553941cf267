//! What handlers share. Cheap to clone; handlers take only the parts they use (`FromRef`).

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::dispatch::Dispatcher;
use crate::push::Hub;
use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Shared application state.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Staff accounts as admins manage them, and the audit record.
    pub accounts: crate::accounts::Accounts,
    /// The use cases.
    pub dispatcher: Dispatcher,
    /// Token keys.
    pub keys: JwtKeys,
    /// This instance's sockets.
    pub hub: Hub,
    /// This instance's residents' tracking streams.
    pub tracking: crate::dispatch::tracking::TrackingStreams,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Prometheus rendering.
    pub metrics: PrometheusHandle,
    /// Set when shutting down: readiness turns 503 so load balancers stop sending.
    pub draining: Arc<AtomicBool>,
    /// Whether Redis's settings keep acknowledged writes safe (else readiness and the API
    /// answer 503).
    pub durability: Arc<crate::store::durability::Guard>,
    /// Cancelled on shutdown: sockets close with 1001 so clients reconnect elsewhere.
    pub shutdown: tokio_util::sync::CancellationToken,
}
