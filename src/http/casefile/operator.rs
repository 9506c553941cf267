//! The operator's reads of a case file in their area under `/api/v1/command/…/case…`: the
//! file, an audited reveal, the PDFs.

use super::documents::document;
use super::views::CaseFileView;
use super::{RevealedView, case_view, incident_id, operator_viewer, reveal};
use crate::casefile::CaseFiles;
use crate::http::auth::OperatorAuth;
use crate::http::error::{ApiError, ApiPath, ErrorBody};
use crate::http::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The operator's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(command_get_case))
        .routes(routes!(command_reveal_party))
        .routes(routes!(command_get_document))
}

/// The case file of an incident in my area.
#[utoipa::path(get, path = "/api/v1/command/incidents/{id}/case", tag = "casefile", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = CaseFileView), (status = 404, body = ErrorBody)))]
async fn command_get_case(
    State(files): State<CaseFiles>,
    op: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseFileView>, ApiError> {
    let id = incident_id(&id)?;
    case_view(&files, &operator_viewer(&op), &id).await
}

/// Reveal a party's phone and ID number (audited in the case file).
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/case/parties/{party}/reveal", tag = "casefile", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id"), ("party" = String, Path, description = "party id")),
    responses((status = 200, body = RevealedView), (status = 404, body = ErrorBody)))]
async fn command_reveal_party(
    State(files): State<CaseFiles>,
    op: OperatorAuth,
    ApiPath((id, party)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    reveal(&files, &operator_viewer(&op), &id, &party).await
}

/// A4 PDF: `agreement.pdf`, `record.pdf`, or `case.pdf` (the whole file, 卷宗).
#[utoipa::path(get, path = "/api/v1/command/incidents/{id}/case/documents/{name}", tag = "casefile", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id"), ("name" = String, Path, description = "agreement.pdf | record.pdf | case.pdf")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn command_get_document(
    State(files): State<CaseFiles>,
    op: OperatorAuth,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    document(&files, &operator_viewer(&op), &id, &name).await
}
