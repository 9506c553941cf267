//! The video room's own storage port: sessions (shared by every instance, changed only by a
//! compare-and-set on their version) and one-time invitations (taken exactly once, whichever
//! instance asks first). Memory and Redis implementations; `tests/api/video.rs` runs the
//! behaviour on both.

use super::session::{Invitation, VideoSession};
use crate::domain::ids::IncidentId;
use crate::store::StoreError;
use async_trait::async_trait;
use std::time::Duration;

/// A session as read, with the version a change must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The session.
    pub session: VideoSession,
    /// Its version (1 when created).
    pub version: u64,
}

/// Storage for video sessions and invitations.
#[async_trait]
pub trait VideoStore: Send + Sync + 'static {
    /// Store a new session as its incident's live one (version 1). False when the incident
    /// already has a live session (nothing is written).
    async fn insert_session(&self, session: &VideoSession) -> Result<bool, StoreError>;

    /// A session by id.
    async fn session(&self, id: &str) -> Result<Option<Versioned>, StoreError>;

    /// Replace a session if its version is still `expected` (then it becomes `expected + 1`).
    /// An ended session leaves its incident's live slot. False when someone changed it first.
    async fn replace_session(&self, session: &VideoSession, expected: u64) -> Result<bool, StoreError>;

    /// The live session of an incident, if any.
    async fn live_session_of(&self, incident: &IncidentId) -> Result<Option<String>, StoreError>;

    /// Every live session (the command center's list).
    async fn live_sessions(&self) -> Result<Vec<VideoSession>, StoreError>;

    /// Keep an invitation under the hash of its token, for `keep` (it is refused as expired by
    /// its own `expires_at` before then).
    async fn put_invitation(&self, token_hash: &str, invitation: &Invitation, keep: Duration)
    -> Result<(), StoreError>;

    /// Take an invitation: the first caller gets it, every later one `None`.
    async fn take_invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError>;

    /// Keep the parties' invitation token for the incident's tracking page, for `keep`.
    async fn put_party_link(&self, incident: &IncidentId, token: &str, keep: Duration) -> Result<(), StoreError>;

    /// The parties' invitation token for the tracking page, if one is waiting.
    async fn party_link(&self, incident: &IncidentId) -> Result<Option<String>, StoreError>;

    /// Forget the tracking page's invitation (used, or its session ended).
    async fn drop_party_link(&self, incident: &IncidentId) -> Result<(), StoreError>;
}
