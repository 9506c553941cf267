//! The engine under the services: the one layer that combines the domain, the store, the
//! position index, timers and the bus. The services by capability (`crate::services`,
//! `crate::accounts`) and the background loops call it; HTTP handlers never see it.
//!
//! Every incident change is: read → `domain::incident::decide` → one atomic store write guarded
//! by the version read (retried on conflict) → notifications derived from the events. So the
//! rules live in the pure state machine and atomicity lives in the store.

mod areas;
mod effects;
pub mod feed;
mod notify;
mod positions;
mod profiles;
mod queries;
mod ranking;
pub mod rate;
mod recent;
pub mod stats;
pub mod tracking;
mod workloads;

pub use areas::{AreaSource, NewArea, Scope};
pub use notify::CallInNotice;
pub use notify::CaseNotice;
pub(crate) use notify::short;
pub use profiles::{Profile, ProfileSource};
pub use queries::{MediatorDetail, Suggestion, TrackingView};
pub use recent::{Kept, RecentSource};

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::account::{Account, Fix, Role};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{self, Command, Incident, TransitionError};
use crate::domain::timeline::ActorRole;
use crate::matcher::index::PositionIndex;
use crate::store::{Bus, BusMessage, Creation, Expect, IncidentWrite, NoteInArea, Ports, StoreError, WriteOutcome};
use std::sync::Arc;
use tracing::instrument;

/// How many times a command is retried when another writer changed the incident first.
const MAX_CONFLICT_RETRIES: usize = 16;

/// Why a use case failed, in terms the HTTP edge maps to statuses.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// No such object, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The state machine refused the command.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The mediator already holds as many incidents as they may.
    #[error("the mediator is at capacity")]
    AtCapacity,
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The object exists but lies outside the caller's area (answered like `NotFound`).
    #[error("no such {0} in your area")]
    OutsideScope(&'static str),
    /// An Idempotency-Key was reused for a different request.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyMismatch,
    /// Too many concurrent writers; try again.
    #[error("the incident is changing too fast; retry")]
    Contended,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Texts are not configured (`sms.url` is empty).
    #[error("text messages are not available here")]
    SmsUnavailable,
    /// The SMS gateway did not take the text.
    #[error(transparent)]
    Sms(#[from] crate::sms::SmsError),
}

/// Who is acting, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// As what.
    pub role: ActorRole,
    /// Account id, if any.
    pub id: Option<String>,
}

impl Actor {
    /// The service itself.
    #[must_use]
    pub fn system() -> Self {
        Self { role: ActorRole::System, id: None }
    }

    /// A staff account.
    #[must_use]
    pub fn account(role: Role, id: &AccountId) -> Self {
        let role = match role {
            Role::Mediator => ActorRole::Mediator,
            Role::Operator => ActorRole::Operator,
            Role::Admin => ActorRole::Admin,
            Role::Department => ActorRole::Department,
        };
        Self { role, id: Some(id.to_string()) }
    }

    /// The resident who reported.
    #[must_use]
    pub fn resident() -> Self {
        Self { role: ActorRole::Resident, id: None }
    }
}

struct Inner {
    ports: Ports,
    bus: Arc<dyn Bus>,
    index: PositionIndex,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    /// The jurisdiction map, as the areas service holds it.
    areas: Arc<dyn AreaSource>,
    /// WeChat notifications out (issue #3).
    wechat: notify::Notifier,
    /// Mediators' ranking profiles, as the accounts capability holds them.
    profiles: Arc<dyn ProfileSource>,
    /// Mediators' holds and today's claims, as last announced.
    workloads: workloads::Workloads,
    /// Recent reports by hot-spot area, as the reports capability holds them (fed here with
    /// each write's own news; its look-back reads them there).
    recent: Arc<dyn RecentSource>,
    /// Positions waiting to be written together.
    positions: positions::Positions,
}

/// The per-instance copies the engine reads and the services keep (the bus feed, which holds
/// them too, reloads, forgets and feeds them): each service implements the engine's trait for
/// its copy, so the engine never names a service. Cheap to clone.
#[derive(Clone)]
pub struct Held {
    /// The jurisdiction map (`services::Areas`).
    pub areas: Arc<dyn AreaSource>,
    /// Mediators' ranking profiles (`accounts::Profiles`).
    pub profiles: Arc<dyn ProfileSource>,
    /// Recent reports by hot-spot area (`services::RecentReports`).
    pub recent: Arc<dyn RecentSource>,
}

/// The dispatch service. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

impl Dispatcher {
    /// Assemble the engine from its ports, reading the copies the services keep from `held`.
    #[must_use]
    pub fn new(
        ports: Ports,
        bus: Arc<dyn Bus>,
        index: PositionIndex,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
        held: Held,
    ) -> Self {
        let Held { areas, profiles, recent } = held;
        let wechat = notify::Notifier::new(&ports, settings.clone(), clock.clone());
        let positions = positions::Positions::default();
        Self {
            inner: Arc::new(Inner {
                ports,
                bus,
                index,
                clock,
                settings,
                wechat,
                areas,
                profiles,
                workloads: workloads::Workloads::default(),
                recent,
                positions,
            }),
        }
    }

    /// The storage ports, for the engine's own use cases (the services and loops get the
    /// ports they use when `app.rs` composes them; `tests/architecture.rs` keeps it so).
    #[must_use]
    pub(super) fn ports(&self) -> &Ports {
        &self.inner.ports
    }

    /// The position index.
    #[must_use]
    pub fn index(&self) -> &PositionIndex {
        &self.inner.index
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Now, by the clock.
    #[must_use]
    pub fn now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }

    async fn publish(&self, message: BusMessage) {
        // A lost notification is healed by polling and snapshots; the state change is already
        // durable, so a bus failure must not fail the request.
        if let Err(e) = self.inner.bus.publish(&message).await {
            tracing::warn!(error = %e, "bus publish failed; clients will catch up on their next poll");
        }
    }

    /// Load an account that must be an enabled mediator.
    pub(crate) async fn mediator(&self, id: &AccountId) -> Result<Account, DispatchError> {
        match self.inner.ports.directory.get_account(id).await? {
            Some(a) if a.role == Role::Mediator && a.enabled => Ok(a),
            _ => Err(DispatchError::NotFound),
        }
    }

    /// The deadlines a claim made now on `incident` gets, by its risk colour.
    pub(crate) fn claim_deadlines(&self, incident: &Incident, now: jiff::Timestamp) -> incident::ClaimDeadlines {
        self.deadlines_for(incident.risk, now)
    }

    /// The arrive/resolve deadlines of colour `risk`, counted from `now`.
    pub(crate) fn deadlines_for(
        &self,
        risk: crate::domain::category::Risk,
        now: jiff::Timestamp,
    ) -> incident::ClaimDeadlines {
        let d = self.settings().lifecycle.for_risk(risk);
        let at = |within: std::time::Duration| {
            now.saturating_add(jiff::SignedDuration::try_from(within).unwrap_or(jiff::SignedDuration::MAX))
                .unwrap_or(jiff::Timestamp::MAX)
        };
        incident::ClaimDeadlines { arrive_by: at(d.arrive_within), resolve_by: at(d.resolve_within) }
    }

    /// Apply a command to an incident atomically, retrying on concurrent changes. The command
    /// is built from the incident as read (claims take their deadlines from its colour).
    ///
    /// Returns the incident after the command and whether anything changed.
    pub(crate) async fn execute(
        &self,
        id: &IncidentId,
        actor: &Actor,
        command: impl Fn(&Incident, jiff::Timestamp) -> Command,
    ) -> Result<(Incident, bool), DispatchError> {
        let mut capacity = None;
        for _ in 0..MAX_CONFLICT_RETRIES {
            let current = self.inner.ports.incidents.get_incident(id).await?.ok_or(DispatchError::NotFound)?;
            let now = self.now();
            let command = command(&current, now);
            if let (None, Command::Accept { mediator, .. } | Command::Assign { mediator, .. }) = (capacity, &command) {
                capacity = Some(self.mediator(mediator).await?.capacity);
            }
            let transition = incident::decide(Some(&current), &command, now)?;
            if transition.incident == current {
                return Ok((current, false));
            }
            let write = self.plan(Some(&current), &transition, actor, capacity, now);
            let mark = self.workload_mark();
            match self.inner.ports.incidents.write_incident(&write).await? {
                WriteOutcome::Written => {
                    tracing::info!(incident_id = %id, status = ?transition.incident.status, "incident changed");
                    self.written(&transition, &write, mark).await;
                    let changed = !transition.is_noop();
                    return Ok((transition.incident, changed));
                }
                WriteOutcome::Conflict => {}
                WriteOutcome::AtCapacity => return Err(DispatchError::AtCapacity),
                WriteOutcome::Replayed { .. } => return Err(DispatchError::Contended),
            }
        }
        Err(DispatchError::Contended)
    }

    /// The one atomic write of a decided transition (from `prev`, `None` when filing): the
    /// incident, its timeline, and everything that changes and is announced with it.
    fn plan(
        &self,
        prev: Option<&Incident>,
        transition: &incident::Transition,
        actor: &Actor,
        capacity: Option<u32>,
        now: jiff::Timestamp,
    ) -> IncidentWrite {
        let expect = prev.map_or(Expect::Absent, |p| Expect::Version(p.version));
        let mut write = IncidentWrite::new(transition.incident.clone(), expect);
        write.append = effects::timeline(prev, transition, actor, now);
        let timing = effects::Timing {
            now,
            remind_before: self.settings().lifecycle.remind_before,
            wave_interval: self.settings().dispatch.wave_interval,
            climb_after: self.settings().ladder.climb_after,
            mediation_deadline: self.settings().casefile.mediation_deadline,
        };
        effects::apply(prev, transition, capacity, &timing, &mut write);
        write.announce = effects::announcements(prev, transition);
        write
    }

    /// What follows a stored write on this instance: notifications out, its own news applied
    /// at once, and (bounded) its workload messages back.
    async fn written(&self, transition: &incident::Transition, write: &IncidentWrite, mark: u64) {
        self.wechat_notify(transition);
        self.note_own(&write.announce);
        let moved: Vec<&AccountId> = write.hold.iter().map(|h| &h.mediator_id).chain(write.release.as_ref()).collect();
        self.own_workloads_back(&moved, mark).await;
    }

    /// Store a new incident: `transition`, decided from nothing (`Command::File`) at `now`, in
    /// the one atomic write that any command's gets, with what only a creation carries: its
    /// hot-spot `note` and its `creation` (tracking hash, idempotency claim). A `Written` one
    /// is followed like every write (notifications, its own news applied at once); any other
    /// outcome is the caller's to answer (a replayed key, a reused one).
    ///
    /// # Errors
    /// `Store`.
    pub(crate) async fn create(
        &self,
        transition: &incident::Transition,
        actor: &Actor,
        now: jiff::Timestamp,
        note: Option<NoteInArea>,
        creation: Creation,
    ) -> Result<WriteOutcome, DispatchError> {
        let mut write = self.plan(None, transition, actor, None, now);
        write.note = note;
        write.creation = Some(creation);
        let mark = self.workload_mark();
        let outcome = self.inner.ports.incidents.write_incident(&write).await?;
        if outcome == WriteOutcome::Written {
            self.written(transition, &write, mark).await;
        }
        Ok(outcome)
    }

    /// Run a command that needs no claim deadlines.
    pub(crate) async fn run(
        &self,
        id: &IncidentId,
        actor: &Actor,
        command: Command,
    ) -> Result<(Incident, bool), DispatchError> {
        self.execute(id, actor, move |_, _| command.clone()).await
    }

    /// The escalation deadline passed (called by the timer loop; idempotent).
    ///
    /// Returns true when this call escalated it, false when it was already handled.
    ///
    /// # Errors
    /// `Store` when the store failed (the timer lease makes it retry).
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn escalate(&self, id: &IncidentId) -> Result<bool, DispatchError> {
        self.fire(id, Command::Escalate).await
    }

    /// A deadline reminder or a missed deadline (called by the timer loop; idempotent).
    ///
    /// # Errors
    /// `Store` when the store failed.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn deadline(
        &self,
        id: &IncidentId,
        deadline: incident::Deadline,
        passed: bool,
    ) -> Result<bool, DispatchError> {
        self.fire(id, if passed { Command::MarkOverdue(deadline) } else { Command::Remind(deadline) }).await
    }

    /// Run a timer's command as the system; a vanished incident is nothing to do.
    async fn fire(&self, id: &IncidentId, command: Command) -> Result<bool, DispatchError> {
        match self.run(id, &Actor::system(), command).await {
            Ok((_, changed)) => Ok(changed),
            Err(DispatchError::NotFound | DispatchError::Transition(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The level responsible did not act in time (timer; idempotent).
    ///
    /// # Errors
    /// `Store`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn climb(&self, id: &IncidentId) -> Result<bool, DispatchError> {
        self.fire(id, Command::Climb).await
    }

    /// An account was changed (by an admin): every instance forgets what it held of it. A
    /// disabled mediator goes off duty (gone from every screen), and every instance closes the
    /// account's sockets.
    pub async fn account_changed(&self, account: &Account) {
        let id = &account.id;
        self.inner.profiles.forget(Some(id));
        let disabled = !account.enabled;
        if disabled && account.role == Role::Mediator && self.inner.index.get(id).is_some_and(|(on, _)| on) {
            if let Err(e) = self.inner.ports.presence.set_duty(id, false).await {
                tracing::warn!(error = %e, mediator_id = %id, "could not take a disabled mediator off duty in the store");
            }
            self.inner.index.apply_duty(id, false);
            self.publish(BusMessage::Duty { mediator_id: id.clone(), on: false }).await;
        }
        self.publish(BusMessage::AccountChanged { account_id: id.clone(), disabled }).await;
    }

    /// An admin revoked the account's tokens: every instance closes its sockets (they were
    /// opened with a token that is refused now).
    pub async fn account_signed_out(&self, account: &AccountId) {
        self.publish(BusMessage::AccountSignedOut { account_id: account.clone() }).await;
    }

    /// A mediator goes on or off duty.
    ///
    /// # Errors
    /// `NotFound` for a disabled or unknown mediator; `Store`.
    pub async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), DispatchError> {
        self.mediator(mediator).await?;
        self.inner.ports.presence.set_duty(mediator, on).await?;
        self.inner.index.apply_duty(mediator, on);
        self.publish(BusMessage::Duty { mediator_id: mediator.clone(), on }).await;
        tracing::info!(mediator_id = %mediator, on, "duty changed");
        Ok(())
    }

    /// A mediator's phone reports where it is; answered once the position is stored. A time
    /// ahead of the server's clock counts as now; a position older than
    /// `dispatch.stale_after` is refused (matching would ignore it, and stamping it as now
    /// would put the mediator where they no longer are); one older than the position held is
    /// ignored (out-of-order delivery).
    /// A mediator's phone stopped answering its socket's heartbeat: every instance drops its
    /// position, so it leaves the live map and gets no offers by distance until the phone
    /// sends a position again. Their duty flag stays (the page polls and comes back).
    pub async fn lost_contact(&self, mediator: &AccountId) {
        // Every instance's feed, this one's included, drops the position and tells its screens.
        tracing::info!(mediator_id = %mediator, "a phone stopped answering: off the live map, duty kept");
        self.publish(BusMessage::Unreachable { mediator_id: mediator.clone() }).await;
    }

    /// A mediator's phone reports where it is; answered once the position is stored. The time
    /// is clamped to the server's clock, and a fix older than the one held is ignored
    /// (out-of-order delivery).
    ///
    /// # Errors
    /// `Invalid` (`at`) for a stale position; `Store` on backend failure.
    pub async fn record_position(&self, mediator: &AccountId, fix: Fix) -> Result<(), DispatchError> {
        match self.queue_position(mediator, fix)? {
            Some(stored) => positions::outcome(stored).await,
            None => Ok(()),
        }
    }

    /// [`Self::record_position`] without waiting for the store: for a socket, whose next
    /// message must not wait behind this one. If the batch fails, the feed tells the
    /// mediator's sockets (`error`, `store_unavailable`); the phone sends again within seconds.
    ///
    /// # Errors
    /// `Invalid` (`at`) for a stale position, at once.
    pub fn record_position_in_background(&self, mediator: &AccountId, fix: Fix) -> Result<(), DispatchError> {
        drop(self.queue_position(mediator, fix)?);
        Ok(())
    }

    fn queue_position(&self, mediator: &AccountId, mut fix: Fix) -> Result<Option<positions::Stored>, DispatchError> {
        let now = self.now();
        let stale_after = self.settings().dispatch.stale_after;
        fix.at = fix.at.min(now);
        if now.duration_since(fix.at) > jiff::SignedDuration::try_from(stale_after).unwrap_or(jiff::SignedDuration::MAX)
        {
            metrics::counter!("gd_positions_stale_total").increment(1);
            let reason = format!(
                "older than {} (dispatch.stale_after); send a current position",
                humantime::format_duration(stale_after)
            );
            return Err(DispatchError::Invalid { field: "at", reason });
        }
        if let Some((_, Some(held))) = self.inner.index.get(mediator)
            && held.at > fix.at
        {
            return Ok(None);
        }
        Ok(Some(self.add_position(mediator, fix)))
    }
}
