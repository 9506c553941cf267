//! Routing suggestions (派单目录): which departments to call in for an incident, from a table
//! of categories and keywords (seeded from `[[departments.routing]]`, then kept by admins as a
//! versioned [`RoutingTable`] checked by [`check_rules`]), and the police station at once for
//! a red incident whose description names violence (警调联动), among the departments that
//! serve the incident's place. Pure.

use super::domain::{Department, DepartmentKind};
use crate::domain::category::{Category, Risk};
use crate::domain::incident::Incident;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One row of the table: a match on the category or any keyword suggests these kinds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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

/// The routing table as stored: its rules and a version that every save bumps (a save based
/// on an older version is refused, so two admins cannot overwrite each other unseen).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoutingTable {
    /// 1 for the first stored table (0: the configured default, never stored).
    pub version: u64,
    /// The rules, in the order their kinds are suggested.
    pub rules: Vec<RoutingRule>,
    /// When it was saved (None: the configured default).
    pub saved_at: Option<jiff::Timestamp>,
    /// Who saved it: an admin's account id, or `config` for the seed.
    pub saved_by: String,
}

/// At most this many rules in the table.
pub const MAX_RULES: usize = 100;
/// At most this many keywords in one rule.
pub const MAX_KEYWORDS_PER_RULE: usize = 30;
/// A keyword is at most this many characters.
pub const KEYWORD_MAX_CHARS: usize = 20;
/// At most this many department kinds in one rule.
pub const MAX_KINDS_PER_RULE: usize = 8;

/// One rule as an admin sends it: names not yet known to be categories or kinds.
#[derive(Debug, Clone, Default)]
pub struct RawRule {
    /// Category names (`wages`, `property`, …).
    pub categories: Vec<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Department kind names (`labour_inspection`, …).
    pub kinds: Vec<String>,
}

/// Why a routing table is refused (nothing is saved). `rule` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// More than [`MAX_RULES`] rules.
    #[error("at most {MAX_RULES} rules")]
    TooManyRules,
    /// A category name that is not one.
    #[error("rule {rule}: unknown category {name:?}")]
    UnknownCategory {
        /// Which rule.
        rule: usize,
        /// The name given (cut to 40 characters).
        name: String,
    },
    /// A department kind name that is not one.
    #[error("rule {rule}: unknown department kind {name:?}")]
    UnknownKind {
        /// Which rule.
        rule: usize,
        /// The name given (cut to 40 characters).
        name: String,
    },
    /// A rule with neither a category nor a keyword would never match.
    #[error("rule {rule}: needs a category or a keyword")]
    MatchesNothing {
        /// Which rule.
        rule: usize,
    },
    /// A rule suggesting no kind (or more than [`MAX_KINDS_PER_RULE`]).
    #[error("rule {rule}: needs 1 to {MAX_KINDS_PER_RULE} department kinds")]
    KindCount {
        /// Which rule.
        rule: usize,
    },
    /// More than [`MAX_KEYWORDS_PER_RULE`] keywords.
    #[error("rule {rule}: at most {MAX_KEYWORDS_PER_RULE} keywords")]
    TooManyKeywords {
        /// Which rule.
        rule: usize,
    },
    /// An empty keyword, one longer than [`KEYWORD_MAX_CHARS`], or one with control characters.
    #[error("rule {rule}: keywords are 1 to {KEYWORD_MAX_CHARS} characters, without control characters")]
    BadKeyword {
        /// Which rule.
        rule: usize,
    },
}

impl RoutingError {
    /// A stable code for the API.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyRules => "too_many_rules",
            Self::UnknownCategory { .. } => "unknown_category",
            Self::UnknownKind { .. } => "unknown_department_kind",
            Self::MatchesNothing { .. } => "rule_matches_nothing",
            Self::KindCount { .. } => "rule_kind_count",
            Self::TooManyKeywords { .. } => "too_many_keywords",
            Self::BadKeyword { .. } => "bad_keyword",
        }
    }
}

fn named<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).ok()
}

/// The rules `raw` names, checked: known categories and kinds, keywords trimmed (repeats and
/// repeated kinds dropped), within the limits.
///
/// # Errors
/// The first [`RoutingError`] found.
pub fn check_rules(raw: Vec<RawRule>) -> Result<Vec<RoutingRule>, RoutingError> {
    if raw.len() > MAX_RULES {
        return Err(RoutingError::TooManyRules);
    }
    let cut = |s: &str| s.chars().take(40).collect::<String>();
    let mut rules = vec![];
    for (i, r) in raw.into_iter().enumerate() {
        let rule = i + 1;
        let mut categories: Vec<Category> = vec![];
        for name in &r.categories {
            let c = named(name).ok_or_else(|| RoutingError::UnknownCategory { rule, name: cut(name) })?;
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
        let mut kinds: Vec<DepartmentKind> = vec![];
        for name in &r.kinds {
            let k = named(name).ok_or_else(|| RoutingError::UnknownKind { rule, name: cut(name) })?;
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        if r.keywords.len() > MAX_KEYWORDS_PER_RULE {
            return Err(RoutingError::TooManyKeywords { rule });
        }
        let mut keywords: Vec<String> = vec![];
        for w in &r.keywords {
            let w = w.trim();
            let n = w.chars().count();
            if n == 0 || n > KEYWORD_MAX_CHARS || w.chars().any(char::is_control) {
                return Err(RoutingError::BadKeyword { rule });
            }
            if !keywords.iter().any(|k| k == w) {
                keywords.push(w.to_owned());
            }
        }
        if categories.is_empty() && keywords.is_empty() {
            return Err(RoutingError::MatchesNothing { rule });
        }
        if kinds.is_empty() || kinds.len() > MAX_KINDS_PER_RULE {
            return Err(RoutingError::KindCount { rule });
        }
        rules.push(RoutingRule { categories, keywords, kinds });
    }
    Ok(rules)
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
