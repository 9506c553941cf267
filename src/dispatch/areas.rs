//! Jurisdictions as the engine reads them: placing points in the area hierarchy, and who
//! may see and send what. The map itself is the areas service's ([`AreaSource`]).

use super::Dispatcher;
use crate::domain::account::Account;
pub use crate::domain::area::Scope;
use crate::domain::area::{AreaLevel, AreaMap, AreaPath};
use crate::domain::incident::Incident;
use crate::domain::location::CoordSystem;
use crate::store::StoreError;
use async_trait::async_trait;
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

/// The jurisdiction map as the engine reads it: owned by the areas service
/// (`services::Areas`), which loads it, swaps it whole on every change, and reloads it when
/// the bus feed hears that any instance changed an area.
#[async_trait]
pub trait AreaSource: Send + Sync {
    /// The current map.
    fn map(&self) -> Arc<AreaMap>;

    /// Rebuild the map from the store.
    ///
    /// # Errors
    /// The store's error.
    async fn reload(&self) -> Result<(), StoreError>;
}

impl Dispatcher {
    /// The current jurisdiction map.
    #[must_use]
    pub fn areas(&self) -> Arc<AreaMap> {
        self.inner.areas.map()
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
