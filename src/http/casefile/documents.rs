//! The case file's PDFs as responses: which names are served, the download both audiences
//! share, and the resident's copy of the agreement through their tracking link.

use super::incident_id;
use crate::casefile::pdf::Which;
use crate::casefile::{CaseFiles, Viewer};
use crate::http::error::{ApiError, ApiPath, ErrorBody};
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The resident's route.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(resident_agreement))
}

fn which(name: &str) -> Result<Which, ApiError> {
    match name {
        "agreement.pdf" => Ok(Which::Agreement),
        "record.pdf" => Ok(Which::Record),
        "case.pdf" => Ok(Which::CaseFile),
        _ => Err(ApiError::not_found()),
    }
}

pub(super) async fn document(files: &CaseFiles, viewer: &Viewer, id: &str, name: &str) -> Result<Response, ApiError> {
    let id = incident_id(id)?;
    let bytes = files.pdf(viewer, &id, which(name)?).await?;
    let disposition = format!("inline; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| ApiError::not_found())?),
        ],
        bytes,
    )
        .into_response())
}

/// The agreement in effect, as the resident who reported gets their copy (their tracking link).
#[utoipa::path(get, path = "/api/v1/track/{tracking_token}/agreement.pdf", tag = "resident",
    params(("tracking_token" = String, Path, description = "the report's tracking token")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn resident_agreement(
    State(files): State<CaseFiles>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(copy_pdf(files.resident_agreement(&token).await?))
}

/// A party's copy of the agreement as a response: never cached, kept by the name `agreement.pdf`.
pub(in crate::http) fn copy_pdf(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"agreement.pdf\"")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_documents_are_served() {
        assert!(which("agreement.pdf").is_ok());
        assert!(which("../etc").is_err());
    }
}
