//! Joint handling over HTTP (issue #21): admins manage departments and their accounts;
//! operators and the holding mediator call departments in; department accounts see their
//! queue (only what they were called to), acknowledge, respond and record a hand-over's
//! result, live over their socket; residents see who leads.

use super::admin_accounts::AccountView;
use super::auth::{AdminAuth, DepartmentAuth, MediatorAuth, OperatorAuth};
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::state::AppState;
use super::ws::{self, Inbound};
use crate::accounts::NewAccount;
use crate::departments::domain::{CallInError, DepartmentKind, Purpose, ResponseKind, Urgency};
use crate::departments::view::{CallInView, DepartmentView};
use crate::departments::{CallInRequest, DepartmentError, Departments, Lead, NewDepartment};
use crate::dispatch::Actor;
use crate::domain::account::Role;
use crate::domain::area::Scope;
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use crate::push::wire::{self, IncidentView};
use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Joint-handling routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_department, list_departments))
        .routes(routes!(create_department_account))
        .routes(routes!(departments_for_operators))
        .routes(routes!(call_in_by_operator, list_call_ins))
        .routes(routes!(supervise_call_in))
        .routes(routes!(call_in_by_mediator))
        .routes(routes!(departments_for_mediators))
        .routes(routes!(my_department))
        .routes(routes!(my_queue))
        .routes(routes!(called_incident))
        .routes(routes!(acknowledge))
        .routes(routes!(respond))
        .routes(routes!(record_result))
        .routes(routes!(department_socket))
        .routes(routes!(who_leads))
        .routes(routes!(webhook_deliveries))
        .routes(routes!(assessment))
        .routes(routes!(suggest_departments))
        .routes(routes!(assessment_csv))
}

impl From<DepartmentError> for ApiError {
    fn from(e: DepartmentError) -> Self {
        match e {
            DepartmentError::NotFound => Self::not_found(),
            DepartmentError::Invalid { field, reason } => Self::invalid(field, reason),
            DepartmentError::State(CallInError::ReasonRequired) => Self::invalid("note", "declining needs a reason"),
            DepartmentError::State(s) => Self::new(StatusCode::CONFLICT, "call_in_state", s.to_string()),
            e @ DepartmentError::AlreadyCalled(_) => Self::new(StatusCode::CONFLICT, "already_called", e.to_string()),
            DepartmentError::IncidentClosed => {
                Self::new(StatusCode::CONFLICT, "incident_closed", "the incident is closed; nobody can be called in")
            }
            DepartmentError::Contended => Self::unavailable("contended", "the call-in is changing fast; retry", 1),
            DepartmentError::Routing(r) => Self::bad_request(r.code(), r.to_string()),
            e @ DepartmentError::StaleRouting { .. } => Self::new(StatusCode::CONFLICT, "stale_version", e.to_string()),
            DepartmentError::Store(s) => s.into(),
        }
    }
}

/// A new department.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRequest {
    /// Name, e.g. 南滩派出所 (no control characters or angle brackets).
    pub name: String,
    /// What it is.
    pub kind: DepartmentKind,
    /// The area code it serves (an uploaded area; absent: the whole district).
    #[serde(default)]
    pub area: Option<String>,
    /// Its duty number: 5–20 digits and dashes (landlines allowed).
    pub duty_phone: String,
}

/// Create a department (admins).
#[utoipa::path(post, path = "/api/v1/admin/departments", tag = "departments", security(("admin" = [])),
    request_body = DepartmentRequest,
    responses((status = 201, body = DepartmentView), (status = 422, body = ErrorBody)))]
async fn create_department(
    State(departments): State<Departments>,
    _admin: AdminAuth,
    ApiJson(body): ApiJson<DepartmentRequest>,
) -> Result<(StatusCode, Json<DepartmentView>), ApiError> {
    let new = NewDepartment { name: body.name, kind: body.kind, area: body.area, duty_phone: body.duty_phone };
    let d = departments.create_department(new).await?;
    Ok((StatusCode::CREATED, Json(DepartmentView::of(&d))))
}

async fn all_departments(departments: &Departments) -> Result<Json<Vec<DepartmentView>>, ApiError> {
    Ok(Json(departments.departments().await?.iter().map(DepartmentView::of).collect()))
}

/// Every department, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/admin/departments", tag = "departments", security(("admin" = [])),
    responses((status = 200, body = Vec<DepartmentView>)))]
async fn list_departments(
    State(departments): State<Departments>,
    _admin: AdminAuth,
) -> Result<Json<Vec<DepartmentView>>, ApiError> {
    all_departments(&departments).await
}

/// The departments an operator may call in: those serving some place in the operator's
/// scope (their area in it, or it in their area; district-wide ones always). Empty for an
/// operator of another district's departments.
#[utoipa::path(get, path = "/api/v1/command/departments", tag = "departments", security(("operator" = []), ("admin" = [])),
    responses((status = 200, body = Vec<DepartmentView>)))]
async fn departments_for_operators(
    State(departments): State<Departments>,
    operator: OperatorAuth,
) -> Result<Json<Vec<DepartmentView>>, ApiError> {
    Ok(Json(departments.departments_in(&operator.scope).await?.iter().map(DepartmentView::of).collect()))
}

/// Which incident a mediator calls departments in for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MediatorDepartmentsQuery {
    /// An incident the mediator holds: only departments serving its place (404 for one the
    /// mediator does not hold). Absent: those serving some place in the mediator's area.
    #[serde(default)]
    pub incident_id: Option<String>,
}

/// The departments a mediator may call in: with `incident_id`, those serving that incident's
/// place (what a call-in accepts); without, those serving some place in the mediator's area
/// (every one for a mediator without an area).
#[utoipa::path(get, path = "/api/v1/mediator/departments", tag = "departments", security(("mediator" = [])),
    params(MediatorDepartmentsQuery),
    responses((status = 200, body = Vec<DepartmentView>), (status = 404, body = ErrorBody)))]
async fn departments_for_mediators(
    State(state): State<AppState>,
    MediatorAuth(me): MediatorAuth,
    super::error::ApiQuery(q): super::error::ApiQuery<MediatorDepartmentsQuery>,
) -> Result<Json<Vec<DepartmentView>>, ApiError> {
    let list = match q.incident_id {
        Some(id) => {
            let incident = incident(&state, &id).await?;
            if incident.claimed_by.as_ref() != Some(&me) {
                return Err(ApiError::not_found());
            }
            state.departments.serving(&incident.area).await?
        }
        None => {
            let area = state.accounts.get(&me).await?.and_then(|a| a.area);
            state.departments.departments_in(&area.map_or(Scope::All, Scope::Area)).await?
        }
    };
    Ok(Json(list.iter().map(DepartmentView::of).collect()))
}

/// A department account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentAccountRequest {
    /// Display name.
    pub name: String,
    /// Mainland mobile; the login name; unique.
    pub phone: String,
    /// 8..=128 characters.
    pub password: String,
    /// The WeChat openid its notices go to.
    #[serde(default)]
    pub wechat_openid: Option<String>,
}

/// Create an account of a department (role `department`; logs in with `POST /api/v1/auth/login`
/// and sees only that department's call-ins). Its `area` is the department's id.
#[utoipa::path(post, path = "/api/v1/admin/departments/{id}/accounts", tag = "departments", security(("admin" = [])),
    params(("id" = String, Path, description = "department id")), request_body = DepartmentAccountRequest,
    responses((status = 201, body = AccountView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_department_account(
    State(departments): State<Departments>,
    State(accounts): State<crate::accounts::Accounts>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DepartmentAccountRequest>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let department = departments.department(&id).await?;
    let new = NewAccount {
        name: body.name,
        phone: body.phone,
        password: Some(body.password),
        specialties: vec![],
        capacity: None,
        area: Some(department.id.to_string()),
        wechat_openid: body.wechat_openid,
    };
    let account = accounts.create(&admin.actor(), Role::Department, new).await?;
    Ok((StatusCode::CREATED, Json(AccountView::from(&account))))
}

/// A call-in request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInBody {
    /// Department ids (1 to `departments.max_per_call`; exactly one for a hand-over).
    pub departments: Vec<String>,
    /// What is asked of them (1..=`limits.note_max_chars`).
    pub note: String,
    /// `normal` (default) or `urgent`.
    #[serde(default)]
    pub urgency: Urgency,
    /// `assist` (default) or `handover` (the lead goes to the department once it takes over).
    #[serde(default)]
    pub purpose: Purpose,
}

impl From<CallInBody> for CallInRequest {
    fn from(b: CallInBody) -> Self {
        Self { departments: b.departments, note: b.note, urgency: b.urgency, purpose: b.purpose }
    }
}

fn parse_incident(id: &str) -> Result<IncidentId, ApiError> {
    IncidentId::parse(id).map_err(|_| ApiError::not_found())
}

async fn incident(state: &AppState, id: &str) -> Result<Incident, ApiError> {
    let id = parse_incident(id)?;
    Ok(state.incidents.get(&id).await?)
}

async fn visible_to(state: &AppState, operator: &OperatorAuth, id: &str) -> Result<Incident, ApiError> {
    let incident = incident(state, id).await?;
    if operator.scope.sees(&incident) { Ok(incident) } else { Err(ApiError::not_found()) }
}

fn operator_actor(operator: &OperatorAuth) -> Actor {
    let role = if operator.account.is_some() { Role::Operator } else { Role::Admin };
    Actor::account(role, &operator.account.clone().unwrap_or_else(AccountId::operations))
}

fn views(call_ins: &[crate::departments::domain::CallIn]) -> Vec<CallInView> {
    call_ins.iter().map(CallInView::of).collect()
}

/// Call departments in to an incident (吹哨): each must acknowledge and respond by its
/// deadlines (per urgency and the incident's colour, `[departments]`); reminders, overdue
/// marks (with an urging `call_in` message on the big screen) and every answer go on the
/// incident's timeline. 409 `already_called` while a department's earlier call-in is
/// unanswered; 409 `incident_closed`; 422 for a department outside the operator's scope (as
/// for one that does not exist) or one not serving the incident's area.
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/call-ins", tag = "departments", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = CallInBody,
    responses((status = 201, body = Vec<CallInView>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn call_in_by_operator(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CallInBody>,
) -> Result<(StatusCode, Json<Vec<CallInView>>), ApiError> {
    let incident = visible_to(&state, &operator, &id).await?;
    let made = state.departments.call_in(&operator_actor(&operator), &operator.scope, &incident, body.into()).await?;
    Ok((StatusCode::CREATED, Json(views(&made))))
}

/// Call departments in to an incident the mediator holds (as the command center may): any
/// department serving its area.
#[utoipa::path(post, path = "/api/v1/mediator/incidents/{id}/call-ins", tag = "departments", security(("mediator" = [])),
    params(("id" = String, Path, description = "incident id")), request_body = CallInBody,
    responses((status = 201, body = Vec<CallInView>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn call_in_by_mediator(
    State(state): State<AppState>,
    MediatorAuth(me): MediatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CallInBody>,
) -> Result<(StatusCode, Json<Vec<CallInView>>), ApiError> {
    let incident = incident(&state, &id).await?;
    if incident.claimed_by.as_ref() != Some(&me) {
        return Err(ApiError::not_found());
    }
    let by = Actor::account(Role::Mediator, &me);
    let made = state.departments.call_in(&by, &Scope::All, &incident, body.into()).await?;
    Ok((StatusCode::CREATED, Json(views(&made))))
}

/// An incident's call-ins and who leads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallInsResponse {
    /// Oldest first.
    pub call_ins: Vec<CallInView>,
    /// `department` (a hand-over was accepted, its result not yet back), `closed` (the
    /// result came back) or `not_handed_over`.
    pub lead: String,
    /// The leading department's name, if any.
    pub lead_department: Option<String>,
}

fn lead_parts(lead: Lead) -> (String, Option<String>) {
    match lead {
        Lead::Department(name) => ("department".into(), Some(name)),
        Lead::Closed(name) => ("closed".into(), Some(name)),
        Lead::NotHandedOver => ("not_handed_over".into(), None),
    }
}

/// An incident's call-ins, oldest first, and who leads it.
#[utoipa::path(get, path = "/api/v1/command/incidents/{id}/call-ins", tag = "departments", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = CallInsResponse), (status = 404, body = ErrorBody)))]
async fn list_call_ins(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CallInsResponse>, ApiError> {
    let incident = visible_to(&state, &operator, &id).await?;
    let call_ins = state.departments.of_incident(&incident.id).await?;
    let (lead, lead_department) = lead_parts(state.departments.lead(&incident.id).await?);
    Ok(Json(CallInsResponse { call_ins: views(&call_ins), lead, lead_department }))
}

/// A note (督办 order, acknowledgement, result).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Up to `limits.note_max_chars` characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// Put a call-in under supervision (督办): the department is told, the timeline records it.
#[utoipa::path(post, path = "/api/v1/command/incidents/{id}/call-ins/{call_in}/supervise", tag = "departments",
    security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "incident id"), ("call_in" = String, Path, description = "call-in id")),
    request_body = NoteBody,
    responses((status = 200, body = CallInView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn supervise_call_in(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath((id, call_in)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<CallInView>, ApiError> {
    let incident = visible_to(&state, &operator, &id).await?;
    let note = body.note.unwrap_or_default();
    let c = state.departments.supervise(&operator_actor(&operator), &incident.id, &call_in, &note).await?;
    Ok(Json(CallInView::of(&c)))
}

/// The department behind a department account.
#[utoipa::path(get, path = "/api/v1/department/me", tag = "departments", security(("department" = [])),
    responses((status = 200, body = DepartmentView), (status = 403, body = ErrorBody)))]
async fn my_department(
    State(departments): State<Departments>,
    me: DepartmentAuth,
) -> Result<Json<DepartmentView>, ApiError> {
    Ok(Json(DepartmentView::of(&departments.department(&me.department.to_string()).await?)))
}

/// One line of a department's queue: the call-in and what it is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueItem {
    /// The call-in.
    pub call_in: CallInView,
    /// The incident (the resident's phone masked).
    pub incident: Option<IncidentView>,
}

async fn queue_items(
    state: &AppState,
    department: &crate::domain::ids::DepartmentId,
) -> Result<Vec<QueueItem>, ApiError> {
    let call_ins = state.departments.queue(department).await?;
    let ids: Vec<IncidentId> = call_ins.iter().map(|c| c.incident_id.clone()).collect();
    let incidents = state.incidents.get_many(&ids).await?;
    Ok(call_ins
        .iter()
        .map(|c| QueueItem {
            call_in: CallInView::of(c),
            incident: incidents.iter().find(|i| i.id == c.incident_id).map(IncidentView::masked),
        })
        .collect())
}

/// The department's queue: every call-in to it, oldest first, with its incident.
#[utoipa::path(get, path = "/api/v1/department/call-ins", tag = "departments", security(("department" = [])),
    responses((status = 200, body = Vec<QueueItem>), (status = 403, body = ErrorBody)))]
async fn my_queue(State(state): State<AppState>, me: DepartmentAuth) -> Result<Json<Vec<QueueItem>>, ApiError> {
    Ok(Json(queue_items(&state, &me.department).await?))
}

/// An incident as a department sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalledIncident {
    /// The incident (the resident's phone masked).
    pub incident: IncidentView,
    /// Its timeline.
    pub timeline: Vec<TimelineEntry>,
}

/// An incident the department was called in to (404 for any other).
#[utoipa::path(get, path = "/api/v1/department/incidents/{id}", tag = "departments", security(("department" = [])),
    params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = CalledIncident), (status = 404, body = ErrorBody)))]
async fn called_incident(
    State(state): State<AppState>,
    me: DepartmentAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CalledIncident>, ApiError> {
    let id = parse_incident(&id)?;
    if !state.departments.was_called(&me.department, &id).await? {
        return Err(ApiError::not_found());
    }
    let incident = state.incidents.get(&id).await?;
    let timeline = state.incidents.timeline(&id).await?;
    Ok(Json(CalledIncident { incident: IncidentView::masked(&incident), timeline }))
}

/// Acknowledge a call-in (报到), with an optional note.
#[utoipa::path(post, path = "/api/v1/department/call-ins/{id}/acknowledge", tag = "departments", security(("department" = [])),
    params(("id" = String, Path, description = "call-in id")), request_body = NoteBody,
    responses((status = 200, body = CallInView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn acknowledge(
    State(departments): State<Departments>,
    me: DepartmentAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<CallInView>, ApiError> {
    let c = departments.acknowledge(&me.department, &me.account, &id, body.note.as_deref()).await?;
    Ok(Json(CallInView::of(&c)))
}

/// A department's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondBody {
    /// `arrived`, `opinion`, `took_over` (a hand-over's acceptance) or `declined` (needs a note).
    pub response: ResponseKind,
    /// The opinion, or the reason for declining.
    #[serde(default)]
    pub note: Option<String>,
}

/// Respond to a call-in (acknowledging it too if it was not yet). 409 once answered.
#[utoipa::path(post, path = "/api/v1/department/call-ins/{id}/respond", tag = "departments", security(("department" = [])),
    params(("id" = String, Path, description = "call-in id")), request_body = RespondBody,
    responses((status = 200, body = CallInView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn respond(
    State(departments): State<Departments>,
    me: DepartmentAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RespondBody>,
) -> Result<Json<CallInView>, ApiError> {
    let c = departments.respond(&me.department, &me.account, &id, body.response, body.note.as_deref()).await?;
    Ok(Json(CallInView::of(&c)))
}

/// Record the final result of a hand-over the department took over (闭环). 409 unless it
/// leads the incident.
#[utoipa::path(post, path = "/api/v1/department/call-ins/{id}/result", tag = "departments", security(("department" = [])),
    params(("id" = String, Path, description = "call-in id")), request_body = NoteBody,
    responses((status = 200, body = CallInView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_result(
    State(departments): State<Departments>,
    me: DepartmentAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<CallInView>, ApiError> {
    let c = departments.record_result(&me.department, &me.account, &id, body.note.as_deref().unwrap_or("")).await?;
    Ok(Json(CallInView::of(&c)))
}

/// The department's socket (token in `?access_token=`): on connect a `queue` message with its
/// queue, then a `call_in` message (`step`, `urging`, `call_in`) for every change to one of
/// its call-ins, on whichever instance it happens. Close codes as the mediator's socket.
#[utoipa::path(get, path = "/api/v1/department/ws", tag = "departments", security(("department" = [])),
    params(("access_token" = Option<String>, Query, description = "JWT, for browsers that cannot set headers")),
    responses((status = 101, description = "switching protocols"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn department_socket(
    State(state): State<AppState>,
    me: DepartmentAuth,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    ws::check_origin(&headers, &state.settings)?;
    // Registered before the queue is read, so no change falls in between.
    let subscription = state.hub.register_mediator(&me.account);
    let items = queue_items(&state, &me.department).await?;
    let first = vec![wire::to_json(&serde_json::json!({ "type": "queue", "items": items }))];
    let session = ws::Session::new(&state.settings, state.shutdown.clone(), first, me.valid_until);
    Ok(ws::limits(upgrade, ws::Peer::Phone)
        .on_upgrade(move |socket| async move {
            ws::pump(socket, subscription, session, |_| async { Inbound::Quiet }).await;
        })
        .into_response())
}

/// Who has a resident's report now.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadResponse {
    /// `department` (handed over to it), `closed` (its result came back) or `not_handed_over`.
    pub lead: String,
    /// That department's name.
    pub department: Option<String>,
}

/// Who has the report now (for the resident's tracking page).
#[utoipa::path(get, path = "/api/v1/track/{tracking_token}/lead", tag = "resident",
    params(("tracking_token" = String, Path, description = "tracking token")),
    responses((status = 200, body = LeadResponse), (status = 404, body = ErrorBody)))]
async fn who_leads(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<LeadResponse>, ApiError> {
    let incident = state.incidents.tracked(&token).await?;
    let (lead, department) = lead_parts(state.departments.lead(&incident.id).await?);
    Ok(Json(LeadResponse { lead, department }))
}

/// The outbound webhook delivery log, newest first (the last 1,000 attempts): each event's
/// attempts, their outcome (`delivered <status>`, `failed <status or error>; retry`,
/// `gave up: …`).
#[utoipa::path(get, path = "/api/v1/admin/webhooks/deliveries", tag = "departments", security(("admin" = [])),
    responses((status = 200, body = Vec<crate::departments::store::DeliveryLine>)))]
async fn webhook_deliveries(
    State(departments): State<Departments>,
    _admin: AdminAuth,
) -> Result<Json<Vec<crate::departments::store::DeliveryLine>>, ApiError> {
    Ok(Json(departments.delivery_log(crate::departments::store::DELIVERY_LOG_KEEP).await?))
}

async fn assess(
    state: &AppState,
    q: &super::command_center::StatsQuery,
) -> Result<(String, String, Vec<crate::departments::assessment::DepartmentFigures>), ApiError> {
    let today = crate::dispatch::stats::today(state.clock.now());
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or_else(|| to.first_of_month());
    if to.since(from).map_or(true, |span| span.get_days() > 366 || span.get_days() < 0) {
        return Err(ApiError::invalid("from", "the range must be 0..=366 days, from ≤ to"));
    }
    let (start, end) =
        crate::dispatch::stats::day_bounds(from, to).map_err(|_| ApiError::invalid("to", "a day out of range"))?;
    Ok((from.to_string(), to.to_string(), state.departments.assess(start, end).await?))
}

/// Each department's assessment (考核) for the call-ins made in the days `from..=to`
/// (Asia/Shanghai, default this month): call-ins, acknowledged and answered on time, declined,
/// median times (nearest rank), hand-overs taken over and closed, still open, and the
/// residents' follow-up ratings (count, mean of 1–5) of the incidents it led (took over).
#[utoipa::path(get, path = "/api/v1/command/departments/assessment", tag = "departments",
    security(("operator" = []), ("admin" = [])), params(super::command_center::StatsQuery),
    responses((status = 200, body = Vec<crate::departments::assessment::DepartmentFigures>), (status = 422, body = ErrorBody)))]
async fn assessment(
    State(state): State<AppState>,
    _operator: OperatorAuth,
    super::error::ApiQuery(q): super::error::ApiQuery<super::command_center::StatsQuery>,
) -> Result<Json<Vec<crate::departments::assessment::DepartmentFigures>>, ApiError> {
    Ok(Json(assess(&state, &q).await?.2))
}

/// The same figures as CSV for Excel (UTF-8 with BOM, CRLF).
#[utoipa::path(get, path = "/api/v1/command/departments/assessment.csv", tag = "departments",
    security(("operator" = []), ("admin" = [])), params(super::command_center::StatsQuery),
    responses((status = 200, content_type = "text/csv", description = "one row per department"), (status = 422, body = ErrorBody)))]
async fn assessment_csv(
    State(state): State<AppState>,
    _operator: OperatorAuth,
    super::error::ApiQuery(q): super::error::ApiQuery<super::command_center::StatsQuery>,
) -> Result<Response, ApiError> {
    let (from, to, figures) = assess(&state, &q).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"departments-{from}-{to}.csv\"")),
    ];
    Ok((headers, crate::departments::assessment::to_csv(&figures)).into_response())
}

/// The departments to call in for an incident, from the routing table
/// (`[[departments.routing]]`: category or keywords → kinds), the police station first for a
/// red incident naming violence (警调联动); one per kind, only among the departments serving
/// the incident's area (empty when none does).
#[utoipa::path(get, path = "/api/v1/command/incidents/{id}/department-suggestions", tag = "departments",
    security(("operator" = []), ("admin" = [])), params(("id" = String, Path, description = "incident id")),
    responses((status = 200, body = Vec<crate::departments::routing::Suggested>), (status = 404, body = ErrorBody)))]
async fn suggest_departments(
    State(state): State<AppState>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<crate::departments::routing::Suggested>>, ApiError> {
    let incident = visible_to(&state, &operator, &id).await?;
    Ok(Json(state.departments.suggestions(&incident).await?))
}
