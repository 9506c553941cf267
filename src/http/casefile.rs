//! The case file over HTTP (issue #20): the holding mediator records parties, the mediation
//! record, the agreement and signatures under `/api/v1/mediator/incidents/{id}/case…`;
//! operators read, reveal (audited) and download under `/api/v1/command/incidents/{id}/case…`.
//! Anyone else gets 404, as for an unknown incident. Phones and ID numbers are masked in every
//! answer except a reveal's.

use super::auth::{MediatorAuth, OperatorAuth};
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::state::AppState;
use crate::casefile::domain::{
    self, AgreementDraft, AgreementVersion, CaseFile, Conflict, DueKind, FollowUpAction, Mark, Party, PartyRole,
    Performance, RecordEntry, Signature, Signer,
};
use crate::casefile::pdf::Which;
use crate::casefile::templates::{self, Template};
use crate::casefile::{CaseFileError, CaseFiles, Document, NewParty, NewSignature, Viewer};
use crate::domain::category::Category;
use crate::domain::ids::{AccountId, IncidentId};
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

/// Body limit of a signature upload: a 256 KiB image in base64 and the JSON around it.
const SIGNATURE_BODY_LIMIT: usize = 400 * 1024;

/// The routes, for both audiences.
pub fn router() -> OpenApiRouter<AppState> {
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
        .routes(routes!(resident_agreement))
        .routes(routes!(command_get_case))
        .routes(routes!(command_reveal_party))
        .routes(routes!(command_get_document))
        .merge(uploads)
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

/// A party as lists show it (masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// Id within the case.
    pub id: String,
    /// Role.
    pub role: PartyRole,
    /// The role's name on paper (申请人…).
    pub role_label: &'static str,
    /// Name.
    pub name: String,
    /// `138****5678`.
    pub phone_masked: Option<String>,
    /// First 6 and last 4 characters.
    pub id_number_masked: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Made from the resident who reported.
    pub from_reporter: bool,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        Self {
            id: p.id.clone(),
            role: p.role,
            role_label: p.role.label(),
            name: p.name.clone(),
            phone_masked: p.phone_masked.clone(),
            id_number_masked: p.id_number_masked.clone(),
            address: p.address.clone(),
            from_reporter: p.from_reporter,
        }
    }
}

/// A record entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// Id within the case.
    pub id: String,
    /// Session number.
    pub session: u32,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Text.
    pub text: String,
    /// Last edit.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<Timestamp>,
}

impl From<&RecordEntry> for EntryView {
    fn from(e: &RecordEntry) -> Self {
        Self { id: e.id.clone(), session: e.session, at: e.at, text: e.text.clone(), edited_at: e.edited_at }
    }
}

/// A signature (its image at `…/case/images/{image_sha256}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureView {
    /// Who.
    pub signer: Signer,
    /// Signature or thumb print.
    pub mark: Mark,
    /// The image's SHA-256.
    pub image_sha256: String,
    /// The signed text's SHA-256.
    pub text_sha256: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<&Signature> for SignatureView {
    fn from(s: &Signature) -> Self {
        Self {
            signer: s.signer.clone(),
            mark: s.mark,
            image_sha256: s.image_sha256.clone(),
            text_sha256: s.text_sha256.clone(),
            at: s.at,
        }
    }
}

/// One agreement version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementView {
    /// 1, 2, ….
    pub number: u32,
    /// The parties it binds: id, role, name.
    #[schema(value_type = Vec<Object>)]
    pub parties: Vec<domain::NamedParty>,
    /// Template category.
    #[schema(value_type = Option<String>)]
    pub template: Option<Category>,
    /// 纠纷主要事实.
    pub facts: String,
    /// 争议事项.
    pub issues: String,
    /// 各方责任.
    pub responsibility: String,
    /// 协议内容.
    pub terms: Vec<String>,
    /// 履行方式.
    pub performance_method: String,
    /// 履行地点.
    pub performance_place: String,
    /// 履行期限.
    #[schema(value_type = Option<String>, format = Date)]
    pub performance_due: Option<jiff::civil::Date>,
    /// The text the signatures bind (show it to each signer).
    pub text: String,
    /// Its SHA-256: send it back with each signature.
    pub text_sha256: String,
    /// Signatures so far.
    pub signatures: Vec<SignatureView>,
    /// Who still has to sign, in order (the mediator last).
    pub awaiting: Vec<Signer>,
    /// When it took effect.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_at: Option<Timestamp>,
}

impl From<&AgreementVersion> for AgreementView {
    fn from(v: &AgreementVersion) -> Self {
        let d = &v.draft;
        let mut awaiting: Vec<Signer> = v
            .parties
            .iter()
            .map(|p| Signer::Party { party_id: p.party_id.clone() })
            .filter(|s| !v.signed_by(s))
            .collect();
        if !v.signed_by(&Signer::Mediator) {
            awaiting.push(Signer::Mediator);
        }
        Self {
            number: v.number,
            parties: v.parties.clone(),
            template: d.template,
            facts: d.facts.clone(),
            issues: d.issues.clone(),
            responsibility: d.responsibility.clone(),
            terms: d.terms.clone(),
            performance_method: d.performance_method.clone(),
            performance_place: d.performance_place.clone(),
            performance_due: d.performance_due,
            text: v.canonical_text(),
            text_sha256: v.text_sha256(),
            signatures: v.signatures.iter().map(Into::into).collect(),
            awaiting,
            effective_at: v.effective_at,
        }
    }
}

/// An audited action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `mediator`, `operator`, `admin`.
    pub actor_role: String,
    /// Their id.
    pub actor_id: String,
    /// What.
    pub action: String,
}

/// The case file of one incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseFileView {
    /// The incident.
    pub incident_id: String,
    /// Parties.
    pub parties: Vec<PartyView>,
    /// Record entries, oldest first.
    pub record: Vec<EntryView>,
    /// The record's text hash (send it with a record signature).
    pub record_text_sha256: String,
    /// Signatures on the record.
    pub record_signatures: Vec<SignatureView>,
    /// Signed by the mediator: no more entries or edits.
    pub record_closed: bool,
    /// The current agreement version.
    pub agreement: Option<AgreementView>,
    /// The number of the version in effect.
    pub in_effect_version: Option<u32>,
    /// How many versions there are.
    pub versions: usize,
    /// Reveals and other audited actions.
    pub audit: Vec<AuditView>,
    /// Deadlines: the performance follow-up, the 司法确认 reminder, the mediation deadline.
    pub deadlines: Vec<DeadlineView>,
    /// Performance follow-ups recorded.
    pub follow_ups: Vec<FollowUpView>,
    /// The performance deadline fell due and no follow-up was recorded since: the phone asks
    /// for one.
    pub follow_up_due: bool,
    /// The last day the parties may apply for 司法确认 (Beijing time), while an agreement is
    /// in effect.
    #[schema(value_type = Option<String>, format = Date)]
    pub confirmation_apply_by: Option<jiff::civil::Date>,
    /// The 司法确认 application.
    pub confirmation: Option<ConfirmationView>,
    /// Extensions of the mediation deadline (the consenting parties' ids each).
    pub extensions: Vec<Vec<String>>,
}

/// A case-file deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineView {
    /// What for.
    pub kind: DueKind,
    /// When due.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// When it fired.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fired_at: Option<Timestamp>,
}

/// A performance follow-up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUpView {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// What was found.
    pub performance: Performance,
    /// What followed (urged, then advised to sue).
    pub action: FollowUpAction,
    /// Notes.
    pub note: String,
}

/// A 司法确认 application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationView {
    /// The court.
    pub court: String,
    /// The day applied.
    #[schema(value_type = String, format = Date)]
    pub applied_on: jiff::civil::Date,
    /// `confirmed` / `rejected`.
    pub result: Option<String>,
}

fn view(id: &IncidentId, c: &CaseFile) -> CaseFileView {
    CaseFileView {
        incident_id: id.to_string(),
        parties: c.parties.iter().map(Into::into).collect(),
        record: c.record.iter().map(Into::into).collect(),
        record_text_sha256: domain::sha256_hex(c.record_text().as_bytes()),
        record_signatures: c.record_signatures.iter().map(Into::into).collect(),
        record_closed: c.record_closed(),
        agreement: c.current().map(Into::into),
        in_effect_version: c.in_effect().map(|v| v.number),
        versions: c.versions.len(),
        audit: c
            .audit
            .iter()
            .map(|a| AuditView {
                at: a.at,
                actor_role: a.actor.role.clone(),
                actor_id: a.actor.id.clone(),
                action: a.action.clone(),
            })
            .collect(),
        deadlines: c
            .reminders
            .iter()
            .map(|r| DeadlineView { kind: r.kind, due_at: r.due_at, fired_at: r.fired_at })
            .collect(),
        follow_ups: c
            .follow_ups
            .iter()
            .map(|f| FollowUpView { at: f.at, performance: f.performance, action: f.action, note: f.note.clone() })
            .collect(),
        follow_up_due: c.follow_up_due(),
        confirmation_apply_by: crate::casefile::timers::confirmation_apply_by(c),
        confirmation: c.confirmation.as_ref().map(|x| ConfirmationView {
            court: x.court.clone(),
            applied_on: x.applied_on,
            result: x.result.clone(),
        }),
        extensions: c.extensions.clone(),
    }
}

async fn case_view(files: &CaseFiles, viewer: &Viewer, id: &IncidentId) -> Result<Json<CaseFileView>, ApiError> {
    let (_, case) = files.case_file(viewer, id).await?;
    Ok(Json(view(id, &case)))
}

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

fn which(name: &str) -> Result<Which, ApiError> {
    match name {
        "agreement.pdf" => Ok(Which::Agreement),
        "record.pdf" => Ok(Which::Record),
        "case.pdf" => Ok(Which::CaseFile),
        _ => Err(ApiError::not_found()),
    }
}

async fn document(files: &CaseFiles, viewer: &Viewer, id: &str, name: &str) -> Result<Response, ApiError> {
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
pub(super) fn copy_pdf(bytes: Vec<u8>) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_documents_are_served() {
        assert!(which("agreement.pdf").is_ok());
        assert!(which("../etc").is_err());
    }
}
