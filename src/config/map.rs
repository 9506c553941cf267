//! `[map]`: the base map every page with a map draws under its markers, resolved once from the
//! settings: none (offline, the default), 天地图 with its key, or a custom tile server in
//! WGS-84 or GCJ-02.

use super::ConfigError;
use serde::Deserialize;

/// `[map]`: where the pages' base map comes from. Every page with a map (the command center,
/// the tracking page, the phone pages) reads the same setting.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MapSettings {
    /// `none` (no base map: offline), `tianditu` (天地图 with `tianditu_key`) or `custom` (`tile_url`).
    #[serde(default)]
    pub source: MapSource,
    /// 天地图's browser key (`tk`); sent to browsers in every tile request, so not a secret.
    #[serde(default)]
    pub tianditu_key: String,
    /// `custom`: the tile URL template (`{z}`, `{x}`, `{y}`, optional `{s}`).
    #[serde(default)]
    pub tile_url: String,
    /// `custom`: an optional second layer drawn over the tiles (labels), same shape.
    #[serde(default)]
    pub label_url: String,
    /// `custom`: the datum the tiles are drawn in (`gcj02` for AMap/Tencent-style tiles).
    #[serde(default)]
    pub datum: crate::domain::location::CoordSystem,
    /// What `{s}` takes, one letter or digit each (empty: the source's default).
    #[serde(default)]
    pub subdomains: String,
    /// Deepest zoom the tiles have (0: the source's default, 18).
    #[serde(default)]
    pub max_zoom: u8,
    /// The credit shown in the lower left: provider and its 审图号 (empty: the source's name).
    #[serde(default)]
    pub attribution: String,
}

/// Where the base map comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapSource {
    /// No base map: the pages need nothing from outside (intranets).
    #[default]
    None,
    /// 天地图 (vector tiles and labels, Web Mercator, CGCS2000 ≈ WGS-84).
    Tianditu,
    /// A district's or provider's own tile server.
    Custom,
}

/// A resolved base map: what the pages are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseMap {
    /// Tile URL templates, bottom first (the tiles, then labels).
    pub layers: Vec<String>,
    /// The datum the tiles are drawn in.
    pub datum: crate::domain::location::CoordSystem,
    /// What `{s}` takes, one character each.
    pub subdomains: String,
    /// Deepest zoom.
    pub max_zoom: u8,
    /// The credit for the lower left.
    pub attribution: String,
}

/// 天地图's vector tiles and their labels (`_w`: Web Mercator, Leaflet's default projection).
const TIANDITU_LAYERS: [&str; 2] = ["vec", "cva"];

impl MapSettings {
    /// The base map the pages draw, if any.
    #[must_use]
    pub fn base_map(&self) -> Option<BaseMap> {
        let or = |v: &str, d: &str| if v.is_empty() { d.to_owned() } else { v.to_owned() };
        let max_zoom = if self.max_zoom == 0 { 18 } else { self.max_zoom };
        match self.source {
            MapSource::None => None,
            MapSource::Tianditu => Some(BaseMap {
                layers: TIANDITU_LAYERS
                    .iter()
                    .map(|l| {
                        format!(
                            "https://t{{s}}.tianditu.gov.cn/{l}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={l}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={}",
                            self.tianditu_key
                        )
                    })
                    .collect(),
                datum: crate::domain::location::CoordSystem::Wgs84,
                subdomains: or(&self.subdomains, "01234567"),
                max_zoom,
                attribution: or(&self.attribution, "© 天地图"),
            }),
            MapSource::Custom => Some(BaseMap {
                layers: [&self.tile_url, &self.label_url].into_iter().filter(|u| !u.is_empty()).cloned().collect(),
                datum: self.datum,
                subdomains: or(&self.subdomains, "abc"),
                max_zoom,
                attribution: self.attribution.clone(),
            }),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.into() });
        let template = |url: &str| {
            (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
                && ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p))
                && !url.contains(['"', '<', '>', ' ', ';'])
        };
        let key_ok = !self.tianditu_key.is_empty() && self.tianditu_key.chars().all(|c| c.is_ascii_alphanumeric());
        match self.source {
            MapSource::Tianditu if !key_ok => {
                bad("map.tianditu_key", "天地图 needs its browser key (tk): letters and digits")
            }
            MapSource::Custom if !template(&self.tile_url) => {
                bad("map.tile_url", "a http(s):// or /path template with {z}, {x} and {y}")
            }
            MapSource::Custom if !self.label_url.is_empty() && !template(&self.label_url) => {
                bad("map.label_url", "empty, or a http(s):// or /path template with {z}, {x} and {y}")
            }
            _ if !self.subdomains.chars().all(|c| c.is_ascii_alphanumeric()) => {
                bad("map.subdomains", "letters or digits only, one per subdomain")
            }
            _ if self.max_zoom > 22 => bad("map.max_zoom", "at most 22"),
            _ if self.attribution.contains(['<', '>']) => bad("map.attribution", "plain text: no < or >"),
            _ => Ok(()),
        }
    }
}
