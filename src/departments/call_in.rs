//! Call-in commands: calling departments in, the department's acknowledgement, response and
//! result, the command center's supervision. Each change is one write under the call-in's
//! version (deadlines, timeline lines, messages and webhooks with it), re-read on a lost race.

use super::domain::{CallIn, CallInError, NewCallIn, Purpose, ResponseKind, Step, Urgency};
use super::store::{CallInWrite, webhook_key};
use super::{Department, DepartmentError, Departments};
use crate::dispatch::Actor;
use crate::domain::account::Role;
use crate::domain::area::Scope;
use crate::domain::ids::{AccountId, CallInId, DepartmentId, IncidentId};
use crate::domain::incident::{Event, Incident};
use crate::domain::timeline::TimelineEntry;
use crate::store::{TimerKey, TimerKind, TimerOp};
use jiff::Timestamp;

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

/// How often a change re-reads and retries after losing a version race.
const MAX_ATTEMPTS: usize = 8;

impl Departments {
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

    /// Apply `change` to a call-in under its version, re-reading on a lost race.
    pub(super) async fn change(
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
        self.answer(department, by, id, note, |c, n, now| c.acknowledge(n, now)).await
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
        self.answer(department, by, id, note, move |c, n, now| c.respond(kind, n, now)).await
    }

    /// A department's own step on one of its call-ins (reporting in, responding): the note
    /// checked, the call-in found among its own, `step` applied with the note and the time.
    async fn answer(
        &self,
        department: &DepartmentId,
        by: &AccountId,
        id: &str,
        note: Option<&str>,
        step: impl Fn(&mut CallIn, Option<String>, Timestamp) -> Result<Vec<Step>, CallInError>,
    ) -> Result<CallIn, DepartmentError> {
        let note = self.note("note", note, false)?;
        let call_in = self.own(department, id).await?;
        let now = self.d().now();
        let actor = Actor::account(Role::Department, by);
        let (c, _) = self.change(&call_in.id, &actor, note.as_deref(), |c| Ok(step(c, note.clone(), now)?)).await?;
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
}
