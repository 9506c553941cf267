//! QR scenes: the named places where residents scan a code to report.

use super::ids::SceneId;
use super::location::GeoPoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A printed QR code's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Opaque id, also the `scene` value in `/r/{scene}` and WeChat's `EventKey`.
    pub id: SceneId,
    /// Where it hangs, in words residents recognise ("幸福小区3号楼").
    pub name: String,
    /// Where it is (WGS-84).
    pub location: GeoPoint,
    /// Grid code, if known.
    #[serde(default)]
    pub grid: Option<String>,
    /// When created.
    pub created_at: Timestamp,
}
