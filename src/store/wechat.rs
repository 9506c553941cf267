//! Types of the storage port's WeChat section (issue #3): what the webhook, the conversation
//! and the outbound client keep between requests and share between instances.

use crate::domain::ids::SceneId;
use crate::domain::location::GeoPoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A resident's conversation state: where their next text is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidentSession {
    /// The scene they scanned, if any.
    #[serde(default)]
    pub scene: Option<SceneId>,
    /// The place (WGS-84): the scene's, or one they sent (which wins).
    #[serde(default)]
    pub place: Option<GeoPoint>,
    /// When the place was set (the text window starts here).
    pub bound_at: Timestamp,
}

/// Who answers a delivery (WeChat may send it up to 4 times, to any instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// This caller is first: process it, then `finish_delivery` (or `release_delivery`).
    Claimed,
    /// Another caller is processing it now.
    Pending,
    /// It was answered: send the same answer again.
    Answered(String),
}

/// One hit on a fixed-window counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCount {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Until the window resets.
    pub resets_in: Duration,
}

/// The WeChat access token as cached for every instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    /// The token (a secret: never logged).
    pub token: String,
    /// When WeChat said it expires.
    pub expires_at: Timestamp,
}
