//! Incidents: the commands staff and residents give on an incident, and what they may read of
//! it. Each command is built here and run through the engine's one command path
//! (`Dispatcher::execute`: read → `decide` → one atomic write guarded by the version read,
//! retried on conflict → notifications); the timers' commands (escalate, remind, overdue,
//! climb) take the same path from the timer runner.

use super::Waves;
use crate::dispatch::{Actor, DispatchError, Dispatcher, Scope, Suggestion, TrackingView};
use crate::domain::account::Role;
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Command, Event, Incident, Outcome, Status};
use crate::domain::timeline::TimelineEntry;
use crate::push::wire::IncidentView;
use crate::store::IncidentStore;
use std::sync::Arc;
use tracing::instrument;

/// Commands on incidents and the reads that go with them. Cheap to clone.
#[derive(Clone)]
pub struct Incidents {
    engine: Dispatcher,
    /// Incidents and timelines as stored, for the plain reads and the audit lines.
    store: Arc<dyn IncidentStore>,
    /// The reports capability's offer waves (a decline may send the next one at once).
    waves: Waves,
}

impl Incidents {
    /// Over the dispatch engine (the command path, the views) and the incident store, sending
    /// the next wave through `waves`.
    #[must_use]
    pub fn new(engine: Dispatcher, store: Arc<dyn IncidentStore>, waves: Waves) -> Self {
        Self { engine, store, waves }
    }

    /// A mediator grabs an offer. Exactly one concurrent accept wins.
    ///
    /// # Errors
    /// `Transition(AlreadyClaimed)` when someone else holds it; `NotFound`, `AtCapacity`, `Store`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn accept(&self, mediator: &AccountId, id: &IncidentId) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Mediator, mediator);
        let command = |i: &Incident, now| Command::Accept {
            mediator: mediator.clone(),
            deadlines: self.engine.claim_deadlines(i, now),
        };
        Ok(self.engine.execute(id, &actor, command).await?.0)
    }

    /// A mediator turns an offer down; the next candidate is offered at once.
    ///
    /// # Errors
    /// As [`Self::accept`].
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn decline(&self, mediator: &AccountId, id: &IncidentId) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Mediator, mediator);
        let (incident, _) = self.engine.run(id, &actor, Command::Decline { mediator: mediator.clone() }).await?;
        if incident.status == Status::Dispatching && incident.open_offer_ids().next().is_none() {
            // Nobody left to answer: move on now rather than at the next wave.
            self.waves.next_wave(id).await?;
        }
        Ok(incident)
    }

    /// The holding mediator arrived.
    ///
    /// # Errors
    /// As [`Self::accept`].
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn arrive(&self, mediator: &AccountId, id: &IncidentId) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Mediator, mediator);
        Ok(self.engine.run(id, &actor, Command::Arrive { mediator: mediator.clone() }).await?.0)
    }

    /// The holding mediator closes the incident.
    ///
    /// # Errors
    /// As [`Self::accept`].
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn resolve(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        outcome: Outcome,
        note: Option<String>,
    ) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Mediator, mediator);
        let command = Command::Resolve { mediator: mediator.clone(), outcome, note };
        Ok(self.engine.run(id, &actor, command).await?.0)
    }

    /// An operator whose area is `scope` sends a mediator (`Dispatcher::may_send` decides whom).
    ///
    /// # Errors
    /// `NotFound` for an unknown incident or mediator; `OutsideScope` for a mediator of another
    /// area; `Transition(AlreadyClaimed)`; `AtCapacity`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn assign(
        &self,
        operator: &AccountId,
        scope: &Scope,
        id: &IncidentId,
        mediator: &AccountId,
    ) -> Result<Incident, DispatchError> {
        if !self.engine.may_send(scope, &self.engine.mediator(mediator).await?) {
            return Err(DispatchError::OutsideScope("mediator"));
        }
        let actor = Actor::account(Role::Operator, operator);
        let command = |i: &Incident, now| Command::Assign {
            operator: operator.clone(),
            mediator: mediator.clone(),
            deadlines: self.engine.claim_deadlines(i, now),
        };
        Ok(self.engine.execute(id, &actor, command).await?.0)
    }

    /// An operator corrects the category (e.g. the guess made from a WeChat text).
    ///
    /// # Errors
    /// `NotFound`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn set_category(
        &self,
        operator: &AccountId,
        id: &IncidentId,
        category: Category,
    ) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Operator, operator);
        Ok(self.engine.run(id, &actor, Command::SetCategory(category)).await?.0)
    }

    /// An operator hands an incident one level up or down the ladder.
    ///
    /// # Errors
    /// `Transition(NoSuchLevel)` when there is no level that way; `NotFound`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn hand_over(
        &self,
        operator: &AccountId,
        id: &IncidentId,
        up: bool,
        note: String,
    ) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Operator, operator);
        Ok(self.engine.run(id, &actor, Command::HandOver { up, note }).await?.0)
    }

    /// An operator whose area is `scope` moves an incident to another area of their district
    /// (it was placed wrongly); `Dispatcher::transfer_target` decides where.
    ///
    /// # Errors
    /// `Invalid` for an unknown area or one of another district; `NotFound`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn transfer(
        &self,
        operator: &AccountId,
        scope: &Scope,
        id: &IncidentId,
        to: &str,
        note: String,
    ) -> Result<Incident, DispatchError> {
        let area = self
            .engine
            .transfer_target(scope, to)
            .ok_or(DispatchError::Invalid { field: "area", reason: "unknown area".into() })?;
        let actor = Actor::account(Role::Operator, operator);
        Ok(self.engine.run(id, &actor, Command::Transfer { area, to: to.to_owned(), note }).await?.0)
    }

    /// The resident withdraws their report.
    ///
    /// # Errors
    /// `Transition(WrongState)` once claimed.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn cancel(&self, id: &IncidentId) -> Result<Incident, DispatchError> {
        Ok(self.engine.run(id, &Actor::resident(), Command::Cancel).await?.0)
    }

    /// An operator puts an incident under supervision (督办) with a note.
    ///
    /// # Errors
    /// `NotFound`; `Transition(WrongState)` for a cancelled one.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn supervise(
        &self,
        operator: &AccountId,
        id: &IncidentId,
        note: String,
    ) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Operator, operator);
        Ok(self.engine.run(id, &actor, Command::Supervise { operator: operator.clone(), note }).await?.0)
    }

    /// An operator sets the risk colour (red alerts the command center).
    ///
    /// # Errors
    /// `NotFound`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn set_risk(&self, operator: &AccountId, id: &IncidentId, risk: Risk) -> Result<Incident, DispatchError> {
        let actor = Actor::account(Role::Operator, operator);
        let command = |_: &Incident, now| Command::SetRisk { risk, deadlines: self.engine.deadlines_for(risk, now) };
        Ok(self.engine.execute(id, &actor, command).await?.0)
    }

    /// The resident answers the follow-up visit; "not resolved" reopens it.
    ///
    /// # Errors
    /// `Transition(WrongState)` before resolution; `Transition(AlreadyAnswered)`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn feedback(
        &self,
        id: &IncidentId,
        rating: u8,
        comment: Option<String>,
        resolved: bool,
    ) -> Result<Incident, DispatchError> {
        Ok(self.engine.run(id, &Actor::resident(), Command::GiveFeedback { rating, comment, resolved }).await?.0)
    }

    /// An operator reads the resident's full phone number (audited first).
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn reveal_phone(&self, operator: &Actor, id: &IncidentId) -> Result<Option<String>, DispatchError> {
        let incident = self.engine.incident(id).await?.ok_or(DispatchError::NotFound)?;
        let entry = TimelineEntry {
            at: self.engine.now(),
            actor_role: operator.role,
            actor_id: operator.id.clone(),
            event: Event::PhoneRevealed,
        };
        // Audit first: no record, no number.
        self.store.append_timeline(id, &[entry]).await?;
        tracing::info!(incident_id = %id, "resident phone revealed to an operator");
        Ok(incident.resident_phone.map(|p| p.full().to_owned()))
    }

    /// `NotFound` unless the incident exists and lies in `scope` (or below).
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn ensure_visible(&self, scope: &Scope, id: &IncidentId) -> Result<(), DispatchError> {
        match self.engine.incident(id).await? {
            Some(incident) if scope.sees(&incident) => Ok(()),
            _ => Err(DispatchError::NotFound),
        }
    }

    /// The open incidents in `scope`, most urgent first (at most `limit` are read).
    ///
    /// # Errors
    /// `Store`.
    pub async fn open_in(&self, scope: &Scope, limit: usize) -> Result<Vec<Incident>, DispatchError> {
        let mut open = self.engine.open_incidents(limit).await?;
        open.retain(|i| !i.status.is_closed() && scope.sees(i));
        open.sort_by(crate::dispatch::stats::urgent_first);
        Ok(open)
    }

    /// One incident as an operator whose area is `scope` sees it, with its timeline and the
    /// suggested mediators.
    ///
    /// # Errors
    /// `NotFound` (also outside the scope); `Store`.
    pub async fn detail(
        &self,
        id: &IncidentId,
        scope: &Scope,
    ) -> Result<(Incident, Vec<TimelineEntry>, Vec<Suggestion>), DispatchError> {
        self.engine.incident_detail(id, scope).await
    }

    /// The offers open to a mediator.
    ///
    /// # Errors
    /// `Store`.
    pub async fn open_offers(&self, mediator: &AccountId) -> Result<Vec<IncidentView>, DispatchError> {
        self.engine.open_offers(mediator).await
    }

    /// The incidents a mediator holds.
    ///
    /// # Errors
    /// `Store`.
    pub async fn held(&self, mediator: &AccountId) -> Result<Vec<IncidentView>, DispatchError> {
        self.engine.held_incidents(mediator).await
    }

    /// One incident as stored, for capabilities built beside incidents (departments, case
    /// file, video) that decide visibility themselves.
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn get(&self, id: &IncidentId) -> Result<Incident, DispatchError> {
        self.store.get_incident(id).await?.ok_or(DispatchError::NotFound)
    }

    /// Several incidents at once (those that exist, in no particular order).
    ///
    /// # Errors
    /// `Store`.
    pub async fn get_many(&self, ids: &[IncidentId]) -> Result<Vec<Incident>, DispatchError> {
        Ok(self.store.get_incidents(ids).await?)
    }

    /// An incident's timeline, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEntry>, DispatchError> {
        Ok(self.store.timeline(id).await?)
    }

    /// The incident behind a resident's tracking token.
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn tracked(&self, token: &str) -> Result<Incident, DispatchError> {
        self.engine.tracked_incident(token).await
    }

    /// What the resident's tracking page shows.
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn tracking(&self, token: &str) -> Result<TrackingView, DispatchError> {
        self.engine.tracking(token).await
    }
}
