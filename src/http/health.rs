//! Operations: liveness, readiness, Prometheus metrics.

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::store::StoreError;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::sync::atomic::Ordering;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Operations routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics_text))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: the instance is not shutting down, Redis's settings keep acknowledged
/// writes safe (`redis.durability`), and the store takes a write now (a Redis that answers
/// `PING` but refuses writes, being out of memory, a read-only replica or in `MISCONF`, is
/// not ready).
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "ready"),
        (status = 503, body = ErrorBody,
         description = "`draining`, `store_unsafe` (the message names each unsafe Redis setting and its fix), \
                        `store_refuses_writes` (the message carries Redis's refusal), or `store_unavailable`")))]
async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    if state.draining.load(Ordering::Relaxed) {
        return ApiError::unavailable("draining", "shutting down", 1).into_response();
    }
    if let Some(why) = state.durability.shortfall() {
        return super::store_unsafe(why).into_response();
    }
    match state.dispatcher.store().probe_write().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(StoreError::RefusesWrites(why)) => {
            ApiError::unavailable("store_refuses_writes", format!("Redis refuses writes: {why}"), 5).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format")))]
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    let (mediator_sockets, operator_sockets) = state.hub.socket_counts();
    metrics::gauge!("gd_ws_connections", "audience" => "mediator").set(mediator_sockets as f64);
    metrics::gauge!("gd_ws_connections", "audience" => "operator").set(operator_sockets as f64);
    metrics::gauge!("gd_mediators_on_duty").set(state.dispatcher.index().on_duty_count() as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
