//! Statistics: the figures of a date range (the district's monthly report, with the case
//! files' agreement figures), the incidents of a period, and hot spots, each within an
//! operator's scope. The computation itself is pure
//! (`dispatch::stats`); this service reads what it needs.

use super::{CELLS_PER_READ, HOTSPOT_NOTES_PER_AREA, HOTSPOT_WINDOW};
use crate::casefile::{CaseFileError, CaseFiles};
use crate::dispatch::stats::{MAX_INCIDENTS, Stats, compute, day_bounds};
use crate::dispatch::{DispatchError, Dispatcher, Scope};
use crate::domain::account::Role;
use crate::domain::incident::Incident;
use crate::store::{Directory, IncidentStore, Ports};
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::Arc;

/// Figures for the command center. Cheap to clone.
#[derive(Clone)]
pub struct Statistics {
    engine: Dispatcher,
    /// The incidents counted and the hot-spot notes.
    incidents: Arc<dyn IncidentStore>,
    /// Mediators' names and scenes' grids.
    directory: Arc<dyn Directory>,
    /// For the agreements' figures (performance, 司法确认).
    casefiles: CaseFiles,
}

impl Statistics {
    /// Over the incidents and the directory of `ports`, `engine`'s clock and area map, and
    /// the case files.
    #[must_use]
    pub fn new(engine: Dispatcher, ports: &Ports, casefiles: CaseFiles) -> Self {
        let (incidents, directory) = (ports.incidents.clone(), ports.directory.clone());
        Self { engine, incidents, directory, casefiles }
    }

    /// Statistics for the days `from..=to` (Asia/Shanghai) in `scope`.
    ///
    /// # Errors
    /// `Invalid` for a reversed or too long range; `Store`.
    pub async fn figures(&self, from: Date, to: Date, scope: &Scope) -> Result<Stats, DispatchError> {
        if from > to {
            return Err(DispatchError::Invalid { field: "from", reason: "must not be after `to`".into() });
        }
        let (start, end) =
            day_bounds(from, to).map_err(|e| DispatchError::Invalid { field: "to", reason: e.to_string() })?;
        let mut incidents = self.incidents.list_incidents(start, end, MAX_INCIDENTS).await?;
        incidents.retain(|i| scope.sees(i));
        let directory = &self.directory;
        let names =
            directory.list_accounts(Role::Mediator).await?.into_iter().map(|a| (a.id.to_string(), a.name)).collect();
        let grids =
            directory.list_scenes().await?.into_iter().filter_map(|s| Some((s.id.to_string(), s.grid?))).collect();
        let mut stats = compute(from, to, &incidents, &names, &grids);
        let work = self.casefiles.casework(&incidents).await.map_err(|e| match e {
            CaseFileError::Store(s) => DispatchError::Store(s),
            other => DispatchError::Store(crate::store::StoreError::Corrupt(other.to_string())),
        })?;
        stats.add_casework(work);
        Ok(stats)
    }

    /// Incidents created in `[from, to)`, newest first, at most `limit`.
    ///
    /// # Errors
    /// `Store`.
    pub async fn incidents_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Incident>, DispatchError> {
        Ok(self.incidents.list_incidents(from, to, limit).await?)
    }

    /// Areas (hot-spot cells) with three or more reports in the last 30 days, most first.
    ///
    /// Counted from the store's hot-spot index (a report's id, time and place per area), not
    /// by reading the incidents: a busy district files tens of thousands a month. An operator
    /// limited to an area counts the reports whose place lies in it.
    ///
    /// # Errors
    /// `Store`.
    pub async fn hotspots(&self, scope: &Scope) -> Result<Vec<(h3o::CellIndex, usize)>, DispatchError> {
        let since = self.engine.now().checked_sub(HOTSPOT_WINDOW).unwrap_or(Timestamp::MIN);
        let store = &self.incidents;
        let cells = store.noted_areas(since).await?;
        let areas = self.engine.areas();
        let mut counts: HashMap<h3o::CellIndex, usize> = HashMap::new();
        for chunk in cells.chunks(CELLS_PER_READ) {
            for note in store.noted_in_areas(chunk, since, HOTSPOT_NOTES_PER_AREA).await? {
                if matches!(scope, Scope::All) || scope.sees_path(&areas.locate(note.place)) {
                    *counts.entry(note.place.area()).or_default() += 1;
                }
            }
        }
        let mut hot: Vec<_> = counts.into_iter().filter(|(_, n)| *n >= 3).collect();
        hot.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(hot)
    }
}
