//! Routing suggestions (派单目录): which departments to call in for an incident, from a table
//! of categories and keywords (`[[departments.routing]]`), and the police station at once for
//! a red incident whose description names violence (警调联动). Pure.

use super::domain::{Department, DepartmentKind};
use crate::domain::category::{Category, Risk};
use crate::domain::incident::Incident;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One row of the table: a match on the category or any keyword suggests these kinds.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoutingRule {
    /// Categories that match.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Words in the description that match (case-insensitive substrings).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The kinds of department suggested, in order.
    pub kinds: Vec<DepartmentKind>,
}

/// One suggested department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suggested {
    /// Department id.
    pub department_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: DepartmentKind,
    /// Why: `violence_on_red`, `category` or `keyword:<word>`.
    pub reason: String,
}

/// The departments suggested for `incident`, most pressing first, each once: the police
/// station for red with a violence keyword, then the table's kinds in rule order; a
/// department serving the incident's area (or the whole district) before others of its kind.
#[must_use]
pub fn suggest(
    incident: &Incident,
    rules: &[RoutingRule],
    violence_keywords: &[String],
    departments: &[Department],
) -> Vec<Suggested> {
    let text = incident.description.to_lowercase();
    let has = |w: &String| !w.trim().is_empty() && text.contains(&w.to_lowercase());
    let mut wanted: Vec<(DepartmentKind, String)> = vec![];
    if incident.risk == Risk::Red
        && let Some(w) = violence_keywords.iter().find(|w| has(w))
    {
        wanted.push((DepartmentKind::PoliceStation, format!("violence_on_red:{w}")));
    }
    for rule in rules {
        let reason = if rule.categories.contains(&incident.category) {
            Some("category".to_owned())
        } else {
            rule.keywords.iter().find(|w| has(w)).map(|w| format!("keyword:{w}"))
        };
        if let Some(reason) = reason {
            wanted.extend(rule.kinds.iter().map(|k| (*k, reason.clone())));
        }
    }
    let serves = |d: &Department| match &d.area {
        None => true,
        Some(code) => [&incident.area.district, &incident.area.street, &incident.area.community, &incident.area.grid]
            .into_iter()
            .any(|c| c.as_deref() == Some(code.as_str())),
    };
    let mut out: Vec<Suggested> = vec![];
    for (kind, reason) in wanted {
        let mut of_kind: Vec<&Department> = departments.iter().filter(|d| d.kind == kind).collect();
        of_kind.sort_by_key(|d| !serves(d));
        if let Some(d) = of_kind.into_iter().find(|d| out.iter().all(|s| s.department_id != d.id.to_string())) {
            out.push(Suggested { department_id: d.id.to_string(), name: d.name.clone(), kind, reason });
        }
    }
    out
}
