//! One error body for every non-2xx answer: `{"error": {"code", "message"}}` (API.md), and the
//! extractor wrappers that make axum's own rejections use it.

use crate::dispatch::DispatchError;
use crate::domain::incident::TransitionError;
use crate::services::StoreError;
use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `already_claimed`, `invalid_field`, `store_unavailable`, …
    pub code: String,
    /// Human readable.
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_s: Option<u32>,
}

impl ApiError {
    /// An error with this status, code and message.
    #[must_use]
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_s: None }
    }

    /// 400.
    #[must_use]
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401.
    #[must_use]
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    #[must_use]
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    #[must_use]
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    /// 422 naming the field.
    #[must_use]
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", format!("{field}: {reason}"))
    }

    /// 503 with Retry-After.
    #[must_use]
    pub fn unavailable(code: &'static str, message: impl Into<String>, retry_after_s: u32) -> Self {
        Self { retry_after_s: Some(retry_after_s), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message) }
    }

    /// 429 with Retry-After.
    #[must_use]
    pub fn rate_limited(message: impl Into<String>, retry_after_s: u32) -> Self {
        Self { retry_after_s: Some(retry_after_s), ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message) }
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::RefusesWrites(_) => {
                tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "store unavailable");
                Self::unavailable("store_unavailable", "the store is unavailable; retry shortly", 2)
            }
            StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "stored data could not be read");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::NotFound => Self::not_found(),
            e @ DispatchError::OutsideScope(_) => Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            DispatchError::Transition(t) => match t {
                TransitionError::AlreadyClaimed => {
                    Self::new(StatusCode::CONFLICT, "already_claimed", "another mediator already took this incident")
                }
                TransitionError::NotOffered | TransitionError::NotFiled => Self::not_found(),
                TransitionError::NotYours => Self::forbidden("this incident is not assigned to you"),
                TransitionError::NoSuchLevel => {
                    Self::new(StatusCode::CONFLICT, "no_such_level", "there is no level to hand it to that way")
                }
                TransitionError::AlreadyAnswered => {
                    Self::new(StatusCode::CONFLICT, "already_answered", "the follow-up was already answered")
                }
                TransitionError::WrongState(s) => {
                    Self::new(StatusCode::CONFLICT, "wrong_state", format!("not possible while the incident is {s:?}"))
                }
            },
            DispatchError::AtCapacity => Self::new(
                StatusCode::CONFLICT,
                "at_capacity",
                "the mediator already holds as many incidents as allowed",
            ),
            DispatchError::Invalid { field, reason } => Self::invalid(field, reason),
            DispatchError::IdempotencyMismatch => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ),
            DispatchError::Contended => Self::unavailable("contended", "the incident is changing fast; retry", 1),
            DispatchError::Store(s) => s.into(),
            DispatchError::SmsUnavailable => {
                Self::new(StatusCode::NOT_FOUND, "sms_unavailable", "text messages are not available here")
            }
            DispatchError::Sms(e) => {
                tracing::warn!(error = %e, "a text message did not go out");
                Self::unavailable("sms_failed", "the text message could not be sent; retry shortly", 30)
            }
        }
    }
}

/// JSON body extractor whose rejections use [`ErrorBody`]: 400 for malformed JSON, 422 for a
/// well-formed body with a bad field (unknown enum value, wrong type, missing field), 413 over
/// the body limit, 415 without a JSON content type.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send a JSON body with Content-Type: application/json",
            ));
        }
        let ApiBytes(bytes) = ApiBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Raw body extractor whose rejections use [`ErrorBody`] (413 over the limit).
#[derive(Debug, Clone, Default)]
pub struct ApiBytes(pub bytes::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        bytes::Bytes::from_request(req, state).await.map(ApiBytes).map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is too large")
            } else {
                ApiError::bad_request("bad_body", "the request body could not be read")
            }
        })
    }
}

/// Parse JSON with the same error mapping as [`ApiJson`] (WebSocket messages use it too).
///
/// # Errors
/// 400 `malformed_json` or 422 `invalid_field`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Bounded nesting: serde_json's own recursion limit (128) stays on.
    let value = T::deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    value.map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::invalid("body", e),
        _ => ApiError::bad_request("malformed_json", format!("malformed JSON: {e}")),
    })
}

/// Path extractor whose rejections use [`ErrorBody`] (a bad id is a 404: it names nothing).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_: PathRejection| ApiError::not_found())
    }
}

/// Query extractor whose rejections use [`ErrorBody`] (422 naming the problem).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| ApiError::invalid("query", e.body_text()))
    }
}

/// Check a free-text field's length in characters (not bytes).
///
/// # Errors
/// 422 naming the field.
pub fn check_len(field: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid(field, format!("at most {max_chars} characters")));
    }
    Ok(())
}
