//! The Redis [`VideoStore`]: shared by every instance. Keys sit under the deployment's hash tag
//! (see `store/redis/keys.rs`), so the scripts below touch one slot:
//!
//! | Key                          | Type   | Contents                                         |
//! |------------------------------|--------|--------------------------------------------------|
//! | `{p}:video:s:<id>`           | hash   | `v` → version, `doc` → `VideoSession` JSON       |
//! | `{p}:video:live`             | hash   | incident id → its live session id                |
//! | `{p}:video:inv:<token hash>` | string | `Invitation` JSON, expiring; taken with `GETDEL` |
//! | `{p}:video:party:<incident>` | string | the parties' invitation token, expiring          |
//!
//! Ended sessions are kept [`ENDED_KEEP`] for the timeline's links, then expire.

use super::session::{Invitation, VideoSession};
use super::store::{Versioned, VideoStore};
use crate::domain::ids::IncidentId;
use crate::store::StoreError;
use crate::store::redis::RedisStore;
use async_trait::async_trait;
use std::time::Duration;

/// How long an ended session's record stays.
pub const ENDED_KEEP: Duration = Duration::from_secs(90 * 24 * 3600);

/// Create a session unless its incident has a live one.
const INSERT: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1";

/// Replace a session if its version is unchanged; an ended one leaves the live hash.
const REPLACE: &str = r"
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
if ARGV[4] == '1' then
  if redis.call('HGET', KEYS[2], ARGV[5]) == ARGV[6] then redis.call('HDEL', KEYS[2], ARGV[5]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
end
return 1";

/// Sessions and invitations in Redis, on the main store's connection.
#[derive(Debug, Clone)]
pub struct RedisVideoStore {
    store: RedisStore,
    prefix: String,
}

impl RedisVideoStore {
    /// Use `store`'s connection and hash tag.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        let prefix = format!("{}:video", store.keys().tag());
        Self { store, prefix }
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}:s:{id}", self.prefix)
    }

    fn live_key(&self) -> String {
        format!("{}:live", self.prefix)
    }

    fn invitation_key(&self, token_hash: &str) -> String {
        format!("{}:inv:{token_hash}", self.prefix)
    }

    fn party_key(&self, incident: &IncidentId) -> String {
        format!("{}:party:{incident}", self.prefix)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl VideoStore for RedisVideoStore {
    async fn insert_session(&self, session: &VideoSession) -> Result<bool, StoreError> {
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(INSERT).arg(2).arg(self.session_key(&session.id)).arg(self.live_key());
        cmd.arg(session.incident_id.to_string()).arg(&session.id).arg(to_json(session)?);
        Ok(self.store.command::<i64>(&cmd, false).await? == 1)
    }

    async fn session(&self, id: &str) -> Result<Option<Versioned>, StoreError> {
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(self.session_key(id)).arg("v").arg("doc");
        let (version, doc): (Option<u64>, Option<String>) = self.store.command(&cmd, true).await?;
        match (version, doc) {
            (Some(version), Some(doc)) => Ok(Some(Versioned { session: from_json(&doc)?, version })),
            _ => Ok(None),
        }
    }

    async fn replace_session(&self, session: &VideoSession, expected: u64) -> Result<bool, StoreError> {
        let mut cmd = ::redis::cmd("EVAL");
        cmd.arg(REPLACE).arg(2).arg(self.session_key(&session.id)).arg(self.live_key());
        cmd.arg(expected.to_string()).arg((expected + 1).to_string()).arg(to_json(session)?);
        cmd.arg(if session.is_live() { "0" } else { "1" }).arg(session.incident_id.to_string()).arg(&session.id);
        cmd.arg(millis(ENDED_KEEP));
        Ok(self.store.command::<i64>(&cmd, false).await? == 1)
    }

    async fn live_session_of(&self, incident: &IncidentId) -> Result<Option<String>, StoreError> {
        let mut cmd = ::redis::cmd("HGET");
        cmd.arg(self.live_key()).arg(incident.to_string());
        self.store.command(&cmd, true).await
    }

    async fn live_sessions(&self) -> Result<Vec<VideoSession>, StoreError> {
        let mut cmd = ::redis::cmd("HVALS");
        cmd.arg(self.live_key());
        let ids: Vec<String> = self.store.command(&cmd, true).await?;
        let mut live = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = self.session(&id).await? {
                live.push(v.session);
            }
        }
        live.sort_by_key(|s| s.started_at);
        Ok(live)
    }

    async fn put_invitation(
        &self,
        token_hash: &str,
        invitation: &Invitation,
        keep: Duration,
    ) -> Result<(), StoreError> {
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(self.invitation_key(token_hash)).arg(to_json(invitation)?).arg("PX").arg(millis(keep));
        self.store.command(&cmd, true).await
    }

    async fn take_invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        let mut cmd = ::redis::cmd("GETDEL");
        cmd.arg(self.invitation_key(token_hash));
        let raw: Option<String> = self.store.command(&cmd, false).await?;
        raw.as_deref().map(from_json).transpose()
    }

    async fn put_party_link(&self, incident: &IncidentId, token: &str, keep: Duration) -> Result<(), StoreError> {
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(self.party_key(incident)).arg(token).arg("PX").arg(millis(keep));
        self.store.command(&cmd, true).await
    }

    async fn party_link(&self, incident: &IncidentId) -> Result<Option<String>, StoreError> {
        let mut cmd = ::redis::cmd("GET");
        cmd.arg(self.party_key(incident));
        self.store.command(&cmd, true).await
    }

    async fn drop_party_link(&self, incident: &IncidentId) -> Result<(), StoreError> {
        let mut cmd = ::redis::cmd("DEL");
        cmd.arg(self.party_key(incident));
        self.store.command::<i64>(&cmd, true).await.map(|_| ())
    }
}
