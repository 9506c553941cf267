//! Presence: mediators going on and off duty, their positions (through the engine's batcher),
//! contact lost, where they are, and the roster operators see (`roster.rs`).

use crate::dispatch::{DispatchError, Dispatcher};
use crate::domain::account::{Account, Fix};
use crate::domain::ids::AccountId;
use crate::domain::location::GeoPoint;
use crate::push::wire::MediatorPosition;
use crate::store::{Directory, IncidentStore, Ports};
use std::sync::Arc;

/// Mediators' duty and positions. Cheap to clone.
#[derive(Clone)]
pub struct Presence {
    pub(super) engine: Dispatcher,
    /// Mediators' accounts (the roster).
    pub(super) directory: Arc<dyn Directory>,
    /// Incidents called about, and their timelines (the roster's phone reveal).
    pub(super) incidents: Arc<dyn IncidentStore>,
}

impl Presence {
    /// Over the dispatch engine (duty, the position batcher and index, workloads), and the
    /// directory and incidents of `ports` (the roster).
    #[must_use]
    pub fn new(engine: Dispatcher, ports: &Ports) -> Self {
        Self { engine, directory: ports.directory.clone(), incidents: ports.incidents.clone() }
    }

    /// A mediator goes on or off duty.
    ///
    /// # Errors
    /// `NotFound` for a disabled or unknown mediator; `Store`.
    pub async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), DispatchError> {
        self.engine.set_duty(mediator, on).await
    }

    /// Whether this instance holds the mediator as on duty.
    #[must_use]
    pub fn on_duty(&self, mediator: &AccountId) -> bool {
        self.engine.index().get(mediator).is_some_and(|(on, _)| on)
    }

    /// How many mediators this instance holds as on duty.
    #[must_use]
    pub fn on_duty_count(&self) -> usize {
        self.engine.index().on_duty_count()
    }

    /// Whether `id` is an enabled mediator (a socket opened before a disable still sends).
    ///
    /// # Errors
    /// `Store`.
    pub async fn is_enabled_mediator(&self, id: &AccountId) -> Result<bool, DispatchError> {
        Ok(self.engine.is_enabled_mediator(id).await?)
    }

    /// Record a position; answered once stored.
    ///
    /// # Errors
    /// `Invalid` (`at`) for a stale position; `Store`.
    pub async fn record_position(&self, mediator: &AccountId, fix: Fix) -> Result<(), DispatchError> {
        self.engine.record_position(mediator, fix).await
    }

    /// Record a position without waiting for the store (sockets).
    ///
    /// # Errors
    /// `Invalid` (`at`) for a stale position.
    pub fn record_position_in_background(&self, mediator: &AccountId, fix: Fix) -> Result<(), DispatchError> {
        self.engine.record_position_in_background(mediator, fix)
    }

    /// A phone stopped answering its socket: off the live map everywhere, duty kept.
    pub async fn lost_contact(&self, mediator: &AccountId) {
        self.engine.lost_contact(mediator).await;
    }

    /// The on-duty mediators whose position passes `keep`, with their accounts.
    ///
    /// # Errors
    /// `Store`.
    pub async fn mediators_where(
        &self,
        keep: impl Fn(GeoPoint) -> bool,
    ) -> Result<Vec<(MediatorPosition, Option<Account>)>, DispatchError> {
        self.engine.mediators_where(keep).await
    }
}
