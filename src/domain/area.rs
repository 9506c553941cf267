//! Jurisdictions: district → streets/towns → communities/villages → grids, each a polygon, and
//! the map that places a point in them.
//!
//! Each area's H3 coverage is computed once (resolution [`AREA_RESOLUTION`], cells whose
//! centre lies inside the polygon), so placing a point is a hash lookup of its cell per level,
//! never a polygon scan. A point belongs to the area its cell's centre lies in: points on or
//! near a boundary go to exactly one area, deterministically (if two areas of one level
//! overlap, the lower code wins). Placement precision is one cell (~130 m across).

use super::location::{CoordSystem, GeoPoint, gcj02_to_wgs84};
use geo::{LineString, MultiPolygon, Polygon};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, Resolution};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The resolution areas are tiled at: 0.015 km² cells, ~66 m edges.
pub const AREA_RESOLUTION: Resolution = Resolution::Ten;

/// The area of one cell at [`AREA_RESOLUTION`], km² (the average; for error messages).
const AREA_CELL_KM2: f64 = 0.015;

/// Most vertices an uploaded outline may have (all rings together).
pub const MAX_VERTICES: usize = 20_000;

/// A level of the administrative ladder, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    /// 区/县: the district (the top command center).
    District,
    /// 街道/镇: a street or town.
    Street,
    /// 社区/村: a community or village.
    Community,
    /// 网格: a grid with its grid worker.
    Grid,
}

impl AreaLevel {
    /// Every level, top first.
    pub const ALL: [Self; 4] = [Self::District, Self::Street, Self::Community, Self::Grid];

    /// The level above, if any.
    #[must_use]
    pub fn parent(self) -> Option<Self> {
        match self {
            Self::District => None,
            Self::Street => Some(Self::District),
            Self::Community => Some(Self::Street),
            Self::Grid => Some(Self::Community),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why an area cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AreaError {
    /// The code is not 1–32 characters of letters, digits, `-` or `_`.
    #[error("code must be 1-32 letters, digits, '-' or '_'")]
    Code,
    /// The parent is missing, unknown or not one level up.
    #[error("{0}")]
    Parent(String),
    /// The outline is not a usable GeoJSON Polygon or MultiPolygon.
    #[error("geometry: {0}")]
    Geometry(String),
    /// The outline does not fit the hierarchy: it leaves its parent or covers a sibling.
    #[error("{0}")]
    Outline(String),
}

/// Share of an outline's cells that may lie outside its parent or inside a sibling: borders
/// drawn by hand on different maps differ by a few metres, which touches a few cells.
pub const OUTLINE_TOLERANCE: f64 = 0.01;

/// An area as stored: its outline kept as GeoJSON (WGS-84), parsed when the map is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    /// Stable code, e.g. the statistical division code or `G-07`.
    pub code: String,
    /// Name residents and operators use.
    pub name: String,
    /// Level.
    pub level: AreaLevel,
    /// The containing area's code (none for the district).
    pub parent: Option<String>,
    /// GeoJSON geometry (Polygon or MultiPolygon), WGS-84 `[lng, lat]`.
    pub geometry: serde_json::Value,
}

/// Check an area code.
///
/// # Errors
/// [`AreaError::Code`].
pub fn check_code(code: &str) -> Result<(), AreaError> {
    let ok =
        (1..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(AreaError::Code) }
}

fn ring(value: &serde_json::Value, system: CoordSystem, vertices: &mut usize) -> Result<LineString, AreaError> {
    let points = value.as_array().ok_or_else(|| AreaError::Geometry("a ring must be an array of positions".into()))?;
    if points.len() < 4 {
        return Err(AreaError::Geometry("a ring needs at least 4 positions".into()));
    }
    *vertices += points.len();
    if *vertices > MAX_VERTICES {
        return Err(AreaError::Geometry(format!("at most {MAX_VERTICES} vertices")));
    }
    let mut coords = Vec::with_capacity(points.len());
    for p in points {
        let pair = p.as_array().filter(|a| a.len() >= 2);
        let (Some(lng), Some(lat)) = (pair.and_then(|a| a[0].as_f64()), pair.and_then(|a| a[1].as_f64())) else {
            return Err(AreaError::Geometry("a position is [lng, lat]".into()));
        };
        let point = GeoPoint::new(lat, lng).map_err(|e| AreaError::Geometry(e.to_string()))?;
        let (lat, lng) = match system {
            CoordSystem::Wgs84 => (point.lat(), point.lng()),
            CoordSystem::Gcj02 => gcj02_to_wgs84(point.lat(), point.lng()),
        };
        coords.push((lng, lat));
    }
    Ok(LineString::from(coords))
}

fn polygon(value: &serde_json::Value, system: CoordSystem, vertices: &mut usize) -> Result<Polygon, AreaError> {
    let rings = value
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| AreaError::Geometry("a polygon needs rings".into()))?;
    let exterior = ring(&rings[0], system, vertices)?;
    let interiors = rings[1..].iter().map(|r| ring(r, system, vertices)).collect::<Result<_, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

/// Parse a GeoJSON Polygon or MultiPolygon (or a Feature holding one) given in `system`.
///
/// # Errors
/// [`AreaError::Geometry`] naming what is wrong.
pub fn parse_geometry(value: &serde_json::Value, system: CoordSystem) -> Result<MultiPolygon, AreaError> {
    let geometry = if value["type"] == "Feature" { &value["geometry"] } else { value };
    let coordinates = &geometry["coordinates"];
    let mut vertices = 0;
    match geometry["type"].as_str() {
        Some("Polygon") => Ok(MultiPolygon(vec![polygon(coordinates, system, &mut vertices)?])),
        Some("MultiPolygon") => {
            let polys = coordinates
                .as_array()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| AreaError::Geometry("no polygons".into()))?;
            Ok(MultiPolygon(polys.iter().map(|p| polygon(p, system, &mut vertices)).collect::<Result<_, _>>()?))
        }
        _ => Err(AreaError::Geometry("type must be Polygon or MultiPolygon".into())),
    }
}

/// GeoJSON for a multipolygon (what is stored, in WGS-84).
#[must_use]
pub fn to_geojson(shape: &MultiPolygon) -> serde_json::Value {
    let ring = |r: &LineString| r.coords().map(|c| serde_json::json!([c.x, c.y])).collect::<Vec<_>>();
    let polys: Vec<_> = shape
        .0
        .iter()
        .map(|p| std::iter::once(p.exterior()).chain(p.interiors()).map(ring).collect::<Vec<_>>())
        .collect();
    serde_json::json!({ "type": "MultiPolygon", "coordinates": polys })
}

/// The H3 cells an outline covers (their centres inside it).
///
/// # Errors
/// [`AreaError::Geometry`] for an invalid outline.
pub fn coverage(shape: &MultiPolygon) -> Result<Vec<CellIndex>, AreaError> {
    let mut tiler = TilerBuilder::new(AREA_RESOLUTION).containment_mode(ContainmentMode::ContainsCentroid).build();
    for p in &shape.0 {
        tiler.add(p.clone()).map_err(|e| AreaError::Geometry(e.to_string()))?;
    }
    Ok(tiler.into_coverage().collect())
}

/// Where a point lies: the code at each level that covers it, top first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AreaPath {
    /// District code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Street/town code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Community/village code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    /// Grid code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
}

impl AreaPath {
    /// The code at `level`.
    #[must_use]
    pub fn at(&self, level: AreaLevel) -> Option<&str> {
        match level {
            AreaLevel::District => self.district.as_deref(),
            AreaLevel::Street => self.street.as_deref(),
            AreaLevel::Community => self.community.as_deref(),
            AreaLevel::Grid => self.grid.as_deref(),
        }
    }

    /// This path with `code` at `level`.
    #[must_use]
    pub fn with(mut self, level: AreaLevel, code: String) -> Self {
        self.set(level, code);
        self
    }

    fn set(&mut self, level: AreaLevel, code: String) {
        let slot = match level {
            AreaLevel::District => &mut self.district,
            AreaLevel::Street => &mut self.street,
            AreaLevel::Community => &mut self.community,
            AreaLevel::Grid => &mut self.grid,
        };
        *slot = Some(code);
    }

    /// Whether `code` is one of this path's areas (the point lies in it or below it).
    #[must_use]
    pub fn contains(&self, code: &str) -> bool {
        AreaLevel::ALL.iter().any(|l| self.at(*l) == Some(code))
    }

    /// True when the point lies in no known area.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        AreaLevel::ALL.iter().all(|l| self.at(*l).is_none())
    }
}

/// The area code an operator account names to see every district (admins see them all too).
pub const EVERY_DISTRICT: &str = "*";

/// What an operator may see and act on: everything, or one area and what lies below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole deployment, including reports placed in no area.
    All,
    /// This area and below.
    Area(String),
}

impl Scope {
    /// Whether a place lies in scope.
    #[must_use]
    pub fn sees_path(&self, path: &AreaPath) -> bool {
        match self {
            Self::All => true,
            Self::Area(code) => path.contains(code),
        }
    }
}

/// An area's cells, as [`coverage`] computed them.
pub type Coverage = std::sync::Arc<[CellIndex]>;

/// The loaded hierarchy: areas by code, and one cell → code table per level.
#[derive(Debug, Clone, Default)]
pub struct AreaMap {
    areas: HashMap<String, Area>,
    coverage: HashMap<String, Coverage>,
    cells: [HashMap<CellIndex, String>; 4],
}

impl AreaMap {
    /// Build from stored areas. Areas whose outline no longer parses are skipped (and named).
    #[must_use]
    pub fn build(areas: Vec<Area>) -> (Self, Vec<String>) {
        Self::build_reusing(areas, |_| None)
    }

    /// Build from stored areas, taking the cells of an area from `known` when it has them
    /// (tiling a county at resolution 10 takes a while, and a reload changes one area).
    #[must_use]
    pub fn build_reusing(areas: Vec<Area>, known: impl Fn(&Area) -> Option<Coverage>) -> (Self, Vec<String>) {
        let mut map = Self::default();
        let mut skipped = vec![];
        let mut sorted = areas;
        sorted.sort_by(|a, b| a.code.cmp(&b.code));
        for area in sorted {
            let computed = || -> Result<Coverage, AreaError> {
                Ok(coverage(&parse_geometry(&area.geometry, CoordSystem::Wgs84)?)?.into())
            };
            let Some(cells) = known(&area).or_else(|| computed().ok()) else {
                skipped.push(area.code.clone());
                continue;
            };
            let table = &mut map.cells[area.level.index()];
            for &cell in cells.iter() {
                // Lower codes were inserted first and keep overlapping cells: deterministic.
                table.entry(cell).or_insert_with(|| area.code.clone());
            }
            map.coverage.insert(area.code.clone(), cells);
            map.areas.insert(area.code.clone(), area);
        }
        (map, skipped)
    }

    /// The cells of `area` if this map holds it with the same outline.
    #[must_use]
    pub fn coverage_of(&self, area: &Area) -> Option<Coverage> {
        let held = self.areas.get(&area.code)?;
        (held.geometry == area.geometry).then(|| self.coverage.get(&area.code).cloned()).flatten()
    }

    /// Where `point` lies.
    #[must_use]
    pub fn locate(&self, point: GeoPoint) -> AreaPath {
        let cell = point.cell(AREA_RESOLUTION);
        let mut path = AreaPath::default();
        for level in AreaLevel::ALL {
            if let Some(code) = self.cells[level.index()].get(&cell) {
                path.set(level, code.clone());
            }
        }
        path
    }

    /// One area.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&Area> {
        self.areas.get(code)
    }

    /// Every area, by code.
    #[must_use]
    pub fn all(&self) -> Vec<&Area> {
        let mut all: Vec<_> = self.areas.values().collect();
        all.sort_by(|a, b| a.level.cmp(&b.level).then_with(|| a.code.cmp(&b.code)));
        all
    }

    /// `code` and every area below it.
    #[must_use]
    pub fn subtree(&self, code: &str) -> Vec<&Area> {
        self.all().into_iter().filter(|a| self.is_within(&a.code, code)).collect()
    }

    /// Whether area `code` is `ancestor` or lies below it.
    #[must_use]
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        let mut current = Some(code);
        let mut hops = 0;
        while let Some(c) = current {
            if c == ancestor {
                return true;
            }
            current = self.areas.get(c).and_then(|a| a.parent.as_deref());
            hops += 1;
            if hops > 8 {
                return false;
            }
        }
        false
    }

    /// How many districts (top-level areas) are loaded.
    #[must_use]
    pub fn district_count(&self) -> usize {
        self.areas.values().filter(|a| a.level == AreaLevel::District).count()
    }

    /// The scope of an operator whose account names `area`; None when they may see nothing.
    ///
    /// The one rule: [`EVERY_DISTRICT`] sees everything. An operator of the only district, or
    /// with no area while at most one district exists, sees everything too (reports outside the
    /// outline included), as before districts could sit side by side. With several districts, a
    /// district operator sees their district only and an operator with no area sees nothing
    /// (an admin must give them one). Any other code sees that area and below (an unknown code:
    /// nothing, never everything).
    #[must_use]
    pub fn scope_of(&self, area: Option<&str>) -> Option<Scope> {
        let sole_district = self.district_count() <= 1;
        match area {
            Some(EVERY_DISTRICT) => Some(Scope::All),
            None => sole_district.then_some(Scope::All),
            Some(code) => match self.areas.get(code) {
                Some(a) if a.level == AreaLevel::District && sole_district => Some(Scope::All),
                _ => Some(Scope::Area(code.to_owned())),
            },
        }
    }

    /// Check that an outline (its cells) fits the hierarchy: inside its parent, and clear of
    /// the other areas of its level under that parent (both within [`OUTLINE_TOLERANCE`]).
    ///
    /// # Errors
    /// [`AreaError::Outline`] naming the parent or sibling and how much is wrong.
    pub fn check_outline(
        &self,
        code: &str,
        level: AreaLevel,
        parent: Option<&str>,
        cells: &[CellIndex],
    ) -> Result<(), AreaError> {
        let allowed = |n: usize| (n as f64 * OUTLINE_TOLERANCE).floor() as usize;
        let km2 = |n: usize| n as f64 * AREA_CELL_KM2;
        if let Some(p) = parent
            && let (Some(area), Some(inside)) = (self.areas.get(p), self.coverage.get(p))
        {
            let inside: std::collections::HashSet<&CellIndex> = inside.iter().collect();
            let outside = cells.iter().filter(|c| !inside.contains(c)).count();
            if outside > allowed(cells.len()) {
                return Err(AreaError::Outline(format!(
                    "{:.0}% of this outline (about {:.2} km²) lies outside its parent {} ({})",
                    outside as f64 * 100.0 / cells.len() as f64,
                    km2(outside),
                    area.name,
                    area.code
                )));
            }
        }
        let mine: std::collections::HashSet<&CellIndex> = cells.iter().collect();
        let siblings =
            self.all().into_iter().filter(|a| a.level == level && a.code != code && a.parent.as_deref() == parent);
        for sibling in siblings {
            let Some(theirs) = self.coverage.get(&sibling.code) else { continue };
            let shared = theirs.iter().filter(|c| mine.contains(c)).count();
            if shared > allowed(cells.len().min(theirs.len())) {
                return Err(AreaError::Outline(format!(
                    "this outline overlaps {} ({}) by about {:.2} km²",
                    sibling.name,
                    sibling.code,
                    km2(shared)
                )));
            }
        }
        Ok(())
    }

    /// Check that a new area fits the hierarchy: its parent exists one level up.
    ///
    /// # Errors
    /// [`AreaError::Parent`].
    pub fn check_parent(&self, level: AreaLevel, parent: Option<&str>) -> Result<(), AreaError> {
        match (level.parent(), parent) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(AreaError::Parent("a district has no parent".into())),
            (Some(_), None) => Err(AreaError::Parent("parent is required below the district".into())),
            (Some(want), Some(code)) => match self.areas.get(code) {
                Some(p) if p.level == want => Ok(()),
                Some(p) => Err(AreaError::Parent(format!("parent {code} is a {:?}, not a {want:?}", p.level))),
                None => Err(AreaError::Parent(format!("unknown parent {code}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(lng0: f64, lat0: f64, size: f64) -> serde_json::Value {
        json!({ "type": "Polygon", "coordinates": [[[lng0, lat0], [lng0 + size, lat0], [lng0 + size, lat0 + size], [lng0, lat0 + size], [lng0, lat0]]] })
    }

    fn area(code: &str, level: AreaLevel, parent: Option<&str>, geometry: serde_json::Value) -> Area {
        Area { code: code.into(), name: code.into(), level, parent: parent.map(Into::into), geometry }
    }

    #[test]
    fn points_are_placed_at_every_level_and_a_shared_edge_goes_to_exactly_one_side() {
        let (map, skipped) = AreaMap::build(vec![
            area("D", AreaLevel::District, None, square(101.70, 36.60, 0.04)),
            area("S1", AreaLevel::Street, Some("D"), square(101.70, 36.60, 0.02)),
            area("S2", AreaLevel::Street, Some("D"), square(101.72, 36.60, 0.02)),
        ]);
        assert!(skipped.is_empty());
        let p = map.locate(GeoPoint::new(36.61, 101.71).unwrap());
        assert_eq!((p.district.as_deref(), p.street.as_deref()), (Some("D"), Some("S1")));
        // Along the shared edge lng = 101.72: every point is in exactly one street.
        for i in 1..40 {
            let lat = 36.60 + 0.0005 * f64::from(i);
            let p = map.locate(GeoPoint::new(lat, 101.72).unwrap());
            assert!(matches!(p.street.as_deref(), Some("S1" | "S2")), "{lat}: {p:?}");
        }
        assert!(map.locate(GeoPoint::new(36.0, 101.0).unwrap()).is_empty());
        assert!(map.is_within("S2", "D") && !map.is_within("D", "S2"));
    }

    #[test]
    fn a_rebuild_tiles_only_the_outlines_that_changed() {
        let street = area("S1", AreaLevel::Street, Some("D"), square(101.70, 36.60, 0.02));
        let district = area("D", AreaLevel::District, None, square(101.70, 36.60, 0.04));
        let (first, _) = AreaMap::build(vec![district.clone(), street.clone()]);
        let moved = area("S1", AreaLevel::Street, Some("D"), square(101.72, 36.60, 0.02));
        let tiled = std::cell::RefCell::new(vec![]);
        let (second, skipped) = AreaMap::build_reusing(vec![district.clone(), moved.clone()], |a| {
            let known = first.coverage_of(a);
            if known.is_none() {
                tiled.borrow_mut().push(a.code.clone());
            }
            known
        });
        assert!(skipped.is_empty());
        assert_eq!(tiled.into_inner(), ["S1"], "only the moved outline is tiled again");
        let same = |a: &Area| std::sync::Arc::ptr_eq(&first.coverage_of(a).unwrap(), &second.coverage_of(a).unwrap());
        assert!(same(&district));
        assert!(first.coverage_of(&moved).is_none() && second.coverage_of(&street).is_none());
        assert_eq!(second.locate(GeoPoint::new(36.61, 101.73).unwrap()).street.as_deref(), Some("S1"));
    }

    #[test]
    fn bad_outlines_and_parents_are_refused() {
        assert!(parse_geometry(&json!({ "type": "Point", "coordinates": [1, 2] }), CoordSystem::Wgs84).is_err());
        assert!(
            parse_geometry(&json!({ "type": "Polygon", "coordinates": [[[1, 2], [3, 4]]] }), CoordSystem::Wgs84)
                .is_err()
        );
        assert!(parse_geometry(&square(200.0, 1.0, 1.0), CoordSystem::Wgs84).is_err());
        let (map, _) = AreaMap::build(vec![area("D", AreaLevel::District, None, square(101.70, 36.60, 0.04))]);
        assert!(map.check_parent(AreaLevel::Street, Some("D")).is_ok());
        assert!(map.check_parent(AreaLevel::Community, Some("D")).is_err());
        assert!(map.check_parent(AreaLevel::Street, None).is_err());
        assert!(map.check_parent(AreaLevel::District, Some("D")).is_err());
        assert_eq!(check_code("G-07_a"), Ok(()));
        assert_eq!(check_code("{gd}"), Err(AreaError::Code));
    }

    #[test]
    fn a_second_district_narrows_district_operators_and_leaves_operators_without_an_area_nothing() {
        let a = || area("A", AreaLevel::District, None, square(101.70, 36.60, 0.02));
        let a_street = || area("A1", AreaLevel::Street, Some("A"), square(101.70, 36.60, 0.01));
        let (one, _) = AreaMap::build(vec![a(), a_street()]);
        assert_eq!(one.scope_of(None), Some(Scope::All), "one district: no area is district-wide");
        assert_eq!(one.scope_of(Some("A")), Some(Scope::All), "the only district sees outside its outline too");
        assert_eq!(one.scope_of(Some("A1")), Some(Scope::Area("A1".into())));
        let b = area("B", AreaLevel::District, None, square(101.72, 36.60, 0.02));
        let (two, _) = AreaMap::build(vec![a(), a_street(), b]);
        assert_eq!(two.district_count(), 2);
        assert_eq!(two.scope_of(None), None, "no area among several districts: nothing");
        assert_eq!(two.scope_of(Some("A")), Some(Scope::Area("A".into())));
        assert_eq!(two.scope_of(Some(EVERY_DISTRICT)), Some(Scope::All));
        assert_eq!(two.scope_of(Some("GONE")), Some(Scope::Area("GONE".into())), "unknown: nothing, not all");
        let in_b = two.locate(GeoPoint::new(36.61, 101.73).unwrap());
        assert!(!Scope::Area("A".into()).sees_path(&in_b) && Scope::Area("B".into()).sees_path(&in_b));
    }

    #[test]
    fn gcj02_outlines_are_stored_in_wgs84() {
        let shape = parse_geometry(&square(101.70, 36.60, 0.02), CoordSystem::Gcj02).unwrap();
        let first = shape.0[0].exterior().0[0];
        assert!((first.x - 101.70).abs() > 1e-4, "shifted back from GCJ-02");
    }
}
