//! Ranking's inputs: the nearest fresh positions from the in-process H3 index, this
//! instance's ranking profiles and its workloads, assembled for `matcher::rank` (this is its
//! one caller). Filing's waves and the command center's suggestions ask here; nothing reads
//! the store on the way unless a copy misses.

use super::{DispatchError, Dispatcher};
use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use crate::domain::location::GeoPoint;
use crate::matcher::{self, Candidate, index::fresh_after};

impl Dispatcher {
    /// The best `n` available mediators for a point and category.
    ///
    /// # Errors
    /// `Store` on backend failure.
    pub async fn candidates(
        &self,
        point: GeoPoint,
        category: Category,
        n: usize,
    ) -> Result<Vec<Candidate>, DispatchError> {
        self.candidates_within(point, category, n, self.settings().dispatch.search_radius_m, &[]).await
    }

    /// The best `n` available mediators within `radius_m`, leaving out `exclude`.
    ///
    /// # Errors
    /// `Store` on backend failure.
    pub async fn candidates_within(
        &self,
        point: GeoPoint,
        category: Category,
        n: usize,
        radius_m: f64,
        exclude: &[AccountId],
    ) -> Result<Vec<Candidate>, DispatchError> {
        const ATTEMPTS: usize = 4;
        let s = &self.settings().dispatch;
        let fresh = fresh_after(self.now(), s.stale_after);
        let mut want = n + exclude.len();
        let bonuses = matcher::Bonuses { specialty_m: s.specialty_bonus_m, home_m: s.home_area_bonus_m };
        let place = self.locate(point);
        let home = |code: &str| place.grid.as_deref() == Some(code) || place.community.as_deref() == Some(code);
        let today = super::stats::today(self.now());
        // Capacity lives in the store: widen the search while it excludes candidates, a
        // bounded number of times.
        for attempt in 1..=ATTEMPTS {
            let mut nearby = self.index().nearest(point, radius_m, want, bonuses.max_m(), fresh);
            let found = nearby.len();
            nearby.retain(|c| !exclude.contains(&c.mediator_id));
            let ids: Vec<_> = nearby.iter().map(|c| c.mediator_id.clone()).collect();
            // Everyone within reach is scored from this instance's profiles; then the best few
            // get their holds and today's claims (this instance's copies), best first, until
            // `n` have room.
            let mut scored: Vec<Candidate> = nearby
                .iter()
                .zip(self.profiles(&ids).await?)
                .filter_map(|(near, profile)| {
                    let p = profile?;
                    Some(Candidate {
                        mediator_id: near.mediator_id.clone(),
                        distance_m: near.distance_m,
                        specialist: p.specialties.contains(&category),
                        local: p.area.as_deref().is_some_and(&home),
                        holds: 0,
                        capacity: p.capacity,
                        claims_today: 0,
                    })
                })
                .collect();
            matcher::order_by_score(&mut scored, bonuses);
            let mut pool = Vec::new();
            let mut ranked = vec![];
            let mut rest = scored.as_mut_slice();
            while ranked.len() < n && !rest.is_empty() {
                let (batch, after) = rest.split_at_mut(matcher::score_batch_len(rest, n, bonuses));
                let batch_ids: Vec<_> = batch.iter().map(|c| c.mediator_id.clone()).collect();
                for (c, (holds, claims_today)) in batch.iter_mut().zip(self.workloads(&batch_ids, today).await?) {
                    c.holds = holds;
                    c.claims_today = claims_today;
                }
                pool.extend_from_slice(batch);
                // Everyone after this batch scores worse than everyone in it: once `n` in the
                // pool have room, nobody later can displace them.
                ranked = matcher::rank(pool.clone(), n, bonuses);
                rest = after;
            }
            let full = pool.iter().filter(|c| c.holds >= c.capacity).count();
            if ranked.len() >= n || found < want || attempt == ATTEMPTS {
                return Ok(ranked);
            }
            want += full + (nearby.len() - scored.len());
        }
        Ok(vec![])
    }
}
