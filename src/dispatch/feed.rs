//! The bus listener: keeps this instance's position index and sockets in step with what every
//! instance publishes. `step` handles one message; `run` loops until shutdown. The position
//! sweep forgets phones gone silent (`sweep_positions` once, `run_position_sweep` in a loop).

use super::Dispatcher;
use crate::matcher::index::fresh_after;
use crate::push::{Change, Hub, Payload, Revoked};
use crate::store::{BusMessage, BusReceiver, StoreError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
    hub: Hub,
    rx: BusReceiver,
    /// This instance's failed position batches (local: they concern its own sockets).
    unstored: tokio::sync::broadcast::Receiver<super::positions::Unstored>,
}

impl Feed {
    /// A feed reading `rx` (subscribe before loading the index, so nothing falls in between).
    #[must_use]
    pub fn new(dispatcher: Dispatcher, hub: Hub, rx: BusReceiver) -> Self {
        let unstored = dispatcher.watch_unstored_positions();
        Self { dispatcher, hub, rx, unstored }
    }

    /// Rebuild the position index and the recent reports from the store (and forget profiles
    /// and workloads, which are read again as needed).
    ///
    /// # Errors
    /// The store's error; the caller retries.
    pub async fn resync(dispatcher: &Dispatcher) -> Result<(), crate::store::StoreError> {
        dispatcher.forget_profiles();
        dispatcher.forget_workloads();
        let all = dispatcher.ports().presence.all_presence().await?;
        dispatcher.index().replace_all(&all);
        tracing::info!(mediators = all.len(), "position index rebuilt from the store");
        dispatcher.reload_recent_reports().await?;
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
        let index = self.dispatcher.index();
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
                self.dispatcher.forget_profile(&account_id);
                if disabled {
                    self.hub.revoke(&account_id, Revoked::AccountDisabled);
                }
            }
            BusMessage::AccountSignedOut { account_id } => {
                self.hub.revoke(&account_id, Revoked::SignedOut);
            }
            BusMessage::NextDeadline { .. } => self.dispatcher.deadlines_changed(),
            // The video room subscribes on its own (`Video::run_relay`).
            BusMessage::VideoRoom { .. } => {}
            BusMessage::Noted { incident_id, at, place, open } => {
                self.dispatcher.report_noted(&incident_id, at, place, open);
            }
            BusMessage::Load { mediator_id, holds, claims } => {
                self.dispatcher.workload_changed(&mediator_id, holds, claims.as_ref());
            }
            BusMessage::AreasChanged => {
                if let Err(e) = self.dispatcher.reload_areas().await {
                    tracing::warn!(error = %e, "could not reload areas; keeping the old map until the next change");
                }
                // A second district narrows what district-wide screens may see: they start again.
                let dropped = self.hub.rescope_operators(&|area| self.dispatcher.scope_for(area));
                if dropped > 0 {
                    tracing::info!(screens = dropped, "operator screens whose scope changed were disconnected");
                }
            }
            BusMessage::Resync => {
                // Not the start-up load: this instance lagged behind the bus or lost it.
                tracing::warn!("bus messages may have been missed; rebuilding the position index");
                metrics::counter!("gd_bus_resyncs_total").increment(1);
                // A sooner deadline may have been among them.
                self.dispatcher.deadlines_changed();
                let mut backoff = crate::retry::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
                while let Err(e) = Self::resync(&self.dispatcher).await {
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
        if self.dispatcher.index().apply_fix(mediator_id, fix) {
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

/// Flush batched position changes to operator sockets every `interval` until `cancel`.
pub async fn run_position_batches(hub: Hub, dispatcher: Dispatcher, interval: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {
                let areas = dispatcher.areas();
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

/// Forget positions of phones silent for longer than `dispatch.forget_positions_after`: from
/// this instance's index, and from the store (at most [`PRUNE_BATCH`] a sweep). Every
/// instance sweeps its own index (each holds a copy); store pruning is idempotent, so every
/// instance may run it too.
///
/// # Errors
/// The store's error (the index was swept anyway).
pub async fn sweep_positions(dispatcher: &Dispatcher) -> Result<SweepStep, StoreError> {
    let cutoff = fresh_after(dispatcher.now(), dispatcher.settings().dispatch.forget_positions_after);
    let forgotten = dispatcher.index().forget_older_than(cutoff);
    dispatcher.forget_old_reports();
    let pruned = dispatcher.ports().presence.prune_fixes_older_than(cutoff, PRUNE_BATCH).await?;
    if forgotten + pruned > 0 {
        tracing::info!(forgotten, pruned, "positions of silent phones forgotten");
    }
    Ok(SweepStep { forgotten, pruned })
}

/// Run [`sweep_positions`] every `every` until `cancel`.
pub async fn run_position_sweep(dispatcher: Dispatcher, every: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = sweep_positions(&dispatcher).await {
                    tracing::warn!(error = %e, "pruning silent positions from the store failed; retrying next sweep");
                }
            }
        }
    }
}
