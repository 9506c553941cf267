//! Offer waves: the nearest few first (the report's cell and its neighbours), then wider rings
//! every `dispatch.wave_interval` until someone accepts, it escalates, or it is withdrawn.
//! Wave `w` reaches `2^w - 1` rings (1, 3, 7, 15 …), capped at `dispatch.search_radius_m`.

use super::{Actor, DispatchError, Dispatcher};
use crate::domain::incident::{Command, Offer, Status};
use crate::domain::location::ring_spacing_m;
use crate::matcher::Candidate;
use jiff::SignedDuration;
use tracing::instrument;

impl Dispatcher {
    /// How far wave `wave` (1-based) reaches, metres.
    #[must_use]
    pub fn wave_radius_m(&self, wave: u32) -> f64 {
        let rings = f64::from((1u32 << wave.clamp(1, 20)) - 1);
        let spacing = ring_spacing_m(self.index().resolution());
        ((rings + 0.5) * spacing).min(self.settings().dispatch.search_radius_m)
    }

    /// The first wave for a new report: starting at wave 1, widen until someone is found or the
    /// search radius is exhausted. Returns the wave reached and who to offer.
    ///
    /// # Errors
    /// `Store`.
    pub(super) async fn first_wave(
        &self,
        point: crate::domain::location::GeoPoint,
        category: crate::domain::category::Category,
    ) -> Result<(u32, Vec<Candidate>), DispatchError> {
        let n = self.settings().dispatch.offer_count;
        let mut wave = 1;
        loop {
            let radius_m = self.wave_radius_m(wave);
            let found = self.candidates_within(point, category, n, radius_m, &[]).await?;
            if !found.is_empty() || radius_m >= self.settings().dispatch.search_radius_m {
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
    pub async fn next_wave(&self, id: &crate::domain::ids::IncidentId) -> Result<bool, DispatchError> {
        let Some(incident) = self.ports().incidents.get_incident(id).await? else { return Ok(false) };
        if incident.status != Status::Dispatching {
            return Ok(false);
        }
        let s = &self.settings().dispatch;
        let now = self.now();
        let asked: Vec<_> = incident.offers.iter().map(|o| o.mediator_id.clone()).collect();
        let radius_m = self.wave_radius_m(incident.wave + 1);
        let fresh =
            self.candidates_within(incident.location, incident.category, s.offer_count, radius_m, &asked).await?;
        let offers: Vec<Offer> = fresh.into_iter().map(|c| Offer::new(c.mediator_id, c.distance_m, now)).collect();
        let ttl = SignedDuration::try_from(s.offer_ttl).unwrap_or(SignedDuration::MAX);
        let command = Command::Offer { offers, expire_before: now.checked_sub(ttl).ok() };
        match self.run(id, &Actor::system(), command).await {
            Ok((_, changed)) => Ok(changed),
            Err(DispatchError::NotFound | DispatchError::Transition(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
