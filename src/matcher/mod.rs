//! Who gets offered an incident: pure ranking, plus the in-process position index it reads.
//!
//! The rule (documented in docs/architecture.md): among on-duty mediators with a fresh position within the
//! search radius and free capacity, rank by great-circle distance, counting a specialist in
//! the incident's category as `specialty_bonus_m` metres nearer, and one whose home grid or
//! community is the incident's as `home_area_bonus_m` nearer (so the first wave prefers the
//! people who know the neighbours); ties go to the mediator with
//! less work today (fewer incidents taken today in Asia/Shanghai, then fewer held now), then to
//! the lower id (deterministic).

pub mod index;

use crate::domain::ids::AccountId;

/// A mediator who could be offered an incident, with what ranking needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Who.
    pub mediator_id: AccountId,
    /// Great-circle distance to the incident, metres.
    pub distance_m: f64,
    /// Their specialties include the incident's category.
    pub specialist: bool,
    /// Their home grid or community is the incident's (they know the neighbours).
    pub local: bool,
    /// Incidents they hold now.
    pub holds: u32,
    /// Incidents they may hold at once.
    pub capacity: u32,
    /// Incidents they took today (Asia/Shanghai).
    pub claims_today: u32,
}

/// How many metres nearer a quality makes a mediator count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bonuses {
    /// For a specialist in the category.
    pub specialty_m: f64,
    /// For a mediator whose home grid or community is the incident's.
    pub home_m: f64,
}

impl Bonuses {
    /// The most any candidate can gain (how far past the n-th nearest a search must look).
    #[must_use]
    pub fn max_m(self) -> f64 {
        self.specialty_m + self.home_m
    }
}

impl Candidate {
    fn score(&self, b: Bonuses) -> f64 {
        let mut s = self.distance_m;
        if self.specialist {
            s -= b.specialty_m;
        }
        if self.local {
            s -= b.home_m;
        }
        s
    }
}

/// Sort by score alone (best first; equal scores by id), before holds and today's claims are
/// known: [`rank`] over any prefix cut by [`score_batch_len`] then agrees with [`rank`] over all.
pub fn order_by_score(candidates: &mut [Candidate], bonuses: Bonuses) {
    candidates
        .sort_by(|a, b| a.score(bonuses).total_cmp(&b.score(bonuses)).then_with(|| a.mediator_id.cmp(&b.mediator_id)));
}

/// How many of `ordered` (from [`order_by_score`]) to look at next when `n` are wanted: `n`,
/// or more so that candidates with equal scores (whom holds and claims decide between) are
/// never split.
#[must_use]
pub fn score_batch_len(ordered: &[Candidate], n: usize, bonuses: Bonuses) -> usize {
    let mut len = n.max(1).min(ordered.len());
    while len > 0 && len < ordered.len() && ordered[len].score(bonuses) == ordered[len - 1].score(bonuses) {
        len += 1;
    }
    len
}

/// The best `n` candidates with free capacity, best first.
#[must_use]
pub fn rank(mut candidates: Vec<Candidate>, n: usize, bonuses: Bonuses) -> Vec<Candidate> {
    candidates.retain(|c| c.holds < c.capacity);
    candidates.sort_by(|a, b| {
        a.score(bonuses)
            .total_cmp(&b.score(bonuses))
            .then(a.claims_today.cmp(&b.claims_today))
            .then(a.holds.cmp(&b.holds))
            .then_with(|| a.mediator_id.cmp(&b.mediator_id))
    });
    candidates.truncate(n);
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bonuses = Bonuses { specialty_m: 500.0, home_m: 1000.0 };

    #[test]
    fn a_local_mediator_counts_nearer() {
        let local = Candidate { local: true, ..c(1200.0, false, 0) };
        let stranger = c(300.0, false, 0);
        assert_eq!(rank(vec![stranger.clone(), local.clone()], 2, B), vec![local, stranger]);
    }

    fn c(distance_m: f64, specialist: bool, holds: u32) -> Candidate {
        Candidate {
            mediator_id: AccountId::generate(),
            distance_m,
            specialist,
            holds,
            capacity: 3,
            claims_today: 0,
            local: false,
        }
    }

    #[test]
    fn nearest_first_specialists_count_nearer_and_full_mediators_are_skipped() {
        let near = c(100.0, false, 0);
        let specialist = c(450.0, true, 0); // scores -50 with a 500 m bonus
        let far_specialist = c(2000.0, true, 0);
        let full = Candidate { capacity: 1, ..c(10.0, true, 1) };
        let ranked = rank(vec![far_specialist.clone(), near.clone(), full, specialist.clone()], 5, B);
        assert_eq!(ranked, vec![specialist, near, far_specialist]);
    }

    #[test]
    fn ranking_batch_by_batch_in_score_order_agrees_with_ranking_everyone() {
        let mut all: Vec<Candidate> = (0..40)
            .map(|i| Candidate {
                claims_today: (i * 7) % 5,
                capacity: 1 + (i % 3),
                ..c(f64::from((i * 37) % 11) * 100.0, i % 4 == 0, (i * 5) % 3)
            })
            .collect();
        let everyone = rank(all.clone(), 5, B);
        order_by_score(&mut all, B);
        let (mut pool, mut ranked, mut rest) = (vec![], vec![], all.as_slice());
        while ranked.len() < 5 && !rest.is_empty() {
            let (batch, after) = rest.split_at(score_batch_len(rest, 5, B));
            assert!(
                after.first().is_none_or(|next| next.score(B) > batch[batch.len() - 1].score(B)),
                "ties stay together"
            );
            pool.extend_from_slice(batch);
            ranked = rank(pool.clone(), 5, B);
            rest = after;
        }
        assert_eq!(ranked, everyone);
        assert!(pool.len() < 40, "stopped early ({} read)", pool.len());
    }

    #[test]
    fn ties_go_to_the_mediator_with_less_work_today() {
        let busy_today = Candidate { claims_today: 4, ..c(300.0, false, 0) };
        let quiet_today = Candidate { claims_today: 1, ..c(300.0, false, 1) };
        assert_eq!(rank(vec![busy_today, quiet_today.clone()], 1, B), vec![quiet_today]);
    }

    #[test]
    fn ties_go_to_the_less_busy_mediator() {
        let busy = c(300.0, false, 2);
        let idle = c(300.0, false, 0);
        assert_eq!(rank(vec![busy.clone(), idle.clone()], 1, B), vec![idle]);
    }
}
