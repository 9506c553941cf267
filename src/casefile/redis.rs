//! The Redis backend of [`CaseFileStore`]: `{p}:case:<id>` (hash `v`, `doc`) written by one
//! compare-and-set script that also changes the case's deadlines in the shared timer set
//! (`{p}:timers`, members `case_<kind>:<id>`), appends to the incident's timeline and
//! publishes; and `{p}:case_img:<id>` (image SHA-256 → bytes). Keys come from
//! `store/redis/keys.rs`, under the deployment's one hash tag.

use super::domain::CaseFile;
use super::store::{CaseFileStore, Effects, Versioned};
use crate::domain::ids::IncidentId;
use crate::store::redis::RedisStore;
use crate::store::{StoreError, TimerOp};
use async_trait::async_trait;
use std::sync::LazyLock;

/// `KEYS`: the case hash, the shared timer set, the incident's timeline. `ARGV`: the version
/// expected, the document, the bus channel, counts of timer ops, timeline lines and
/// announcements; then 3 per timer op (`s`/`c`, member, due ms), the lines, the
/// announcements. 1 written, 0 lost (nothing written, nothing published).
static SAVE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r#"
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '0') ~= ARGV[1] then return 0 end
local n_timers, n_lines, n_announce = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local earliest = nil
if first[2] then earliest = tonumber(first[2]) end
local sooner = nil
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(ARGV[1]) + 1), 'doc', ARGV[2])
local a = 6
for i = 1, n_timers do
  local op, member, due = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if op == 's' then
    redis.call('ZADD', KEYS[2], due, member)
    if (earliest == nil or tonumber(due) < earliest) and (sooner == nil or tonumber(due) < tonumber(sooner)) then
      sooner = due
    end
  else
    redis.call('ZREM', KEYS[2], member)
  end
  a = a + 3
end
for i = 1, n_lines do redis.call('RPUSH', KEYS[3], ARGV[a + i]) end
a = a + n_lines
for i = 1, n_announce do redis.call('PUBLISH', ARGV[3], ARGV[a + i]) end
if sooner then
  redis.call('PUBLISH', ARGV[3], '{"t":"next_deadline","due_ms":' .. sooner .. '}')
end
return 1
"#,
    )
});

/// `KEYS`: the old case-deadline set, the shared timer set. Moves every `<kind>:<id>` member
/// to `case_<kind>:<id>` at its score, then drops the old set; returns how many moved.
static ADOPT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local old = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #old, 2 do redis.call('ZADD', KEYS[2], old[i + 1], 'case_' .. old[i]) end
redis.call('DEL', KEYS[1])
return #old / 2
",
    )
});

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
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

    async fn save(&self, id: &IncidentId, expect: u64, case: &CaseFile, effects: &Effects) -> Result<bool, StoreError> {
        let keys = self.store.keys();
        let mut inv = SAVE.prepare_invoke();
        inv.key(keys.case_file(id)).key(keys.timers()).key(keys.timeline(id));
        inv.arg(expect.to_string())
            .arg(encode("case file", case)?)
            .arg(keys.bus_channel())
            .arg(effects.timers.len())
            .arg(effects.timeline.len())
            .arg(effects.announce.len());
        for op in &effects.timers {
            match op {
                TimerOp::Schedule(key, due) => inv.arg("s").arg(key.member()).arg(due.as_millisecond()),
                TimerOp::Cancel(key) => inv.arg("c").arg(key.member()).arg(0),
            };
        }
        for line in &effects.timeline {
            inv.arg(encode("timeline entry", line)?);
        }
        for message in &effects.announce {
            inv.arg(encode("bus message", message)?);
        }
        let written: i64 = self.store.invoke(&inv).await?;
        Ok(written == 1)
    }

    async fn adopt_old_deadlines(&self) -> Result<usize, StoreError> {
        let keys = self.store.keys();
        let mut inv = ADOPT.prepare_invoke();
        inv.key(keys.case_deadlines()).key(keys.timers());
        let moved: i64 = self.store.invoke(&inv).await?;
        Ok(usize::try_from(moved).unwrap_or(0))
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
