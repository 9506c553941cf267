//! Operations: liveness, readiness, Prometheus metrics.

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::config::Settings;
use crate::services::{Health, Readiness};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Operations routes; `/metrics` among them unless `metrics.addr` serves it on its own listener.
pub fn router(settings: &Settings) -> OpenApiRouter<AppState> {
    let ops = OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz));
    if settings.metrics.addr.trim().is_empty() { ops.routes(routes!(metrics_text)) } else { ops }
}

/// The router of the separate metrics listener (`metrics.addr`): `/metrics` only.
pub fn metrics_only(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics_text))
        .fallback(|| async { ApiError::not_found() })
        .with_state(state)
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
async fn readyz(State(health): State<Health>) -> axum::response::Response {
    match health.readiness().await {
        Readiness::Ready => (StatusCode::OK, "ready").into_response(),
        Readiness::Draining => ApiError::unavailable("draining", "shutting down", 1).into_response(),
        Readiness::Unsafe(why) => super::store_unsafe(why).into_response(),
        Readiness::RefusesWrites(why) => {
            ApiError::unavailable("store_refuses_writes", format!("Redis refuses writes: {why}"), 5).into_response()
        }
        Readiness::Failed(e) => ApiError::from(e).into_response(),
    }
}

/// Prometheus text exposition. With `GD_METRICS__TOKEN` set it needs
/// `Authorization: Bearer <token>`; with `metrics.addr` set it is served only there.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format"),
        (status = 401, body = ErrorBody, description = "a metrics token is configured and this is not it")))]
async fn metrics_text(State(state): State<AppState>, headers: HeaderMap) -> axum::response::Response {
    if let Some(token) = &state.settings.metrics.token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let matches = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.expose_secret().as_bytes())));
        if !matches {
            let mut refused = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "metrics need the scrape token")
                .into_response();
            refused.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return refused;
        }
    }
    let (mediator_sockets, operator_sockets) = state.hub.socket_counts();
    metrics::gauge!("gd_ws_connections", "audience" => "mediator").set(mediator_sockets as f64);
    metrics::gauge!("gd_ws_connections", "audience" => "operator").set(operator_sockets as f64);
    metrics::gauge!("gd_mediators_on_duty").set(state.presence.on_duty_count() as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
