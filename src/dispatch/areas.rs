//! Jurisdictions: loading the area hierarchy, placing points in it, and who may see what.

use super::{DispatchError, Dispatcher};
use crate::domain::account::Account;
pub use crate::domain::area::Scope;
use crate::domain::area::{self, Area, AreaLevel, AreaMap, AreaPath, Coverage};
use crate::domain::incident::Incident;
use crate::domain::location::CoordSystem;
use crate::store::{BusMessage, StoreError};
use std::sync::Arc;

/// A new or replaced area, as an admin uploads it.
#[derive(Debug, Clone)]
pub struct NewArea {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: AreaLevel,
    /// Parent code.
    pub parent: Option<String>,
    /// GeoJSON Polygon/MultiPolygon (or a Feature).
    pub geometry: serde_json::Value,
    /// The datum of `geometry`.
    pub coord: CoordSystem,
}

impl Scope {
    /// Whether an incident lies in scope (by the place it is filed under).
    #[must_use]
    pub fn sees(&self, incident: &Incident) -> bool {
        self.sees_path(&incident.area)
    }
}

impl Dispatcher {
    /// The current jurisdiction map.
    #[must_use]
    pub fn areas(&self) -> Arc<AreaMap> {
        self.inner.areas.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Rebuild the map from the store (on start, and when any instance changes an area).
    ///
    /// # Errors
    /// The store's error.
    pub async fn reload_areas(&self) -> Result<(), StoreError> {
        self.reload_areas_knowing(None).await
    }

    /// [`Self::reload_areas`], tiling only the areas whose outline changed; `just_tiled` is one
    /// whose cells the caller has already computed.
    async fn reload_areas_knowing(&self, just_tiled: Option<(&Area, &Coverage)>) -> Result<(), StoreError> {
        let _one_at_a_time = self.inner.areas_reload.lock().await;
        let stored = self.ports().directory.list_areas().await?;
        let count = stored.len();
        let previous = self.areas();
        let (map, skipped) = AreaMap::build_reusing(stored, |a| match just_tiled {
            Some((tiled, cells)) if tiled.code == a.code && tiled.geometry == a.geometry => Some(cells.clone()),
            _ => previous.coverage_of(a),
        });
        if !skipped.is_empty() {
            tracing::error!(areas = ?skipped, "stored area outlines no longer parse; they are ignored");
        }
        *self.inner.areas.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
        tracing::info!(areas = count, "area hierarchy loaded");
        Ok(())
    }

    /// The path of area `code` (it and its ancestors).
    #[must_use]
    pub fn area_path(&self, code: &str) -> Option<AreaPath> {
        let map = self.areas();
        let mut path = AreaPath::default();
        let mut current = map.get(code)?;
        loop {
            path = path.with(current.level, current.code.clone());
            match current.parent.as_deref().and_then(|p| map.get(p)) {
                Some(parent) => current = parent,
                None => return Some(path),
            }
        }
    }

    /// Where a point lies in the hierarchy.
    #[must_use]
    pub fn locate(&self, point: crate::domain::location::GeoPoint) -> AreaPath {
        self.areas().locate(point)
    }

    /// Create or replace an area; every instance reloads its map.
    ///
    /// # Errors
    /// `Invalid` for a bad code, outline or parent; `Store`.
    pub async fn put_area(&self, new: NewArea) -> Result<Area, DispatchError> {
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
        let map = self.areas();
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
        self.ports().directory.put_area(&stored).await?;
        self.reload_areas_knowing(Some((&stored, &cells))).await?;
        self.publish(BusMessage::AreasChanged).await;
        tracing::info!(code = %stored.code, level = ?stored.level, "area saved");
        Ok(stored)
    }

    /// Rename an area or move it under another parent of the level above (its outline must fit
    /// there); every instance reloads its map.
    ///
    /// # Errors
    /// `NotFound` for an unknown code; `Invalid` for a parent that does not fit; `Store`.
    pub async fn change_area(
        &self,
        code: &str,
        name: Option<String>,
        parent: Option<String>,
    ) -> Result<Area, DispatchError> {
        let invalid = |field: &'static str, e: area::AreaError| DispatchError::Invalid { field, reason: e.to_string() };
        let map = self.areas();
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
        self.ports().directory.put_area(&next).await?;
        self.reload_areas().await?;
        self.publish(BusMessage::AreasChanged).await;
        tracing::info!(code = %next.code, "area changed");
        Ok(next)
    }

    /// The scope of an operator whose account names `area` ([`area::EVERY_DISTRICT`] for
    /// admins); None when they may see nothing. The rule: [`AreaMap::scope_of`].
    #[must_use]
    pub fn scope_for(&self, area: Option<&str>) -> Option<Scope> {
        self.areas().scope_of(area)
    }

    /// Whether an operator with `scope` may send `mediator`: the mediator's home area lies in
    /// it or, for a mediator without a known home area, the place their phone last reported.
    /// A mediator known by neither is sent only by operators who see everything.
    #[must_use]
    pub fn may_send(&self, scope: &Scope, mediator: &Account) -> bool {
        if *scope == Scope::All {
            return true;
        }
        let home = mediator.area.as_deref().and_then(|code| self.area_path(code));
        let last_seen = || self.index().get(&mediator.id).and_then(|(_, fix)| fix).map(|f| self.locate(f.point));
        home.or_else(last_seen).is_some_and(|place| scope.sees_path(&place))
    }

    /// Where an operator with `scope` may transfer an incident: area `code`'s place, when it lies
    /// in the operator's district (anywhere for those who see everything). None for an unknown
    /// area or one of another district, alike.
    #[must_use]
    pub fn transfer_target(&self, scope: &Scope, code: &str) -> Option<AreaPath> {
        let target = self.area_path(code)?;
        match scope {
            Scope::All => Some(target),
            Scope::Area(own) => {
                let district = self.area_path(own)?.district;
                (district.is_some() && target.district == district).then_some(target)
            }
        }
    }
}
