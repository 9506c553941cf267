//! Offer waves: the nearest few first (the report's cell and its neighbours), then wider rings
//! every `dispatch.wave_interval` until someone accepts, it escalates, or it is withdrawn.
//! Wave `w` reaches `2^w - 1` rings (1, 3, 7, 15 …), capped at `dispatch.search_radius_m`.
//!
//! The first wave is filing's; each next one is a `TimerKind::Wave` deadline, which the timer
//! runner fires through [`TimerHandler`] (with the same claim, lease and fencing as every other
//! deadline), or sent at once when a decline leaves nobody with an open offer. Both run
//! `Command::Offer` through the engine's command path.

use crate::dispatch::{Actor, DispatchError, Dispatcher};
use crate::domain::category::Category;
use crate::domain::ids::IncidentId;
use crate::domain::incident::{Command, Offer, Status};
use crate::domain::location::{GeoPoint, ring_spacing_m};
use crate::matcher::Candidate;
use crate::store::{IncidentStore, TimerKey, TimerKind};
use crate::timers::{FireError, TimerHandler};
use jiff::SignedDuration;
use std::sync::Arc;
use tracing::instrument;

/// Offer waves. Cheap to clone.
#[derive(Clone)]
pub struct Waves {
    engine: Dispatcher,
    /// The incidents a wave reads.
    incidents: Arc<dyn IncidentStore>,
}

impl Waves {
    /// Over the dispatch engine (ranking, the command path) and the incident store.
    #[must_use]
    pub fn new(engine: Dispatcher, incidents: Arc<dyn IncidentStore>) -> Self {
        Self { engine, incidents }
    }

    /// How far wave `wave` (1-based) reaches, metres.
    #[must_use]
    pub fn wave_radius_m(&self, wave: u32) -> f64 {
        let rings = f64::from((1u32 << wave.clamp(1, 20)) - 1);
        let spacing = ring_spacing_m(self.engine.index().resolution());
        ((rings + 0.5) * spacing).min(self.engine.settings().dispatch.search_radius_m)
    }

    /// The first wave for a new report: starting at wave 1, widen until someone is found or the
    /// search radius is exhausted. Returns the wave reached and who to offer.
    ///
    /// # Errors
    /// `Store`.
    pub(super) async fn first_wave(
        &self,
        point: GeoPoint,
        category: Category,
    ) -> Result<(u32, Vec<Candidate>), DispatchError> {
        let s = &self.engine.settings().dispatch;
        let mut wave = 1;
        loop {
            let radius_m = self.wave_radius_m(wave);
            let found = self.engine.candidates_within(point, category, s.offer_count, radius_m, &[]).await?;
            if !found.is_empty() || radius_m >= s.search_radius_m {
                return Ok((wave, found));
            }
            wave += 1;
        }
    }

    /// Send the next wave for an unclaimed incident (timer, or after the last open offer was
    /// declined): lapse offers older than `dispatch.offer_ttl`, offer the next best mediators
    /// not yet asked within the wave's reach. Idempotent against stale timers.
    ///
    /// # Errors
    /// `Store`.
    #[instrument(skip_all, fields(incident_id = %id))]
    pub async fn next_wave(&self, id: &IncidentId) -> Result<bool, DispatchError> {
        let engine = &self.engine;
        let Some(incident) = self.incidents.get_incident(id).await? else { return Ok(false) };
        if incident.status != Status::Dispatching {
            return Ok(false);
        }
        let s = &engine.settings().dispatch;
        let now = engine.now();
        let asked: Vec<_> = incident.offers.iter().map(|o| o.mediator_id.clone()).collect();
        let radius_m = self.wave_radius_m(incident.wave + 1);
        let fresh =
            engine.candidates_within(incident.location, incident.category, s.offer_count, radius_m, &asked).await?;
        let offers: Vec<Offer> = fresh.into_iter().map(|c| Offer::new(c.mediator_id, c.distance_m, now)).collect();
        let ttl = SignedDuration::try_from(s.offer_ttl).unwrap_or(SignedDuration::MAX);
        let command = Command::Offer { offers, expire_before: now.checked_sub(ttl).ok() };
        match engine.run(id, &Actor::system(), command).await {
            Ok((_, changed)) => Ok(changed),
            Err(DispatchError::NotFound | DispatchError::Transition(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl TimerHandler for Waves {
    fn handles(&self, kind: TimerKind) -> bool {
        kind == TimerKind::Wave
    }

    async fn fire(&self, key: &TimerKey) -> Result<bool, FireError> {
        Ok(self.next_wave(&key.incident_id).await?)
    }
}
