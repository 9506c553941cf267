//! Recent reports by hot-spot area, as the engine keeps them current: the copy is the reports
//! capability's (`services::RecentReports`, which its look-back reads), and the engine feeds
//! it through [`RecentSource`]: each write's own news at once (so this instance's next
//! report sees it before the bus brings it back), the bus's as the feed hears it, a reload on
//! every resync and the sweep's forgetting.

use super::Dispatcher;
use crate::domain::ids::IncidentId;
use crate::domain::location::GeoPoint;
use crate::store::{AreaNote, BusMessage, StoreError};
use async_trait::async_trait;
use jiff::Timestamp;

/// One report as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The report.
    pub note: AreaNote,
    /// Open (Some(true)), closed (Some(false)), or not known (loaded from the store).
    pub open: Option<bool>,
}

/// This instance's recent reports, as the engine and its bus feed keep them current.
#[async_trait]
pub trait RecentSource: Send + Sync {
    /// Add or update one report; what is known (open or closed) wins over what is not.
    fn keep(&self, kept: Kept);

    /// Load the copy again from the store's notes (at start and on every resync); it answers
    /// nothing until done.
    ///
    /// # Errors
    /// The store's error; the copy stays unready and the caller retries.
    async fn reload(&self) -> Result<(), StoreError>;

    /// Forget reports older than the hot-spot window; returns how many.
    fn forget_old(&self) -> usize;
}

impl Dispatcher {
    /// Load this instance's copy of recent reports from the store's index (at start and on
    /// every resync); the look-back asks the store until it is done.
    ///
    /// # Errors
    /// The store's error; the copy stays unready and the caller retries.
    pub async fn reload_recent_reports(&self) -> Result<(), StoreError> {
        self.inner.recent.reload().await
    }

    /// Apply a report's news from the bus (see [`BusMessage::Noted`]).
    pub fn report_noted(&self, incident_id: &IncidentId, at: Timestamp, place: GeoPoint, open: bool) {
        self.inner.recent.keep(Kept { note: AreaNote { id: incident_id.clone(), at, place }, open: Some(open) });
    }

    /// Apply this instance's own news at once, so its next report sees them before the bus
    /// brings them back (which changes nothing then).
    pub(super) fn note_own(&self, announced: &[BusMessage]) {
        for message in announced {
            if let BusMessage::Noted { incident_id, at, place, open } = message {
                self.report_noted(incident_id, *at, *place, *open);
            }
        }
    }

    /// Forget recent reports older than the hot-spot window; returns how many.
    pub fn forget_old_reports(&self) -> usize {
        self.inner.recent.forget_old()
    }
}
