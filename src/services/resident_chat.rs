//! Resident chat: messages residents send to the WeChat Official Account (a report from a
//! text or a location, replies, commands), and the replay guard on WeChat's signed URLs.

use crate::dispatch::resident_chat::ChatReply;
use crate::dispatch::{DispatchError, Dispatcher};
use crate::wechat::message::Message;
use std::time::Duration;

/// WeChat conversations. Cheap to clone.
#[derive(Clone)]
pub struct ResidentChat {
    engine: Dispatcher,
}

impl ResidentChat {
    /// Over the dispatch engine.
    #[must_use]
    pub fn new(engine: Dispatcher) -> Self {
        Self { engine }
    }

    /// Answer one verified message (deduplicated across WeChat's retries).
    ///
    /// # Errors
    /// `Store` (and report failures): nothing is remembered, so WeChat's retry tries again.
    pub async fn answer(&self, message: &Message) -> Result<ChatReply, DispatchError> {
        self.engine.wechat_message(message).await
    }

    /// Remember that the signed URL `url_hash` came with body `body_hash` for `ttl`; the body
    /// hash first seen with it, if it was seen before (another body is a replay).
    ///
    /// # Errors
    /// `Store`.
    pub async fn first_body_of(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, DispatchError> {
        Ok(self.engine.ports().leases.remember_signed_url(url_hash, body_hash, ttl).await?)
    }
}
