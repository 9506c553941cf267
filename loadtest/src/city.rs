//! A 30 km × 30 km city centred on Xining, random points in it, and plausible paths.

use grid_dispatch::domain::location::GeoPoint;

/// A small, fast, deterministic generator (xorshift64*): no dependency, reproducible runs.
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The area mediators and reports are in.
#[derive(Debug, Clone, Copy)]
pub struct City {
    lat0: f64,
    lng0: f64,
    dlat: f64,
    dlng: f64,
}

impl City {
    /// 30 km on a side around 36.62°N 101.78°E.
    pub fn xining_30km() -> Self {
        let (lat0, lng0): (f64, f64) = (36.62, 101.78);
        let dlat = 30_000.0 / 111_320.0;
        let dlng = 30_000.0 / (111_320.0 * lat0.to_radians().cos());
        Self { lat0: lat0 - dlat / 2.0, lng0: lng0 - dlng / 2.0, dlat, dlng }
    }

    /// A uniformly random point in the city.
    pub fn random_point(&self, rng: &mut Rng) -> GeoPoint {
        self.clamp(self.lat0 + rng.unit() * self.dlat, self.lng0 + rng.unit() * self.dlng)
    }

    fn clamp(&self, lat: f64, lng: f64) -> GeoPoint {
        let lat = lat.clamp(self.lat0, self.lat0 + self.dlat);
        let lng = lng.clamp(self.lng0, self.lng0 + self.dlng);
        GeoPoint::new(lat, lng).unwrap_or_else(|_| GeoPoint::new(self.lat0, self.lng0).expect("valid"))
    }
}

/// Someone moving through the city: walking or riding at a steady speed, turning a little at
/// every step and sometimes stopping (a mediator on site), bounded by the city.
pub struct Walker {
    at: GeoPoint,
    heading_rad: f64,
    speed_mps: f64,
}

impl Walker {
    /// Start somewhere random with a random pace (1–8 m/s: walking to e-bike).
    pub fn new(city: &City, rng: &mut Rng) -> Self {
        Self {
            at: city.random_point(rng),
            heading_rad: rng.unit() * std::f64::consts::TAU,
            speed_mps: 1.0 + 7.0 * rng.unit(),
        }
    }

    /// Where they are now.
    pub fn at(&self) -> GeoPoint {
        self.at
    }

    /// Advance `secs` seconds.
    pub fn step(&mut self, city: &City, rng: &mut Rng, secs: f64) {
        self.heading_rad += (rng.unit() - 0.5) * 0.8;
        let moving = rng.unit() > 0.1;
        let d = if moving { self.speed_mps * secs } else { 0.0 };
        let lat = self.at.lat() + d * self.heading_rad.cos() / 111_320.0;
        let lng = self.at.lng() + d * self.heading_rad.sin() / (111_320.0 * self.at.lat().to_radians().cos());
        self.at = city.clamp(lat, lng);
    }
}
