//! The Redis [`DepartmentStore`], on the same connection and hash tag as the Redis store: a
//! call-in write is one Lua script that checks the version, stores the call-in and its
//! indexes, changes its deadlines in the shared timer set, appends to the incident's
//! timeline and publishes, so every instance's runner fires a call-in's deadline once.

use super::domain::{CallIn, Department};
use super::routing::RoutingTable;
use super::store::{
    CallInWrite, DELIVERY_LOG_KEEP, DeliveryLine, DepartmentStore, WebhookEvent, oldest_first, webhook_key,
};
use crate::domain::ids::{CallInId, DepartmentId, IncidentId};
use crate::store::records::Record;
use crate::store::redis::RedisStore;
use crate::store::{StoreError, TimerOp};
use async_trait::async_trait;
use std::sync::LazyLock;

/// `KEYS`: call-ins hash, the incident's and the department's call-in sets, timers, the
/// incident's timeline, the webhook events hash. `ARGV`: id, JSON, expected version (`0`:
/// create), the bus channel, counts of timer ops, timeline lines, announcements and webhook
/// events; then 3 per timer op (`s`/`c`, member, due ms), the lines, the announcements, and 2
/// per webhook event (id, JSON). Returns 1 when written, 0 on a version
/// conflict (nothing written).
static WRITE_CALL_IN: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r#"
local hash, by_inc, by_dept, timers, tl, hooks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, doc, expect, channel = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local n_timers, n_lines, n_announce, n_hooks = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local cur = redis.call('HGET', hash, id)
local stored = 0
if cur then stored = tonumber(cjson.decode(cur).version) end
if stored ~= expect then return 0 end
local first = redis.call('ZRANGE', timers, 0, 0, 'WITHSCORES')
local earliest = nil
if first[2] then earliest = tonumber(first[2]) end
local sooner = nil
redis.call('HSET', hash, id, doc)
if expect == 0 then
  redis.call('SADD', by_inc, id)
  redis.call('SADD', by_dept, id)
end
local a = 8
for i = 1, n_timers do
  local op, member, due = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if op == 's' then
    redis.call('ZADD', timers, due, member)
    if (earliest == nil or tonumber(due) < earliest) and (sooner == nil or tonumber(due) < tonumber(sooner)) then
      sooner = due
    end
  else
    redis.call('ZREM', timers, member)
  end
  a = a + 3
end
for i = 1, n_lines do redis.call('RPUSH', tl, ARGV[a + i]) end
a = a + n_lines
for i = 1, n_announce do redis.call('PUBLISH', channel, ARGV[a + i]) end
a = a + n_announce
for i = 1, n_hooks do redis.call('HSET', hooks, ARGV[a + 2 * i - 1], ARGV[a + 2 * i]) end
if sooner then
  redis.call('PUBLISH', channel, '{"t":"next_deadline","due_ms":' .. sooner .. '}')
end
return 1
"#,
    )
});

/// `KEYS`: the routing table. `ARGV`: its JSON, its version. Stores it iff the stored one is
/// the version before (none: 0); returns 1 when stored.
static PUT_ROUTING: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r#"
local cur = redis.call('GET', KEYS[1])
local stored = 0
if cur then stored = tonumber(cjson.decode(cur).version) end
if stored + 1 ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"#,
    )
});

/// `KEYS`: webhook events, timers, delivery log. `ARGV`: event id, its JSON, its deadline's
/// member, the next attempt (ms), the log line, lines kept, the bus channel. Keeps the event
/// for another attempt, moves its deadline (a `next_deadline` when that is the soonest) and
/// logs the attempt, together.
static RETRY_WEBHOOK: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r#"
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[5])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
if first[2] == nil or tonumber(ARGV[4]) < tonumber(first[2]) then
  redis.call('PUBLISH', ARGV[7], '{"t":"next_deadline","due_ms":' .. ARGV[4] .. '}')
end
return 1
"#,
    )
});

/// `KEYS`: webhook events, delivery log. `ARGV`: event id, the log line, lines kept.
static FINISH_WEBHOOK: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r#"
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1
"#,
    )
});

/// Departments and call-ins in Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisDepartments {
    store: RedisStore,
}

impl RedisDepartments {
    /// On `store`'s connection and prefix.
    #[must_use]
    pub fn new(store: RedisStore) -> Self {
        Self { store }
    }

    async fn many(&self, set: String) -> Result<Vec<CallIn>, StoreError> {
        let ids: Vec<String> = self.store.query(::redis::cmd("SMEMBERS").arg(set)).await?;
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let docs: Vec<Option<String>> =
            self.store.query(::redis::cmd("HMGET").arg(self.store.keys().call_ins()).arg(&ids)).await?;
        let call_ins = docs.into_iter().flatten().map(|d| decode(&d)).collect::<Result<Vec<CallIn>, _>>()?;
        Ok(oldest_first(call_ins))
    }
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("department data: {e}")))
}

#[async_trait]
impl DepartmentStore for RedisDepartments {
    async fn put_department(&self, department: &Department) -> Result<(), StoreError> {
        let doc = encode("department", department)?;
        let cmd =
            ::redis::cmd("HSET").arg(self.store.keys().departments()).arg(department.id.to_string()).arg(doc).clone();
        let _: i64 = self.store.query(&cmd).await?;
        Ok(())
    }

    async fn get_department(&self, id: &DepartmentId) -> Result<Option<Department>, StoreError> {
        let doc: Option<String> =
            self.store.query(::redis::cmd("HGET").arg(self.store.keys().departments()).arg(id.to_string())).await?;
        doc.as_deref().map(decode).transpose()
    }

    async fn list_departments(&self) -> Result<Vec<Department>, StoreError> {
        let docs: Vec<String> = self.store.query(::redis::cmd("HVALS").arg(self.store.keys().departments())).await?;
        let mut all = docs.iter().map(|d| decode::<Department>(d)).collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn get_routing(&self) -> Result<Option<RoutingTable>, StoreError> {
        let doc: Option<String> = self.store.query(::redis::cmd("GET").arg(self.store.keys().routing())).await?;
        doc.as_deref().map(decode).transpose()
    }

    async fn put_routing(&self, table: &RoutingTable) -> Result<bool, StoreError> {
        let mut inv = PUT_ROUTING.prepare_invoke();
        inv.key(self.store.keys().routing()).arg(encode("routing table", table)?).arg(table.version);
        let written: i64 = self.store.invoke(&inv).await?;
        Ok(written == 1)
    }

    async fn write_call_in(&self, write: &CallInWrite) -> Result<bool, StoreError> {
        let c = &write.call_in;
        let keys = self.store.keys();
        let mut inv = WRITE_CALL_IN.prepare_invoke();
        inv.key(keys.call_ins())
            .key(keys.call_ins_of_incident(&c.incident_id))
            .key(keys.call_ins_of_department(&c.department_id))
            .key(keys.timers())
            .key(keys.timeline(&c.incident_id))
            .key(keys.webhooks())
            .arg(c.id.to_string())
            .arg(encode("call-in", c)?)
            .arg(write.expect_version)
            .arg(keys.bus_channel())
            .arg(write.timers.len())
            .arg(write.timeline.len())
            .arg(write.announce.len())
            .arg(write.webhooks.len());
        for op in &write.timers {
            match op {
                TimerOp::Schedule(key, due) => inv.arg("s").arg(key.member()).arg(due.as_millisecond()),
                TimerOp::Cancel(key) => inv.arg("c").arg(key.member()).arg(0),
            };
        }
        for line in &write.timeline {
            inv.arg(line.encode()?);
        }
        for message in &write.announce {
            inv.arg(encode("bus message", message)?);
        }
        for event in &write.webhooks {
            inv.arg(&event.id).arg(encode("webhook event", event)?);
        }
        let written: i64 = self.store.invoke(&inv).await?;
        Ok(written == 1)
    }

    async fn get_call_in(&self, id: &CallInId) -> Result<Option<CallIn>, StoreError> {
        let doc: Option<String> =
            self.store.query(::redis::cmd("HGET").arg(self.store.keys().call_ins()).arg(id.to_string())).await?;
        doc.as_deref().map(decode).transpose()
    }

    async fn call_ins_of_incident(&self, id: &IncidentId) -> Result<Vec<CallIn>, StoreError> {
        self.many(self.store.keys().call_ins_of_incident(id)).await
    }

    async fn call_ins_of_department(&self, id: &DepartmentId) -> Result<Vec<CallIn>, StoreError> {
        self.many(self.store.keys().call_ins_of_department(id)).await
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookEvent>, StoreError> {
        let doc: Option<String> =
            self.store.query(::redis::cmd("HGET").arg(self.store.keys().webhooks()).arg(id)).await?;
        doc.as_deref().map(decode).transpose()
    }

    async fn retry_webhook(
        &self,
        event: &WebhookEvent,
        due: jiff::Timestamp,
        line: &DeliveryLine,
    ) -> Result<(), StoreError> {
        let keys = self.store.keys();
        let mut inv = RETRY_WEBHOOK.prepare_invoke();
        inv.key(keys.webhooks())
            .key(keys.timers())
            .key(keys.webhook_log())
            .arg(&event.id)
            .arg(encode("webhook event", event)?)
            .arg(webhook_key(event).member())
            .arg(due.as_millisecond())
            .arg(encode("delivery line", line)?)
            .arg(DELIVERY_LOG_KEEP)
            .arg(keys.bus_channel());
        let _: i64 = self.store.invoke(&inv).await?;
        Ok(())
    }

    async fn finish_webhook(&self, id: &str, line: &DeliveryLine) -> Result<(), StoreError> {
        let keys = self.store.keys();
        let mut inv = FINISH_WEBHOOK.prepare_invoke();
        inv.key(keys.webhooks())
            .key(keys.webhook_log())
            .arg(id)
            .arg(encode("delivery line", line)?)
            .arg(DELIVERY_LOG_KEEP);
        let _: i64 = self.store.invoke(&inv).await?;
        Ok(())
    }

    async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryLine>, StoreError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let docs: Vec<String> =
            self.store.query(::redis::cmd("LRANGE").arg(self.store.keys().webhook_log()).arg(0).arg(limit - 1)).await?;
        docs.iter().map(|d| decode(d)).collect()
    }
}
