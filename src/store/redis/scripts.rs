//! The Lua scripts that make multi-key changes atomic, and the exact KEYS/ARGV contract of each.
//!
//! Rules every script here follows:
//! - Every key is passed in `KEYS` (built by `keys.rs`); no script builds a key name, so all
//!   keys are declared to the server and share the one `{prefix}` slot (Redis Cluster rule).
//! - Every precondition (and the type of every key written) is checked before the first write,
//!   so a refused or failed call writes nothing: Redis does not roll back a half-run script.
//! - Time is an argument (`now`, due times in ms); no script calls `TIME`, so the caller's
//!   injected clock is the only clock.
//! - Scripts are [`::redis::Script`]s: `EVALSHA`, and on `NOSCRIPT` a `SCRIPT LOAD` and one
//!   retry, so a restarted, failed-over or flushed server (the script cache is volatile) is
//!   handled. A `NOSCRIPT` reply means the script did not run, so the retry is safe.

use std::sync::LazyLock;

/// Outcome codes returned by [`WRITE_INCIDENT`], as the first element of `{code, id, same}`.
pub(super) mod write_code {
    /// Applied.
    pub(crate) const WRITTEN: i64 = 0;
    /// `Expect` precondition failed.
    pub(crate) const CONFLICT: i64 = 1;
    /// The mediator in `hold` is full.
    pub(crate) const AT_CAPACITY: i64 = 2;
    /// The idempotency key is known: `id` is the first incident, `same` is 1 when fingerprints
    /// match, `receipt` is what the first request stored.
    pub(crate) const REPLAYED: i64 = 3;
}

/// One atomic `IncidentWrite`, as a named plan.
///
/// `ARGV[1]` is the JSON of a [`crate::store::plan::WritePlan`] (see there for every field)
/// with two more fields: `keys`, the names of every key it touches by role (`write.rs`'s
/// `PlanKeys`, whose one function also lists them all as `KEYS`, so each is declared), and
/// `channel`, the bus channel. A channel is not a key (Cluster routes `PUBLISH` to every
/// node), so the script stays single-slot.
///
/// It applies the plan as the memory store does, by the same rules (`WritePlan::refusal`,
/// `next_deadline`, `loads`): preconditions in order (replay, version, capacity); then the
/// effects (a filed report's hot-spot note among them: `area_note`, pruned by its decimal
/// `oldest_ms`); then one `load` message (`cjson`, the shape of `BusMessage::Load`) per mediator
/// whose holds changed, with the counts left by the write (the claim counted on
/// `claims:<day>`, kept `ttl.claims_ms` from the last claim, for the hold; the holds left for
/// the release); then the plan's announcements; then a `next_deadline` message when a
/// scheduled deadline is sooner than every one held before (its due ms copied from the plan's
/// decimal string, so it stays an exact integer).
///
/// Returns `{code, incident id or "", same 0/1, receipt or ""}` (see [`write_code`]).
pub(super) static WRITE_INCIDENT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r#"
local plan = cjson.decode(ARGV[1])
local k, id = plan.keys, plan.id
local idem = plan.creation and plan.creation.idempotency
local hold = plan.hold
local note = plan.area_note

-- Preconditions, in the plan's order: replay, version, capacity. Nothing written yet.
if idem then
  local prior = redis.call('HMGET', k.idempotency, 'id', 'fp', 'r')
  if prior[1] then
    return {3, prior[1], prior[2] == idem.fingerprint and 1 or 0, prior[3] or ''}
  end
end
-- A missing hash or field reads as false; a plan without `expect_version` expects that.
if redis.call('HGET', k.incident, 'v') ~= (plan.expect_version or false) then return {1, '', 0, ''} end
if hold and redis.call('SISMEMBER', k.hold, id) == 0 and redis.call('SCARD', k.hold) >= hold.capacity then
  return {2, '', 0, ''}
end

-- A wrong-typed key would make a write below fail halfway (scripts do not roll back), so
-- refuse before the first write instead.
local expected_types = {[k.incident] = 'hash', [k.timeline] = 'list', [k.timers] = 'zset',
  [k.index] = 'zset', [k.open_index] = 'zset'}
if k.tracking then expected_types[k.tracking] = 'string' end
if k.idempotency then expected_types[k.idempotency] = 'hash' end
for _, key in ipairs(k.offers_open) do expected_types[key] = 'set' end
for _, key in ipairs(k.offers_close) do expected_types[key] = 'set' end
if k.hold then expected_types[k.hold] = 'set' end
if k.claims then expected_types[k.claims] = 'hash' end
if k.release then expected_types[k.release] = 'set' end
if note then
  expected_types[k.area_notes] = 'zset'
  expected_types[k.noted_areas] = 'zset'
end
for key, wanted in pairs(expected_types) do
  local actual = redis.call('TYPE', key)['ok']
  if actual ~= 'none' and actual ~= wanted then
    return redis.error_reply('CORRUPT ' .. key .. ' is a ' .. actual .. ', not a ' .. wanted)
  end
end

-- Effects.
if plan.creation then
  redis.call('SET', k.tracking, id)
  if idem then
    redis.call('HSET', k.idempotency, 'id', id, 'fp', idem.fingerprint, 'r', idem.receipt)
    if plan.ttl.idempotency_ms ~= '0' then
      redis.call('PEXPIRE', k.idempotency, plan.ttl.idempotency_ms)
    else
      redis.call('DEL', k.idempotency)
    end
  end
  redis.call('ZADD', k.index, plan.created_ms, id)
end
redis.call('HSET', k.incident, 'v', plan.version, 'doc', plan.record)
if plan.open then
  redis.call('ZADD', k.open_index, plan.created_ms, id)
else
  redis.call('ZREM', k.open_index, id)
end
for _, entry in ipairs(plan.timeline) do
  redis.call('RPUSH', k.timeline, entry)
end
local held = redis.call('ZRANGE', k.timers, 0, 0, 'WITHSCORES')[2]
local earliest = held and tonumber(held) or nil
local sooner = nil
for _, timer in ipairs(plan.timers) do
  if timer.due_ms then
    local due = tonumber(timer.due_ms)
    if (earliest == nil or due < earliest) and (sooner == nil or due < tonumber(sooner)) then
      sooner = timer.due_ms
    end
    redis.call('ZADD', k.timers, timer.due_ms, timer.key)
  else
    redis.call('ZREM', k.timers, timer.key)
  end
end
for _, key in ipairs(k.offers_open) do redis.call('SADD', key, id) end
for _, key in ipairs(k.offers_close) do redis.call('SREM', key, id) end
if hold then redis.call('SADD', k.hold, id) end
if k.release then redis.call('SREM', k.release, id) end
if note then
  redis.call('ZADD', k.area_notes, note.at_ms, note.member)
  redis.call('ZREMRANGEBYSCORE', k.area_notes, '-inf', '(' .. note.oldest_ms)
  redis.call('PEXPIRE', k.area_notes, note.keep_ms)
  redis.call('ZADD', k.noted_areas, 'GT', note.at_ms, note.cell)
  redis.call('ZREMRANGEBYSCORE', k.noted_areas, '-inf', '(' .. note.oldest_ms)
end
if hold then
  local count = redis.call('HINCRBY', k.claims, hold.mediator_id, 1)
  redis.call('PEXPIRE', k.claims, plan.ttl.claims_ms)
  redis.call('PUBLISH', plan.channel, cjson.encode({t = 'load', mediator_id = hold.mediator_id,
    holds = redis.call('SCARD', k.hold), claims = {day = hold.day, count = count}}))
end
if k.release then
  redis.call('PUBLISH', plan.channel, cjson.encode({t = 'load', mediator_id = plan.release,
    holds = redis.call('SCARD', k.release)}))
end
for _, message in ipairs(plan.announce) do
  redis.call('PUBLISH', plan.channel, message)
end
if sooner then
  redis.call('PUBLISH', plan.channel, '{"t":"next_deadline","due_ms":' .. sooner .. '}')
end
return {0, '', 0, ''}
"#,
    )
});

/// Lease due deadlines: members with score ≤ now, at most `max`, are re-scored to the lease
/// expiry (the fencing token), not deleted.
///
/// `KEYS[1]` = `timers`; `ARGV` = now ms, lease token ms (now + lease, saturated by the caller),
/// max. Returns the claimed members, earliest first.
pub(super) static CLAIM_DUE_TIMERS: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
",
    )
});

/// Remove a leased deadline only if its score is still the lease token (nobody rescheduled or
/// reclaimed it since).
///
/// `KEYS[1]` = `timers`; `ARGV` = member, lease token ms. Returns 1 if removed, else 0.
pub(super) static FINISH_TIMER: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
",
    )
});

/// Forget positions older than a cutoff: the oldest `max` entries of `fix_at` (each fix's time
/// rounded up to its minute) scored below it lose their `fix` field and their `fix_at` entry
/// together, in one step (a fix written later is written whole after it).
///
/// `KEYS` = `fix`, `fix_at`; `ARGV` = cutoff ms (exclusive), max. Returns how many were removed.
pub(super) static PRUNE_FIXES: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(stale) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #stale
",
    )
});

/// Create an account unless its phone or id is taken.
///
/// `KEYS` = `accounts`, `phones`; `ARGV` = id, phone, account JSON. Returns 1 if created, else 0.
pub(super) static INSERT_ACCOUNT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
",
    )
});

/// The start of a script that changes the account `ARGV[1]` in the hash `KEYS[1]`: returns 0
/// when it does not exist, refuses a stored value that is not JSON (before any write), and
/// leaves the decoded account in `stored` and its version in `v` (0 when absent).
macro_rules! stored_account {
    () => {
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local ok, stored = pcall(cjson.decode, cur)
if not ok or type(stored) ~= 'table' then
  return redis.error_reply('CORRUPT stored account is not JSON')
end
local v = stored['version']
if type(v) ~= 'number' then v = 0 end"
    };
}

/// Replace an account if the stored one has the expected version and the same phone.
///
/// The version and phone are read from the stored JSON (`cjson`; versions stay far below 2^53,
/// where doubles are exact). `KEYS` = `accounts`; `ARGV` = id, expected version, phone, new
/// JSON. Returns 1 if replaced, 0 on conflict or when the account does not exist.
pub(super) static UPDATE_ACCOUNT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(concat!(
        stored_account!(),
        r"
if v ~= tonumber(ARGV[2]) or stored['phone'] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
",
    ))
});

/// Create many accounts and append audit entries, or nothing (issue #17: a staff import).
///
/// `KEYS` = `accounts`, `phones`, `audit`; `ARGV` = n, audit entries to keep, then n triples
/// (id, phone, account JSON), then the audit entries' JSON (oldest first). Every phone and id
/// is checked before the first write, so a clash writes nothing. Returns the 0-based indices
/// of the clashing accounts (empty when everything was written).
pub(super) static INSERT_ACCOUNTS: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local n = tonumber(ARGV[1])
local clashing, seen = {}, {}
for i = 0, n - 1 do
  local id, phone = ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  if seen[phone] or redis.call('HEXISTS', KEYS[1], id) == 1 or redis.call('HEXISTS', KEYS[2], phone) == 1 then
    clashing[#clashing + 1] = i
  end
  seen[phone] = true
end
if #clashing > 0 then return clashing end
for i = 0, n - 1 do
  redis.call('HSET', KEYS[2], ARGV[4 + 3 * i], ARGV[3 + 3 * i])
  redis.call('HSET', KEYS[1], ARGV[3 + 3 * i], ARGV[5 + 3 * i])
end
for j = 3 + 3 * n, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[j]) end
if #ARGV >= 3 + 3 * n then redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1) end
return {}
",
    )
});

/// Replace an account at an expected version, moving its phone entry when the phone changed,
/// and append audit entries (issue #17).
///
/// `KEYS` = `accounts`, `phones`, `audit`; `ARGV` = id, expected version, new phone, new JSON,
/// audit entries to keep, then the audit entries' JSON (oldest first). Returns 1 if written,
/// 0 on a version conflict or a missing account, 2 when the new phone is another account's.
pub(super) static CHANGE_ACCOUNT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(concat!(
        stored_account!(),
        r"
if v ~= tonumber(ARGV[2]) then return 0 end
if stored['phone'] ~= ARGV[3] then
  if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return 2 end
  redis.call('HDEL', KEYS[2], stored['phone'])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
for j = 6, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[j]) end
if #ARGV >= 6 then redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1) end
return 1
",
    ))
});

// --- residents via WeChat (issue #3) ---------------------------------------------------------

/// Claim a delivery: `SET NX PX` of the pending marker, else the current value.
///
/// `KEYS[1]` = `wx:msg:<hash>`; `ARGV` = lease ms. Returns `""` when claimed, else the stored
/// value (`p` pending, `a:<reply>` answered).
pub(super) static CLAIM_DELIVERY: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('SET', KEYS[1], 'p', 'NX', 'PX', ARGV[1]) then return '' end
return redis.call('GET', KEYS[1]) or ''
",
    )
});

/// Drop a delivery claim that is still pending (never an answer).
///
/// `KEYS[1]` = `wx:msg:<hash>`. Returns 1 if dropped.
pub(super) static RELEASE_DELIVERY: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == 'p' then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Remember the first body hash of a signed URL.
///
/// `KEYS[1]` = `wx:url:<hash>`; `ARGV` = body hash, TTL ms. Returns nil the first time, else
/// the body hash stored first.
pub(super) static REMEMBER_SIGNED_URL: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
",
    )
});

/// One hit on a fixed window: `INCR`, and `PEXPIRE` when the window starts (or lost its TTL).
///
/// `KEYS[1]` = `rl:<hash>`; `ARGV` = window ms. Returns `{count, ms until reset}`.
pub(super) static HIT_RATE_WINDOW: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
",
    )
});

/// Take back one hit of a live window (DECR keeps its expiry; a gone or zero window is left).
///
/// `KEYS[1]` = the window. Returns the count left.
pub(super) static REFUND_RATE_WINDOW: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
",
    )
});

/// Forget the cached access token only if it is still the stale one.
///
/// `KEYS[1]` = `wx:token`; `ARGV` = stale token. Returns 1 if dropped.
pub(super) static DROP_WECHAT_TOKEN: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, doc = pcall(cjson.decode, cur)
if not ok or type(doc) ~= 'table' or doc['token'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Release a lock only if `ARGV[1]` still holds it. `KEYS[1]` = the lock. Returns 1 if released.
pub(super) static UNLOCK_IF_HOLDER: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Index, once, the open incidents written before `incidents:open` existed: one chunk.
///
/// `KEYS` = `incidents:open`, then `inc:<id>` of each incident of the chunk; `ARGV` = for each,
/// its id and creation time ms. An incident whose status is not `resolved` or `cancelled` is
/// added; atomic per chunk, so a write racing the backfill is never undone. Returns how many
/// were added.
pub(super) static INDEX_OPEN: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
local added = 0
for i = 2, #KEYS do
  local doc = redis.call('HGET', KEYS[i], 'doc')
  if doc then
    local status = cjson.decode(doc)['status']
    if status ~= 'resolved' and status ~= 'cancelled' then
      added = added + redis.call('ZADD', KEYS[1], ARGV[2 * i - 2], ARGV[2 * i - 3])
    end
  end
end
return added
",
    )
});
