//! What staff are shown of departments and call-ins (on the API and on sockets; a call-in's
//! view is the push edge's, which renders it for sockets).

use super::domain::{Department, DepartmentKind};
pub use crate::push::call_in::CallInView;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A department.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DepartmentView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: DepartmentKind,
    /// The kind's Chinese label.
    pub kind_label: String,
    /// Area code served (absent: the whole district).
    pub area: Option<String>,
    /// Duty number.
    pub duty_phone: String,
    /// Created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl DepartmentView {
    /// The view of `d`.
    #[must_use]
    pub fn of(d: &Department) -> Self {
        Self {
            id: d.id.to_string(),
            name: d.name.clone(),
            kind: d.kind,
            kind_label: d.kind.label().to_owned(),
            area: d.area.clone(),
            duty_phone: d.duty_phone.as_str().to_owned(),
            created_at: d.created_at,
        }
    }
}
