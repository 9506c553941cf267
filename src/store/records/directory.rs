//! The directory's records as stored, schema 1: staff accounts, QR scenes and areas.

use super::values::{StoredAreaLevelV1, StoredCategoryV1, StoredRoleV1};
use super::{Record, SCHEMA, schema_v1};
use crate::domain::account::{Account, Phone};
use crate::domain::area::Area;
use crate::domain::ids::{AccountId, SceneId};
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A staff account as stored, schema 1. The account scripts read `version` and `phone`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAccountV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Id.
    pub id: AccountId,
    /// Role.
    pub role: StoredRoleV1,
    /// Display name.
    pub name: String,
    /// Login phone.
    pub phone: Phone,
    /// argon2id PHC string.
    pub password_hash: String,
    /// May log in.
    pub enabled: bool,
    /// Specialties.
    #[serde(default)]
    pub specialties: Vec<StoredCategoryV1>,
    /// Capacity.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Home area code.
    #[serde(default)]
    pub area: Option<String>,
    /// Created at.
    pub created_at: Timestamp,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
    /// Bound WeChat openid.
    #[serde(default)]
    pub wechat_openid: Option<String>,
    /// Token generation.
    #[serde(default)]
    pub token_generation: u64,
}

fn default_capacity() -> u32 {
    3
}

impl From<&Account> for StoredAccountV1 {
    fn from(a: &Account) -> Self {
        Self {
            schema: SCHEMA,
            id: a.id.clone(),
            role: a.role.into(),
            name: a.name.clone(),
            phone: a.phone.clone(),
            password_hash: a.password_hash.clone(),
            enabled: a.enabled,
            specialties: a.specialties.iter().map(|c| (*c).into()).collect(),
            capacity: a.capacity,
            area: a.area.clone(),
            created_at: a.created_at,
            version: a.version,
            wechat_openid: a.wechat_openid.clone(),
            token_generation: a.token_generation,
        }
    }
}

impl From<StoredAccountV1> for Account {
    fn from(a: StoredAccountV1) -> Self {
        Self {
            id: a.id,
            role: a.role.into(),
            name: a.name,
            phone: a.phone,
            password_hash: a.password_hash,
            enabled: a.enabled,
            specialties: a.specialties.into_iter().map(Into::into).collect(),
            capacity: a.capacity,
            area: a.area,
            created_at: a.created_at,
            version: a.version,
            wechat_openid: a.wechat_openid,
            token_generation: a.token_generation,
        }
    }
}

record!(Account, StoredAccountV1, "account");

/// A QR scene as stored, schema 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSceneV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Id.
    pub id: SceneId,
    /// Name.
    pub name: String,
    /// WGS-84.
    pub location: GeoPoint,
    /// Grid code.
    #[serde(default)]
    pub grid: Option<String>,
    /// Created at.
    pub created_at: Timestamp,
}

impl From<&Scene> for StoredSceneV1 {
    fn from(s: &Scene) -> Self {
        Self {
            schema: SCHEMA,
            id: s.id.clone(),
            name: s.name.clone(),
            location: s.location,
            grid: s.grid.clone(),
            created_at: s.created_at,
        }
    }
}

impl From<StoredSceneV1> for Scene {
    fn from(s: StoredSceneV1) -> Self {
        Self { id: s.id, name: s.name, location: s.location, grid: s.grid, created_at: s.created_at }
    }
}

record!(Scene, StoredSceneV1, "scene");

/// An area as stored, schema 1 (its outline as GeoJSON, WGS-84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAreaV1 {
    /// Schema version: 1.
    #[serde(default = "schema_v1")]
    pub schema: u32,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: StoredAreaLevelV1,
    /// Parent's code.
    pub parent: Option<String>,
    /// GeoJSON geometry.
    pub geometry: serde_json::Value,
}

impl From<&Area> for StoredAreaV1 {
    fn from(a: &Area) -> Self {
        Self {
            schema: SCHEMA,
            code: a.code.clone(),
            name: a.name.clone(),
            level: a.level.into(),
            parent: a.parent.clone(),
            geometry: a.geometry.clone(),
        }
    }
}

impl From<StoredAreaV1> for Area {
    fn from(a: StoredAreaV1) -> Self {
        Self { code: a.code, name: a.name, level: a.level.into(), parent: a.parent, geometry: a.geometry }
    }
}

record!(Area, StoredAreaV1, "area");
