//! The look-back of a new report: a possibly identical open report nearby (`duplicate_of`)
//! and whether its area keeps coming back (`recurring`), read from this instance's
//! [`RecentReports`](super::RecentReports) without a store round trip before the report's write; until that copy is
//! loaded (at start, on a resync), from the store's notes.

use super::Reports;
use super::recent::{Nearby, PER_AREA};
use crate::dispatch::{DispatchError, Kept};
use crate::domain::ids::IncidentId;
use crate::domain::location::GeoPoint;
use jiff::{SignedDuration, Timestamp};

/// How far back hot spots look, and the duplicate window.
pub(crate) const HOTSPOT_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 30);
const DUPLICATE_WINDOW: SignedDuration = SignedDuration::from_mins(30);
const DUPLICATE_DISTANCE_M: f64 = 100.0;
/// Reports counted per area for the hot-spot map: far more than one area gathers in 30 days
/// (one every 10 minutes, day and night, is 4,320).
pub(crate) const HOTSPOT_NOTES_PER_AREA: usize = 10_000;
/// Hot-spot cells whose notes one read asks for (a reload, the hot-spot list).
pub(crate) const CELLS_PER_READ: usize = 256;

impl Reports {
    /// For a new report at `place`: a possibly identical open report (within 100 m and 30
    /// minutes; the nearest), and whether its area had two or more reports in 30 days.
    pub(super) async fn look_back(
        &self,
        place: GeoPoint,
        now: Timestamp,
    ) -> Result<(Option<IncidentId>, bool), DispatchError> {
        let since = now.checked_sub(HOTSPOT_WINDOW).unwrap_or(Timestamp::MIN);
        let dup_since = now.checked_sub(DUPLICATE_WINDOW).unwrap_or(Timestamp::MIN);
        // The report's own area and its neighbours (a duplicate 100 m away may sit across an
        // edge). This instance's copy answers; until it is loaded, the store's index does.
        let area = place.area();
        let cells: Vec<h3o::CellIndex> = area.grid_disk(1);
        let Nearby { recent, in_area } = match self.recent.around(place, &cells, dup_since, since) {
            Some(nearby) => nearby,
            None => self.look_back_in_store(area, &cells, dup_since, since).await?,
        };
        let close: Vec<(Kept, f64)> = recent
            .into_iter()
            .map(|k| {
                let d = k.note.place.distance_m(place);
                (k, d)
            })
            .filter(|(_, d)| *d <= DUPLICATE_DISTANCE_M)
            .collect();
        // Whether a note loaded from the store is still open is not known: read those reports.
        let unknown: Vec<IncidentId> =
            close.iter().filter(|(k, _)| k.open.is_none()).map(|(k, _)| k.note.id.clone()).collect();
        let open_unknown: Vec<IncidentId> =
            if unknown.is_empty() { vec![] } else { self.incidents.get_incidents(&unknown).await? }
                .into_iter()
                .filter(|i| !i.status.is_closed())
                .map(|i| i.id)
                .collect();
        let duplicate = close
            .iter()
            .filter(|(k, _)| k.open.unwrap_or_else(|| open_unknown.contains(&k.note.id)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k.note.id.clone());
        Ok((duplicate, in_area >= 2))
    }

    /// The look-back's reads from the store's index (one round trip): a count of the report's
    /// own area, and the newest notes of it and its neighbours, which carry their places.
    async fn look_back_in_store(
        &self,
        area: h3o::CellIndex,
        cells: &[h3o::CellIndex],
        dup_since: Timestamp,
        since: Timestamp,
    ) -> Result<Nearby, DispatchError> {
        let (own, cells) = (area.to_string(), cells.iter().map(ToString::to_string).collect::<Vec<_>>());
        let (in_area, noted) = tokio::try_join!(
            self.incidents.count_noted(&own, since),
            self.incidents.noted_in_areas(&cells, dup_since, PER_AREA),
        )?;
        Ok(Nearby {
            recent: noted.into_iter().map(|note| Kept { note, open: None }).collect(),
            in_area: usize::try_from(in_area).unwrap_or(usize::MAX),
        })
    }
}
