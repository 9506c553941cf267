//! Recent reports by hot-spot area, as the engine's look-back reads them: the copy is the
//! reports capability's (`services::RecentReports`), read and fed through [`RecentSource`]
//! (its own writes' news at once, the bus's as the feed hears it), so a look-back needs no
//! store round trip before the report's write.

use crate::domain::location::GeoPoint;
use crate::store::{AreaNote, StoreError};
use async_trait::async_trait;
use h3o::CellIndex;
use jiff::Timestamp;

/// Notes kept per area, newest first: as many as one look-back reads of an area.
pub(crate) const PER_AREA: usize = 32;

/// One report as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// The report.
    pub note: AreaNote,
    /// Open (Some(true)), closed (Some(false)), or not known (loaded from the store).
    pub open: Option<bool>,
}

/// What the look-back learns of a place.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearby {
    /// Reports in `cells` made at or after the duplicate window's start, at most
    /// [`PER_AREA`] per cell.
    pub recent: Vec<Kept>,
    /// Reports in the place's own area made at or after the hot-spot window's start (at most
    /// [`PER_AREA`]).
    pub in_area: usize,
}

/// This instance's recent reports, as the engine reads and feeds them.
#[async_trait]
pub trait RecentSource: Send + Sync {
    /// Around `place`: reports in `cells` since `dup_since`, and the count in its own area
    /// since `since`; None until loaded (the look-back then asks the store).
    fn around(&self, place: GeoPoint, cells: &[CellIndex], dup_since: Timestamp, since: Timestamp) -> Option<Nearby>;

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
