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

pub mod assessment;
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

use crate::dispatch::{Actor, Dispatcher};
use crate::domain::account::Role;
use crate::domain::area::Scope;
use crate::domain::ids::{AccountId, CallInId, DepartmentId, IncidentId};
use crate::domain::incident::{Event, Incident};
use crate::domain::timeline::TimelineEntry;
use crate::store::{Directory, IncidentStore, Ports, StoreError, TimerKey, TimerKind, TimerOp};
use domain::{
    CallIn, CallInError, Department, DepartmentKind, DutyPhone, NewCallIn, Purpose, ResponseKind, Step, Urgency,
};
use std::sync::Arc;
use store::{CallInWrite, DeliveryLine, DepartmentStore, webhook_key};

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

/// A call-in request.
#[derive(Debug, Clone)]
pub struct CallInRequest {
    /// Departments to call in (1..=`departments.max_per_call`).
    pub departments: Vec<String>,
    /// What is asked of them.
    pub note: String,
    /// How urgent.
    pub urgency: Urgency,
    /// Assist, or hand the lead over.
    pub purpose: Purpose,
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

/// How often a change re-reads and retries after losing a version race.
const MAX_ATTEMPTS: usize = 8;

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

    /// Call departments in to `incident` (already checked visible to the caller, who sees
    /// `scope`): each must be one the caller sees, and serve the incident's place.
    ///
    /// # Errors
    /// `Invalid` (departments, note), `IncidentClosed`, `AlreadyCalled`, `Store`.
    pub async fn call_in(
        &self,
        by: &Actor,
        scope: &Scope,
        incident: &Incident,
        req: CallInRequest,
    ) -> Result<Vec<CallIn>, DepartmentError> {
        let settings = &self.d().settings().departments;
        let note = self.note("note", Some(&req.note), true)?.unwrap_or_default();
        if incident.status.is_closed() {
            return Err(DepartmentError::IncidentClosed);
        }
        if req.departments.is_empty() || req.departments.len() > settings.max_per_call {
            let why = format!("1 to {} departments", settings.max_per_call);
            return Err(DepartmentError::invalid("departments", why));
        }
        if req.purpose == Purpose::Handover && req.departments.len() != 1 {
            return Err(DepartmentError::invalid("departments", "the lead goes to exactly one department"));
        }
        let mut wanted: Vec<Department> = vec![];
        for raw in &req.departments {
            // One outside the caller's scope is as unknown as one that does not exist.
            let found = match self.department(raw).await {
                Ok(d) if !self.sees(scope, &d) => Err(DepartmentError::NotFound),
                other => other,
            };
            let found = match found {
                Err(DepartmentError::NotFound) => {
                    Err(DepartmentError::invalid("departments", format!("unknown department {raw:.40}")))
                }
                other => other,
            }?;
            if !found.serves(&incident.area) {
                let why = format!("{} does not serve the incident's area", found.name);
                return Err(DepartmentError::invalid("departments", why));
            }
            if wanted.iter().all(|w| w.id != found.id) {
                wanted.push(found);
            }
        }
        let existing = self.store().call_ins_of_incident(&incident.id).await?;
        if let Some(busy) = wanted.iter().find(|w| existing.iter().any(|c| c.department_id == w.id && c.is_open())) {
            return Err(DepartmentError::AlreadyCalled(busy.name.clone()));
        }
        let now = self.d().now();
        let mut made = vec![];
        for department in &wanted {
            let new = NewCallIn {
                incident_id: &incident.id,
                risk: incident.risk,
                department,
                purpose: req.purpose,
                urgency: req.urgency,
                note: &note,
                called_by: by.id.clone().unwrap_or_else(|| AccountId::operations().to_string()),
                called_by_role: by.role,
            };
            let call_in = CallIn::new(&new, settings.windows(req.urgency, incident.risk), now);
            let write = self.write_for(None, call_in, &[Step::CalledIn], by, Some(&note)).await?;
            if !self.store().write_call_in(&write).await? {
                return Err(DepartmentError::Contended);
            }
            self.tell_by_wechat(&write);
            tracing::info!(incident_id = %incident.id, call_in_id = %write.call_in.id, department_id = %department.id, "department called in");
            made.push(write.call_in);
        }
        Ok(made)
    }

    /// The write for `after` (new when `before` is None) after `steps`: deadlines, timeline
    /// lines and screen/department messages.
    async fn write_for(
        &self,
        before: Option<&CallIn>,
        mut after: CallIn,
        steps: &[Step],
        by: &Actor,
        note: Option<&str>,
    ) -> Result<CallInWrite, DepartmentError> {
        let now = self.d().now();
        let expect_version = before.map_or(0, |b| b.version);
        if before.is_some() {
            after.version = expect_version + 1;
        }
        let key = |kind| TimerKey::with_sub(kind, after.incident_id.clone(), after.id.to_string());
        let mut timers = vec![];
        for step in steps {
            match step {
                Step::CalledIn => {
                    let remind = jiff::SignedDuration::try_from(self.d().settings().departments.remind_before)
                        .unwrap_or(jiff::SignedDuration::ZERO);
                    for (due, remind_kind, due_kind) in [
                        (after.ack_due, TimerKind::CallInRemindAck, TimerKind::CallInAckDue),
                        (after.respond_due, TimerKind::CallInRemindRespond, TimerKind::CallInRespondDue),
                    ] {
                        if let Ok(at) = due.checked_sub(remind)
                            && at > now
                        {
                            timers.push(TimerOp::Schedule(key(remind_kind), at));
                        }
                        timers.push(TimerOp::Schedule(key(due_kind), due));
                    }
                }
                Step::Acknowledged => {
                    timers
                        .extend([TimerKind::CallInRemindAck, TimerKind::CallInAckDue].map(|k| TimerOp::Cancel(key(k))));
                }
                Step::Responded(_) => {
                    timers.extend(
                        [
                            TimerKind::CallInRemindAck,
                            TimerKind::CallInAckDue,
                            TimerKind::CallInRemindRespond,
                            TimerKind::CallInRespondDue,
                        ]
                        .map(|k| TimerOp::Cancel(key(k))),
                    );
                }
                _ => {}
            }
        }
        let timeline = steps
            .iter()
            .map(|step| TimelineEntry {
                at: now,
                actor_role: by.role,
                actor_id: by.id.clone(),
                event: Event::Joint {
                    call_in_id: after.id.to_string(),
                    department_id: after.department_id.to_string(),
                    department: after.department_name.clone(),
                    step: step.as_str().to_owned(),
                    note: note.map(str::to_owned),
                },
            })
            .collect();
        let announce = self.announcements(&after, steps).await?;
        let webhooks = self.webhook_events(&after, steps, now);
        timers.extend(webhooks.iter().map(|w| TimerOp::Schedule(webhook_key(w), now)));
        Ok(CallInWrite { call_in: after, expect_version, timers, timeline, announce, webhooks })
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

    /// Apply `change` to a call-in under its version, re-reading on a lost race.
    async fn change(
        &self,
        id: &CallInId,
        by: &Actor,
        note: Option<&str>,
        change: impl Fn(&mut CallIn) -> Result<Vec<Step>, DepartmentError>,
    ) -> Result<(CallIn, Vec<Step>), DepartmentError> {
        for _ in 0..MAX_ATTEMPTS {
            let before = self.store().get_call_in(id).await?.ok_or(DepartmentError::NotFound)?;
            let mut after = before.clone();
            let steps = change(&mut after)?;
            if steps.is_empty() {
                return Ok((before, steps));
            }
            let write = self.write_for(Some(&before), after, &steps, by, note).await?;
            if self.store().write_call_in(&write).await? {
                self.tell_by_wechat(&write);
                return Ok((write.call_in, steps));
            }
        }
        Err(DepartmentError::Contended)
    }

    /// A department's call-in by its id as given (`NotFound` when it is another's).
    async fn own(&self, department: &DepartmentId, id: &str) -> Result<CallIn, DepartmentError> {
        let id = CallInId::parse(id).map_err(|_| DepartmentError::NotFound)?;
        match self.store().get_call_in(&id).await? {
            Some(c) if &c.department_id == department => Ok(c),
            _ => Err(DepartmentError::NotFound),
        }
    }

    /// The department acknowledges (报到).
    ///
    /// # Errors
    /// `NotFound` (not its call-in), `State`, `Invalid` (note), `Store`.
    pub async fn acknowledge(
        &self,
        department: &DepartmentId,
        by: &AccountId,
        id: &str,
        note: Option<&str>,
    ) -> Result<CallIn, DepartmentError> {
        let note = self.note("note", note, false)?;
        let call_in = self.own(department, id).await?;
        let now = self.d().now();
        let actor = Actor::account(Role::Department, by);
        let n = note.clone();
        let (c, _) =
            self.change(&call_in.id, &actor, note.as_deref(), move |c| Ok(c.acknowledge(n.clone(), now)?)).await?;
        Ok(c)
    }

    /// The department responds.
    ///
    /// # Errors
    /// `NotFound`, `State` (already answered, a decline without a reason), `Invalid`, `Store`.
    pub async fn respond(
        &self,
        department: &DepartmentId,
        by: &AccountId,
        id: &str,
        kind: ResponseKind,
        note: Option<&str>,
    ) -> Result<CallIn, DepartmentError> {
        let note = self.note("note", note, false)?;
        let call_in = self.own(department, id).await?;
        let now = self.d().now();
        let actor = Actor::account(Role::Department, by);
        let n = note.clone();
        let (c, _) =
            self.change(&call_in.id, &actor, note.as_deref(), move |c| Ok(c.respond(kind, n.clone(), now)?)).await?;
        Ok(c)
    }

    /// The department records a hand-over's final result (闭环).
    ///
    /// # Errors
    /// `NotFound`, `State` (not leading, already closed), `Invalid` (empty result), `Store`.
    pub async fn record_result(
        &self,
        department: &DepartmentId,
        by: &AccountId,
        id: &str,
        result: &str,
    ) -> Result<CallIn, DepartmentError> {
        let result = self.note("result", Some(result), true)?.unwrap_or_default();
        let call_in = self.own(department, id).await?;
        let now = self.d().now();
        let actor = Actor::account(Role::Department, by);
        let r = result.clone();
        let (c, _) =
            self.change(&call_in.id, &actor, Some(&result), move |c| Ok(c.record_result(r.clone(), now)?)).await?;
        Ok(c)
    }

    /// The command center supervises a call-in (督办): the department is told.
    ///
    /// # Errors
    /// `NotFound` (no such call-in on `incident`), `Invalid` (order), `Store`.
    pub async fn supervise(
        &self,
        by: &Actor,
        incident: &IncidentId,
        id: &str,
        order: &str,
    ) -> Result<CallIn, DepartmentError> {
        let order = self.note("note", Some(order), true)?.unwrap_or_default();
        let id = CallInId::parse(id).map_err(|_| DepartmentError::NotFound)?;
        match self.store().get_call_in(&id).await? {
            Some(c) if &c.incident_id == incident => {}
            _ => return Err(DepartmentError::NotFound),
        }
        let o = order.clone();
        let (c, _) = self.change(&id, by, Some(&order), move |c| Ok(c.supervise(o.clone()))).await?;
        Ok(c)
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

    /// Fire a due call-in deadline (reminder or overdue mark), once.
    ///
    /// # Errors
    /// `Store`, `Contended` (it comes back after its lease).
    pub async fn fire(&self, key: &TimerKey) -> Result<bool, DepartmentError> {
        if key.kind == TimerKind::Webhook {
            return match key.sub.as_deref() {
                Some(id) => self.deliver(id).await,
                None => Ok(false),
            };
        }
        let Some(id) = key.sub.as_deref().and_then(|s| CallInId::parse(s).ok()) else { return Ok(false) };
        let (ack, overdue) = match key.kind {
            TimerKind::CallInRemindAck => (true, false),
            TimerKind::CallInAckDue => (true, true),
            TimerKind::CallInRemindRespond => (false, false),
            TimerKind::CallInRespondDue => (false, true),
            _ => return Ok(false),
        };
        match self.change(&id, &Actor::system(), None, |c| Ok(c.deadline(ack, overdue))).await {
            Ok((_, steps)) => Ok(!steps.is_empty()),
            Err(DepartmentError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl crate::timers::TimerHandler for Departments {
    fn handles(&self, kind: TimerKind) -> bool {
        matches!(
            kind,
            TimerKind::CallInRemindAck
                | TimerKind::CallInAckDue
                | TimerKind::CallInRemindRespond
                | TimerKind::CallInRespondDue
                | TimerKind::Webhook
        )
    }

    async fn fire(&self, key: &TimerKey) -> Result<bool, crate::timers::FireError> {
        Ok(Departments::fire(self, key).await?)
    }
}

pub mod view;
mod webhook;

pub use webhook::sign;
