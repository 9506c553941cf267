//! Joint handling (联调联处, issue #21): departments, call-ins (吹哨) with deadlines to
//! acknowledge (报到) and respond, reminders, overdue marks that urge the command center,
//! supervision (督办), and hand-over of the lead with its result coming back (闭环).
//!
//! Its own room: pure types in [`domain`], settings in [`config`], its storage port in
//! [`store`] (memory and Redis beside the incident store, sharing its timer set, timelines and
//! bus), and the [`Departments`] service handle; who hears of a step in `notices.rs` (screens
//! and the department's sockets over the bus, its accounts by WeChat), outbound webhooks in
//! `webhook.rs`. Call-in deadlines are durable timers with a sub-key (the call-in), fired by
//! the shared timer runner through [`Departments`]'s [`crate::timers::TimerHandler`]: claimed
//! with a lease, applied under the call-in's version, so each fires once however many
//! instances run. It reads incidents and accounts through the
//! dispatch layer and never writes an incident.
//!
//! Here the service handle with its departments and reads; its call-in commands (calling in,
//! the department's answers, supervision: each one write under the call-in's version) in
//! `call_in.rs`; its deadlines fired by the shared timer runner in `timers.rs`.

pub mod assessment;
mod call_in;
pub mod config;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod directory;
pub mod domain;
pub mod memory;
mod notices;
pub mod redis;
pub mod routing;
mod routing_table;
pub mod store;
mod timers;

pub use call_in::CallInRequest;

use crate::dispatch::Dispatcher;
use crate::domain::area::Scope;
use crate::domain::ids::{DepartmentId, IncidentId};
use crate::domain::incident::Incident;
use crate::store::{Directory, IncidentStore, Ports, StoreError};
use domain::{CallIn, CallInError, Department, DepartmentKind, DutyPhone, Purpose, ResponseKind};
use std::sync::Arc;
use store::{DeliveryLine, DepartmentStore};

/// Why a department use case failed.
#[derive(Debug, thiserror::Error)]
pub enum DepartmentError {
    /// No such department, call-in or incident, or not the caller's.
    #[error("not found")]
    NotFound,
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The call-in is not in a state for this.
    #[error(transparent)]
    State(#[from] CallInError),
    /// The department already has an open call-in on this incident.
    #[error("{0} is already called in to this incident and has not answered yet")]
    AlreadyCalled(String),
    /// The incident is closed.
    #[error("the incident is closed")]
    IncidentClosed,
    /// Too many concurrent writers; try again.
    #[error("the call-in is changing too fast; retry")]
    Contended,
    /// A routing table with a bad rule.
    #[error(transparent)]
    Routing(#[from] routing::RoutingError),
    /// The routing table was saved by someone else since it was read.
    #[error("the routing table changed since it was read (now version {current}); reload it")]
    StaleRouting {
        /// The version in force now.
        current: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DepartmentError {
    fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }
}

/// A department as an admin creates it.
#[derive(Debug, Clone)]
pub struct NewDepartment {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: DepartmentKind,
    /// Area code served.
    pub area: Option<String>,
    /// Duty number.
    pub duty_phone: String,
}

/// Who leads an incident now, for the resident and the screens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lead {
    /// A department that accepted a hand-over and has not yet recorded its result.
    Department(String),
    /// A department whose hand-over result came back (closed there).
    Closed(String),
    /// Nobody was handed it.
    NotHandedOver,
}

/// The departments service. Cheap to clone.
#[derive(Clone)]
pub struct Departments {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn DepartmentStore>,
    dispatcher: Dispatcher,
    /// The incidents called in for (their places, the cases a department led).
    incidents: Arc<dyn IncidentStore>,
    /// Departments' accounts (whom a call-in notifies).
    directory: Arc<dyn Directory>,
    /// Outbound webhooks (each attempt bounded by `departments.webhook.timeout`).
    http: reqwest::Client,
}

impl Departments {
    /// The service over `store`, reading incidents and accounts from `ports`, time, areas
    /// and settings through `dispatcher`.
    #[must_use]
    pub fn new(store: Arc<dyn DepartmentStore>, dispatcher: Dispatcher, ports: &Ports) -> Self {
        let timeout = dispatcher.settings().departments.webhook.timeout;
        let http = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
        let (incidents, directory) = (ports.incidents.clone(), ports.directory.clone());
        Self { inner: Arc::new(Inner { store, dispatcher, incidents, directory, http }) }
    }

    fn d(&self) -> &Dispatcher {
        &self.inner.dispatcher
    }

    fn store(&self) -> &dyn DepartmentStore {
        self.inner.store.as_ref()
    }

    fn check_text(
        &self,
        field: &'static str,
        raw: &str,
        max: usize,
        required: bool,
    ) -> Result<Option<String>, DepartmentError> {
        let s = raw.trim();
        if s.is_empty() {
            return if required { Err(DepartmentError::invalid(field, "must not be empty")) } else { Ok(None) };
        }
        if s.chars().count() > max {
            return Err(DepartmentError::invalid(field, format!("at most {max} characters")));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(DepartmentError::invalid(field, "no control characters"));
        }
        Ok(Some(s.to_owned()))
    }

    fn note(&self, field: &'static str, raw: Option<&str>, required: bool) -> Result<Option<String>, DepartmentError> {
        self.check_text(field, raw.unwrap_or(""), self.d().settings().limits.note_max_chars, required)
    }

    /// A department made of `new`, checked (a fresh id, created now).
    fn checked(&self, new: NewDepartment) -> Result<Department, DepartmentError> {
        let max = self.d().settings().limits.name_max_chars;
        let name = crate::domain::name::display_name(&new.name, max)
            .map_err(|e| DepartmentError::invalid("name", e.to_string()))?;
        let duty_phone =
            DutyPhone::parse(&new.duty_phone).map_err(|e| DepartmentError::invalid("duty_phone", e.to_string()))?;
        let area = match new.area.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(code) if self.d().areas().get(code).is_none() => {
                return Err(DepartmentError::invalid("area", "unknown area code"));
            }
            other => other.map(str::to_owned),
        };
        Ok(Department {
            id: DepartmentId::generate(),
            name,
            kind: new.kind,
            area,
            duty_phone,
            created_at: self.d().now(),
        })
    }

    /// Create a department.
    ///
    /// # Errors
    /// `Invalid` (name, duty phone, area), `Store`.
    pub async fn create_department(&self, new: NewDepartment) -> Result<Department, DepartmentError> {
        let department = self.checked(new)?;
        self.store().put_department(&department).await?;
        tracing::info!(department_id = %department.id, "department created");
        Ok(department)
    }

    /// Every department, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn departments(&self) -> Result<Vec<Department>, DepartmentError> {
        Ok(self.store().list_departments().await?)
    }

    /// One department by its id as given.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn department(&self, id: &str) -> Result<Department, DepartmentError> {
        let id = DepartmentId::parse(id).map_err(|_| DepartmentError::NotFound)?;
        self.store().get_department(&id).await?.ok_or(DepartmentError::NotFound)
    }

    /// Whether a caller who sees `scope` sees department `d`: it serves some place in the scope
    /// (its area lies in the scope or the scope in its area; no area: the whole district).
    fn sees(&self, scope: &Scope, d: &Department) -> bool {
        match (scope, d.area.as_deref()) {
            (Scope::All, _) | (_, None) => true,
            (Scope::Area(own), Some(area)) => {
                let areas = self.d().areas();
                areas.is_within(area, own) || areas.is_within(own, area)
            }
        }
    }

    /// The departments a caller who sees `scope` may see and call in, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn departments_in(&self, scope: &Scope) -> Result<Vec<Department>, DepartmentError> {
        Ok(self.store().list_departments().await?.into_iter().filter(|d| self.sees(scope, d)).collect())
    }

    /// Each department's figures for the call-ins made in `[from, to)`, with the residents'
    /// follow-up ratings of the incidents it led (took over).
    ///
    /// # Errors
    /// `Store`.
    pub async fn assess(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<assessment::DepartmentFigures>, DepartmentError> {
        let departments = self.store().list_departments().await?;
        let mut call_ins = vec![];
        for d in &departments {
            call_ins.extend(self.store().call_ins_of_department(&d.id).await?);
        }
        let led: Vec<IncidentId> =
            call_ins.iter().filter(|c| assessment::led(c)).map(|c| c.incident_id.clone()).collect();
        let incidents = self.inner.incidents.get_incidents(&led).await?;
        let ratings: assessment::Ratings =
            incidents.iter().filter_map(|i| Some((i.id.clone(), i.feedback.as_ref()?.rating))).collect();
        Ok(assessment::assess(&departments, &call_ins, &ratings, from, to))
    }

    /// The departments to suggest for `incident` (the routing table in force, and the police
    /// station for red with violence).
    ///
    /// # Errors
    /// `Store`.
    pub async fn suggestions(&self, incident: &Incident) -> Result<Vec<routing::Suggested>, DepartmentError> {
        let table = self.routing_table().await?;
        let all = self.store().list_departments().await?;
        let violence = &self.d().settings().departments.violence_keywords;
        Ok(routing::suggest(incident, &table.rules, violence, &all))
    }

    /// The webhook delivery log, newest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryLine>, DepartmentError> {
        Ok(self.store().delivery_log(limit).await?)
    }

    /// A department's call-ins, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn queue(&self, department: &DepartmentId) -> Result<Vec<CallIn>, DepartmentError> {
        Ok(self.store().call_ins_of_department(department).await?)
    }

    /// An incident's call-ins, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn of_incident(&self, incident: &IncidentId) -> Result<Vec<CallIn>, DepartmentError> {
        Ok(self.store().call_ins_of_incident(incident).await?)
    }

    /// Whether `department` was called in to `incident` (else it may not see it).
    ///
    /// # Errors
    /// `Store`.
    pub async fn was_called(&self, department: &DepartmentId, incident: &IncidentId) -> Result<bool, DepartmentError> {
        Ok(self.of_incident(incident).await?.iter().any(|c| &c.department_id == department))
    }

    /// Who leads `incident`: the latest hand-over a department accepted.
    ///
    /// # Errors
    /// `Store`.
    pub async fn lead(&self, incident: &IncidentId) -> Result<Lead, DepartmentError> {
        let all = self.of_incident(incident).await?;
        let latest =
            all.iter().rev().find(|c| c.purpose == Purpose::Handover && c.response == Some(ResponseKind::TookOver));
        Ok(match latest {
            Some(c) if c.result_at.is_some() => Lead::Closed(c.department_name.clone()),
            Some(c) => Lead::Department(c.department_name.clone()),
            None => Lead::NotHandedOver,
        })
    }
}

pub mod view;
mod webhook;

pub use webhook::sign;
