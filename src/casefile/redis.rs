//! The Redis backend of [`CaseFileStore`]: `{p}:case:<id>` (hash `v`, `doc`) written by one
//! compare-and-set script, and `{p}:case_img:<id>` (image SHA-256 → bytes). Keys come from
//! `store/redis/keys.rs`, under the deployment's one hash tag.

use super::domain::{CaseFile, DueKind};
use super::store::{CaseFileStore, Versioned};
use crate::domain::ids::IncidentId;
use crate::store::StoreError;
use crate::store::redis::RedisStore;
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::LazyLock;

/// KEYS[1] the case hash, KEYS[2] the deadline zset; ARGV[1] the version expected, ARGV[2]
/// the document, then (score, member) pairs of deadlines to set. 1 written, 0 lost.
static SAVE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(ARGV[1]) + 1), 'doc', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
",
    )
});

/// KEYS[1] the deadline zset; ARGV[1] now (ms), ARGV[2] lease end (ms), ARGV[3] how many.
/// Leases the due members (moves them to the lease end) and returns them.
static CLAIM: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], m) end
return due
",
    )
});

/// KEYS[1] the deadline zset; ARGV[1] the member, ARGV[2] the lease end: removed only if
/// still leased (not moved by a later write).
static FINISH: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1
",
    )
});

fn member(id: &IncidentId, kind: DueKind) -> String {
    format!("{}:{id}", kind.as_str())
}

/// Case files on Redis, sharing the deployment's connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisCaseFiles {
    store: RedisStore,
}

impl RedisCaseFiles {
    /// On the connection and prefix of `store`.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl CaseFileStore for RedisCaseFiles {
    async fn load(&self, id: &IncidentId) -> Result<Versioned, StoreError> {
        let key = self.store.keys().case_file(id);
        let (v, doc): (Option<String>, Option<String>) =
            self.store.query(::redis::cmd("HMGET").arg(&key).arg("v").arg("doc")).await?;
        match (v, doc) {
            (Some(v), Some(doc)) => {
                let version = v.parse().map_err(|_| StoreError::Corrupt(format!("case-file version {v:?}")))?;
                let case = serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(format!("case file: {e}")))?;
                Ok(Versioned { version, case })
            }
            _ => Ok(Versioned::default()),
        }
    }

    async fn save(
        &self,
        id: &IncidentId,
        expect: u64,
        case: &CaseFile,
        due: &[(DueKind, Timestamp)],
    ) -> Result<bool, StoreError> {
        let doc = serde_json::to_string(case).map_err(|e| StoreError::Corrupt(format!("case file: {e}")))?;
        let mut inv = SAVE.prepare_invoke();
        inv.key(self.store.keys().case_file(id)).key(self.store.keys().case_deadlines());
        inv.arg(expect.to_string()).arg(doc);
        for (kind, at) in due {
            inv.arg(at.as_millisecond()).arg(member(id, *kind));
        }
        let written: i64 = self.store.invoke(&inv).await?;
        Ok(written == 1)
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        max: usize,
    ) -> Result<Vec<(IncidentId, DueKind)>, StoreError> {
        let mut inv = CLAIM.prepare_invoke();
        inv.key(self.store.keys().case_deadlines());
        inv.arg(now.as_millisecond()).arg(lease_until.as_millisecond()).arg(max);
        let members: Vec<String> = self.store.invoke(&inv).await?;
        members
            .iter()
            .map(|m| {
                let parsed =
                    m.split_once(':').and_then(|(k, id)| Some((IncidentId::parse(id).ok()?, DueKind::parse(k)?)));
                parsed.ok_or_else(|| StoreError::Corrupt(format!("case deadline {m:?}")))
            })
            .collect()
    }

    async fn finish_due(&self, id: &IncidentId, kind: DueKind, lease_until: Timestamp) -> Result<(), StoreError> {
        let mut inv = FINISH.prepare_invoke();
        inv.key(self.store.keys().case_deadlines());
        inv.arg(member(id, kind)).arg(lease_until.as_millisecond().to_string());
        self.store.invoke::<i64>(&inv).await.map(|_| ())
    }

    async fn put_image(&self, id: &IncidentId, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let key = self.store.keys().case_images(id);
        self.store.query::<()>(::redis::cmd("HSET").arg(&key).arg(sha256).arg(bytes)).await
    }

    async fn image(&self, id: &IncidentId, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.store.keys().case_images(id);
        self.store.query(::redis::cmd("HGET").arg(&key).arg(sha256)).await
    }
}
