//! The in-process position index: on-duty mediators by H3 cell, so "who is near this report"
//! costs no store round trip per candidate.
//!
//! Every instance keeps its own copy, fed by the bus (position and duty messages from all
//! instances) and rebuilt from the store on start and after a bus `Resync`. The store stays the
//! source of truth; capacity and account state are re-checked in the store before an offer.

use crate::domain::account::{Fix, Presence};
use crate::domain::ids::AccountId;
use crate::domain::location::GeoPoint;
use h3o::{CellIndex, Resolution};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One mediator near a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearby {
    /// Who.
    pub mediator_id: AccountId,
    /// Their last fix.
    pub fix: Fix,
    /// Great-circle distance to the point, metres.
    pub distance_m: f64,
}

/// An indexed mediator as the search reads it: everything `nearest` needs per candidate sits
/// in the cell's vector, so the hot loop touches no hash map and computes no trigonometry
/// for the candidate's own latitude.
#[derive(Clone)]
struct Slot {
    id: AccountId,
    lat: f64,
    lng: f64,
    /// `cos(lat)` in radians, computed exactly as the haversine formula would.
    cos_lat: f64,
    at: Timestamp,
}

impl Slot {
    fn new(id: &AccountId, fix: &Fix) -> Self {
        let (lat, lng) = (fix.point.lat(), fix.point.lng());
        Self { id: id.clone(), lat, lng, cos_lat: lat.to_radians().cos(), at: fix.at }
    }
}

/// The haversine term `a` between a query and a slot, the same operations in the same order
/// as `GeoPoint::distance_m` (geo's `Haversine`), so distances derived from it are identical
/// to a brute-force scan's, bit for bit. `a` grows with distance: ranking by it is ranking by
/// distance, and the square root and arcsine are paid only for what is returned.
fn haversine_a(q_lat: f64, q_lng: f64, q_cos: f64, s: &Slot) -> f64 {
    let delta_theta = (s.lat - q_lat).to_radians();
    let delta_lambda = (s.lng - q_lng).to_radians();
    (delta_theta / 2.0).sin().powi(2) + q_cos * s.cos_lat * (delta_lambda / 2.0).sin().powi(2)
}

fn a_to_m(a: f64) -> f64 {
    geo::Haversine.radius() * (2.0 * a.sqrt().asin())
}

#[derive(Default)]
struct Inner {
    /// Everyone we know of: duty flag, last fix, and the bucket they are indexed in.
    mediators: HashMap<AccountId, (bool, Option<Fix>, Option<CellIndex>)>,
    /// On-duty mediators with a fix, by bucket cell.
    cells: HashMap<CellIndex, Vec<Slot>>,
    /// [`local_scale`] of the cells searches started from (a district has a few thousand).
    scales: HashMap<CellIndex, Scale>,
}

/// Cells whose scale is remembered before the memory starts over.
const MAX_SCALES: usize = 1 << 16;

impl Inner {
    fn scale(&mut self, origin: CellIndex) -> Scale {
        if self.scales.len() >= MAX_SCALES {
            self.scales.clear();
        }
        *self.scales.entry(origin).or_insert_with(|| local_scale(origin))
    }

    fn unindex(&mut self, id: &AccountId, cell: Option<CellIndex>) {
        if let Some(cell) = cell
            && let Some(slots) = self.cells.get_mut(&cell)
        {
            if let Some(i) = slots.iter().position(|s| &s.id == id) {
                slots.swap_remove(i);
            }
            if slots.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    /// Returns whether they are on duty now.
    fn upsert(&mut self, id: &AccountId, on_duty: Option<bool>, fix: Option<Fix>, bucket: Resolution) -> bool {
        let known = self.mediators.get(id).copied();
        let (old_duty, old_fix, old_cell) = known.unwrap_or((false, None, None));
        let duty = on_duty.unwrap_or(old_duty);
        // The instance that stored a batch applies it, then hears it again on the bus: nothing
        // to do the second time (not even finding the cell).
        if known.is_some() && duty == old_duty && (fix.is_none() || fix == old_fix) {
            return duty;
        }
        // A fix older than the one we hold (out-of-order delivery) never moves anyone back.
        let fix = match (fix, old_fix) {
            (Some(new), Some(old)) if new.at < old.at => Some(old),
            (Some(new), _) => Some(new),
            (None, old) => old,
        };
        let indexed = if duty { fix } else { None };
        let cell = indexed.map(|f| f.point.cell(bucket));
        if cell == old_cell {
            if let (Some(c), Some(f)) = (cell, indexed)
                && fix != old_fix
                && let Some(slot) = self.cells.get_mut(&c).and_then(|v| v.iter_mut().find(|s| &s.id == id))
            {
                *slot = Slot::new(id, &f);
            }
        } else {
            self.unindex(id, old_cell);
            if let (Some(c), Some(f)) = (cell, indexed) {
                self.cells.entry(c).or_default().push(Slot::new(id, &f));
            }
        }
        self.mediators.insert(id.clone(), (duty, fix, cell));
        duty
    }
}

/// Shared handle to the index. Cheap to clone.
#[derive(Clone)]
pub struct PositionIndex {
    resolution: Resolution,
    /// Buckets are one resolution finer than `resolution` (cells a seventh the area): a
    /// nearest-10 search in a dense city then reads about a hundred candidates instead of
    /// several hundred, while a sparse county costs a few more empty-cell lookups.
    bucket: Resolution,
    /// std Mutex: every critical section is short and none crosses an `.await`.
    inner: Arc<Mutex<Inner>>,
}

impl PositionIndex {
    /// An empty index at `resolution`.
    #[must_use]
    pub fn new(resolution: Resolution) -> Self {
        let bucket = resolution.succ().unwrap_or(resolution);
        Self { resolution, bucket, inner: Arc::default() }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The resolution cells are kept at.
    #[must_use]
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Replace everything with `all` (rebuild from the store).
    pub fn replace_all(&self, all: &[Presence]) {
        let mut fresh = Inner::default();
        for p in all {
            fresh.upsert(&p.mediator_id, Some(p.on_duty), p.fix, self.bucket);
        }
        *self.lock() = fresh;
    }

    /// A mediator moved; returns whether they are on duty.
    pub fn apply_fix(&self, id: &AccountId, fix: Fix) -> bool {
        self.lock().upsert(id, None, Some(fix), self.bucket)
    }

    /// A mediator went on or off duty.
    pub fn apply_duty(&self, id: &AccountId, on: bool) {
        self.lock().upsert(id, Some(on), None, self.bucket);
    }

    /// Duty and last fix of one mediator.
    #[must_use]
    pub fn get(&self, id: &AccountId) -> Option<(bool, Option<Fix>)> {
        self.lock().mediators.get(id).map(|(d, f, _)| (*d, *f))
    }

    /// Every on-duty mediator with a fix no older than `fresh_after`.
    #[must_use]
    pub fn on_duty(&self, fresh_after: Timestamp) -> Vec<(AccountId, Fix)> {
        let g = self.lock();
        g.mediators
            .iter()
            .filter_map(|(id, (duty, fix, _))| match fix {
                Some(f) if *duty && f.at >= fresh_after => Some((id.clone(), *f)),
                _ => None,
            })
            .collect()
    }

    /// How many mediators are on duty with a position (fresh or not).
    #[must_use]
    pub fn on_duty_count(&self) -> usize {
        self.lock().cells.values().map(Vec::len).sum()
    }

    /// On-duty mediators with a fresh fix around `point`, nearest first.
    ///
    /// Searches H3 rings outward from the point's cell and stops as soon as no unseen cell can
    /// hold a mediator within `reach_m` of the `want`-th nearest found so far (or within
    /// `radius_m`, whichever is smaller). Returns everyone within that reach, so a caller
    /// ranking by distance minus a bonus of at most `reach_m` misses nobody.
    #[must_use]
    pub fn nearest(
        &self,
        point: GeoPoint,
        radius_m: f64,
        want: usize,
        reach_m: f64,
        fresh_after: Timestamp,
    ) -> Vec<Nearby> {
        let origin = point.cell(self.bucket);
        let (q_lat, q_lng) = (point.lat(), point.lng());
        let q_cos = q_lat.to_radians().cos();
        let mut g = self.lock();
        let scale = g.scale(origin);
        let from_centre_m = h3o::LatLng::new(q_lat, q_lng).map_or(scale.corner_m, |q| q.distance_m(scale.centre));
        // (haversine a, slot); distances are derived from `a` only when needed.
        let mut found: Vec<(f64, &Slot)> = Vec::new();
        let mut k: u32 = 0;
        loop {
            for cell in ring(origin, k) {
                let Some(slots) = g.cells.get(&cell) else { continue };
                for slot in slots {
                    if slot.at >= fresh_after {
                        found.push((haversine_a(q_lat, q_lng, q_cos, slot), slot));
                    }
                }
            }
            // No point in ring k+1 is closer than this: its cells' centres are at least one
            // step (ring 1) or (k+1)·step·√3/2 (the middle of a ring's side) from the origin's
            // centre, the query is `from_centre_m` from that, and a point is at most a corner
            // away from its own cell's centre.
            let centres_m = if k == 0 { scale.spacing_m } else { f64::from(k + 1) * scale.spacing_m * 0.866 };
            let next_ring_min_m = centres_m - scale.corner_m - from_centre_m;
            if next_ring_min_m > radius_m {
                break;
            }
            if found.len() >= want && want > 0 {
                let (_, nth, _) = found.select_nth_unstable_by(want - 1, |x, y| x.0.total_cmp(&y.0));
                if next_ring_min_m > a_to_m(nth.0) + reach_m {
                    break;
                }
            }
            k += 1;
        }
        // In `a` order (monotone in distance), the results are a prefix: walk it, paying the
        // square root, arcsine and fix lookup only for mediators that are returned.
        found.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let mut limit_m = radius_m;
        let mut near: Vec<Nearby> = Vec::with_capacity(want.max(1));
        for (a, slot) in found {
            let distance_m = a_to_m(a);
            if distance_m > limit_m {
                break;
            }
            let Some(fix) = g.mediators.get(&slot.id).and_then(|(_, f, _)| *f) else { continue };
            near.push(Nearby { mediator_id: slot.id.clone(), fix, distance_m });
            if near.len() == want.max(1) {
                limit_m = (distance_m + reach_m).min(radius_m);
            }
        }
        drop(g);
        near.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.mediator_id.cmp(&b.mediator_id)));
        near
    }

    /// Drop one mediator's fix (their phone's link died), keeping their duty flag; the fix
    /// dropped, if there was one.
    pub fn forget_fix(&self, id: &AccountId) -> Option<Fix> {
        let mut g = self.lock();
        let Some((duty, Some(fix), cell)) = g.mediators.get(id).copied() else { return None };
        g.unindex(id, cell);
        g.mediators.insert(id.clone(), (duty, None, None));
        Some(fix)
    }

    /// Drop fixes older than `cutoff` (phones gone silent), returning how many were dropped.
    pub fn forget_older_than(&self, cutoff: Timestamp) -> usize {
        let mut g = self.lock();
        let stale: Vec<(AccountId, Option<CellIndex>)> = g
            .mediators
            .iter()
            .filter(|(_, (_, fix, _))| fix.is_some_and(|f| f.at < cutoff))
            .map(|(id, (_, _, cell))| (id.clone(), *cell))
            .collect();
        for (id, cell) in &stale {
            g.unindex(id, *cell);
            if let Some(entry) = g.mediators.get_mut(id) {
                *entry = (entry.0, None, None);
            }
        }
        stale.len()
    }
}

/// The grid around one cell, as the ring search needs it.
#[derive(Clone, Copy)]
struct Scale {
    /// The cell's centre.
    centre: h3o::LatLng,
    /// Shortest step from its centre to a neighbour's, less a margin.
    spacing_m: f64,
    /// Longest from its centre to a corner (how far a point in it may lie from the centre),
    /// plus a margin.
    corner_m: f64,
}

/// The grid's real size around `origin` (see [`Scale`]).
/// H3 cells of one resolution are neither all the average size nor regular (around Xining,
/// resolution-8 centres are 850 m apart, not the 920 m the average edge gives), and a ring
/// search bounded by the average stops too early where mediators are sparse. Cells a few
/// rings out differ from these by far less than the margin (and H3's pentagons, whose
/// neighbourhoods are irregular, all lie at sea).
fn local_scale(origin: CellIndex) -> Scale {
    const MARGIN: f64 = 0.02;
    let centre = h3o::LatLng::from(origin);
    let at = |ll: h3o::LatLng| ll.distance_m(centre);
    let spacing = origin
        .grid_disk::<Vec<_>>(1)
        .into_iter()
        .filter(|c| *c != origin)
        .map(|c| at(h3o::LatLng::from(c)))
        .fold(f64::INFINITY, f64::min);
    let corner = origin.boundary().iter().map(|v| at(*v)).fold(0.0, f64::max);
    Scale { centre, spacing_m: spacing * (1.0 - MARGIN), corner_m: corner * (1.0 + MARGIN) }
}

/// The cells exactly `k` steps from `origin` (a disk difference near pentagons).
fn ring(origin: CellIndex, k: u32) -> Vec<CellIndex> {
    if k == 0 {
        return vec![origin];
    }
    let fast: Option<Vec<CellIndex>> = origin.grid_ring_fast(k).collect();
    fast.unwrap_or_else(|| {
        origin.grid_disk_distances::<Vec<_>>(k).into_iter().filter(|(_, d)| *d == k).map(|(c, _)| c).collect()
    })
}

/// Convert a freshness window to the oldest acceptable fix time.
#[must_use]
pub fn fresh_after(now: Timestamp, stale_after: Duration) -> Timestamp {
    let window = jiff::SignedDuration::try_from(stale_after).unwrap_or(jiff::SignedDuration::MAX);
    now.checked_sub(window).unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat: f64, lng: f64, at: i64) -> Fix {
        Fix { point: GeoPoint::new(lat, lng).unwrap(), at: Timestamp::from_second(at).unwrap(), accuracy_m: None }
    }

    fn brute_force(all: &[(AccountId, Fix)], p: GeoPoint, radius: f64) -> Vec<AccountId> {
        let mut v: Vec<_> =
            all.iter().map(|(id, f)| (id.clone(), p.distance_m(f.point))).filter(|(_, d)| *d <= radius).collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        v.into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn nearest_matches_a_brute_force_scan() {
        let index = PositionIndex::new(Resolution::Eight);
        let mut all = vec![];
        // A deterministic scatter over ~20 km around Xining.
        let mut seed: u64 = 7;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let a = (seed >> 33) as f64 / f64::from(u32::MAX >> 1);
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let b = (seed >> 33) as f64 / f64::from(u32::MAX >> 1);
            let id = AccountId::generate();
            let f = fix(36.5 + a * 0.2, 101.65 + b * 0.25, 100);
            index.apply_duty(&id, true);
            index.apply_fix(&id, f);
            all.push((id, f));
        }
        let p = GeoPoint::new(36.6, 101.77).unwrap();
        let got: Vec<_> = index.nearest(p, 5000.0, 10, 0.0, Timestamp::from_second(0).unwrap());
        let want = brute_force(&all, p, 5000.0);
        assert_eq!(got.iter().take(10).map(|n| n.mediator_id.clone()).collect::<Vec<_>>(), want[..10].to_vec());
    }

    /// Sparse and dense scatters over a 30 km city, queried all over it (edges included):
    /// the ring search must not stop before the true nearest, however far they are.
    #[test]
    fn nearest_matches_a_brute_force_scan_at_any_density_anywhere_in_the_city() {
        let mut seed: u64 = 11;
        let mut unit = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as f64 / f64::from(u32::MAX >> 1)
        };
        let (lat0, lng0, dlat, dlng) = (36.485, 101.61, 0.27, 0.335);
        for mediators in [200, 2000, 20_000] {
            let index = PositionIndex::new(Resolution::Eight);
            let mut all = vec![];
            for _ in 0..mediators {
                let id = AccountId::generate();
                let f = fix(lat0 + unit() * dlat, lng0 + unit() * dlng, 100);
                index.apply_duty(&id, true);
                index.apply_fix(&id, f);
                all.push((id, f));
            }
            let mut wrong = vec![];
            for _ in 0..500 {
                let p = GeoPoint::new(lat0 + unit() * dlat, lng0 + unit() * dlng).unwrap();
                let got: Vec<_> = index
                    .nearest(p, 5000.0, 10, 0.0, Timestamp::from_second(0).unwrap())
                    .into_iter()
                    .map(|n| n.mediator_id)
                    .collect();
                let mut want = brute_force(&all, p, 5000.0);
                want.truncate(10);
                if got != want {
                    wrong.push(p);
                }
            }
            assert!(
                wrong.is_empty(),
                "{mediators} mediators: {} of 500 queries wrong, e.g. {:?}",
                wrong.len(),
                wrong.first()
            );
        }
    }

    #[test]
    fn moves_within_and_across_cells_keep_matching_a_brute_force_scan() {
        let index = PositionIndex::new(Resolution::Eight);
        let mut all: Vec<(AccountId, Fix)> = vec![];
        let mut seed: u64 = 11;
        let mut unit = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as f64 / f64::from(u32::MAX >> 1)
        };
        for _ in 0..1000 {
            let id = AccountId::generate();
            let f = fix(36.55 + unit() * 0.1, 101.7 + unit() * 0.12, 100);
            index.apply_duty(&id, true);
            index.apply_fix(&id, f);
            all.push((id, f));
        }
        // Everyone moves: a few metres (same cell, mostly) or a few kilometres (another cell).
        for (i, (id, f)) in all.iter_mut().enumerate() {
            let step = if i % 2 == 0 { 0.00005 } else { 0.03 };
            *f = fix(f.point.lat() + step * (unit() - 0.5), f.point.lng() + step * (unit() - 0.5), 200);
            index.apply_fix(id, *f);
        }
        for _ in 0..50 {
            let p = GeoPoint::new(36.55 + unit() * 0.1, 101.7 + unit() * 0.12).unwrap();
            let got: Vec<_> = index.nearest(p, 5000.0, 10, 0.0, Timestamp::from_second(150).unwrap());
            let want = brute_force(&all, p, 5000.0);
            let got: Vec<_> = got.into_iter().take(10).map(|n| n.mediator_id).collect();
            assert_eq!(got, want[..want.len().min(10)].to_vec());
        }
        assert_eq!(index.on_duty_count(), 1000);
    }

    #[test]
    fn off_duty_stale_and_far_mediators_are_not_found() {
        let index = PositionIndex::new(Resolution::Eight);
        let p = GeoPoint::new(36.6, 101.77).unwrap();
        let (near, off, stale, far) =
            (AccountId::generate(), AccountId::generate(), AccountId::generate(), AccountId::generate());
        for id in [&near, &off, &stale, &far] {
            index.apply_duty(id, true);
        }
        index.apply_fix(&near, fix(36.601, 101.77, 1000));
        index.apply_fix(&off, fix(36.601, 101.771, 1000));
        index.apply_duty(&off, false);
        index.apply_fix(&stale, fix(36.601, 101.772, 10));
        index.apply_fix(&far, fix(36.8, 101.77, 1000)); // ~22 km north
        let got = index.nearest(p, 5000.0, 5, 0.0, Timestamp::from_second(500).unwrap());
        assert_eq!(got.into_iter().map(|n| n.mediator_id).collect::<Vec<_>>(), vec![near.clone()]);
        // An older fix arriving late does not move the mediator back.
        index.apply_fix(&near, fix(36.7, 101.77, 900));
        assert_eq!(index.get(&near).unwrap().1.unwrap().at, Timestamp::from_second(1000).unwrap());
    }
}
