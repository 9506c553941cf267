//! Areas: the jurisdiction hierarchy (district, street, community, grid), changes to it, and
//! the scopes operators see through it. The map itself is held by the engine, swapped whole
//! on every change on any instance.

use crate::dispatch::{DispatchError, Dispatcher, NewArea, Scope};
use crate::domain::area::{Area, AreaMap, AreaPath};
use crate::domain::location::GeoPoint;
use std::sync::Arc;

/// The jurisdiction hierarchy. Cheap to clone.
#[derive(Clone)]
pub struct Areas {
    engine: Dispatcher,
}

impl Areas {
    /// Over the dispatch engine.
    #[must_use]
    pub fn new(engine: Dispatcher) -> Self {
        Self { engine }
    }

    /// The current map.
    #[must_use]
    pub fn map(&self) -> Arc<AreaMap> {
        self.engine.areas()
    }

    /// Where a point lies in the hierarchy.
    #[must_use]
    pub fn locate(&self, point: GeoPoint) -> AreaPath {
        self.engine.locate(point)
    }

    /// The scope of an operator whose account names `area` (None: an unknown area).
    #[must_use]
    pub fn scope_for(&self, area: Option<&str>) -> Option<Scope> {
        self.engine.scope_for(area)
    }

    /// Create or replace an area.
    ///
    /// # Errors
    /// `Invalid` for an unusable outline, code or parent; `Store`.
    pub async fn put(&self, new: NewArea) -> Result<Area, DispatchError> {
        self.engine.put_area(new).await
    }

    /// Rename an area or move it under another parent.
    ///
    /// # Errors
    /// `NotFound`, `Invalid`, `Store`.
    pub async fn change(
        &self,
        code: &str,
        name: Option<String>,
        parent: Option<String>,
    ) -> Result<Area, DispatchError> {
        self.engine.change_area(code, name, parent).await
    }
}
