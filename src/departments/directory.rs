//! Which departments serve a place (what a mediator is offered for an incident), and changing
//! a department's particulars (admins): its name, kind, area served and duty number, checked
//! as on creation. Call-ins already made keep the name they were made with; what the
//! routing table suggests follows the kind at once.

use super::domain::{Department, DepartmentKind};
use super::{DepartmentError, Departments, NewDepartment};

/// What an admin changes of a department (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct DepartmentChange {
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<DepartmentKind>,
    /// The area code served; empty: the whole district.
    pub area: Option<String>,
    /// New duty number.
    pub duty_phone: Option<String>,
}

impl Departments {
    /// The departments serving `place` (what a call-in to an incident there accepts), oldest
    /// first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn serving(&self, place: &crate::domain::area::AreaPath) -> Result<Vec<Department>, DepartmentError> {
        Ok(self.store().list_departments().await?.into_iter().filter(|d| d.serves(place)).collect())
    }

    /// Change department `id` (given as in the path).
    ///
    /// # Errors
    /// `NotFound`, `Invalid` (name, duty phone, area: nothing changes), `Store`.
    pub async fn update_department(&self, id: &str, change: DepartmentChange) -> Result<Department, DepartmentError> {
        let before = self.department(id).await?;
        let wanted = NewDepartment {
            name: change.name.unwrap_or_else(|| before.name.clone()),
            kind: change.kind.unwrap_or(before.kind),
            area: change.area.or_else(|| before.area.clone()),
            duty_phone: change.duty_phone.unwrap_or_else(|| before.duty_phone.as_str().to_owned()),
        };
        let department = Department { id: before.id, created_at: before.created_at, ..self.checked(wanted)? };
        self.store().put_department(&department).await?;
        tracing::info!(department_id = %department.id, "department changed");
        Ok(department)
    }
}
