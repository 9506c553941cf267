//! Admins read and replace the departments' routing table (派单目录, issue #21): category or
//! keywords → the department kinds suggested in the command center's call-in panel. The whole
//! table at once, over the version read (409 `stale_version` when someone saved since), each
//! save audited; every instance suggests from it at once (it is read through, uncached).

use super::auth::AdminAuth;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::state::AppState;
use crate::departments::routing::{RawRule, RoutingRule, RoutingTable};
use crate::domain::audit::AuditAction;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routing-table routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_routing, put_routing))
}

/// One rule: an incident of one of `categories`, or whose description contains one of
/// `keywords` (case-insensitive), suggests a department of each of `kinds`, in order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleBody {
    /// Categories (`wages`, `property`, `traffic`, …).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Keywords, 1–20 characters each, at most 30.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Department kinds (`police_station`, `labour_inspection`, …), 1–8.
    pub kinds: Vec<String>,
}

impl RoutingRuleBody {
    fn of(rule: &RoutingRule) -> Self {
        let name = |v: serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_default();
        let names = |v: Result<serde_json::Value, _>| match v {
            Ok(serde_json::Value::Array(a)) => a.into_iter().map(name).collect(),
            _ => vec![],
        };
        Self {
            categories: names(serde_json::to_value(&rule.categories)),
            keywords: rule.keywords.clone(),
            kinds: names(serde_json::to_value(&rule.kinds)),
        }
    }
}

/// The routing table in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingTableView {
    /// Send it back with a change (0: the configured default, nothing saved yet).
    pub version: u64,
    /// The rules, in the order their kinds are suggested.
    pub rules: Vec<RoutingRuleBody>,
    /// When it was saved (absent: the configured default).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub saved_at: Option<jiff::Timestamp>,
    /// Who saved it: an admin's id, or `config`.
    pub saved_by: String,
}

impl RoutingTableView {
    fn of(t: &RoutingTable) -> Self {
        Self {
            version: t.version,
            rules: t.rules.iter().map(RoutingRuleBody::of).collect(),
            saved_at: t.saved_at,
            saved_by: t.saved_by.clone(),
        }
    }
}

/// A whole new routing table.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingTableRequest {
    /// The version it was read at.
    pub version: u64,
    /// At most 100 rules.
    pub rules: Vec<RoutingRuleBody>,
}

/// The routing table in force (admins).
#[utoipa::path(get, path = "/api/v1/admin/routing", tag = "departments", security(("admin" = [])),
    responses((status = 200, body = RoutingTableView)))]
async fn get_routing(State(state): State<AppState>, _admin: AdminAuth) -> Result<Json<RoutingTableView>, ApiError> {
    Ok(Json(RoutingTableView::of(&state.departments.routing_table().await?)))
}

/// Replace the routing table (admins), over the version read. A bad rule saves nothing: 400
/// with `unknown_category`, `unknown_department_kind`, `rule_matches_nothing`,
/// `rule_kind_count`, `too_many_keywords`, `bad_keyword` or `too_many_rules`; someone else's
/// save since: 409 `stale_version`.
#[utoipa::path(put, path = "/api/v1/admin/routing", tag = "departments", security(("admin" = [])),
    request_body = RoutingTableRequest,
    responses((status = 200, body = RoutingTableView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put_routing(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(body): ApiJson<RoutingTableRequest>,
) -> Result<Json<RoutingTableView>, ApiError> {
    let rules = body
        .rules
        .into_iter()
        .map(|r| RawRule { categories: r.categories, keywords: r.keywords, kinds: r.kinds })
        .collect();
    let table = state.departments.replace_routing(body.version, rules, &admin.sub).await?;
    let (version, name) = (table.version.to_string(), format!("v{}", table.version));
    state.accounts.record(&admin.actor(), AuditAction::RoutingSaved, "routing", &version, &name).await?;
    Ok(Json(RoutingTableView::of(&table)))
}
