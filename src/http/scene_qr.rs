//! Poster-ready QR codes of QR scenes (issue #3): the H5 report form `/r/{scene}`, or, when
//! the WeChat API is configured, the scene's permanent WeChat parametric QR code (scanning it
//! follows the account and sends `subscribe`/`SCAN` with the scene to the webhook).

use super::auth::AdminAuth;
use super::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use super::state::AppState;
use crate::domain::ids::SceneId;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Smallest rendered side, pixels (prints sharply on A4 and scans from a metre away).
const MIN_SIDE_PX: u32 = 600;

/// Which code to render.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `h5` (default): the H5 report form. `wechat`: the permanent WeChat parametric QR code.
    #[serde(default)]
    pub kind: Option<String>,
}

/// QR routes (admin).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(scene_qr_svg)).routes(routes!(scene_qr_png))
}

/// What the code encodes for this scene and query.
async fn content(state: &AppState, id: &str, query: &QrQuery) -> Result<String, ApiError> {
    let id = SceneId::parse(id).map_err(|_| ApiError::not_found())?;
    let scene = state.scenes.get(&id).await?.ok_or_else(ApiError::not_found)?;
    match query.kind.as_deref().unwrap_or("h5") {
        "h5" => {
            let base = state.settings.http.public_base_url.trim_end_matches('/');
            Ok(format!("{base}/r/{}", scene.id))
        }
        "wechat" => {
            let client = state.scenes.wechat_client();
            if !client.enabled() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "wechat_not_configured",
                    "WeChat AppID/AppSecret are not configured",
                ));
            }
            client.permanent_qr(&scene.id).await.map_err(|e| {
                tracing::warn!(scene_id = %scene.id, error = %e, "wechat qrcode/create failed");
                ApiError::new(StatusCode::BAD_GATEWAY, "wechat_unavailable", "WeChat did not create the code; retry")
            })
        }
        _ => Err(ApiError::invalid("kind", "h5 or wechat")),
    }
}

fn code(content: &str) -> Result<QrCode, ApiError> {
    // Q (25% recovery): posters get scuffed and partly covered.
    QrCode::with_error_correction_level(content.as_bytes(), EcLevel::Q)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not encode the QR code"))
}

fn image_response(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    response
}

/// The scene's QR code as SVG (at least 600×600, with a quiet zone).
#[utoipa::path(get, path = "/api/v1/admin/scenes/{id}/qr.svg", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "scene id"), QrQuery),
    responses((status = 200, content_type = "image/svg+xml", description = "the QR code"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn scene_qr_svg(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let content = content(&state, &id, &query).await?;
    let svg = code(&content)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(MIN_SIDE_PX, MIN_SIDE_PX)
        .quiet_zone(true)
        .build();
    Ok(image_response("image/svg+xml", svg.into_bytes()))
}

/// The scene's QR code as PNG (at least 600×600, with a quiet zone).
#[utoipa::path(get, path = "/api/v1/admin/scenes/{id}/qr.png", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "scene id"), QrQuery),
    responses((status = 200, content_type = "image/png", description = "the QR code"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn scene_qr_png(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let content = content(&state, &id, &query).await?;
    let png = grayscale_png(&code(&content)?)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not encode the PNG"))?;
    Ok(image_response("image/png", png))
}

/// Modules of light margin around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// `code` as an 8-bit grayscale PNG: whole pixels per module, at least [`MIN_SIDE_PX`] square,
/// with the quiet zone.
fn grayscale_png(code: &QrCode) -> Result<Vec<u8>, png::EncodingError> {
    let modules = code.width();
    let side_modules = modules + 2 * QUIET_ZONE;
    let scale = (MIN_SIDE_PX as usize).div_ceil(side_modules);
    let side = side_modules * scale;
    let mut pixels = vec![u8::MAX; side * side];
    for (i, colour) in code.to_colors().iter().enumerate() {
        if *colour == qrcode::Color::Dark {
            let (x, y) = ((i % modules + QUIET_ZONE) * scale, (i / modules + QUIET_ZONE) * scale);
            for row in y..y + scale {
                pixels[row * side + x..row * side + x + scale].fill(0);
            }
        }
    }
    let side = u32::try_from(side).map_err(|_| png::EncodingError::LimitsExceeded)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(out)
}
