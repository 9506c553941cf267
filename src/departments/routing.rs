//! Routing suggestions (派单目录): which departments to call in for an incident, from a table
//! of categories and keywords (`[[departments.routing]]`), and the police station at once for
//! a red incident whose description names violence (警调联动), among the departments that
//! serve the incident's place. Pure.

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

/// The departments suggested for `incident`, most pressing first, one of each kind: the
/// police station for red with a violence keyword, then the table's kinds in rule order; only
/// departments serving the incident's place (its area or one above it, or the whole
/// district), the oldest of a kind first.
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
    let mut out: Vec<Suggested> = vec![];
    for (kind, reason) in wanted {
        if out.iter().any(|s| s.kind == kind) {
            continue;
        }
        if let Some(d) = departments.iter().find(|d| d.kind == kind && d.serves(&incident.area)) {
            out.push(Suggested { department_id: d.id.to_string(), name: d.name.clone(), kind, reason });
        }
    }
    out
}
