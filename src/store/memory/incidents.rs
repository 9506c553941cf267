//! [`IncidentStore`] on the memory backend.

use super::{MemoryStore, ms, ms_duration};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use crate::store::IncidentStore;
use crate::store::plan::Seen;
use crate::store::records::Record;
use crate::store::{AreaNote, ClaimedTimer, IncidentWrite, RememberedKey, StoreError, TimerKey, WriteOutcome};
use async_trait::async_trait;
use jiff::Timestamp;
use std::time::Duration;

#[async_trait]
impl IncidentStore for MemoryStore {
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

    async fn write_incident(&self, w: &IncidentWrite) -> Result<WriteOutcome, StoreError> {
        let plan = w.plan();
        let now = self.now();
        let mut g = self.lock();
        let id = plan.id;
        // Every precondition first (the rules are the plan's); nothing is mutated until all hold.
        let seen = Seen {
            remembered: plan
                .creation
                .as_ref()
                .and_then(|c| c.idempotency.as_ref())
                .and_then(|i| g.idempotency.get(i.key_hash))
                .filter(|(.., expires)| *expires > now)
                .map(|(incident_id, fingerprint, receipt, _)| RememberedKey {
                    incident_id: incident_id.clone(),
                    fingerprint: fingerprint.clone(),
                    receipt: receipt.clone(),
                }),
            version: g.incidents.get(id).map(|i| i.version),
            held: plan
                .hold
                .as_ref()
                .map_or((0, false), |h| g.holds.get(h.mediator_id).map_or((0, false), |s| (s.len(), s.contains(id)))),
        };
        if let Some(refused) = plan.refusal(&seen) {
            return Ok(refused);
        }
        // What Redis would hand back: each record through its stored form.
        let (record, timeline) = (plan.record.round_trip()?, round_trip_all(plan.timeline)?);

        if let Some(creation) = &plan.creation {
            g.tracking.insert(creation.tracking_hash.to_owned(), id.clone());
            if let Some(claim) = &creation.idempotency {
                // A zero TTL remembers nothing (expired at once), as Redis deletes the key.
                let expires = now.saturating_add(ms_duration(plan.ttl.idempotency_ms)).unwrap_or(Timestamp::MAX);
                g.idempotency.insert(
                    claim.key_hash.to_owned(),
                    (id.clone(), claim.fingerprint.to_owned(), claim.receipt.to_owned(), expires),
                );
            }
            g.by_created.insert((plan.created_ms, id.clone()));
        }
        let entry = (plan.created_ms, id.clone());
        if plan.open {
            g.open.insert(entry);
        } else {
            g.open.remove(&entry);
        }
        g.incidents.insert(id.clone(), record);
        g.timelines.entry(id.clone()).or_default().extend(timeline);
        let next_deadline = plan.next_deadline(g.timer_order.first_key_value().map(|((t, _), _)| *t));
        for timer in &plan.timers {
            match timer.due_ms {
                Some(due_ms) => g.set_timer(timer.key.clone(), due_ms),
                None => g.remove_timer(timer.key),
            }
        }
        for m in plan.offers_open {
            g.offers.entry(m.clone()).or_default().insert(id.clone());
        }
        for m in plan.offers_close {
            if let Some(set) = g.offers.get_mut(m) {
                set.remove(id);
            }
        }
        let mut claimed = None;
        if let Some(hold) = &plan.hold {
            g.holds.entry(hold.mediator_id.clone()).or_default().insert(id.clone());
            let keep = ms_duration(plan.ttl.claims_ms);
            claimed = Some(g.count_claim(hold.day, hold.mediator_id, now, keep));
        }
        if let Some(m) = plan.release
            && let Some(set) = g.holds.get_mut(m)
        {
            set.remove(id);
        }
        if let Some(n) = &plan.area_note {
            let notes = g.area_notes.entry(n.cell.to_owned()).or_default();
            notes.insert((n.at_ms, n.note.id.clone()), n.note.place);
            notes.retain(|(t, _), _| *t >= n.oldest_ms);
        }
        let loads = plan.loads(|m| g.holds.get(m).map_or(0, |s| u32::try_from(s.len()).unwrap_or(u32::MAX)), claimed);
        // Still under the lock: announcements leave in the order their writes applied.
        let announced = plan.announce.iter().map(|m| (*m).clone());
        for message in loads.into_iter().chain(announced).chain(next_deadline) {
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
        let entries = round_trip_all(entries)?;
        self.lock().timelines.entry(id.clone()).or_default().extend(entries);
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
        let now = self.now();
        let g = self.lock();
        let counts = g.claims.get(day).filter(|(_, expires)| *expires > now).map(|(counts, _)| counts);
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
            g.timer_order.iter().take_while(|((t, _), _)| *t <= now_ms).take(max).map(|(_, k)| k.clone()).collect();
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
        Ok(g.timer_order.first_key_value().and_then(|((t, _), _)| Timestamp::from_millisecond(*t).ok()))
    }

    async fn timer_due(&self, key: &TimerKey) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.lock().timers.get(key).and_then(|t| Timestamp::from_millisecond(*t).ok()))
    }

    async fn index_open_incidents(&self) -> Result<usize, StoreError> {
        // Every write here has kept the open index since the store was made.
        Ok(0)
    }
}

/// Each record as a store hands it back once written (its stored form decoded again).
fn round_trip_all<R: Record>(records: &[R]) -> Result<Vec<R>, StoreError> {
    records.iter().map(Record::round_trip).collect()
}
