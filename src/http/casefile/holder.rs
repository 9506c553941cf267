//! The holding mediator's routes under `/api/v1/mediator/…/case…`: parties, the record, the
//! agreement and its signatures (the one route group with a larger body limit), documents and
//! images, templates, follow-ups, 司法确认 and extensions; each request shape beside its handler.

use super::documents::document;
use super::views::{AgreementView, CaseFileView, ConfirmationView, EntryView, FollowUpView, PartyView};
use super::{RevealedView, case_view, incident_id, reveal};
use crate::casefile::domain::{AgreementDraft, Mark, PartyRole, Performance, Signer};
use crate::casefile::templates::{self, Template};
use crate::casefile::{CaseFiles, Document, NewParty, NewSignature, Viewer};
use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use crate::http::auth::MediatorAuth;
use crate::http::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::http::state::AppState;
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The holder's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(sign_agreement))
        .routes(routes!(sign_record))
        .layer(DefaultBodyLimit::max(SIGNATURE_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(get_case))
        .routes(routes!(add_party))
        .routes(routes!(add_reporter))
        .routes(routes!(reveal_party))
        .routes(routes!(remove_party))
        .routes(routes!(add_entry))
        .routes(routes!(edit_entry))
        .routes(routes!(draft_agreement))
        .routes(routes!(get_document))
        .routes(routes!(get_image))
        .routes(routes!(get_template))
        .routes(routes!(record_follow_up))
        .routes(routes!(record_confirmation))
        .routes(routes!(extend_deadline))
        .merge(uploads)
}

/// Body limit of a signature upload: a 256 KiB image in base64 and the JSON around it.
const SIGNATURE_BODY_LIMIT: usize = 400 * 1024;

/// The case file of an incident I hold.
#[utoipa::path(get, path = "/api/v1/mediator/incidents/{id}/case", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = CaseFileView), (status = 404, body = ErrorBody)))]
async fn get_case(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseFileView>, ApiError> {
    let id = incident_id(&id)?;
    case_view(&files, &Viewer::Mediator(me), &id).await
}

/// A new party.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyRequest {
    /// Role.
    pub role: PartyRole,
    /// Name, 1..=50 characters.
    pub name: String,
    /// Phone (5..=20 digits, `+`, `-`); stored sealed.
    #[serde(default)]
    pub phone: Option<String>,
    /// Resident ID number (18 characters, checksum verified); stored sealed.
    #[serde(default)]
    pub id_number: Option<String>,
    /// Address, up to 200 characters.
    #[serde(default)]
    pub address: Option<String>,
}

/// Add a party (at most 10).
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/parties", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = PartyRequest,
    responses((status = 201, body = PartyView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_party(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PartyRequest>,
) -> Result<(StatusCode, Json<PartyView>), ApiError> {
    let id = incident_id(&id)?;
    let new = NewParty {
        role: body.role,
        name: body.name,
        phone: body.phone,
        id_number: body.id_number,
        address: body.address,
    };
    let party = files.add_party(&me, &id, new).await?;
    Ok((StatusCode::CREATED, Json((&party).into())))
}

/// The reporter as a party.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterRequest {
    /// Role (default 申请人).
    #[serde(default)]
    pub role: Option<PartyRole>,
    /// Their name (default 报告人).
    #[serde(default)]
    pub name: Option<String>,
}

/// Make the resident who reported a party, in one tap (their phone comes from the report).
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/parties/reporter", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = ReporterRequest,
    responses((status = 201, body = PartyView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_reporter(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReporterRequest>,
) -> Result<(StatusCode, Json<PartyView>), ApiError> {
    let id = incident_id(&id)?;
    let party = files.add_reporter(&me, &id, body.role.unwrap_or(PartyRole::Applicant), body.name).await?;
    Ok((StatusCode::CREATED, Json((&party).into())))
}

/// Reveal a party's phone and ID number (audited in the case file).
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/parties/{party}/reveal", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id"), ("party" = String, Path, description = "party id")),
    responses((status = 200, body = RevealedView), (status = 404, body = ErrorBody)))]
async fn reveal_party(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath((id, party)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    reveal(&files, &Viewer::Mediator(me), &id, &party).await
}

/// Remove a party entered by mistake, before the agreement carries any signature (audited in
/// the case file and on the timeline); 409 `party_signed` after.
#[utoipa::path(delete, path = "/api/v1/mediator/incidents/{id}/case/parties/{party}", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id"), ("party" = String, Path, description = "party id")),
    responses((status = 204, description = "removed"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_party(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath((id, party)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    files.remove_party(&me, &incident_id(&id)?, &party).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A record entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRequest {
    /// 1..=5000 characters (dictated with the phone's own voice input, or typed).
    pub text: String,
    /// The session (default 1).
    #[serde(default)]
    pub session: Option<u32>,
}

/// Add a record entry (at most 300; refused once the mediator signed the record).
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/record", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = EntryRequest,
    responses((status = 201, body = EntryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_entry(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EntryRequest>,
) -> Result<(StatusCode, Json<EntryView>), ApiError> {
    let id = incident_id(&id)?;
    let entry = files.add_entry(&me, &id, body.session.unwrap_or(1), &body.text).await?;
    Ok((StatusCode::CREATED, Json((&entry).into())))
}

/// Edit a record entry (until the record is signed).
#[utoipa::path(put, path = "/api/v1/mediator/incidents/{id}/case/record/{entry}", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id"), ("entry" = String, Path, description = "entry id")), request_body = EntryRequest,
    responses((status = 200, body = EntryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_entry(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath((id, entry)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<EntryRequest>,
) -> Result<Json<EntryView>, ApiError> {
    let id = incident_id(&id)?;
    let entry = files.edit_entry(&me, &id, &entry, &body.text).await?;
    Ok(Json((&entry).into()))
}

/// The agreement's content.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    /// The template it started from.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub template: Option<Category>,
    /// 纠纷主要事实 (≤5000 characters).
    #[serde(default)]
    pub facts: String,
    /// 争议事项 (≤5000).
    #[serde(default)]
    pub issues: String,
    /// 各方责任 (≤5000).
    #[serde(default)]
    pub responsibility: String,
    /// 协议内容: 1..=30 terms, each 1..=1000 characters.
    pub terms: Vec<String>,
    /// 履行方式 (≤500).
    #[serde(default)]
    pub performance_method: String,
    /// 履行地点 (≤500).
    #[serde(default)]
    pub performance_place: String,
    /// 履行期限, `YYYY-MM-DD`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub performance_due: Option<jiff::civil::Date>,
}

/// Draft or change the agreement: an unsigned version is edited; a signed one stays and the
/// change becomes the next version, needing every signature again.
#[utoipa::path(put, path = "/api/v1/mediator/incidents/{id}/case/agreement", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = AgreementRequest,
    responses((status = 200, body = AgreementView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn draft_agreement(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<AgreementRequest>,
) -> Result<Json<AgreementView>, ApiError> {
    let id = incident_id(&id)?;
    let trim = |s: String| s.trim().to_owned();
    let draft = AgreementDraft {
        template: b.template,
        facts: trim(b.facts),
        issues: trim(b.issues),
        responsibility: trim(b.responsibility),
        terms: b.terms.into_iter().map(trim).collect(),
        performance_method: trim(b.performance_method),
        performance_place: trim(b.performance_place),
        performance_due: b.performance_due,
    };
    let version = files.draft(&me, &id, draft).await?;
    Ok(Json((&version).into()))
}

/// A signature taken on the holder's phone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    /// Who signs: `{"type":"party","party_id"}` or `{"type":"mediator"}` (last).
    pub signer: Signer,
    /// `signature` (canvas) or `thumb_print` (photo).
    pub mark: Mark,
    /// The image, base64: PNG (canvas) or JPEG (photo), at most 256 KiB.
    pub image: String,
    /// The `text_sha256` shown to the signer.
    pub text_sha256: String,
}

/// What a signature did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedView {
    /// The agreement took effect with this signature.
    pub took_effect: bool,
}

async fn sign(
    files: &CaseFiles,
    me: &AccountId,
    id: &str,
    document: Document,
    b: SignatureRequest,
) -> Result<(StatusCode, Json<SignedView>), ApiError> {
    let id = incident_id(id)?;
    let data = b.image.split_once("base64,").map_or(b.image.as_str(), |(_, d)| d);
    let image = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| ApiError::invalid("image", "must be base64"))?;
    let new = NewSignature { signer: b.signer, mark: b.mark, image, text_sha256: b.text_sha256 };
    let took_effect = files.sign(me, &id, document, new).await?;
    Ok((StatusCode::CREATED, Json(SignedView { took_effect })))
}

/// Sign the current agreement version; the mediator's signature, after every party's, makes
/// it take effect (frozen: a change makes a new version).
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/agreement/signatures", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = SignatureRequest,
    responses((status = 201, body = SignedView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sign_agreement(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SignatureRequest>,
) -> Result<(StatusCode, Json<SignedView>), ApiError> {
    sign(&files, &me, &id, Document::Agreement, b).await
}

/// Sign the record; the mediator's signature closes it.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/record/signatures", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = SignatureRequest,
    responses((status = 201, body = SignedView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn sign_record(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SignatureRequest>,
) -> Result<(StatusCode, Json<SignedView>), ApiError> {
    sign(&files, &me, &id, Document::Record, b).await
}

/// A4 PDF: `agreement.pdf` (the current version), `record.pdf`, or `case.pdf` (the whole file).
#[utoipa::path(get, path = "/api/v1/mediator/incidents/{id}/case/documents/{name}", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id"), ("name" = String, Path, description = "agreement.pdf | record.pdf | case.pdf")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn get_document(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    document(&files, &Viewer::Mediator(me), &id, &name).await
}

/// A signature or thumb-print image of a case I hold.
#[utoipa::path(get, path = "/api/v1/mediator/incidents/{id}/case/images/{sha256}", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id"), ("sha256" = String, Path, description = "image hash")),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn get_image(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath((id, sha)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let id = incident_id(&id)?;
    let bytes = files.image(&Viewer::Mediator(me), &id, &sha).await?;
    let kind = if bytes.starts_with(&[0xFF, 0xD8]) { "image/jpeg" } else { "image/png" };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(kind))], bytes).into_response())
}

/// Common clauses for a category, to draft from.
#[utoipa::path(get, path = "/api/v1/mediator/agreement-templates/{category}", tag = "casefile", security(("mediator" = [])),
    params(("category" = String, Path, description = "neighbor, family, property, wages, land, traffic, consumer, other")),
    responses((status = 200, body = Template), (status = 404, body = ErrorBody)))]
async fn get_template(
    MediatorAuth(_me): MediatorAuth,
    ApiPath(category): ApiPath<String>,
) -> Result<Json<Template>, ApiError> {
    let category: Category =
        serde_json::from_value(serde_json::Value::String(category)).map_err(|_| ApiError::not_found())?;
    Ok(Json(templates::for_category(category)))
}

/// A performance follow-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// `performed`, `partly`, `not_performed`.
    pub performance: Performance,
    /// Notes (≤1000 characters).
    #[serde(default)]
    pub note: String,
}

/// Record a performance follow-up (回访): not performed is urged, and advised to sue the next time.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/follow-ups", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = FollowUpRequest,
    responses((status = 201, body = FollowUpView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_follow_up(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<FollowUpRequest>,
) -> Result<(StatusCode, Json<FollowUpView>), ApiError> {
    let id = incident_id(&id)?;
    let f = files.follow_up(&me, &id, b.performance, &b.note).await?;
    Ok((
        StatusCode::CREATED,
        Json(FollowUpView { at: f.at, performance: f.performance, action: f.action, note: f.note }),
    ))
}

/// A 司法确认 application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationRequest {
    /// The court (1..=100 characters).
    pub court: String,
    /// The day the parties applied, `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    pub applied_on: jiff::civil::Date,
    /// `confirmed` or `rejected`, once known.
    #[serde(default)]
    pub result: Option<String>,
}

/// Record the parties' joint 司法确认 application and, later, its result.
#[utoipa::path(put, path = "/api/v1/mediator/incidents/{id}/case/confirmation", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = ConfirmationRequest,
    responses((status = 200, body = ConfirmationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_confirmation(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<ConfirmationRequest>,
) -> Result<Json<ConfirmationView>, ApiError> {
    let id = incident_id(&id)?;
    let c = files.confirmation(&me, &id, &b.court, b.applied_on, b.result.as_deref()).await?;
    Ok(Json(ConfirmationView { court: c.court, applied_on: c.applied_on, result: c.result }))
}

/// Every party's consent to continue past the mediation deadline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    /// The ids of the consenting parties: all of them.
    pub consents: Vec<String>,
}

/// The new mediation deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionView {
    /// Due then.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
}

/// Extend the one-month mediation deadline, with every party's consent recorded.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/case/extension", tag = "casefile", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = ExtensionRequest,
    responses((status = 201, body = ExtensionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn extend_deadline(
    State(files): State<CaseFiles>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<ExtensionRequest>,
) -> Result<(StatusCode, Json<ExtensionView>), ApiError> {
    let id = incident_id(&id)?;
    let due_at = files.extend(&me, &id, &b.consents).await?;
    Ok((StatusCode::CREATED, Json(ExtensionView { due_at })))
}
