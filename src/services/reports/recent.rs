//! Recent reports by hot-spot area, kept per instance for the reports capability: what a new
//! report's look-back needs (a possible duplicate nearby, whether its area keeps coming
//! back), answered without a store round trip before the report's write. The look-back reads
//! it (`RecentReports::around`); the engine feeds it as its [`RecentSource`].
//!
//! Fed by [`BusMessage::Noted`](crate::store::BusMessage::Noted), which a report's write sends
//! and the write that closes it sends again; an instance applies its own at once, so its next
//! report sees them. Loaded from the store's notes at start and on every resync; until a load
//! has finished the look-back asks the store, as it did before this copy existed. A note
//! loaded from the store does not say whether its report is still open, so the look-back reads
//! that report if it is close enough to be a duplicate.

use super::look_back::{CELLS_PER_READ, HOTSPOT_WINDOW};
use crate::clock::Clock;
use crate::dispatch::{Kept, RecentSource};
use crate::domain::location::GeoPoint;
use crate::store::{AreaNote, IncidentStore, StoreError};
use async_trait::async_trait;
use h3o::CellIndex;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;

/// Notes kept per area, newest first: as many as one look-back reads of an area.
pub(super) const PER_AREA: usize = 32;

/// What the look-back learns of a place.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Nearby {
    /// Reports in the cells asked for made at or after the duplicate window's start, at most
    /// [`PER_AREA`] per cell.
    pub(super) recent: Vec<Kept>,
    /// Reports in the place's own area made at or after the hot-spot window's start (at most
    /// [`PER_AREA`]).
    pub(super) in_area: usize,
}

#[derive(Debug, Default)]
struct State {
    /// False until a load from the store has finished (and during a reload).
    ready: bool,
    /// By area, newest first, at most [`PER_AREA`].
    areas: HashMap<CellIndex, Vec<Kept>>,
}

impl State {
    /// Add or update one report; what is known (open or closed) wins over what is not.
    fn keep(&mut self, kept: Kept) {
        let notes = self.areas.entry(kept.note.place.area()).or_default();
        if let Some(same) = notes.iter_mut().find(|k| k.note.id == kept.note.id) {
            if kept.open.is_some() {
                same.open = kept.open;
            }
            return;
        }
        let at = notes.partition_point(|k| (k.note.at, &k.note.id) > (kept.note.at, &kept.note.id));
        notes.insert(at, kept);
        notes.truncate(PER_AREA);
    }
}

/// This instance's recent reports. Cheap to clone.
#[derive(Clone)]
pub struct RecentReports {
    inner: Arc<Inner>,
}

struct Inner {
    incidents: Arc<dyn IncidentStore>,
    clock: Arc<dyn Clock>,
    /// The copy (std RwLock: never held across an await).
    state: std::sync::RwLock<State>,
}

impl RecentReports {
    /// A copy loaded from `incidents`' notes (not ready until [`RecentSource::reload`]).
    #[must_use]
    pub fn new(incidents: Arc<dyn IncidentStore>, clock: Arc<dyn Clock>) -> Self {
        let inner = Inner { incidents, clock, state: std::sync::RwLock::default() };
        Self { inner: Arc::new(inner) }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Around `place`: reports in `cells` since `dup_since`, and the count in its own area
    /// since `since`; None until loaded (the look-back then asks the store).
    pub(super) fn around(
        &self,
        place: GeoPoint,
        cells: &[CellIndex],
        dup_since: Timestamp,
        since: Timestamp,
    ) -> Option<Nearby> {
        let state = self.inner.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !state.ready {
            return None;
        }
        let recent = cells
            .iter()
            .filter_map(|c| state.areas.get(c))
            .flat_map(|notes| notes.iter().take_while(|k| k.note.at >= dup_since).cloned())
            .collect();
        let in_area =
            state.areas.get(&place.area()).map_or(0, |notes| notes.iter().take_while(|k| k.note.at >= since).count());
        Some(Nearby { recent, in_area })
    }

    /// Stop answering until [`Self::loaded`] (a reload begins).
    fn unready(&self) {
        self.write().ready = false;
    }

    /// Merge what was loaded from the store (open or not unknown) and answer from now on.
    fn loaded(&self, notes: Vec<AreaNote>) {
        let mut state = self.write();
        for note in notes {
            state.keep(Kept { note, open: None });
        }
        state.ready = true;
    }

    /// Drop reports made before `since` and areas left empty; returns how many were dropped.
    fn forget_before(&self, since: Timestamp) -> usize {
        let mut state = self.write();
        let mut dropped = 0;
        state.areas.retain(|_, notes| {
            let keep = notes.partition_point(|k| k.note.at >= since);
            dropped += notes.len() - keep;
            notes.truncate(keep);
            !notes.is_empty()
        });
        dropped
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.state.read().map_or(0, |s| s.areas.values().map(Vec::len).sum())
    }
}

#[async_trait]
impl RecentSource for RecentReports {
    fn keep(&self, kept: Kept) {
        self.write().keep(kept);
    }

    async fn reload(&self) -> Result<(), StoreError> {
        self.unready();
        let since = self.inner.clock.now().checked_sub(HOTSPOT_WINDOW).unwrap_or(Timestamp::MIN);
        let store = &self.inner.incidents;
        let cells = store.noted_areas(since).await?;
        let mut notes = Vec::new();
        for chunk in cells.chunks(CELLS_PER_READ) {
            notes.extend(store.noted_in_areas(chunk, since, PER_AREA).await?);
        }
        tracing::info!(areas = cells.len(), reports = notes.len(), "recent reports loaded from the store");
        self.loaded(notes);
        Ok(())
    }

    fn forget_old(&self) -> usize {
        let since = self.inner.clock.now().checked_sub(HOTSPOT_WINDOW).unwrap_or(Timestamp::MIN);
        self.forget_before(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::domain::ids::IncidentId;
    use crate::store::memory::MemoryStore;

    fn recent() -> RecentReports {
        RecentReports::new(Arc::new(MemoryStore::new()), Arc::new(SystemClock))
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("valid")
    }

    fn kept(s: i64, lat: f64, open: Option<bool>) -> Kept {
        Kept {
            note: AreaNote { id: IncidentId::generate(), at: at(s), place: GeoPoint::new(lat, 101.77).expect("valid") },
            open,
        }
    }

    #[test]
    fn nothing_is_answered_before_a_load_and_messages_win_over_the_load() {
        let recent = recent();
        let place = GeoPoint::new(36.6, 101.77).expect("valid");
        let cells = [place.area()];
        let open = kept(10, 36.6, Some(true));
        recent.keep(open.clone());
        assert_eq!(recent.around(place, &cells, at(0), at(0)), None, "not loaded yet");
        recent.loaded(vec![open.note.clone(), kept(5, 36.6, None).note]);
        let near = recent.around(place, &cells, at(0), at(0)).expect("loaded");
        assert_eq!(near.in_area, 2);
        assert_eq!(near.recent[0], open, "newest first, and still known to be open");
        assert_eq!(near.recent[1].open, None);
        recent.keep(Kept { open: Some(false), ..open.clone() });
        let near = recent.around(place, &cells, at(0), at(0)).expect("loaded");
        assert_eq!(near.recent[0].open, Some(false), "closed");
        assert_eq!(recent.around(place, &cells, at(6), at(0)).expect("loaded").recent.len(), 1, "duplicate window");
        recent.unready();
        assert_eq!(recent.around(place, &cells, at(0), at(0)), None, "reloading");
    }

    #[test]
    fn each_area_keeps_its_newest_and_old_ones_are_forgotten() {
        let recent = recent();
        recent.loaded(vec![]);
        for s in 0..40 {
            recent.keep(kept(s, 36.6, Some(true)));
        }
        recent.keep(kept(3, 37.6, Some(true)));
        assert_eq!(recent.len(), PER_AREA + 1);
        let place = GeoPoint::new(36.6, 101.77).expect("valid");
        let near = recent.around(place, &[place.area()], at(0), at(0)).expect("loaded");
        assert_eq!(near.recent.first().map(|k| k.note.at), Some(at(39)));
        assert_eq!(near.recent.last().map(|k| k.note.at), Some(at(39 - PER_AREA as i64 + 1)));
        assert_eq!(recent.forget_before(at(30)), PER_AREA - 10 + 1);
        assert_eq!(recent.len(), 10);
    }
}
