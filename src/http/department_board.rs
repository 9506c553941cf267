//! The command center's department board (联调联处, issue #21): every call-in still waiting
//! for its department's answer, on incidents the operator sees, with the incident, for the big
//! screen. Changes then arrive over the screen's socket as `call_in` messages.

use super::auth::OperatorAuth;
use super::error::ApiError;
use super::state::AppState;
use crate::departments::view::CallInView;
use crate::domain::ids::IncidentId;
use crate::push::wire::IncidentView;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The department board's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(open_call_ins))
}

/// One line of the board: an open call-in and what it is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardLine {
    /// The call-in (`state` `called` or `acknowledged`; `ack_overdue`/`respond_overdue` once a
    /// deadline passed).
    pub call_in: CallInView,
    /// Its incident (the resident's phone masked).
    pub incident: IncidentView,
}

/// Every open call-in (not yet answered by its department), oldest first, on the incidents
/// this operator sees: the big screen's department board, grouped there by department.
#[utoipa::path(get, path = "/api/v1/command/call-ins", tag = "departments", security(("operator" = []), ("admin" = [])),
    responses((status = 200, body = Vec<BoardLine>)))]
async fn open_call_ins(
    State(state): State<AppState>,
    operator: OperatorAuth,
) -> Result<Json<Vec<BoardLine>>, ApiError> {
    let mut open = vec![];
    for department in state.departments.departments().await? {
        open.extend(state.departments.queue(&department.id).await?.into_iter().filter(|c| c.is_open()));
    }
    open.sort_by(|a, b| a.id.cmp(&b.id));
    let mut ids: Vec<IncidentId> = open.iter().map(|c| c.incident_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let incidents = state.incidents.get_many(&ids).await?;
    Ok(Json(
        open.iter()
            .filter_map(|c| {
                let incident = incidents.iter().find(|i| i.id == c.incident_id && operator.scope.sees(i))?;
                Some(BoardLine { call_in: CallInView::of(c), incident: IncidentView::masked(incident) })
            })
            .collect(),
    ))
}
