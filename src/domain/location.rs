//! Points on the earth, the coordinate systems they arrive in, and the H3 cells we index them by.
//!
//! This is the only module that picks H3 resolutions. Everything stored or indexed is WGS-84;
//! GCJ-02 (the "Mars" datum of Chinese map SDKs and WeChat) is converted here, at the edge.

use geo::{Distance, Haversine, Point};
use h3o::{CellIndex, LatLng, Resolution};
use serde::{Deserialize, Serialize};

/// The H3 resolution mediator positions and reports are indexed at by default.
///
/// Resolution 8 cells average 0.74 km² (edge ≈ 460 m, centres ≈ 800 m apart): about one
/// residential compound (小区) or a few city blocks. One ring around a report covers what a
/// mediator walks in ~10 minutes, and a 5 km search is at most 8 rings (217 cells), so ring
/// search stays cheap even in the densest district while each cell holds few mediators.
pub const DEFAULT_INDEX_RESOLUTION: u8 = 8;

/// The resolution of "the same area" for hot spots: resolution 8 (~0.74 km², a compound).
pub const HOTSPOT_RESOLUTION: Resolution = Resolution::Eight;

/// Mean distance between the centres of neighbouring cells, per resolution, in metres.
///
/// Used to turn a search radius into a ring count; the exact cut is by great-circle distance.
#[must_use]
pub fn ring_spacing_m(resolution: Resolution) -> f64 {
    // Average hexagon edge length (H3 docs) × √3 gives the centre-to-centre distance.
    resolution.edge_length_m() * 3f64.sqrt()
}

/// A coordinate system a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CoordSystem {
    /// GPS / international (what we store).
    #[default]
    Wgs84,
    /// China's obfuscated datum used by AMap, Tencent maps and WeChat.
    Gcj02,
}

/// Why a coordinate was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LocationError {
    /// Latitude outside [-90, 90] or not finite.
    #[error("latitude must be a finite number between -90 and 90")]
    Latitude,
    /// Longitude outside [-180, 180] or not finite.
    #[error("longitude must be a finite number between -180 and 180")]
    Longitude,
}

/// A validated WGS-84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    lat: f64,
    lng: f64,
}

impl GeoPoint {
    /// A WGS-84 point.
    ///
    /// # Errors
    /// [`LocationError`] when a value is out of range or not finite.
    pub fn new(lat: f64, lng: f64) -> Result<Self, LocationError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(LocationError::Latitude);
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(LocationError::Longitude);
        }
        Ok(Self { lat, lng })
    }

    /// A point given in `system`, converted to WGS-84.
    ///
    /// # Errors
    /// [`LocationError`] when a value is out of range or not finite.
    pub fn from_system(lat: f64, lng: f64, system: CoordSystem) -> Result<Self, LocationError> {
        let p = Self::new(lat, lng)?;
        Ok(match system {
            CoordSystem::Wgs84 => p,
            CoordSystem::Gcj02 => {
                let (lat, lng) = gcj02_to_wgs84(p.lat, p.lng);
                Self::new(lat, lng)?
            }
        })
    }

    /// Latitude in degrees.
    #[must_use]
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    #[must_use]
    pub fn lng(self) -> f64 {
        self.lng
    }

    /// This point in GCJ-02, for map SDKs that draw in it.
    #[must_use]
    pub fn to_gcj02(self) -> (f64, f64) {
        wgs84_to_gcj02(self.lat, self.lng)
    }

    /// Great-circle distance in metres.
    #[must_use]
    pub fn distance_m(self, other: Self) -> f64 {
        Haversine.distance(Point::new(self.lng, self.lat), Point::new(other.lng, other.lat))
    }

    /// The H3 cell containing this point at `resolution`.
    #[must_use]
    pub fn cell(self, resolution: Resolution) -> CellIndex {
        // Validated in `new`, so LatLng cannot fail; fall back to 0,0 defensively.
        LatLng::new(self.lat, self.lng)
            .unwrap_or_else(|_| LatLng::new(0.0, 0.0).expect("0,0 is a valid coordinate"))
            .to_cell(resolution)
    }

    /// The hot-spot area (H3 cell at [`HOTSPOT_RESOLUTION`]) this point lies in.
    #[must_use]
    pub fn area(self) -> CellIndex {
        self.cell(HOTSPOT_RESOLUTION)
    }

    /// The point rounded to about 100 m, for places where exactness is not needed (privacy).
    #[must_use]
    pub fn coarse(self) -> Self {
        Self { lat: (self.lat * 1000.0).round() / 1000.0, lng: (self.lng * 1000.0).round() / 1000.0 }
    }
}

/// Parse a resolution number from configuration.
///
/// # Errors
/// A message naming the allowed range.
pub fn resolution(n: u8) -> Result<Resolution, String> {
    Resolution::try_from(n).map_err(|_| format!("H3 resolution must be 0..=15, got {n}"))
}

// GCJ-02 is a published obfuscation over the Krasovsky 1940 ellipsoid: a fixed polynomial offset,
// applied only inside mainland China. The inverse has no closed form; a few fixed-point iterations
// converge far below a centimetre.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;

fn outside_china(lat: f64, lng: f64) -> bool {
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lng(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02 (unchanged outside China).
#[must_use]
pub fn wgs84_to_gcj02(lat: f64, lng: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    if outside_china(lat, lng) {
        return (lat, lng);
    }
    let d_lat = offset_lat(lng - 105.0, lat - 35.0);
    let d_lng = offset_lng(lng - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lng = (d_lng * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (lat + d_lat, lng + d_lng)
}

/// GCJ-02 → WGS-84 by fixed-point iteration (unchanged outside China).
#[must_use]
pub fn gcj02_to_wgs84(lat: f64, lng: f64) -> (f64, f64) {
    if outside_china(lat, lng) {
        return (lat, lng);
    }
    let (mut w_lat, mut w_lng) = (lat, lng);
    for _ in 0..8 {
        let (g_lat, g_lng) = wgs84_to_gcj02(w_lat, w_lng);
        w_lat -= g_lat - lat;
        w_lng -= g_lng - lng;
    }
    (w_lat, w_lng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_out_of_range_and_non_finite_coordinates() {
        for (lat, lng) in [(91.0, 0.0), (-91.0, 0.0), (f64::NAN, 0.0), (f64::INFINITY, 0.0)] {
            assert_eq!(GeoPoint::new(lat, lng), Err(LocationError::Latitude));
        }
        for (lat, lng) in [(0.0, 181.0), (0.0, -180.5), (0.0, f64::NEG_INFINITY)] {
            assert_eq!(GeoPoint::new(lat, lng), Err(LocationError::Longitude));
        }
    }

    #[test]
    fn gcj02_shift_in_xining_matches_the_published_offset_size() {
        // Xining centre: the GCJ-02 shift is a few hundred metres, never zero, never kilometres.
        let wgs = GeoPoint::new(36.6171, 101.7782).unwrap();
        let (g_lat, g_lng) = wgs.to_gcj02();
        let shifted = GeoPoint::new(g_lat, g_lng).unwrap();
        let d = wgs.distance_m(shifted);
        assert!((100.0..1000.0).contains(&d), "shift {d} m");
    }

    #[test]
    fn points_outside_china_are_not_shifted() {
        assert_eq!(wgs84_to_gcj02(48.8566, 2.3522), (48.8566, 2.3522));
        assert_eq!(gcj02_to_wgs84(-33.86, 151.2), (-33.86, 151.2));
    }

    #[test]
    fn latitude_and_longitude_are_not_swapped_in_cells() {
        let p = GeoPoint::new(36.6171, 101.7782).unwrap();
        let ll = LatLng::from(p.cell(Resolution::Nine));
        assert!((ll.lat() - 36.6171).abs() < 0.01 && (ll.lng() - 101.7782).abs() < 0.01);
    }

    proptest! {
        #[test]
        fn gcj02_round_trip_is_within_a_metre_inside_china(lat in 18.0f64..53.0, lng in 74.0f64..134.0) {
            let (g_lat, g_lng) = wgs84_to_gcj02(lat, lng);
            let (w_lat, w_lng) = gcj02_to_wgs84(g_lat, g_lng);
            let d = GeoPoint::new(lat, lng).unwrap().distance_m(GeoPoint::new(w_lat, w_lng).unwrap());
            prop_assert!(d < 1.0, "round trip off by {} m", d);
        }

        #[test]
        fn gcj02_to_wgs84_and_back_is_within_a_metre_inside_china(lat in 18.0f64..53.0, lng in 74.0f64..134.0) {
            // The other direction (issue #3): what WeChat sends, converted in and out again.
            let (w_lat, w_lng) = gcj02_to_wgs84(lat, lng);
            let (g_lat, g_lng) = wgs84_to_gcj02(w_lat, w_lng);
            let d = GeoPoint::new(lat, lng).unwrap().distance_m(GeoPoint::new(g_lat, g_lng).unwrap());
            prop_assert!(d < 1.0, "round trip off by {} m", d);
            let shift = GeoPoint::new(lat, lng).unwrap().distance_m(GeoPoint::new(w_lat, w_lng).unwrap());
            prop_assert!(shift > 1.0 && shift < 1500.0, "the datum shift is real but small: {} m", shift);
        }

        #[test]
        fn points_outside_china_are_unchanged_both_ways(lat in -60.0f64..0.5, lng in -180.0f64..180.0) {
            prop_assert_eq!(wgs84_to_gcj02(lat, lng), (lat, lng));
            prop_assert_eq!(gcj02_to_wgs84(lat, lng), (lat, lng));
        }
    }
}
