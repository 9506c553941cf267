//! The command center's people: the signed-in operator (who they are and which area they
//! see, so the screen can say when that area is unknown instead of showing nothing), the
//! mediators they direct (free, busy, off duty; phone tail and home area), and calling one
//! through an audited reveal of their number.

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::state::AppState;
use crate::accounts::Accounts;
use crate::dispatch::{Actor, Scope};
use crate::domain::account::Role;
use crate::domain::area::{AreaLevel, EVERY_DISTRICT};
use crate::domain::ids::{AccountId, IncidentId};
use crate::push::wire::MediatorPosition;
use crate::services::{Areas, Incidents, Presence};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes for the operator's session and roster.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(who_am_i)).routes(routes!(list_roster)).routes(routes!(reveal_mediator_phone))
}

/// What this operator's account says about their area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaStatus {
    /// No area: they see the whole deployment.
    None,
    /// An area that exists: they see it and what lies below.
    Known,
    /// An area code no uploaded area has: they see nothing until an admin fixes the account
    /// or uploads the area.
    Unknown,
}

/// The signed-in operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorSession {
    /// Account id (null for an operations admin token).
    pub id: Option<String>,
    /// Their name (null for an operations admin token).
    pub name: Option<String>,
    /// The area code their account names.
    pub area: Option<String>,
    /// That area's name, when it exists.
    pub area_name: Option<String>,
    /// That area's level, when it exists.
    pub area_level: Option<AreaLevel>,
    /// Whether the area exists.
    pub area_status: AreaStatus,
    /// Whether they see everything (a district-wide operator or admin).
    pub sees_all: bool,
}

/// Who is signed in and which area they see. The screen shows a banner when `area_status` is
/// `unknown` (the account names an area that does not exist: it would see nothing); an operator
/// refused the screen altogether gets 403 (`no_area`), which the screen shows the same way.
#[utoipa::path(get, path = "/api/v1/command/me", tag = "command", security(("operator" = []), ("admin" = [])),
    responses((status = 200, body = OperatorSession), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn who_am_i(
    State(accounts): State<Accounts>,
    State(areas): State<Areas>,
    operator: OperatorAuth,
) -> Result<Json<OperatorSession>, ApiError> {
    let name = match &operator.account {
        Some(id) => accounts.get(id).await?.map(|a| a.name),
        None => None,
    };
    let areas = areas.map();
    // Admins and operators of every district name `*`: no area of their own, like none.
    let named = operator.area.as_deref().filter(|code| *code != EVERY_DISTRICT);
    let area = named.and_then(|code| areas.get(code));
    let area_status = match (named, area) {
        (None, _) => AreaStatus::None,
        (Some(_), Some(_)) => AreaStatus::Known,
        (Some(_), None) => AreaStatus::Unknown,
    };
    Ok(Json(OperatorSession {
        id: operator.account.as_ref().map(ToString::to_string),
        name,
        area: named.map(str::to_owned),
        area_name: area.map(|a| a.name.clone()),
        area_level: area.map(|a| a.level),
        area_status,
        sees_all: operator.scope == Scope::All,
    }))
}

/// Free, busy (holding an incident) or off duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediatorState {
    /// On duty, holding nothing.
    Free,
    /// Holding at least one incident (on duty or not).
    Busy,
    /// Off duty (or silent for longer than `dispatch.stale_after`), holding nothing.
    OffDuty,
}

/// One mediator the operator directs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterRow {
    /// Account id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The last four digits of their phone, to tell people of one name apart.
    pub phone_tail: String,
    /// Home area code, if any.
    pub area: Option<String>,
    /// Free, busy or off duty.
    pub state: MediatorState,
    /// On duty with a fresh position.
    pub on_duty: bool,
    /// Incidents held now.
    pub holds: u32,
    /// Most incidents they may hold.
    pub capacity: u32,
    /// Where they are, while on duty.
    pub position: Option<MediatorPosition>,
}

/// The mediators this operator directs (home area in the operator's area, or last seen there
/// when they have none), by name; free, busy and off duty.
#[utoipa::path(get, path = "/api/v1/command/roster", tag = "command", security(("operator" = []), ("admin" = [])),
    responses((status = 200, body = Vec<RosterRow>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_roster(State(state): State<AppState>, operator: OperatorAuth) -> Result<Json<Vec<RosterRow>>, ApiError> {
    let roster = state.presence.roster(&operator.scope).await?;
    Ok(Json(
        roster
            .into_iter()
            .map(|e| {
                let full = e.account.phone.full();
                let state = match (e.holds, e.on_duty) {
                    (0, true) => MediatorState::Free,
                    (0, false) => MediatorState::OffDuty,
                    _ => MediatorState::Busy,
                };
                RosterRow {
                    id: e.account.id.to_string(),
                    name: e.account.name.clone(),
                    phone_tail: full[full.len().saturating_sub(4)..].to_owned(),
                    area: e.account.area.clone(),
                    state,
                    on_duty: e.on_duty,
                    holds: e.holds,
                    capacity: e.account.capacity,
                    position: e.fix.filter(|_| e.on_duty).map(|f| MediatorPosition::new(&e.account.id, &f)),
                }
            })
            .collect(),
    ))
}

/// Which incident the call is about.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallMediatorRequest {
    /// The incident (one this operator sees); the reveal is recorded in its timeline.
    pub incident_id: String,
}

/// A mediator's full phone number.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediatorPhone {
    /// Full number, for a `tel:` link.
    pub phone: String,
}

/// Reveal a mediator's full phone number so the operator can call them about an incident;
/// every reveal is recorded in that incident's timeline (who, whose number, when). The mediator
/// must hold or have been offered the incident, or be one this operator directs (404 otherwise,
/// as for an unknown mediator or an incident the operator does not see).
#[utoipa::path(post, path = "/api/v1/command/mediators/{id}/reveal-phone", tag = "command", security(("operator" = []), ("admin" = [])),
    params(("id" = String, Path, description = "mediator id")), request_body = CallMediatorRequest,
    responses((status = 200, body = MediatorPhone), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reveal_mediator_phone(
    State(incidents): State<Incidents>,
    State(presence): State<Presence>,
    operator: OperatorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CallMediatorRequest>,
) -> Result<Response, ApiError> {
    let mediator = AccountId::parse(&id).map_err(|_| ApiError::not_found())?;
    let incident = IncidentId::parse(&body.incident_id).map_err(|_| ApiError::not_found())?;
    let scope = &operator.scope;
    incidents.ensure_visible(scope, &incident).await?;
    let actor = match &operator.account {
        Some(account) => Actor::account(Role::Operator, account),
        None => Actor::account(Role::Admin, &AccountId::operations()),
    };
    let phone = presence.reveal_mediator_phone(&actor, scope, &incident, &mediator).await?;
    let mut response = Json(MediatorPhone { phone }).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}
