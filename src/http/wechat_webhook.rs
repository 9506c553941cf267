//! The WeChat Official Account webhook (`GET /wechat` URL verification, `POST /wechat`
//! deliveries), plaintext and safe mode (`encrypt_type=aes`), and the client-IP extractor and
//! report rate check shared with the H5 form.
//!
//! Order of checks on a delivery, each a 4xx with nothing recorded: required query, timestamp
//! window, `signature` (constant time), body size and UTF-8, XML (no DTD), in safe mode
//! `msg_signature` over `Encrypt` then decryption with the AppID check, `ToUserName`. Only then
//! is the signed URL remembered (a known URL with another body is a replay: 403) and the
//! delivery handed to the conversation, whose answer goes out within WeChat's 5 s.

use super::error::{ApiBytes, ApiError, ApiQuery, ErrorBody};
use super::state::AppState;
use crate::auth::sha256_hex;
use crate::services::ChatReply;
use crate::wechat::crypto::{self, MsgCrypt};
use crate::wechat::message::{self, MAX_XML_BYTES, Message};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::time::Duration;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Whole-delivery deadline: WeChat gives up at 5 s and retries.
const REPLY_DEADLINE: Duration = Duration::from_millis(4500);
/// Longest `echostr` echoed.
const MAX_ECHOSTR_CHARS: usize = 256;

/// The query WeChat signs (extra parameters are ignored).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    /// `sha1(sort(token, timestamp, nonce))`, lowercase hex.
    pub signature: Option<String>,
    /// Seconds since the epoch.
    pub timestamp: Option<String>,
    /// Random.
    pub nonce: Option<String>,
    /// URL verification only: echoed back on a valid signature.
    pub echostr: Option<String>,
    /// The sender (deliveries).
    pub openid: Option<String>,
    /// `aes` in safe/compatible mode; absent or `raw` in plaintext mode.
    pub encrypt_type: Option<String>,
    /// Safe mode: `sha1(sort(token, timestamp, nonce, Encrypt))`.
    pub msg_signature: Option<String>,
}

/// Webhook routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify_url, receive))
}

fn refused(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    metrics::counter!("gd_wechat_refused_total", "code" => code).increment(1);
    tracing::info!(code, "wechat delivery refused");
    ApiError::new(status, code, message)
}

fn bad_signature() -> ApiError {
    refused(StatusCode::UNAUTHORIZED, "bad_signature", "signature mismatch")
}

fn bad_xml(e: &message::XmlError) -> ApiError {
    match e {
        message::XmlError::TooLarge => refused(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "body too large"),
        message::XmlError::Doctype => refused(StatusCode::BAD_REQUEST, "bad_xml", "DTDs are not accepted"),
        _ => refused(StatusCode::BAD_REQUEST, "bad_xml", "malformed message"),
    }
}

struct Signed<'a> {
    token: &'a str,
    timestamp: &'a str,
    nonce: &'a str,
    signature: &'a str,
}

/// The common checks of GET and POST: configured, parameters present, fresh, signed.
fn check_signed<'a>(state: &'a AppState, q: &'a WebhookQuery) -> Result<Signed<'a>, ApiError> {
    let w = &state.settings.wechat;
    let token = w.token.as_ref().ok_or_else(ApiError::not_found)?.expose_secret();
    let (Some(signature), Some(timestamp), Some(nonce)) = (&q.signature, &q.timestamp, &q.nonce) else {
        return Err(bad_signature());
    };
    let at: i64 = timestamp.parse().map_err(|_| bad_signature())?;
    let now = state.clock.now().as_second();
    let window = i64::try_from(w.timestamp_window.as_secs()).unwrap_or(i64::MAX);
    if (now - at).abs() > window {
        return Err(refused(StatusCode::FORBIDDEN, "stale_timestamp", "timestamp outside the allowed window"));
    }
    if !crypto::signature_matches(&[token, timestamp, nonce], signature) {
        return Err(bad_signature());
    }
    Ok(Signed { token, timestamp, nonce, signature })
}

/// URL verification: echo `echostr` when the signature is valid.
#[utoipa::path(get, path = "/wechat", tag = "resident", params(WebhookQuery),
    responses((status = 200, content_type = "text/plain", description = "the echostr"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn verify_url(State(state): State<AppState>, ApiQuery(q): ApiQuery<WebhookQuery>) -> Result<Response, ApiError> {
    check_signed(&state, &q)?;
    let echostr = q.echostr.as_deref().filter(|e| !e.is_empty() && e.len() <= MAX_ECHOSTR_CHARS);
    let echostr = echostr.ok_or_else(|| refused(StatusCode::BAD_REQUEST, "bad_request", "echostr missing"))?;
    Ok(plain(echostr.to_owned()))
}

fn plain(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A verified, decoded delivery.
struct Delivery {
    message: Message,
    safe_mode: Option<MsgCrypt>,
}

fn decode(state: &AppState, q: &WebhookQuery, signed: &Signed<'_>, body: &[u8]) -> Result<Delivery, ApiError> {
    let w = &state.settings.wechat;
    if body.len() > MAX_XML_BYTES {
        return Err(bad_xml(&message::XmlError::TooLarge));
    }
    let text = std::str::from_utf8(body).map_err(|_| refused(StatusCode::BAD_REQUEST, "bad_xml", "not UTF-8"))?;
    let outer = message::parse_fields(text).map_err(|e| bad_xml(&e))?;
    let (fields, safe_mode) = match q.encrypt_type.as_deref() {
        None | Some("raw" | "") => (outer, None),
        Some("aes") => {
            let key = w
                .aes_key
                .as_ref()
                .ok_or_else(|| refused(StatusCode::BAD_REQUEST, "safe_mode_off", "safe mode is not configured"))?;
            let crypt = MsgCrypt::new(key.expose_secret(), &w.appid)
                .map_err(|_| refused(StatusCode::BAD_REQUEST, "safe_mode_off", "safe mode is not configured"))?;
            let encrypt = outer
                .get("Encrypt")
                .filter(|e| !e.is_empty())
                .ok_or_else(|| bad_xml(&message::XmlError::Field("Encrypt")))?;
            let msg_signature = q.msg_signature.as_deref().ok_or_else(bad_signature)?;
            if !crypto::signature_matches(&[signed.token, signed.timestamp, signed.nonce, encrypt], msg_signature) {
                return Err(bad_signature());
            }
            let inner = crypt.decrypt(encrypt).map_err(|e| match e {
                crypto::CryptoError::AppIdMismatch => refused(StatusCode::BAD_REQUEST, "wrong_appid", "AppID mismatch"),
                _ => refused(StatusCode::BAD_REQUEST, "bad_ciphertext", "could not decrypt"),
            })?;
            if outer.get("ToUserName").is_some_and(|t| t != w.original_id) {
                return Err(refused(StatusCode::BAD_REQUEST, "wrong_recipient", "ToUserName is not this account"));
            }
            (message::parse_fields(&inner).map_err(|e| bad_xml(&e))?, Some(crypt))
        }
        Some(_) => return Err(refused(StatusCode::BAD_REQUEST, "bad_request", "unknown encrypt_type")),
    };
    let message = Message::from_fields(&fields).map_err(|e| bad_xml(&e))?;
    if message.envelope.to != w.original_id {
        return Err(refused(StatusCode::BAD_REQUEST, "wrong_recipient", "ToUserName is not this account"));
    }
    if q.openid.as_deref().is_some_and(|o| o != message.envelope.from) {
        return Err(refused(StatusCode::BAD_REQUEST, "wrong_sender", "openid does not match FromUserName"));
    }
    Ok(Delivery { message, safe_mode })
}

/// A delivery (message or event). Answers a passive text reply (encrypted in safe mode) or
/// `success`. Retries of the same message get the same answer and never file twice. While
/// Redis's settings could lose writes (`redis.durability`), every verified delivery is answered
/// with a text asking the resident to send it again, and nothing is filed or remembered.
#[utoipa::path(post, path = "/wechat", tag = "resident", params(WebhookQuery),
    request_body(content = String, content_type = "text/xml", description = "WeChat's XML"),
    responses((status = 200, content_type = "application/xml", description = "passive reply, or `success`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn receive(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WebhookQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let started = tokio::time::Instant::now();
    let signed = check_signed(&state, &q)?;
    let Delivery { message, safe_mode } = decode(&state, &q, &signed, &body)?;
    // Redis could lose what we write now (`redis.durability`): file nothing, remember nothing,
    // and tell the resident to send it again. Every copy WeChat retries gets the same answer.
    if state.health.unsafe_writes().is_some() {
        metrics::counter!("gd_wechat_refused_total", "code" => "store_unsafe").increment(1);
        return Ok(text_reply(&state, &signed, safe_mode, &message.envelope.from, STORE_UNSAFE_TEXT));
    }

    // WeChat's plaintext signature does not cover the body: a signed URL seen with another
    // body is a replay. Kept for twice the window (a timestamp is accepted for ±window).
    let url_hash = sha256_hex(&format!(
        "{}|{}|{}|{}",
        signed.signature,
        signed.timestamp,
        signed.nonce,
        q.msg_signature.as_deref().unwrap_or("")
    ));
    let body_hash = sha256_hex(&String::from_utf8_lossy(&body));
    let ttl = state.settings.wechat.timestamp_window.saturating_mul(2);
    if let Some(first) = state.resident_chat.first_body_of(&url_hash, &body_hash, ttl).await?
        && first != body_hash
    {
        return Err(refused(StatusCode::FORBIDDEN, "replayed", "this signed URL was used with another body"));
    }

    // Run the conversation as its own task: if it outlives WeChat's deadline it still stores
    // its answer (for a retry), while this request answers `success` in time.
    let chat = state.resident_chat.clone();
    let for_task = message.clone();
    let task = tokio::spawn(async move { chat.answer(&for_task).await });
    let left = REPLY_DEADLINE.saturating_sub(started.elapsed());
    let reply = match tokio::time::timeout(left, task).await {
        Ok(Ok(result)) => result?,
        Ok(Err(_)) => return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")),
        Err(_) => {
            tracing::warn!("wechat delivery took too long; answered success");
            ChatReply::Success
        }
    };
    let ChatReply::Text(text) = reply else { return Ok(plain("success".into())) };
    Ok(text_reply(&state, &signed, safe_mode, &message.envelope.from, &text))
}

/// What a resident is told while Redis's settings could lose a report: nothing was filed.
const STORE_UNSAFE_TEXT: &str =
    "系统维护中，您的消息暂未受理，请稍后再发送一次。如遇紧急情况（打架、持械、人员受伤），请立即拨打110。";

/// A passive text reply to `to` (encrypted and signed in safe mode).
fn text_reply(state: &AppState, signed: &Signed<'_>, safe_mode: Option<MsgCrypt>, to: &str, text: &str) -> Response {
    let w = &state.settings.wechat;
    let xml = message::text_reply(to, &w.original_id, state.clock.now().as_second(), text);
    let xml = match safe_mode {
        None => xml,
        Some(crypt) => {
            let encrypt = crypt.encrypt(&xml);
            let sig = crypto::signature(&[signed.token, signed.timestamp, signed.nonce, &encrypt]);
            message::encrypted_reply(&encrypt, &sig, signed.timestamp, signed.nonce)
        }
    };
    let mut response = xml.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
    response
}

/// Validate an openid an admin binds (empty unbinds).
///
/// # Errors
/// 422 unless 1..=64 characters of `[A-Za-z0-9_-]`.
pub fn check_openid(raw: &str) -> Result<Option<String>, ApiError> {
    crate::domain::account::check_openid(raw).map_err(|e| ApiError::invalid("wechat_openid", e))
}
