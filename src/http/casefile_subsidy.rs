//! The monthly 以案定补 subsidy report over HTTP (issue #20): JSON, CSV for Excel and an A4 PDF
//! under `/api/v1/command/subsidy…`, for operators (their area only) and admins. Bad input is
//! a 400 with a code: `bad_date`, `bad_range` (from after to), `range_too_long` (over 366
//! days), `unknown_committee`.

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiQuery, ErrorBody};
use super::state::AppState;
use crate::casefile::CaseFiles;
use crate::casefile::subsidy::{self, RangeError, ReportRange, SubsidyReport};
use crate::dispatch::stats::today;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_subsidy)).routes(routes!(get_subsidy_csv)).routes(routes!(get_subsidy_pdf))
}

/// Which cases: closed on the days `from..=to` (Asia/Shanghai), optionally of one committee.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SubsidyQuery {
    /// First day, `YYYY-MM-DD` (default: the first of `to`'s month).
    pub from: Option<String>,
    /// Last day, inclusive (default: today).
    pub to: Option<String>,
    /// A configured committee's area code (`[[casefile.committees]]`); default: all.
    pub committee: Option<String>,
}

fn day(field: &str, raw: Option<&str>) -> Result<Option<jiff::civil::Date>, ApiError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| s.parse())
        .transpose()
        .map_err(|_| ApiError::bad_request("bad_date", format!("{field}: a day as YYYY-MM-DD")))
}

async fn report_for(state: &AppState, q: &SubsidyQuery, op: &OperatorAuth) -> Result<SubsidyReport, ApiError> {
    let to = day("to", q.to.as_deref())?.unwrap_or_else(|| today(state.clock.now()));
    let from = day("from", q.from.as_deref())?.unwrap_or_else(|| to.first_of_month());
    let range = ReportRange::new(from, to).map_err(|e| match e {
        RangeError::Reversed => ApiError::bad_request("bad_range", e.to_string()),
        RangeError::TooLong => ApiError::bad_request("range_too_long", e.to_string()),
    })?;
    let files: &CaseFiles = &state.casefiles;
    let committee = q.committee.as_deref().filter(|c| !c.is_empty());
    if let Some(area) = committee
        && files.committee(area).is_none()
    {
        return Err(ApiError::bad_request("unknown_committee", "committee: not a configured committee's area code"));
    }
    Ok(files.subsidy_report(&op.scope, range, committee).await?)
}

fn download(content_type: &'static str, name: String, body: Vec<u8>) -> Result<Response, ApiError> {
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).map_err(|_| ApiError::not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The monthly subsidy report (以案定补): per committee and per mediator, the cases closed in
/// the range with their grades, agreements, performed, 司法确认 confirmed, and the subsidy at
/// `[casefile.subsidy]` rates; every case listed.
#[utoipa::path(get, path = "/api/v1/command/subsidy", tag = "command", security(("operator" = []), ("admin" = [])),
    params(SubsidyQuery),
    responses((status = 200, body = SubsidyReport), (status = 400, body = ErrorBody)))]
async fn get_subsidy(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiQuery(q): ApiQuery<SubsidyQuery>,
) -> Result<Json<SubsidyReport>, ApiError> {
    Ok(Json(report_for(&state, &q, &op).await?))
}

/// The same report as CSV for Excel (UTF-8 with BOM, CRLF): committee, mediator, total and
/// case lines.
#[utoipa::path(get, path = "/api/v1/command/subsidy.csv", tag = "command", security(("operator" = []), ("admin" = [])),
    params(SubsidyQuery),
    responses((status = 200, content_type = "text/csv", description = "kind,name,id,cases,simple,general,major_difficult,ungraded,agreements,performed,confirmed,subsidy_yuan"),
        (status = 400, body = ErrorBody)))]
async fn get_subsidy_csv(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiQuery(q): ApiQuery<SubsidyQuery>,
) -> Result<Response, ApiError> {
    let r = report_for(&state, &q, &op).await?;
    let name = format!("subsidy-{}-{}.csv", r.from, r.to);
    download("text/csv; charset=utf-8", name, subsidy::to_csv(&r).into_bytes())
}

/// The same report as an A4 PDF (Chinese, the font embedded), to sign and file.
#[utoipa::path(get, path = "/api/v1/command/subsidy.pdf", tag = "command", security(("operator" = []), ("admin" = [])),
    params(SubsidyQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 400, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn get_subsidy_pdf(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiQuery(q): ApiQuery<SubsidyQuery>,
) -> Result<Response, ApiError> {
    let r = report_for(&state, &q, &op).await?;
    let name = format!("subsidy-{}-{}.pdf", r.from, r.to);
    download("application/pdf", name, state.casefiles.subsidy_pdf(r).await?)
}
