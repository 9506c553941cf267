//! The incident write as it was before the named plan (issue #19 point 4): 23 positional
//! `ARGV` and a key cursor. Kept here only as the write benchmark's same-run baseline, so the
//! plan's cost is read as a ratio to what it replaced; the service no longer has it.

use grid_dispatch::store::redis::keys::Keys;
use grid_dispatch::store::{BusMessage, Expect, IncidentWrite, TimerOp};

/// The script, verbatim from before the plan.
pub const SCRIPT: &str = r#"
local inc, tl, timers, index, open_index = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local expect, version, doc, id, created = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local creating, has_idem, fp, idem_ttl = ARGV[6] == '1', ARGV[7] == '1', ARGV[8], tonumber(ARGV[9])
local capacity = tonumber(ARGV[10])
local n_append, n_timers = tonumber(ARGV[11]), tonumber(ARGV[12])
local n_open, n_close = tonumber(ARGV[13]), tonumber(ARGV[14])
local has_hold, has_release = ARGV[15] == '1', ARGV[16] == '1'
local receipt = ARGV[17]
local n_announce, channel = tonumber(ARGV[18]), ARGV[19]
local hold_id, hold_day, release_id = ARGV[20], ARGV[21], ARGV[22]
local still_open = ARGV[23] == '1'

local k = 5
local function next_key()
  k = k + 1
  return KEYS[k]
end
local track = creating and next_key() or nil
local idem = (creating and has_idem) and next_key() or nil
local open_keys, close_keys = {}, {}
for i = 1, n_open do open_keys[i] = next_key() end
for i = 1, n_close do close_keys[i] = next_key() end
local hold = has_hold and next_key() or nil
local claims = has_hold and next_key() or nil
local release = has_release and next_key() or nil

-- Preconditions, in the reference order: replay, version, capacity. Nothing written yet.
if idem then
  local prior = redis.call('HMGET', idem, 'id', 'fp', 'r')
  if prior[1] then
    return {3, prior[1], prior[2] == fp and 1 or 0, prior[3] or ''}
  end
end
if expect == 'absent' then
  if redis.call('EXISTS', inc) == 1 then return {1, '', 0, ''} end
else
  if redis.call('HGET', inc, 'v') ~= expect then return {1, '', 0, ''} end
end
if hold then
  if redis.call('SISMEMBER', hold, id) == 0 and redis.call('SCARD', hold) >= capacity then
    return {2, '', 0, ''}
  end
end

-- A wrong-typed key would make a write below fail halfway (scripts do not roll back), so
-- refuse before the first write instead.
local expected_types = {[inc] = 'hash', [tl] = 'list', [timers] = 'zset', [index] = 'zset', [open_index] = 'zset'}
if track then expected_types[track] = 'string' end
if idem then expected_types[idem] = 'hash' end
for i = 1, n_open do expected_types[open_keys[i]] = 'set' end
for i = 1, n_close do expected_types[close_keys[i]] = 'set' end
if hold then expected_types[hold] = 'set' end
if claims then expected_types[claims] = 'hash' end
if release then expected_types[release] = 'set' end
for key, wanted in pairs(expected_types) do
  local actual = redis.call('TYPE', key)['ok']
  if actual ~= 'none' and actual ~= wanted then
    return redis.error_reply('CORRUPT ' .. key .. ' is a ' .. actual .. ', not a ' .. wanted)
  end
end

-- Effects.
if creating then
  redis.call('SET', track, id)
  if idem then
    redis.call('HSET', idem, 'id', id, 'fp', fp, 'r', receipt)
    if idem_ttl > 0 then
      redis.call('PEXPIRE', idem, idem_ttl)
    else
      redis.call('DEL', idem)
    end
  end
  redis.call('ZADD', index, created, id)
end
redis.call('HSET', inc, 'v', version, 'doc', doc)
if still_open then
  redis.call('ZADD', open_index, created, id)
else
  redis.call('ZREM', open_index, id)
end
local a = 23
for i = 1, n_append do
  redis.call('RPUSH', tl, ARGV[a + i])
end
a = a + n_append
local held = redis.call('ZRANGE', timers, 0, 0, 'WITHSCORES')[2]
local earliest = held and tonumber(held) or nil
local sooner = nil
for i = 0, n_timers - 1 do
  local op, member, due = ARGV[a + 3 * i + 1], ARGV[a + 3 * i + 2], ARGV[a + 3 * i + 3]
  if op == 's' then
    if (earliest == nil or tonumber(due) < earliest) and (sooner == nil or tonumber(due) < tonumber(sooner)) then
      sooner = due
    end
    redis.call('ZADD', timers, due, member)
  else
    redis.call('ZREM', timers, member)
  end
end
for i = 1, n_open do redis.call('SADD', open_keys[i], id) end
for i = 1, n_close do redis.call('SREM', close_keys[i], id) end
if hold then redis.call('SADD', hold, id) end
if release then redis.call('SREM', release, id) end
a = a + 3 * n_timers
if hold then
  local count = redis.call('HINCRBY', claims, hold_id, 1)
  redis.call('EXPIRE', claims, 172800)
  redis.call('PUBLISH', channel, cjson.encode({t = 'load', mediator_id = hold_id,
    holds = redis.call('SCARD', hold), claims = {day = hold_day, count = count}}))
end
if release then
  redis.call('PUBLISH', channel, cjson.encode({t = 'load', mediator_id = release_id,
    holds = redis.call('SCARD', release)}))
end
for i = 1, n_announce do
  redis.call('PUBLISH', channel, ARGV[a + i])
end
if sooner then
  redis.call('PUBLISH', channel, '{"t":"next_deadline","due_ms":' .. sooner .. '}')
end
return {0, '', 0, ''}
"#;

/// JSON text of a value (the benchmark's values always encode).
macro_rules! json {
    ($v:expr) => {
        serde_json::to_string($v).unwrap_or_default()
    };
}

/// The invocation of [`SCRIPT`] for `w`, built as the store built it then.
pub fn invocation<'a>(script: &'a redis::Script, keys: &Keys, w: &IncidentWrite) -> redis::ScriptInvocation<'a> {
    let id = &w.incident.id;
    let idempotency = w.creation.as_ref().and_then(|c| c.idempotency.as_ref());
    let flag = |b: bool| if b { "1" } else { "0" };
    let mut inv = script.prepare_invoke();
    inv.key(keys.incident(id))
        .key(keys.timeline(id))
        .key(keys.timers())
        .key(keys.incidents_by_created())
        .key(keys.open_incidents());
    if let Some(creation) = &w.creation {
        inv.key(keys.tracking(&creation.tracking_hash));
        if let Some(claim) = idempotency {
            inv.key(keys.idempotency(&claim.key_hash));
        }
    }
    for m in w.offers_open.iter().chain(&w.offers_close) {
        inv.key(keys.offers(m));
    }
    if let Some(hold) = &w.hold {
        inv.key(keys.holds(&hold.mediator_id)).key(keys.claims(&hold.day));
    }
    if let Some(m) = &w.release {
        inv.key(keys.holds(m));
    }
    let expect = match w.expect {
        Expect::Absent => "absent".to_owned(),
        Expect::Version(v) => v.to_string(),
    };
    let announce: Vec<String> =
        w.announce.iter().filter(|m| !matches!(m, BusMessage::Resync)).map(|m| json!(m)).collect();
    inv.arg(expect)
        .arg(w.incident.version)
        .arg(grid_dispatch::store::records::Record::encode(&w.incident).unwrap_or_default())
        .arg(id.to_string())
        .arg(w.incident.created_at.as_millisecond())
        .arg(flag(w.creation.is_some()))
        .arg(flag(idempotency.is_some()))
        .arg(idempotency.map_or("", |c| c.fingerprint.as_str()))
        .arg(idempotency.map_or(0, |c| c.ttl.as_millis().max(1) as u64))
        .arg(w.hold.as_ref().map_or(0, |h| h.capacity))
        .arg(w.append.len())
        .arg(w.timers.len())
        .arg(w.offers_open.len())
        .arg(w.offers_close.len())
        .arg(flag(w.hold.is_some()))
        .arg(flag(w.release.is_some()))
        .arg(idempotency.map_or("", |c| c.receipt.as_str()))
        .arg(announce.len())
        .arg(keys.bus_channel())
        .arg(w.hold.as_ref().map_or(String::new(), |h| h.mediator_id.to_string()))
        .arg(w.hold.as_ref().map_or("", |h| h.day.as_str()))
        .arg(w.release.as_ref().map_or(String::new(), ToString::to_string))
        .arg(flag(!w.incident.status.is_closed()));
    for entry in &w.append {
        inv.arg(json!(entry));
    }
    for op in &w.timers {
        match op {
            TimerOp::Schedule(key, due) => inv.arg("s").arg(key.member()).arg(due.as_millisecond()),
            TimerOp::Cancel(key) => inv.arg("c").arg(key.member()).arg(0),
        };
    }
    for message in announce {
        inv.arg(message);
    }
    inv
}
