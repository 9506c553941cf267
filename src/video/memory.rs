//! The in-process [`VideoStore`]: one instance only (tests, a single-process demo).

use super::session::{Invitation, VideoSession};
use super::store::{Versioned, VideoStore};
use crate::domain::ids::IncidentId;
use crate::store::StoreError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Sessions and invitations in memory. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct MemoryVideoStore(Arc<Mutex<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, Versioned>,
    live: HashMap<IncidentId, String>,
    /// With when to forget them (the real clock, like Redis's TTL).
    invitations: HashMap<String, (Invitation, Instant)>,
    party_links: HashMap<IncidentId, (String, Instant)>,
}

/// A fresh in-memory store as the port (the composition root's one call).
#[must_use]
pub fn port() -> std::sync::Arc<dyn VideoStore> {
    Arc::new(MemoryVideoStore::new())
}

impl MemoryVideoStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl VideoStore for MemoryVideoStore {
    async fn insert_session(&self, session: &VideoSession) -> Result<bool, StoreError> {
        Ok(self.with(|i| {
            if i.live.contains_key(&session.incident_id) {
                return false;
            }
            i.live.insert(session.incident_id.clone(), session.id.clone());
            i.sessions.insert(session.id.clone(), Versioned { session: session.clone(), version: 1 });
            true
        }))
    }

    async fn session(&self, id: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.with(|i| i.sessions.get(id).cloned()))
    }

    async fn replace_session(&self, session: &VideoSession, expected: u64) -> Result<bool, StoreError> {
        Ok(self.with(|i| {
            let Some(held) = i.sessions.get_mut(&session.id) else { return false };
            if held.version != expected {
                return false;
            }
            *held = Versioned { session: session.clone(), version: expected + 1 };
            if !session.is_live() && i.live.get(&session.incident_id) == Some(&session.id) {
                i.live.remove(&session.incident_id);
            }
            true
        }))
    }

    async fn live_session_of(&self, incident: &IncidentId) -> Result<Option<String>, StoreError> {
        Ok(self.with(|i| i.live.get(incident).cloned()))
    }

    async fn live_sessions(&self) -> Result<Vec<VideoSession>, StoreError> {
        Ok(self.with(|i| {
            let mut live: Vec<VideoSession> =
                i.live.values().filter_map(|id| i.sessions.get(id)).map(|v| v.session.clone()).collect();
            live.sort_by_key(|s| s.started_at);
            live
        }))
    }

    async fn put_invitation(
        &self,
        token_hash: &str,
        invitation: &Invitation,
        keep: Duration,
    ) -> Result<(), StoreError> {
        self.with(|i| {
            let now = Instant::now();
            i.invitations.retain(|_, (_, until)| *until > now);
            i.invitations.insert(token_hash.to_owned(), (invitation.clone(), now + keep));
        });
        Ok(())
    }

    async fn take_invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        Ok(self.with(|i| i.invitations.remove(token_hash).filter(|(_, until)| *until > Instant::now()).map(|(v, _)| v)))
    }

    async fn put_party_link(&self, incident: &IncidentId, token: &str, keep: Duration) -> Result<(), StoreError> {
        self.with(|i| i.party_links.insert(incident.clone(), (token.to_owned(), Instant::now() + keep)));
        Ok(())
    }

    async fn party_link(&self, incident: &IncidentId) -> Result<Option<String>, StoreError> {
        Ok(self
            .with(|i| i.party_links.get(incident).filter(|(_, until)| *until > Instant::now()).map(|(t, _)| t.clone())))
    }

    async fn drop_party_link(&self, incident: &IncidentId) -> Result<(), StoreError> {
        self.with(|i| i.party_links.remove(incident));
        Ok(())
    }
}
