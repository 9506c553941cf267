//! The case file over HTTP (issue #20): the holding mediator records parties, the mediation
//! record, the agreement and signatures under `/api/v1/mediator/incidents/{id}/case…`;
//! operators read, reveal (audited) and download under `/api/v1/command/incidents/{id}/case…`.
//! Anyone else gets 404, as for an unknown incident. Phones and ID numbers are masked in every
//! answer except a reveal's.
//!
//! Split by audience: the holder's routes (`holder.rs`), the operator's reads (`operator.rs`),
//! the PDFs and the resident's copy (`documents.rs`), the answers' shapes (`views.rs`); here the
//! router, the error mapping and what both audiences share (reading the file, a reveal).

pub mod documents;
pub mod holder;
pub mod operator;
pub mod views;

use super::auth::OperatorAuth;
use super::error::ApiError;
use super::state::AppState;
use crate::casefile::domain::Conflict;
use crate::casefile::{CaseFileError, CaseFiles, Viewer};
use crate::domain::ids::{AccountId, IncidentId};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use views::{CaseFileView, view};

pub(super) use documents::copy_pdf;

/// The routes, for both audiences.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(holder::router()).merge(operator::router()).merge(documents::router())
}

impl From<CaseFileError> for ApiError {
    fn from(e: CaseFileError) -> Self {
        let conflict = |code, message: String| Self::new(StatusCode::CONFLICT, code, message);
        match e {
            CaseFileError::NotFound => Self::not_found(),
            CaseFileError::HolderOnly => Self::forbidden("only the mediator holding the case does this"),
            CaseFileError::Invalid(i) => Self::invalid(i.field, i.why),
            CaseFileError::Conflict(c) => match c {
                Conflict::Missing(_) => Self::not_found(),
                Conflict::NoAgreement => conflict("no_agreement", c.to_string()),
                Conflict::TextChanged => conflict("text_changed", c.to_string()),
                Conflict::AlreadySigned => conflict("already_signed", c.to_string()),
                Conflict::PartiesFirst => conflict("parties_sign_first", c.to_string()),
                Conflict::NotAParty => conflict("not_a_party", c.to_string()),
                Conflict::RecordSigned => conflict("record_signed", c.to_string()),
                Conflict::Full(why) => conflict("limit_reached", why),
                Conflict::PartySigned => conflict("party_signed", c.to_string()),
            },
            CaseFileError::Contended => Self::unavailable("contended", "the case file is changing fast; retry", 1),
            CaseFileError::Unopenable(e) => {
                tracing::error!(error = %e, "a sealed case-file field does not open: is its key still in GD_CASEFILE__KEYS?");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
            CaseFileError::PdfUnavailable(why) => {
                tracing::warn!(reason = %why, "case-file documents unavailable");
                Self::unavailable("documents_unavailable", "documents cannot be produced right now", 30)
            }
            CaseFileError::Store(s) => s.into(),
        }
    }
}

pub(super) fn incident_id(raw: &str) -> Result<IncidentId, ApiError> {
    IncidentId::parse(raw).map_err(|_| ApiError::not_found())
}

pub(super) fn operator_viewer(op: &OperatorAuth) -> Viewer {
    let role = if op.account.is_some() { "operator" } else { "admin" };
    Viewer::Operator { id: op.account.clone().unwrap_or_else(AccountId::operations), role, scope: op.scope.clone() }
}

async fn case_view(files: &CaseFiles, viewer: &Viewer, id: &IncidentId) -> Result<Json<CaseFileView>, ApiError> {
    let (_, case) = files.case_file(viewer, id).await?;
    Ok(Json(view(id, &case)))
}

/// A party's full contact details.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealedView {
    /// Full phone.
    pub phone: Option<String>,
    /// Full ID number.
    pub id_number: Option<String>,
}

fn no_store(body: RevealedView) -> Response {
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn reveal(files: &CaseFiles, viewer: &Viewer, id: &str, party: &str) -> Result<Response, ApiError> {
    let id = incident_id(id)?;
    let r = files.reveal(viewer, &id, party).await?;
    Ok(no_store(RevealedView { phone: r.phone, id_number: r.id_number }))
}
