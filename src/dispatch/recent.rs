//! Recent reports by hot-spot area, as the engine keeps them current: the copy is the reports
//! capability's (`services::RecentReports`, which its look-back reads), and the engine feeds
//! it through [`RecentSource`]: each write's own news at once (so this instance's next
//! report sees it before the bus brings it back), the bus's as the feed hears it, a reload on
//! every resync and the sweep's forgetting.

use super::Dispatcher;
use crate::store::{AreaNote, BusMessage, StoreError};
use async_trait::async_trait;

/// One report as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The report.
    pub note: AreaNote,
    /// Open (Some(true)), closed (Some(false)), or not known (loaded from the store).
    pub open: Option<bool>,
}

/// This instance's recent reports, as the engine feeds them (its own writes' news) and the bus
/// feed feeds, reloads and prunes them.
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
    /// Apply this instance's own news at once, so its next report sees them before the bus
    /// brings them back (which changes nothing then).
    pub(super) fn note_own(&self, announced: &[BusMessage]) {
        for message in announced {
            if let BusMessage::Noted { incident_id, at, place, open } = message {
                let note = AreaNote { id: incident_id.clone(), at: *at, place: *place };
                self.inner.recent.keep(Kept { note, open: Some(*open) });
            }
        }
    }
}
