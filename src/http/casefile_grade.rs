//! The case's difficulty grade over HTTP (以案定补, issue #20): the holder reads the suggestion
//! and decides the grade in one tap under `/api/v1/mediator/incidents/{id}/case/grade`; an
//! operator does the same under `/api/v1/command/incidents/{id}/case/grade`. The amount in
//! dispute, which the suggestion reads, is recorded beside it (`…/case/amount`).

use super::auth::{MediatorAuth, OperatorAuth};
use super::casefile::{incident_id, operator_viewer};
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::state::AppState;
use crate::casefile::grade::{GradeState, Reason};
use crate::casefile::{CaseFiles, Viewer};
use crate::domain::category::Category;
use crate::domain::grade::Grade;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes, for both audiences.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_grade, set_grade))
        .routes(routes!(set_amount))
        .routes(routes!(command_get_grade, command_set_grade))
        .routes(routes!(command_set_amount))
}

/// A case's grade and the suggestion.
#[derive(Debug, Serialize, ToSchema)]
pub struct GradeView {
    /// As decided (none: not graded yet).
    pub grade: Option<Grade>,
    /// Its name on paper (简易 / 一般 / 重大疑难).
    pub grade_label: Option<&'static str>,
    /// Who decided: `mediator`, `operator` or `admin`.
    pub decided_by_role: Option<String>,
    /// When.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    /// The suggestion from the category, the parties and the amount.
    pub suggested: Grade,
    /// Its name on paper.
    pub suggested_label: &'static str,
    /// The rules that raised the suggestion above simple.
    pub reasons: Vec<Reason>,
    /// The incident's category.
    #[schema(value_type = String)]
    pub category: Category,
    /// Parties counted (agents are not).
    pub parties: usize,
    /// The amount in dispute, whole yuan.
    pub amount_in_dispute_yuan: Option<u64>,
}

impl From<GradeState> for GradeView {
    fn from(s: GradeState) -> Self {
        Self {
            grade: s.graded.as_ref().map(|g| g.grade),
            grade_label: s.graded.as_ref().map(|g| g.grade.label()),
            decided_by_role: s.graded.as_ref().map(|g| g.by.role.clone()),
            decided_at: s.graded.as_ref().map(|g| g.at),
            suggested: s.suggestion.grade,
            suggested_label: s.suggestion.grade.label(),
            reasons: s.suggestion.reasons,
            category: s.category,
            parties: s.parties,
            amount_in_dispute_yuan: s.amount_in_dispute_yuan,
        }
    }
}

/// The grade decided.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeRequest {
    /// `simple`, `general` or `major_difficult`.
    pub grade: Grade,
}

/// The amount in dispute.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountRequest {
    /// Whole yuan, 0..=100000000000; null clears it.
    pub amount_in_dispute_yuan: Option<u64>,
}

async fn read(files: &CaseFiles, viewer: &Viewer, id: &str) -> Result<Json<GradeView>, ApiError> {
    Ok(Json(files.grading(viewer, &incident_id(id)?).await?.into()))
}

async fn decide(files: &CaseFiles, viewer: &Viewer, id: &str, grade: Grade) -> Result<Json<GradeView>, ApiError> {
    Ok(Json(files.set_grade(viewer, &incident_id(id)?, grade).await?.into()))
}

async fn amount(files: &CaseFiles, viewer: &Viewer, id: &str, yuan: Option<u64>) -> Result<Json<GradeView>, ApiError> {
    Ok(Json(files.set_amount(viewer, &incident_id(id)?, yuan).await?.into()))
}

/// The grade of a case I hold, with the suggestion.
#[utoipa::path(get, path = "/api/v1/mediator/incidents/{id}/case/grade", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = GradeView), (status = 404, body = ErrorBody)))]
async fn get_grade(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GradeView>, ApiError> {
    read(&files, &Viewer::Mediator(me), &id).await
}

/// Decide the grade of a case I hold (audited: the case file and the timeline say who, from → to).
#[utoipa::path(put, path = "/api/v1/mediator/incidents/{id}/case/grade", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = GradeRequest,
    responses((status = 200, body = GradeView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_grade(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<GradeRequest>,
) -> Result<Json<GradeView>, ApiError> {
    decide(&files, &Viewer::Mediator(me), &id, body.grade).await
}

/// Record the amount in dispute of a case I hold (the suggestion reads it).
#[utoipa::path(put, path = "/api/v1/mediator/incidents/{id}/case/amount", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = AmountRequest,
    responses((status = 200, body = GradeView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_amount(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AmountRequest>,
) -> Result<Json<GradeView>, ApiError> {
    amount(&files, &Viewer::Mediator(me), &id, body.amount_in_dispute_yuan).await
}

/// The grade of a case in my area, with the suggestion.
#[utoipa::path(get, path = "/api/v1/command/incidents/{id}/case/grade", tag = "casefile", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = GradeView), (status = 404, body = ErrorBody)))]
async fn command_get_grade(
    State(files): State<CaseFiles>,
    op: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GradeView>, ApiError> {
    read(&files, &operator_viewer(&op), &id).await
}

/// Decide the grade of a case in my area (audited: the case file and the timeline say who,
/// from → to).
#[utoipa::path(put, path = "/api/v1/command/incidents/{id}/case/grade", tag = "casefile", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = GradeRequest,
    responses((status = 200, body = GradeView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn command_set_grade(
    State(files): State<CaseFiles>,
    op: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<GradeRequest>,
) -> Result<Json<GradeView>, ApiError> {
    decide(&files, &operator_viewer(&op), &id, body.grade).await
}

/// Record the amount in dispute of a case in my area.
#[utoipa::path(put, path = "/api/v1/command/incidents/{id}/case/amount", tag = "casefile", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = AmountRequest,
    responses((status = 200, body = GradeView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn command_set_amount(
    State(files): State<CaseFiles>,
    op: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AmountRequest>,
) -> Result<Json<GradeView>, ApiError> {
    amount(&files, &operator_viewer(&op), &id, body.amount_in_dispute_yuan).await
}
