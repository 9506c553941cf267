//! The bus listener: keeps this instance's position index, its per-instance copies and its
//! sockets in step with what every instance publishes. `step` handles one message; `run`
//! loops until shutdown. The position sweep forgets phones gone silent
//! ([`PositionSweep::step`] once, [`PositionSweep::run`] in a loop).
//!
//! The feed holds what it keeps fresh ([`Copies`], built by `app.rs`): the services' copies
//! (`Held`), the index, the presence port and the timer runner's wake-up. It goes through the
//! engine only for what is the engine's own: workloads and the position batcher's failures.

use super::{AreaSource, Dispatcher, Held};
use crate::clock::Clock;
use crate::matcher::index::{PositionIndex, fresh_after};
use crate::push::{Change, Hub, Payload, Revoked};
use crate::store::{BusMessage, BusReceiver, PresenceStore, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What this instance keeps in step with the bus, besides the engine's own state: built once
/// by `app.rs` and shared with the engine (`held`, `index`) and the timer runner (`timer_wake`).
#[derive(Clone)]
pub struct Copies {
    /// The services' copies: areas reloaded, profiles forgotten, recent reports noted.
    pub held: Held,
    /// The position index: positions and duty as announced.
    pub index: PositionIndex,
    /// Where positions are stored: the index is rebuilt from it, silent ones pruned from it.
    pub presence: Arc<dyn PresenceStore>,
    /// Wakes this instance's timer runner when a write (on any instance) set a deadline
    /// sooner than every one held before, or the bus may have lost such news. A permit is
    /// kept when the runner is busy, so news heard between its look and its sleep is not lost.
    pub timer_wake: Arc<Notify>,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStep {
    /// A message was handled.
    Handled,
    /// The index was rebuilt from the store.
    Resynced,
    /// The bus is closed.
    Closed,
}

/// Consumes the bus for one instance.
pub struct Feed {
    dispatcher: Dispatcher,
    copies: Copies,
    hub: Hub,
    rx: BusReceiver,
    /// This instance's failed position batches (local: they concern its own sockets).
    unstored: tokio::sync::broadcast::Receiver<super::positions::Unstored>,
}

impl Feed {
    /// A feed reading `rx` (subscribe before loading the index, so nothing falls in between).
    #[must_use]
    pub fn new(dispatcher: Dispatcher, copies: Copies, hub: Hub, rx: BusReceiver) -> Self {
        let unstored = dispatcher.watch_unstored_positions();
        Self { dispatcher, copies, hub, rx, unstored }
    }

    /// Rebuild the position index and the recent reports from the store (and forget profiles
    /// and workloads, which are read again as needed).
    ///
    /// # Errors
    /// The store's error; the caller retries.
    pub async fn resync(&self) -> Result<(), StoreError> {
        self.copies.held.profiles.forget(None);
        self.dispatcher.forget_workloads();
        let all = self.copies.presence.all_presence().await?;
        self.copies.index.replace_all(&all);
        tracing::info!(mediators = all.len(), "position index rebuilt from the store");
        self.copies.held.recent.reload().await?;
        Ok(())
    }

    /// Handle the next message.
    pub async fn step(&mut self) -> FeedStep {
        let message = tokio::select! {
            message = self.rx.recv() => message,
            unstored = self.unstored.recv() => {
                if let Ok(mediators) = unstored {
                    self.tell_unstored(&mediators);
                }
                return FeedStep::Handled;
            }
        };
        let Some(message) = message else { return FeedStep::Closed };
        let index = &self.copies.index;
        match message {
            BusMessage::Fixes { fixes } => {
                for (mediator_id, fix) in fixes.iter() {
                    self.moved(mediator_id, *fix);
                }
            }
            BusMessage::Duty { mediator_id, on } => {
                index.apply_duty(&mediator_id, on);
                match (on, index.get(&mediator_id).and_then(|(_, f)| f)) {
                    (true, Some(fix)) => self.hub.queue_position(&mediator_id, fix),
                    (true, None) => {}
                    (false, last) => self.hub.queue_off_duty(&mediator_id, last.map(|f| f.point)),
                }
            }
            BusMessage::Unreachable { mediator_id } => {
                if let Some(last) = index.forget_fix(&mediator_id) {
                    self.hub.queue_off_duty(&mediator_id, Some(last.point));
                    self.hub.announce(Change::Mediator(mediator_id));
                }
            }
            BusMessage::CallIn { call_in, step, screens, accounts } => {
                self.hub.deliver_call_in(&call_in, &step, screens.as_ref(), &accounts);
            }
            BusMessage::CaseDue { incident_id, kind, date, holder, screens } => {
                self.hub.deliver_case_due(&incident_id, &kind, date.as_deref(), holder.as_ref(), screens.as_ref());
            }
            BusMessage::News { incident, notices } => {
                self.hub.deliver(&incident, &notices, self.dispatcher.settings().dispatch.offer_ttl);
            }
            BusMessage::IncidentChanged { incident_id } => self.hub.announce(Change::Incident(incident_id)),
            BusMessage::AccountChanged { account_id, disabled } => {
                self.copies.held.profiles.forget(Some(&account_id));
                if disabled {
                    self.hub.revoke(&account_id, Revoked::AccountDisabled);
                }
            }
            BusMessage::AccountSignedOut { account_id } => {
                self.hub.revoke(&account_id, Revoked::SignedOut);
            }
            BusMessage::NextDeadline { .. } => self.copies.timer_wake.notify_one(),
            // The video room subscribes on its own (`Video::run_relay`).
            BusMessage::VideoRoom { .. } => {}
            BusMessage::Noted { incident_id, at, place, open } => {
                let note = crate::store::AreaNote { id: incident_id, at, place };
                self.copies.held.recent.keep(super::Kept { note, open: Some(open) });
            }
            BusMessage::Load { mediator_id, holds, claims } => {
                self.dispatcher.workload_changed(&mediator_id, holds, claims.as_ref());
            }
            BusMessage::AreasChanged => {
                let areas = &self.copies.held.areas;
                if let Err(e) = areas.reload().await {
                    tracing::warn!(error = %e, "could not reload areas; keeping the old map until the next change");
                }
                // A second district narrows what district-wide screens may see: they start again.
                let map = areas.map();
                let dropped = self.hub.rescope_operators(&|area| map.scope_of(area));
                if dropped > 0 {
                    tracing::info!(screens = dropped, "operator screens whose scope changed were disconnected");
                }
            }
            BusMessage::Resync => {
                // Not the start-up load: this instance lagged behind the bus or lost it.
                tracing::warn!("bus messages may have been missed; rebuilding the position index");
                metrics::counter!("gd_bus_resyncs_total").increment(1);
                // A sooner deadline may have been among them.
                self.copies.timer_wake.notify_one();
                let mut backoff = crate::retry::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
                while let Err(e) = self.resync().await {
                    tracing::warn!(error = %e, "resync failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                return FeedStep::Resynced;
            }
        }
        FeedStep::Handled
    }

    /// Tell these mediators' sockets that their last position was not stored (the phone
    /// sends its next one within seconds; the page says why the map may lag).
    fn tell_unstored(&self, mediators: &[crate::domain::ids::AccountId]) {
        let notice = crate::push::wire::MediatorMessage::Error {
            code: "store_unavailable".to_owned(),
            message: "位置暂时没有保存成功，系统会用您下一次的位置自动重试。".to_owned(),
        };
        self.hub.send_mediators(mediators, &Payload::from(crate::push::wire::to_json(&notice)));
    }

    fn moved(&self, mediator_id: &crate::domain::ids::AccountId, fix: crate::domain::account::Fix) {
        if self.copies.index.apply_fix(mediator_id, fix) {
            self.hub.queue_position(mediator_id, fix);
        }
        self.hub.announce(Change::Mediator(mediator_id.clone()));
    }

    /// Loop until `cancel`.
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                step = self.step() => if step == FeedStep::Closed { return },
            }
        }
    }
}

/// Flush batched position changes to operator sockets every `interval` until `cancel`, each
/// placed in the area map `areas` holds at that moment.
pub async fn run_position_batches(hub: Hub, areas: Arc<dyn AreaSource>, interval: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {
                let areas = areas.map();
                hub.flush_positions(&|point| areas.locate(point));
            }
        }
    }
}

/// What one position sweep removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepStep {
    /// Positions dropped from this instance's index.
    pub forgotten: usize,
    /// Positions removed from the store.
    pub pruned: usize,
}

/// Stored positions removed per sweep: bounded so one sweep never holds Redis long; the rest
/// go next time.
const PRUNE_BATCH: usize = 10_000;

/// Forgets positions of phones silent for longer than `dispatch.forget_positions_after`: from
/// this instance's index, and from the store (at most [`PRUNE_BATCH`] a sweep); and recent
/// reports older than the hot-spot window. Every instance sweeps its own index (each holds a
/// copy); store pruning is idempotent, so every instance may run it too.
pub struct PositionSweep {
    copies: Copies,
    clock: Arc<dyn Clock>,
    forget_after: Duration,
}

impl PositionSweep {
    /// A sweep of `copies` forgetting positions older than `forget_after` by `clock`.
    #[must_use]
    pub fn new(copies: Copies, clock: Arc<dyn Clock>, forget_after: Duration) -> Self {
        Self { copies, clock, forget_after }
    }

    /// Sweep once.
    ///
    /// # Errors
    /// The store's error (the index was swept anyway).
    pub async fn step(&self) -> Result<SweepStep, StoreError> {
        let cutoff = fresh_after(self.clock.now(), self.forget_after);
        let forgotten = self.copies.index.forget_older_than(cutoff);
        self.copies.held.recent.forget_old();
        let pruned = self.copies.presence.prune_fixes_older_than(cutoff, PRUNE_BATCH).await?;
        if forgotten + pruned > 0 {
            tracing::info!(forgotten, pruned, "positions of silent phones forgotten");
        }
        Ok(SweepStep { forgotten, pruned })
    }

    /// Sweep every `every` until `cancel`.
    pub async fn run(self, every: Duration, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {
                    if let Err(e) = self.step().await {
                        tracing::warn!(error = %e, "pruning silent positions from the store failed; retrying next sweep");
                    }
                }
            }
        }
    }
}
