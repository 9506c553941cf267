//! The embedded in-memory backend: for a first try, development and tests. Not durable, and
//! not shared between processes: production runs on Redis.
//!
//! All state sits behind one std `Mutex` (no lock is held across an `.await`), so each method
//! is one critical section and `write_incident` is atomic exactly as the Redis script is.
//! Expiry (idempotency keys, WeChat state, rate windows, locks) runs on the injected clock.

use super::wechat::{CachedToken, DeliveryClaim, RateCount, ResidentSession};
use super::{
    AccountWrite, AreaNote, Bus, BusMessage, BusReceiver, ClaimedTimer, Expect, IncidentWrite, RememberedKey, Store,
    StoreError, TimerKey, TimerOp, WriteOutcome,
};
use crate::clock::{Clock, SystemClock};
use crate::domain::account::{Account, Fix, Phone, Presence, Role};
use crate::domain::audit::{AUDIT_KEEP, AuditEntry};
use crate::domain::ids::{AccountId, IncidentId, SceneId};
use crate::domain::incident::Incident;
use crate::domain::location::GeoPoint;
use crate::domain::scene::Scene;
use crate::domain::timeline::TimelineEntry;
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
    timer_order: BTreeSet<(i64, TimerKey)>,
    /// Claims per (day, mediator); old days are dropped as new ones arrive.
    claims: HashMap<String, HashMap<AccountId, u32>>,
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

    /// Count one claim by `mediator` on `day`; returns their count that day.
    fn count_claim(&mut self, day: &str, mediator: &AccountId) -> u32 {
        if !self.claims.contains_key(day) {
            // Keep the last two days only, like the Redis TTL.
            let mut days: Vec<String> = self.claims.keys().cloned().collect();
            days.sort();
            for old in days.iter().rev().skip(1) {
                self.claims.remove(old);
            }
        }
        let count = self.claims.entry(day.to_owned()).or_default().entry(mediator.clone()).or_default();
        *count += 1;
        *count
    }

    fn set_timer(&mut self, key: TimerKey, due_ms: i64) {
        if let Some(old) = self.timers.insert(key.clone(), due_ms) {
            self.timer_order.remove(&(old, key.clone()));
        }
        self.timer_order.insert((due_ms, key));
    }

    fn remove_timer(&mut self, key: &TimerKey) {
        if let Some(old) = self.timers.remove(key) {
            self.timer_order.remove(&(old, key.clone()));
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

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write (every method checks
        // before it mutates), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// The news for timer runners when `timers` set a deadline sooner than `earliest`, the soonest
/// held before (as the Redis script decides it).
fn sooner_deadline(earliest: Option<i64>, timers: &[TimerOp]) -> Option<BusMessage> {
    let soonest = timers
        .iter()
        .filter_map(|op| match op {
            TimerOp::Schedule(_, due) => Some(ms(*due)),
            TimerOp::Cancel(_) => None,
        })
        .min()?;
    earliest.is_none_or(|e| soonest < e).then_some(BusMessage::NextDeadline { due_ms: soonest })
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn insert_account(&self, account: &Account) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.phones.contains_key(account.phone.full()) || g.accounts.contains_key(&account.id) {
            return Ok(false);
        }
        g.phones.insert(account.phone.full().to_owned(), account.id.clone());
        g.accounts.insert(account.id.clone(), account.clone());
        Ok(true)
    }

    async fn update_account(&self, account: &Account, expected_version: u64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        match g.accounts.get(&account.id) {
            Some(cur) if cur.version == expected_version && cur.phone == account.phone => {
                g.accounts.insert(account.id.clone(), account.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.lock().accounts.get(id).cloned())
    }

    async fn get_accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<Account>>, StoreError> {
        let g = self.lock();
        Ok(ids.iter().map(|id| g.accounts.get(id).cloned()).collect())
    }

    async fn account_by_phone(&self, phone: &Phone) -> Result<Option<Account>, StoreError> {
        let g = self.lock();
        Ok(g.phones.get(phone.full()).and_then(|id| g.accounts.get(id)).cloned())
    }

    async fn list_accounts(&self, role: Role) -> Result<Vec<Account>, StoreError> {
        // Ids are UUIDv7, so map order is creation order.
        Ok(self.lock().accounts.values().filter(|a| a.role == role).cloned().collect())
    }

    async fn insert_accounts(&self, accounts: &[Account], audit: &[AuditEntry]) -> Result<Vec<usize>, StoreError> {
        let mut g = self.lock();
        let mut seen = HashSet::new();
        let clashing: Vec<usize> = accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                g.phones.contains_key(a.phone.full())
                    || g.accounts.contains_key(&a.id)
                    || !seen.insert(a.phone.full().to_owned())
            })
            .map(|(i, _)| i)
            .collect();
        if !clashing.is_empty() {
            return Ok(clashing);
        }
        for a in accounts {
            g.phones.insert(a.phone.full().to_owned(), a.id.clone());
            g.accounts.insert(a.id.clone(), a.clone());
        }
        g.push_audit(audit);
        Ok(vec![])
    }

    async fn change_account(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<AccountWrite, StoreError> {
        let mut g = self.lock();
        let Some(old_phone) =
            g.accounts.get(&account.id).filter(|cur| cur.version == expected_version).map(|cur| cur.phone.clone())
        else {
            return Ok(AccountWrite::Conflict);
        };
        if old_phone != account.phone {
            if g.phones.contains_key(account.phone.full()) {
                return Ok(AccountWrite::PhoneTaken);
            }
            g.phones.remove(old_phone.full());
            g.phones.insert(account.phone.full().to_owned(), account.id.clone());
        }
        g.accounts.insert(account.id.clone(), account.clone());
        g.push_audit(audit);
        Ok(AccountWrite::Written)
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.lock().push_audit(std::slice::from_ref(entry));
        Ok(())
    }

    async fn list_audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let g = self.lock();
        let page = g.audit.iter().skip(offset).take(limit).cloned().collect();
        Ok((page, g.audit.len() as u64))
    }

    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError> {
        self.lock().duty.insert(mediator.clone(), on);
        Ok(())
    }

    async fn set_fix(&self, mediator: &AccountId, fix: &Fix) -> Result<(), StoreError> {
        self.lock().fixes.insert(mediator.clone(), *fix);
        Ok(())
    }

    async fn all_presence(&self) -> Result<Vec<Presence>, StoreError> {
        let g = self.lock();
        let ids: BTreeSet<&AccountId> = g.duty.keys().chain(g.fixes.keys()).collect();
        Ok(ids
            .into_iter()
            .map(|id| Presence {
                mediator_id: id.clone(),
                on_duty: g.duty.get(id).copied().unwrap_or(false),
                fix: g.fixes.get(id).copied(),
            })
            .collect())
    }

    async fn insert_scene(&self, scene: &Scene) -> Result<(), StoreError> {
        self.lock().scenes.insert(scene.id.clone(), scene.clone());
        Ok(())
    }

    async fn get_scene(&self, id: &SceneId) -> Result<Option<Scene>, StoreError> {
        Ok(self.lock().scenes.get(id).cloned())
    }

    async fn list_scenes(&self) -> Result<Vec<Scene>, StoreError> {
        Ok(self.lock().scenes.values().cloned().collect())
    }

    async fn note_in_area(&self, cell: &str, note: &AreaNote, keep: Duration) -> Result<(), StoreError> {
        let mut g = self.lock();
        let oldest = ms(note.at).saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
        let notes = g.area_notes.entry(cell.to_owned()).or_default();
        notes.insert((ms(note.at), note.id.clone()), note.place);
        notes.retain(|(t, _), _| *t >= oldest);
        Ok(())
    }

    async fn noted_in_areas(
        &self,
        cells: &[String],
        since: Timestamp,
        newest: usize,
    ) -> Result<Vec<AreaNote>, StoreError> {
        let g = self.lock();
        let lo = ms(since);
        Ok(cells
            .iter()
            .filter_map(|c| g.area_notes.get(c))
            .flat_map(|notes| {
                notes.iter().rev().take_while(|((t, _), _)| *t >= lo).take(newest).filter_map(|((t, id), place)| {
                    Some(AreaNote { id: id.clone(), at: Timestamp::from_millisecond(*t).ok()?, place: *place })
                })
            })
            .collect())
    }

    async fn noted_areas(&self, since: Timestamp) -> Result<Vec<String>, StoreError> {
        let lo = ms(since);
        let g = self.lock();
        Ok(g.area_notes
            .iter()
            .filter(|(_, n)| n.keys().next_back().is_some_and(|(t, _)| *t >= lo))
            .map(|(c, _)| c.clone())
            .collect())
    }

    async fn count_noted(&self, cell: &str, since: Timestamp) -> Result<u64, StoreError> {
        let g = self.lock();
        let lo = ms(since);
        Ok(g.area_notes.get(cell).map_or(0, |notes| notes.keys().filter(|(t, _)| *t >= lo).count() as u64))
    }

    async fn put_area(&self, area: &crate::domain::area::Area) -> Result<(), StoreError> {
        self.lock().areas.insert(area.code.clone(), area.clone());
        Ok(())
    }

    async fn list_areas(&self) -> Result<Vec<crate::domain::area::Area>, StoreError> {
        Ok(self.lock().areas.values().cloned().collect())
    }

    async fn write_incident(&self, w: &IncidentWrite) -> Result<WriteOutcome, StoreError> {
        let mut g = self.lock();
        let id = &w.incident.id;
        // Every precondition first; nothing is mutated until all hold.
        if let Some(claim) = w.creation.as_ref().and_then(|c| c.idempotency.as_ref())
            && let Some((existing, fp, receipt, expires)) = g.idempotency.get(&claim.key_hash)
            && *expires > self.now()
        {
            return Ok(WriteOutcome::Replayed {
                incident_id: existing.clone(),
                same_request: *fp == claim.fingerprint,
                receipt: receipt.clone(),
            });
        }
        let current = g.incidents.get(id).map(|i| i.version);
        let precondition = match w.expect {
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
        };
        if !precondition {
            return Ok(WriteOutcome::Conflict);
        }
        if let Some(hold) = &w.hold {
            let held = g.holds.get(&hold.mediator_id).map_or(0, |s| s.len());
            let already = g.holds.get(&hold.mediator_id).is_some_and(|s| s.contains(id));
            if !already && held >= hold.capacity as usize {
                return Ok(WriteOutcome::AtCapacity);
            }
        }

        if let Some(creation) = &w.creation {
            g.tracking.insert(creation.tracking_hash.clone(), id.clone());
            if let Some(claim) = &creation.idempotency {
                let ttl = jiff::SignedDuration::try_from(claim.ttl).unwrap_or(jiff::SignedDuration::ZERO);
                let expires = self.now().saturating_add(ttl).unwrap_or(Timestamp::MAX);
                g.idempotency.insert(
                    claim.key_hash.clone(),
                    (id.clone(), claim.fingerprint.clone(), claim.receipt.clone(), expires),
                );
            }
            g.by_created.insert((ms(w.incident.created_at), id.clone()));
        }
        let entry = (ms(w.incident.created_at), id.clone());
        if w.incident.status.is_closed() {
            g.open.remove(&entry);
        } else {
            g.open.insert(entry);
        }
        g.incidents.insert(id.clone(), w.incident.clone());
        g.timelines.entry(id.clone()).or_default().extend(w.append.iter().cloned());
        let next_deadline = sooner_deadline(g.timer_order.first().map(|(t, _)| *t), &w.timers);
        for op in &w.timers {
            match op {
                TimerOp::Schedule(key, due) => g.set_timer(key.clone(), ms(*due)),
                TimerOp::Cancel(key) => g.remove_timer(key),
            }
        }
        for m in &w.offers_open {
            g.offers.entry(m.clone()).or_default().insert(id.clone());
        }
        for m in &w.offers_close {
            if let Some(set) = g.offers.get_mut(m) {
                set.remove(id);
            }
        }
        let mut loads = vec![];
        if let Some(hold) = &w.hold {
            g.holds.entry(hold.mediator_id.clone()).or_default().insert(id.clone());
            let count = g.count_claim(&hold.day, &hold.mediator_id);
            loads.push((&hold.mediator_id, Some(super::DayClaims { day: hold.day.clone(), count })));
        }
        if let Some(m) = &w.release {
            if let Some(set) = g.holds.get_mut(m) {
                set.remove(id);
            }
            loads.push((m, None));
        }
        let loads = loads.into_iter().map(|(m, claims)| BusMessage::Load {
            mediator_id: m.clone(),
            holds: g.holds.get(m).map_or(0, |s| u32::try_from(s.len()).unwrap_or(u32::MAX)),
            claims,
        });
        // Still under the lock: announcements leave in the order their writes applied.
        let announced = w.announce.iter().filter(|m| !matches!(m, BusMessage::Resync)).cloned();
        for message in loads.chain(announced).chain(next_deadline) {
            // No receivers is fine: nobody is listening on this instance yet.
            let _ = self.bus.tx.send(message);
        }
        Ok(WriteOutcome::Written)
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        Ok(self.lock().incidents.get(id).cloned())
    }

    async fn get_incidents(&self, ids: &[IncidentId]) -> Result<Vec<Incident>, StoreError> {
        let g = self.lock();
        Ok(ids.iter().filter_map(|id| g.incidents.get(id).cloned()).collect())
    }

    async fn open_incidents(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        let g = self.lock();
        Ok(g.open.iter().take(limit).filter_map(|(_, id)| g.incidents.get(id).cloned()).collect())
    }

    async fn list_incidents(&self, from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<Incident>, StoreError> {
        let g = self.lock();
        let (lo, hi) = (ms(from), ms(to));
        Ok(g.by_created
            .iter()
            .rev()
            .filter(|(t, _)| *t >= lo && *t < hi)
            .take(limit)
            .filter_map(|(_, id)| g.incidents.get(id).cloned())
            .collect())
    }

    async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        Ok(self.lock().timelines.get(id).cloned().unwrap_or_default())
    }

    async fn append_timeline(&self, id: &IncidentId, entries: &[TimelineEntry]) -> Result<(), StoreError> {
        self.lock().timelines.entry(id.clone()).or_default().extend(entries.iter().cloned());
        Ok(())
    }

    async fn incident_by_tracking(&self, tracking_hash: &str) -> Result<Option<IncidentId>, StoreError> {
        Ok(self.lock().tracking.get(tracking_hash).cloned())
    }

    async fn remembered_key(&self, key_hash: &str) -> Result<Option<RememberedKey>, StoreError> {
        let now = self.now();
        let g = self.lock();
        Ok(g.idempotency.get(key_hash).filter(|(.., expires)| *expires > now).map(
            |(incident_id, fingerprint, receipt, _)| RememberedKey {
                incident_id: incident_id.clone(),
                fingerprint: fingerprint.clone(),
                receipt: receipt.clone(),
            },
        ))
    }

    async fn offered_to(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError> {
        let mut ids: Vec<_> = self.lock().offers.get(mediator).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        ids.sort();
        Ok(ids)
    }

    async fn held_by(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError> {
        let mut ids: Vec<_> = self.lock().holds.get(mediator).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        ids.sort();
        Ok(ids)
    }

    async fn hold_counts(&self, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError> {
        let g = self.lock();
        Ok(mediators.iter().map(|m| g.holds.get(m).map_or(0, |s| u32::try_from(s.len()).unwrap_or(u32::MAX))).collect())
    }

    async fn claims_on(&self, day: &str, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError> {
        let g = self.lock();
        let counts = g.claims.get(day);
        Ok(mediators.iter().map(|m| counts.and_then(|c| c.get(m)).copied().unwrap_or(0)).collect())
    }

    async fn claim_due_timers(
        &self,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedTimer>, StoreError> {
        let mut g = self.lock();
        let now_ms = ms(now);
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let due: Vec<TimerKey> =
            g.timer_order.iter().take_while(|(t, _)| *t <= now_ms).take(max).map(|(_, k)| k.clone()).collect();
        let token = now_ms.saturating_add(lease_ms);
        Ok(due
            .into_iter()
            .map(|key| {
                g.set_timer(key.clone(), token);
                ClaimedTimer { key, lease_token: token }
            })
            .collect())
    }

    async fn finish_timer(&self, timer: &ClaimedTimer) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.timers.get(&timer.key) == Some(&timer.lease_token) {
            g.remove_timer(&timer.key);
        }
        Ok(())
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let g = self.lock();
        Ok(g.timer_order.first().and_then(|(t, _)| Timestamp::from_millisecond(*t).ok()))
    }

    async fn timer_due(&self, key: &TimerKey) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.lock().timers.get(key).and_then(|t| Timestamp::from_millisecond(*t).ok()))
    }

    // --- residents via WeChat (issue #3) ---------------------------------------------------

    async fn put_resident_session(
        &self,
        openid_hash: &str,
        session: &ResidentSession,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.sessions.insert(openid_hash.to_owned(), Expiring::new(session.clone(), now, ttl));
        Ok(())
    }

    async fn resident_session(&self, openid_hash: &str) -> Result<Option<ResidentSession>, StoreError> {
        let now = self.now();
        Ok(live(&mut self.lock().wechat.sessions, openid_hash, now).cloned())
    }

    async fn claim_delivery(&self, key_hash: &str, lease: Duration) -> Result<DeliveryClaim, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        Ok(match live(&mut g.wechat.deliveries, key_hash, now) {
            Some(Some(reply)) => DeliveryClaim::Answered(reply.clone()),
            Some(None) => DeliveryClaim::Pending,
            None => {
                g.wechat.deliveries.insert(key_hash.to_owned(), Expiring::new(None, now, lease));
                DeliveryClaim::Claimed
            }
        })
    }

    async fn finish_delivery(&self, key_hash: &str, reply: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.deliveries.insert(key_hash.to_owned(), Expiring::new(Some(reply.to_owned()), now, ttl));
        Ok(())
    }

    async fn release_delivery(&self, key_hash: &str) -> Result<(), StoreError> {
        let now = self.now();
        let mut g = self.lock();
        if matches!(live(&mut g.wechat.deliveries, key_hash, now), Some(None)) {
            g.wechat.deliveries.remove(key_hash);
        }
        Ok(())
    }

    async fn remember_signed_url(
        &self,
        url_hash: &str,
        body_hash: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        if let Some(first) = live(&mut g.wechat.signed_urls, url_hash, now) {
            return Ok(Some(first.clone()));
        }
        g.wechat.signed_urls.insert(url_hash.to_owned(), Expiring::new(body_hash.to_owned(), now, ttl));
        Ok(None)
    }

    async fn hit_rate_window(&self, key_hash: &str, window: Duration) -> Result<RateCount, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        let entry = match live(&mut g.wechat.windows, key_hash, now) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => {
                g.wechat.windows.insert(key_hash.to_owned(), Expiring::new(1, now, window));
                1
            }
        };
        let resets_in = g
            .wechat
            .windows
            .get(key_hash)
            .map_or(window, |e| e.until.duration_since(now).try_into().unwrap_or(Duration::ZERO));
        Ok(RateCount { count: entry, resets_in })
    }

    async fn clear_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        self.lock().wechat.windows.remove(key_hash);
        Ok(())
    }

    async fn refund_rate_window(&self, key_hash: &str) -> Result<(), StoreError> {
        let now = self.now();
        if let Some(n) = live(&mut self.lock().wechat.windows, key_hash, now) {
            *n = n.saturating_sub(1);
        }
        Ok(())
    }

    async fn wechat_token(&self) -> Result<Option<CachedToken>, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        if g.wechat.token.as_ref().is_some_and(|t| t.expires_at <= now) {
            g.wechat.token = None;
        }
        Ok(g.wechat.token.clone())
    }

    async fn put_wechat_token(&self, token: &CachedToken) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.token = Some(token.clone()).filter(|t| t.expires_at > now);
        Ok(())
    }

    async fn drop_wechat_token(&self, stale: &str) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.wechat.token.as_ref().is_some_and(|t| t.token == stale) {
            g.wechat.token = None;
        }
        Ok(())
    }

    async fn lock_wechat_token_refresh(&self, holder: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = self.now();
        let mut g = self.lock();
        let mut slot = std::mem::take(&mut g.wechat.refresh_lock);
        let free = live_slot(&mut slot, now).is_none();
        g.wechat.refresh_lock = if free { Some(Expiring::new(holder.to_owned(), now, lease)) } else { slot };
        Ok(free)
    }

    async fn unlock_wechat_token_refresh(&self, holder: &str) -> Result<(), StoreError> {
        let mut g = self.lock();
        if g.wechat.refresh_lock.as_ref().is_some_and(|l| l.value == holder) {
            g.wechat.refresh_lock = None;
        }
        Ok(())
    }

    async fn wechat_qr(&self, scene: &SceneId) -> Result<Option<String>, StoreError> {
        Ok(self.lock().wechat.qr.get(scene).cloned())
    }

    async fn put_wechat_qr(&self, scene: &SceneId, url: &str) -> Result<(), StoreError> {
        self.lock().wechat.qr.insert(scene.clone(), url.to_owned());
        Ok(())
    }

    async fn set_incident_openid(&self, id: &IncidentId, openid: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        self.lock().wechat.incident_openids.insert(id.clone(), Expiring::new(openid.to_owned(), now, ttl));
        Ok(())
    }

    async fn incident_openid(&self, id: &IncidentId) -> Result<Option<String>, StoreError> {
        let now = self.now();
        Ok(live(&mut self.lock().wechat.incident_openids, id, now).cloned())
    }
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
