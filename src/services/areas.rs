//! Areas: the jurisdiction hierarchy (district, street, community, grid) as this instance
//! holds it, changes to it, and the scopes operators see through it.
//!
//! The service owns the map: loaded from the directory at start, swapped whole on every
//! change on any instance (a change publishes `AreasChanged`; every instance's bus feed,
//! which holds this service as its [`AreaSource`], reloads it). The engine reads it through
//! that trait too (placing reports, ranking by home area), so it never names a
//! service.

use crate::dispatch::{AreaSource, DispatchError, NewArea, Scope};
use crate::domain::area::{self, Area, AreaMap, AreaPath, Coverage};
use crate::domain::location::GeoPoint;
use crate::store::{Bus, BusMessage, Directory, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// The jurisdiction hierarchy. Cheap to clone.
#[derive(Clone)]
pub struct Areas {
    inner: Arc<Inner>,
}

struct Inner {
    directory: Arc<dyn Directory>,
    bus: Arc<dyn Bus>,
    /// The map, swapped whole on every change (std RwLock: never held across an await;
    /// readers clone the Arc).
    map: std::sync::RwLock<Arc<AreaMap>>,
    /// Serialises reloads (tokio Mutex: held across the store read), so an older read can
    /// never overwrite a newer map.
    reload: tokio::sync::Mutex<()>,
}

impl Areas {
    /// Over the directory the areas are stored in, announcing changes on `bus`; empty until
    /// [`Self::reload`].
    #[must_use]
    pub fn new(directory: Arc<dyn Directory>, bus: Arc<dyn Bus>) -> Self {
        let inner = Inner { directory, bus, map: std::sync::RwLock::default(), reload: tokio::sync::Mutex::new(()) };
        Self { inner: Arc::new(inner) }
    }

    /// The current map.
    #[must_use]
    pub fn map(&self) -> Arc<AreaMap> {
        self.inner.map.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Rebuild the map from the store (on start, and when any instance changes an area).
    ///
    /// # Errors
    /// The store's error.
    pub async fn reload(&self) -> Result<(), StoreError> {
        self.reload_knowing(None).await
    }

    /// [`Self::reload`], tiling only the areas whose outline changed; `just_tiled` is one
    /// whose cells the caller has already computed.
    async fn reload_knowing(&self, just_tiled: Option<(&Area, &Coverage)>) -> Result<(), StoreError> {
        let _one_at_a_time = self.inner.reload.lock().await;
        let stored = self.inner.directory.list_areas().await?;
        let count = stored.len();
        let previous = self.map();
        let (map, skipped) = AreaMap::build_reusing(stored, |a| match just_tiled {
            Some((tiled, cells)) if tiled.code == a.code && tiled.geometry == a.geometry => Some(cells.clone()),
            _ => previous.coverage_of(a),
        });
        if !skipped.is_empty() {
            tracing::error!(areas = ?skipped, "stored area outlines no longer parse; they are ignored");
        }
        *self.inner.map.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
        tracing::info!(areas = count, "area hierarchy loaded");
        Ok(())
    }

    /// Where a point lies in the hierarchy.
    #[must_use]
    pub fn locate(&self, point: GeoPoint) -> AreaPath {
        self.map().locate(point)
    }

    /// The scope of an operator whose account names `area` (None: an unknown area). The
    /// rule: [`AreaMap::scope_of`].
    #[must_use]
    pub fn scope_for(&self, area: Option<&str>) -> Option<Scope> {
        self.map().scope_of(area)
    }

    /// Create or replace an area; every instance reloads its map.
    ///
    /// # Errors
    /// `Invalid` for a bad code, outline or parent; `Store`.
    pub async fn put(&self, new: NewArea) -> Result<Area, DispatchError> {
        let invalid = |field: &'static str, e: area::AreaError| DispatchError::Invalid { field, reason: e.to_string() };
        area::check_code(&new.code).map_err(|e| invalid("code", e))?;
        if let Some(parent) = &new.parent {
            area::check_code(parent).map_err(|e| invalid("parent", e))?;
        }
        let shape = area::parse_geometry(&new.geometry, new.coord).map_err(|e| invalid("geometry", e))?;
        let cells: Coverage = area::coverage(&shape).map_err(|e| invalid("geometry", e))?.into();
        if cells.is_empty() {
            return Err(DispatchError::Invalid { field: "geometry", reason: "too small to place anything in".into() });
        }
        let map = self.map();
        map.check_parent(new.level, new.parent.as_deref()).map_err(|e| invalid("parent", e))?;
        map.check_outline(&new.code, new.level, new.parent.as_deref(), &cells).map_err(|e| invalid("geometry", e))?;
        if let Some(existing) = map.get(&new.code)
            && existing.level != new.level
        {
            return Err(DispatchError::Invalid { field: "level", reason: "an area keeps its level".into() });
        }
        let stored = Area {
            code: new.code,
            name: new.name,
            level: new.level,
            parent: new.parent,
            geometry: area::to_geojson(&shape),
        };
        self.inner.directory.put_area(&stored).await?;
        self.reload_knowing(Some((&stored, &cells))).await?;
        self.announce_change().await;
        tracing::info!(code = %stored.code, level = ?stored.level, "area saved");
        Ok(stored)
    }

    /// Rename an area or move it under another parent of the level above (its outline must fit
    /// there); every instance reloads its map.
    ///
    /// # Errors
    /// `NotFound` for an unknown code; `Invalid` for a parent that does not fit; `Store`.
    pub async fn change(
        &self,
        code: &str,
        name: Option<String>,
        parent: Option<String>,
    ) -> Result<Area, DispatchError> {
        let invalid = |field: &'static str, e: area::AreaError| DispatchError::Invalid { field, reason: e.to_string() };
        let map = self.map();
        let current = map.get(code).ok_or(DispatchError::NotFound)?;
        let mut next = current.clone();
        if let Some(parent) = parent {
            let parent = Some(parent).filter(|p| !p.is_empty());
            map.check_parent(next.level, parent.as_deref()).map_err(|e| invalid("parent", e))?;
            if let Some(cells) = map.coverage_of(current) {
                map.check_outline(code, next.level, parent.as_deref(), &cells).map_err(|e| invalid("parent", e))?;
            }
            next.parent = parent;
        }
        if let Some(name) = name {
            next.name = name;
        }
        self.inner.directory.put_area(&next).await?;
        self.reload().await?;
        self.announce_change().await;
        tracing::info!(code = %next.code, "area changed");
        Ok(next)
    }

    /// Every instance reloads its map (this one has already).
    async fn announce_change(&self) {
        // The change is stored: a lost message must not fail the request (other instances
        // keep their map until the next change, or a restart).
        if let Err(e) = self.inner.bus.publish(&BusMessage::AreasChanged).await {
            tracing::warn!(error = %e, "bus publish failed; other instances keep their area map until the next change");
        }
    }
}

#[async_trait]
impl AreaSource for Areas {
    fn map(&self) -> Arc<AreaMap> {
        Self::map(self)
    }

    async fn reload(&self) -> Result<(), StoreError> {
        Self::reload(self).await
    }
}
