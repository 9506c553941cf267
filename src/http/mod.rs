//! The HTTP edge: one router per audience, merged here with the shared layers (request ids,
//! request spans with the *matched* route only, panics → 500, body limit, deadline, in-flight
//! limit with 503 + Retry-After) and the OpenAPI document built from the same routes.

pub mod admin;
pub mod admin_accounts;
pub mod auth;
pub mod casefile;
pub mod casefile_grade;
pub mod casefile_links;
pub mod casefile_subsidy;
pub mod client_ip;
pub mod command_center;
pub mod command_staff;
pub mod department_admin;
pub mod department_board;
pub mod departments;
pub mod error;
pub mod health;
pub mod mediator;
pub mod pages;
pub mod resident;
pub mod routing_admin;
pub mod scene_qr;
pub mod serve;
pub mod state;
pub mod video;
pub mod wechat_webhook;
pub mod ws;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use error::ApiError;
use state::AppState;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

/// Build the router and the OpenAPI document.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::new()
        .merge(resident::router())
        .merge(mediator::router())
        .merge(command_center::router())
        .merge(command_staff::router())
        .merge(admin::router())
        .merge(health::router(&state.settings))
        .merge(wechat_webhook::router())
        .merge(scene_qr::router())
        .merge(departments::router())
        .merge(department_board::router())
        .merge(department_admin::router())
        .merge(routing_admin::router())
        .merge(video::router())
        .merge(casefile::router())
        .merge(casefile_grade::router())
        .merge(casefile_links::router())
        .merge(casefile_subsidy::router())
        .split_for_parts();
    let openapi = Arc::new(document(openapi));
    let x_request_id = HeaderName::from_static("x-request-id");
    let in_flight = Arc::new(Semaphore::new(state.settings.http.max_in_flight));
    let body_limit = state.settings.http.body_limit_bytes;
    api.route("/openapi.json", axum::routing::get(move || async move { axum::Json(openapi.as_ref().clone()) }))
        .merge(pages::router())
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(state.health.clone(), refuse_while_unsafe))
        .layer(middleware::from_fn_with_state(state.clone(), deadline))
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error").into_response()
        }))
        .layer(middleware::from_fn_with_state(in_flight, shed_load))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The matched route, never the raw URI: paths carry tracking tokens and
            // queries carry access tokens.
            let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), route, request_id = id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([axum::http::header::AUTHORIZATION, axum::http::header::COOKIE]))
        .with_state(state)
}

/// The router of the separate metrics listener (`metrics.addr`).
pub fn metrics_router(state: AppState) -> Router {
    health::metrics_only(state)
}

/// The OpenAPI document: info, and one bearer scheme per role (an operation's `security`
/// names the roles that may call it; none means public).
fn document(mut openapi: OpenApi) -> OpenApi {
    openapi.info.title = "grid-dispatch".into();
    openapi.info.version = env!("CARGO_PKG_VERSION").into();
    openapi.info.description = Some(
        "Neighbourhood dispute dispatch. Errors: {\"error\":{\"code\",\"message\"}}. Security scheme names are \
         the roles allowed (all are JWT bearer tokens; sockets may pass ?access_token=)."
            .into(),
    );
    let components = openapi.components.get_or_insert_with(Default::default);
    for role in ["mediator", "operator", "admin", "department"] {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description = Some(format!("a JWT with role `{role}`"));
        components.add_security_scheme(role, SecurityScheme::Http(scheme));
    }
    openapi
}

/// Answer 503 + Retry-After at once when too many requests are in flight, instead of queueing.
/// Operations probes are never shed: an overloaded instance is alive, and says so.
async fn shed_load(State(permits): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    match permits.try_acquire() {
        Ok(_permit) => next.run(req).await,
        Err(_) => {
            metrics::counter!("gd_http_shed_total").increment(1);
            ApiError::unavailable("overloaded", "the server is busy; retry shortly", 1).into_response()
        }
    }
}

/// While Redis's settings could lose acknowledged writes (`redis.durability`), the API answers
/// 503 `store_unsafe` with the reason: nothing is acknowledged that a restart would forget.
/// So does any other request that may write (any method but GET/HEAD/OPTIONS), except
/// `POST /wechat`, which must answer in WeChat's protocol and refuses in its own words (see
/// `wechat_webhook`). Open mediator sockets refuse their writes too (`mediator`). Pages still
/// load (and show their "try again" state), probes still answer.
async fn refuse_while_unsafe(State(health): State<crate::services::Health>, req: Request, next: Next) -> Response {
    if may_write(&req)
        && let Some(why) = health.unsafe_writes()
    {
        return store_unsafe(why).into_response();
    }
    next.run(req).await
}

/// Every API route, and any request with a method that may change something, outside the
/// WeChat webhook.
fn may_write(req: &Request) -> bool {
    use axum::http::Method;
    let path = req.uri().path();
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    path.starts_with("/api/") || (changes && path != "/wechat")
}

/// 503 `store_unsafe` with the guard's reason (Retry-After 30 s: someone has to change them).
pub(crate) fn store_unsafe(why: String) -> ApiError {
    ApiError::unavailable("store_unsafe", why, 30)
}

/// Bound every request in time (streams return their response at once and are not cut).
async fn deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(state.settings.http.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable("timeout", "the request took too long; retry", 1).into_response(),
    }
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("gd_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("gd_http_request_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    response
}
