//! Where a report is, and what to call it: the place a new report is filed at (its pin, its
//! QR scene's place, or, for a place typed in words only, the district's centre) and the name
//! people see on offers, jobs, tracking and the command center.

use super::{NewReport, Reports};
use crate::dispatch::DispatchError;
use crate::domain::area::{AreaLevel, AreaPath};
use crate::domain::location::GeoPoint;

/// Where a new report is filed.
pub(super) struct Found {
    /// The point it is filed at (WGS-84).
    pub point: GeoPoint,
    /// The scene's name, when the scene's place is the one used.
    pub scene_name: Option<String>,
    /// Only the district's centre: the resident gave an address in words and nothing else.
    pub approximate: bool,
}

impl Reports {
    /// The place of a new report: its own location wins, then its scene's, then (with an
    /// address typed in words) the district's centre, `resident.home_lat/home_lng`.
    ///
    /// # Errors
    /// `Invalid` for an unknown scene or a report with no place at all; `Store`.
    pub(super) async fn place_of(&self, new: &NewReport) -> Result<Found, DispatchError> {
        let unknown_scene = || DispatchError::Invalid { field: "scene", reason: "unknown scene".into() };
        let scene = match &new.scene {
            Some(id) => Some(self.directory.get_scene(id).await?.ok_or_else(unknown_scene)?),
            None => None,
        };
        match (new.location, scene, new.address.as_deref()) {
            (Some(point), _, _) => Ok(Found { point, scene_name: None, approximate: false }),
            (None, Some(scene), _) => {
                Ok(Found { point: scene.location, scene_name: Some(scene.name), approximate: false })
            }
            (None, None, Some(_)) => {
                let home = &self.engine.settings().resident;
                let point = GeoPoint::new(home.home_lat, home.home_lng)
                    .map_err(|e| DispatchError::Invalid { field: "resident.home_lat", reason: e.to_string() })?;
                Ok(Found { point, scene_name: None, approximate: true })
            }
            (None, None, None) => Err(DispatchError::Invalid {
                field: "location",
                reason: "a scene, a location or an address is required".into(),
            }),
        }
    }

    /// The names of the community and grid a path lies in ("南滩社区 · 南滩第一网格"), else of
    /// its street, else its district; None when no area covers it.
    pub(super) fn area_names(&self, path: &AreaPath) -> Option<String> {
        let areas = self.engine.areas();
        let name = |level| path.at(level).and_then(|code| areas.get(code)).map(|a| a.name.clone());
        let local: Vec<String> = [AreaLevel::Community, AreaLevel::Grid].into_iter().filter_map(name).collect();
        if local.is_empty() {
            name(AreaLevel::Street).or_else(|| name(AreaLevel::District))
        } else {
            Some(local.join(" · "))
        }
    }
}
