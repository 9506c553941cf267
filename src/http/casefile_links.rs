//! Every party's own copy over HTTP (issue #20 point 4): the party's page `/p/{token}` reads
//! `GET /api/v1/party/{token}` (their copy's dates, in the page's words) and downloads
//! `GET /api/v1/party/{token}/agreement.pdf`; an unknown, replaced or expired link is 404. The
//! holder lists each party's link with its QR code (`GET …/case/links`) and re-issues one
//! (`POST …/case/parties/{party}/link`: the old link stops working, the new one is texted).

use super::auth::MediatorAuth;
use super::casefile::{copy_pdf, incident_id};
use super::error::{ApiError, ApiPath, ErrorBody};
use super::state::AppState;
use crate::casefile::CaseFiles;
use crate::casefile::links::{IssuedLink, PartyCopy};
use crate::casefile::timers::{beijing_day, confirmation_apply_by};
use crate::casefile::{CaseFileError, Viewer};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use qrcode::{EcLevel, QrCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes: the party's (by capability) and the holder's.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(party_copy))
        .routes(routes!(party_agreement))
        .routes(routes!(holder_links))
        .routes(routes!(reissue_link))
}

/// What a party's own link shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyCopyView {
    /// The case number (the incident id's last six characters).
    pub number: String,
    /// The mediation committee.
    pub committee: String,
    /// The party's name.
    pub name: String,
    /// Their role on paper (申请人…).
    pub role_label: &'static str,
    /// The agreement version in effect.
    pub version: u32,
    /// The day it took effect (Beijing time).
    #[schema(value_type = String, format = Date)]
    pub effective_on: jiff::civil::Date,
    /// The agreed performance day, if one was agreed.
    #[schema(value_type = Option<String>, format = Date)]
    pub performance_due: Option<jiff::civil::Date>,
    /// How and where it is performed.
    pub performance_method: String,
    /// Where.
    pub performance_place: String,
    /// The last day to apply together for 司法确认.
    #[schema(value_type = Option<String>, format = Date)]
    pub confirmation_apply_by: Option<jiff::civil::Date>,
    /// The court applied to, if the application is recorded.
    pub confirmation_court: Option<String>,
    /// `confirmed` / `rejected`, once known.
    pub confirmation_result: Option<String>,
    /// The last follow-up's finding (`performed` / `partly` / `not_performed`).
    pub last_follow_up: Option<String>,
    /// When this link stops working.
    #[schema(value_type = String, format = DateTime)]
    pub link_expires_at: Timestamp,
}

fn copy_view(files: &CaseFiles, copy: &PartyCopy) -> Result<PartyCopyView, CaseFileError> {
    let case = &copy.case;
    let version = case.in_effect().ok_or(CaseFileError::NotFound)?;
    let id = copy.incident.id.to_string();
    Ok(PartyCopyView {
        number: id[id.len().saturating_sub(6)..].to_owned(),
        committee: files.committee_for(&copy.incident).0,
        name: copy.party.name.clone(),
        role_label: copy.party.role.label(),
        version: version.number,
        effective_on: beijing_day(version.effective_at.ok_or(CaseFileError::NotFound)?),
        performance_due: version.draft.performance_due,
        performance_method: version.draft.performance_method.clone(),
        performance_place: version.draft.performance_place.clone(),
        confirmation_apply_by: confirmation_apply_by(case),
        confirmation_court: case.confirmation.as_ref().map(|c| c.court.clone()),
        confirmation_result: case.confirmation.as_ref().and_then(|c| c.result.clone()),
        last_follow_up: case.follow_ups.last().map(|f| crate::casefile::wire_name(&f.performance)),
        link_expires_at: copy.link.expires_at,
    })
}

fn no_store<T: IntoResponse>(body: T) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A party's copy: the agreement in effect and the case's dates (their own link).
#[utoipa::path(get, path = "/api/v1/party/{token}", tag = "resident",
    params(("token" = String, Path, description = "the party's link token")),
    responses((status = 200, body = PartyCopyView), (status = 404, body = ErrorBody)))]
async fn party_copy(State(files): State<CaseFiles>, ApiPath(token): ApiPath<String>) -> Result<Response, ApiError> {
    let copy = files.party_copy(&token).await?;
    Ok(no_store(Json(copy_view(&files, &copy)?)))
}

/// A party's copy of the agreement in effect, as PDF (their own link).
#[utoipa::path(get, path = "/api/v1/party/{token}/agreement.pdf", tag = "resident",
    params(("token" = String, Path, description = "the party's link token")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn party_agreement(
    State(files): State<CaseFiles>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(copy_pdf(files.party_agreement(&token).await?))
}

/// A party's link as the holder's page shows it, with its QR code.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyLinkView {
    /// Whose.
    pub party_id: String,
    /// The link.
    pub url: String,
    /// The link as an SVG QR code, to show on the phone.
    pub qr_svg: String,
    /// When it stops working.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// When the text carrying it was accepted; null: not sent (no phone, texts off, refused).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub texted_at: Option<Timestamp>,
}

fn link_view(link: IssuedLink) -> Result<PartyLinkView, ApiError> {
    let qr = QrCode::with_error_correction_level(link.url.as_bytes(), EcLevel::M)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "could not encode the QR code"))?;
    let qr_svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build();
    Ok(PartyLinkView {
        party_id: link.party_id,
        url: link.url,
        qr_svg,
        expires_at: link.expires_at,
        texted_at: link.texted_at,
    })
}

/// Each party's own link to their copy, for the case I hold.
#[utoipa::path(get, path = "/api/v1/mediator/incidents/{id}/case/links", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = Vec<PartyLinkView>), (status = 404, body = ErrorBody)))]
async fn holder_links(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = incident_id(&id)?;
    let (_, case) = files.case_file(&Viewer::Mediator(me), &id).await?;
    let links = files.issued_links(&id, &case)?.into_iter().map(link_view).collect::<Result<Vec<_>, _>>()?;
    Ok(no_store(Json(links)))
}

/// Issue a party a new link to their copy (the old one stops working) and text it.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/parties/{party}/link", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id"), ("party" = String, Path, description = "party id")),
    responses((status = 201, body = PartyLinkView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reissue_link(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath((id, party)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let id = incident_id(&id)?;
    let link = files.reissue_link(&me, &id, &party).await?;
    Ok(no_store((StatusCode::CREATED, Json(link_view(link)?))))
}
