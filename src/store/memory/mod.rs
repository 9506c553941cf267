//! The embedded in-memory backend: for a first try, development and tests. Not durable, and
//! not shared between processes: production runs on Redis.
//!
//! All state sits behind one std `Mutex` (no lock is held across an `.await`), so each method
//! is one critical section and `write_incident` is atomic exactly as the Redis script is.
//! Expiry (idempotency keys, WeChat state, rate windows, locks) runs on the injected clock.
//! [`MemoryStore`] implements every storage port, one file per port.

mod directory;
mod health;
mod incidents;
mod leases;
mod presence;
mod wechat;

use super::wechat::{CachedToken, ResidentSession};
use super::{Bus, BusMessage, BusReceiver, StoreError, TimerKey};
use crate::clock::{Clock, SystemClock};
use crate::domain::account::{Account, Fix};
use crate::domain::audit::{AUDIT_KEEP, AuditEntry};
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::Incident;
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::domain::timeline::TimelineEntry;
use crate::store::TimerOp;
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Default)]
struct Inner {
    accounts: BTreeMap<AccountId, Account>,
    phones: HashMap<String, AccountId>,
    duty: HashMap<AccountId, bool>,
    fixes: HashMap<AccountId, Fix>,
    scenes: BTreeMap<SceneId, Scene>,
    areas: BTreeMap<String, crate::domain::area::Area>,
    /// Hot-spot cell → (reported ms, incident).
    area_notes: HashMap<String, BTreeMap<(i64, IncidentId), GeoPoint>>,
    incidents: HashMap<IncidentId, Incident>,
    by_created: BTreeSet<(i64, IncidentId)>,
    /// Incidents not yet closed, by creation time.
    open: BTreeSet<(i64, IncidentId)>,
    timelines: HashMap<IncidentId, Vec<TimelineEntry>>,
    tracking: HashMap<String, IncidentId>,
    idempotency: HashMap<String, (IncidentId, String, String, Timestamp)>,
    offers: HashMap<AccountId, HashSet<IncidentId>>,
    holds: HashMap<AccountId, HashSet<IncidentId>>,
    /// Timer deadlines by key, mirrored in `timer_order` for due scans.
    timers: HashMap<TimerKey, i64>,
    /// (due ms, stored member) → key: ties on a due time go by the member string, as Redis's
    /// `ZRANGEBYSCORE` orders equal scores, so both backends claim them in the same order.
    timer_order: BTreeMap<(i64, String), TimerKey>,
    /// Claims per day and mediator, with when the day's counts expire (each claim counted
    /// on a day keeps it for the plan's `ttl.claims_ms` more, like `EXPIRE` on Redis).
    claims: HashMap<String, (HashMap<AccountId, u32>, Timestamp)>,
    /// Issue #3: WeChat conversation state, dedupe, rate windows, token cache.
    wechat: WechatState,
    /// Issue #17: who did what, newest first.
    audit: VecDeque<AuditEntry>,
}

impl Inner {
    /// Add audit entries in order (the last one ends up newest), keeping [`AUDIT_KEEP`].
    fn push_audit(&mut self, entries: &[AuditEntry]) {
        for e in entries {
            self.audit.push_front(e.clone());
        }
        self.audit.truncate(AUDIT_KEEP);
    }

    /// Count one claim by `mediator` on `day`, keeping the day's counts for `keep` from `now`;
    /// returns their count that day. Expired days are forgotten first.
    fn count_claim(&mut self, day: &str, mediator: &AccountId, now: Timestamp, keep: jiff::SignedDuration) -> u32 {
        self.claims.retain(|_, (_, expires)| *expires > now);
        let (counts, expires) = self.claims.entry(day.to_owned()).or_insert_with(|| (HashMap::new(), now));
        *expires = now.saturating_add(keep).unwrap_or(Timestamp::MAX);
        let count = counts.entry(mediator.clone()).or_default();
        *count += 1;
        *count
    }

    fn set_timer(&mut self, key: TimerKey, due_ms: i64) {
        let member = key.member();
        if let Some(old) = self.timers.insert(key.clone(), due_ms) {
            self.timer_order.remove(&(old, member.clone()));
        }
        self.timer_order.insert((due_ms, member), key);
    }

    fn remove_timer(&mut self, key: &TimerKey) {
        if let Some(old) = self.timers.remove(key) {
            self.timer_order.remove(&(old, key.member()));
        }
    }
}

/// The in-memory store. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    /// Where [`IncidentWrite::announce`] goes; [`MemoryStore::bus`] hands it out.
    bus: MemoryBus,
    /// What expiry is measured against.
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_bus_capacity(DEFAULT_BUS_CAPACITY)
    }
}

/// The bus capacity of [`MemoryStore::new`] (`push.bus_capacity`'s default).
const DEFAULT_BUS_CAPACITY: usize = 8192;

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose bus lets slow receivers lag (and resync) after `capacity` messages.
    #[must_use]
    pub fn with_bus_capacity(capacity: usize) -> Self {
        Self { inner: Arc::default(), bus: MemoryBus::new(capacity), clock: Arc::new(SystemClock) }
    }

    /// This store with expiry measured by `clock` (the system clock by default).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The bus this store announces its writes on: the one an instance on this store uses.
    #[must_use]
    pub fn bus(&self) -> MemoryBus {
        self.bus.clone()
    }

    /// Apply deadline changes outside an incident write (for capabilities with their own
    /// records, issue #21), with the same news for timer runners as an incident write.
    pub(crate) fn change_timers(&self, timers: &[TimerOp]) {
        let next_deadline = {
            let mut g = self.lock();
            let earliest = g.timer_order.first_key_value().map(|((t, _), _)| *t);
            let soonest = timers
                .iter()
                .filter_map(|op| match op {
                    TimerOp::Schedule(_, due) => Some(ms(*due)),
                    TimerOp::Cancel(_) => None,
                })
                .min();
            let next = soonest
                .filter(|s| earliest.is_none_or(|e| *s < e))
                .map(|due_ms| crate::store::BusMessage::NextDeadline { due_ms });
            for op in timers {
                match op {
                    TimerOp::Schedule(key, due) => g.set_timer(key.clone(), ms(*due)),
                    TimerOp::Cancel(key) => g.remove_timer(key),
                }
            }
            next
        };
        if let Some(news) = next_deadline {
            let _ = self.bus.tx.send(news);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write (every method checks
        // before it mutates), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A plan's TTL (ms) as a duration on the store's clock.
fn ms_duration(ms: u64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The in-process bus: one broadcast channel.
#[derive(Clone)]
pub struct MemoryBus {
    tx: broadcast::Sender<BusMessage>,
}

impl MemoryBus {
    /// A bus whose slow receivers lag (and resync) after `capacity` messages.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self { tx: broadcast::channel(capacity.max(16)).0 }
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), StoreError> {
        // No receivers is fine: nobody is listening on this instance yet.
        let _ = self.tx.send(message.clone());
        Ok(())
    }

    fn subscribe(&self) -> BusReceiver {
        BusReceiver::new(self.tx.subscribe())
    }
}

// --- residents via WeChat (issue #3) ---------------------------------------------------------

/// A value that stops existing at `until` (checked on read, as Redis's PX is).
struct Expiring<T> {
    value: T,
    until: Timestamp,
}

impl<T> Expiring<T> {
    fn new(value: T, now: Timestamp, ttl: Duration) -> Self {
        let ttl = jiff::SignedDuration::try_from(ttl).unwrap_or(jiff::SignedDuration::MAX);
        Self { value, until: now.saturating_add(ttl).unwrap_or(Timestamp::MAX) }
    }
}

/// The live value under `key` at `now`, removing it if expired.
fn live<'a, K, Q, T>(map: &'a mut HashMap<K, Expiring<T>>, key: &Q, now: Timestamp) -> Option<&'a mut T>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if map.get(key).is_some_and(|e| e.until <= now) {
        map.remove(key);
    }
    map.get_mut(key).map(|e| &mut e.value)
}

fn live_slot<T>(slot: &mut Option<Expiring<T>>, now: Timestamp) -> Option<&mut T> {
    if slot.as_ref().is_some_and(|e| e.until <= now) {
        *slot = None;
    }
    slot.as_mut().map(|e| &mut e.value)
}

#[derive(Default)]
struct WechatState {
    sessions: HashMap<String, Expiring<ResidentSession>>,
    /// `None` while claimed (pending), `Some(reply)` once answered.
    deliveries: HashMap<String, Expiring<Option<String>>>,
    signed_urls: HashMap<String, Expiring<String>>,
    windows: HashMap<String, Expiring<u64>>,
    token: Option<CachedToken>,
    refresh_lock: Option<Expiring<String>>,
    qr: HashMap<SceneId, String>,
    incident_openids: HashMap<IncidentId, Expiring<String>>,
}
