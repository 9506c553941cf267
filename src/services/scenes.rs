//! Scenes: the places residents scan a QR code at to report (create, list, read), and the
//! WeChat client that makes a scene's permanent WeChat code.

use crate::dispatch::{DispatchError, Dispatcher};
use crate::domain::ids::SceneId;
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::store::Directory;
use crate::wechat::client::WechatClient;
use std::sync::Arc;

/// QR scenes. Cheap to clone.
#[derive(Clone)]
pub struct Scenes {
    engine: Dispatcher,
    /// Where scenes are stored.
    directory: Arc<dyn Directory>,
}

impl Scenes {
    /// Scenes stored in `directory`, placed and stamped by the dispatch engine.
    #[must_use]
    pub fn new(engine: Dispatcher, directory: Arc<dyn Directory>) -> Self {
        Self { engine, directory }
    }

    /// Store a new scene named `name` at `location`; located in the area hierarchy when no
    /// grid is given.
    ///
    /// # Errors
    /// `Store`.
    pub async fn create(&self, name: String, location: GeoPoint, grid: Option<String>) -> Result<Scene, DispatchError> {
        let scene = Scene {
            id: SceneId::generate(),
            name,
            location,
            grid: grid.or_else(|| self.engine.locate(location).grid),
            created_at: self.engine.now(),
        };
        self.directory.insert_scene(&scene).await?;
        Ok(scene)
    }

    /// One scene, if it exists.
    ///
    /// # Errors
    /// `Store`.
    pub async fn get(&self, id: &SceneId) -> Result<Option<Scene>, DispatchError> {
        Ok(self.directory.get_scene(id).await?)
    }

    /// Every scene, oldest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn list(&self) -> Result<Vec<Scene>, DispatchError> {
        Ok(self.directory.list_scenes().await?)
    }

    /// The WeChat API client (permanent QR codes for scenes).
    #[must_use]
    pub fn wechat_client(&self) -> &WechatClient {
        self.engine.wechat_client()
    }
}
