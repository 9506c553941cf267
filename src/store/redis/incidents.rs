//! [`IncidentStore`] on the Redis backend.

use super::scripts;
use super::{RedisStore, ms, parse_area_note, parse_incident_id, score_to_timestamp};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use crate::store::IncidentStore;
use crate::store::records::Record;
use crate::store::{AreaNote, ClaimedTimer, IncidentWrite, RememberedKey, StoreError, TimerKey, WriteOutcome};
use async_trait::async_trait;
use jiff::Timestamp;
use std::time::Duration;

#[async_trait]
impl IncidentStore for RedisStore {
    async fn noted_in_areas(
        &self,
        cells: &[String],
        since: Timestamp,
        newest: usize,
    ) -> Result<Vec<AreaNote>, StoreError> {
        if cells.is_empty() || newest == 0 {
            return Ok(vec![]);
        }
        let mut pipe = ::redis::pipe();
        for c in cells {
            pipe.cmd("ZREVRANGEBYSCORE")
                .arg(self.keys.area_notes(c))
                .arg("+inf")
                .arg(since.as_millisecond())
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(newest);
        }
        let raw: Vec<Vec<(String, f64)>> = self.query_pipe(&pipe).await?;
        raw.iter().flatten().map(|(member, score)| parse_area_note(member, *score)).collect()
    }

    async fn noted_areas(&self, since: Timestamp) -> Result<Vec<String>, StoreError> {
        self.query(::redis::cmd("ZRANGEBYSCORE").arg(self.keys.noted_areas()).arg(since.as_millisecond()).arg("+inf"))
            .await
    }

    async fn count_noted(&self, cell: &str, since: Timestamp) -> Result<u64, StoreError> {
        self.query(::redis::cmd("ZCOUNT").arg(self.keys.area_notes(cell)).arg(since.as_millisecond()).arg("+inf")).await
    }

    async fn write_incident(&self, w: &IncidentWrite) -> Result<WriteOutcome, StoreError> {
        let invocation = super::write::invocation(&w.plan(), &self.keys)?;
        super::write::outcome(self.invoke(&invocation).await?)
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("HGET").arg(self.keys.incident(id)).arg("doc")).await?;
        raw.map(|json| Incident::decode(&json)).transpose()
    }

    async fn get_incidents(&self, ids: &[IncidentId]) -> Result<Vec<Incident>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut pipe = ::redis::pipe();
        for id in ids {
            pipe.cmd("HGET").arg(self.keys.incident(id)).arg("doc");
        }
        let raw: Vec<Option<String>> = self.query_pipe(&pipe).await?;
        raw.into_iter().flatten().map(|json| Incident::decode(&json)).collect()
    }

    async fn open_incidents(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let ids: Vec<String> =
            self.query(::redis::cmd("ZRANGE").arg(self.keys.open_incidents()).arg(0).arg(limit - 1)).await?;
        let ids = ids.iter().map(|s| parse_incident_id(s)).collect::<Result<Vec<_>, _>>()?;
        self.get_incidents(&ids).await
    }

    async fn list_incidents(&self, from: Timestamp, to: Timestamp, limit: usize) -> Result<Vec<Incident>, StoreError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        // Newest first over [from, to); equal scores come in reverse id order, as in memory.
        let ids: Vec<String> = self
            .query(
                ::redis::cmd("ZRANGE")
                    .arg(self.keys.incidents_by_created())
                    .arg(format!("({}", ms(to)))
                    .arg(ms(from))
                    .arg("BYSCORE")
                    .arg("REV")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        let ids = ids.iter().map(|s| parse_incident_id(s)).collect::<Result<Vec<_>, _>>()?;
        self.get_incidents(&ids).await
    }

    async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("LRANGE").arg(self.keys.timeline(id)).arg(0).arg(-1)).await?;
        raw.iter().map(|json| TimelineEntry::decode(json)).collect()
    }

    async fn append_timeline(&self, id: &IncidentId, entries: &[TimelineEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut cmd = ::redis::cmd("RPUSH");
        cmd.arg(self.keys.timeline(id));
        for entry in entries {
            cmd.arg(entry.encode()?);
        }
        // Not idempotent: sent once, never retried.
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded("append", async move { cmd.query_async(&mut conn).await }).await?;
        Ok(())
    }

    async fn incident_by_tracking(&self, tracking_hash: &str) -> Result<Option<IncidentId>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("GET").arg(self.keys.tracking(tracking_hash))).await?;
        raw.map(|s| parse_incident_id(&s)).transpose()
    }

    async fn remembered_key(&self, key_hash: &str) -> Result<Option<RememberedKey>, StoreError> {
        let (id, fingerprint, receipt): (Option<String>, Option<String>, Option<String>) =
            self.query(::redis::cmd("HMGET").arg(self.keys.idempotency(key_hash)).arg(&["id", "fp", "r"])).await?;
        let Some(id) = id else { return Ok(None) };
        Ok(Some(RememberedKey {
            incident_id: parse_incident_id(&id)?,
            fingerprint: fingerprint.unwrap_or_default(),
            receipt: receipt.unwrap_or_default(),
        }))
    }

    async fn offered_to(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError> {
        self.set_members(self.keys.offers(mediator)).await
    }

    async fn held_by(&self, mediator: &AccountId) -> Result<Vec<IncidentId>, StoreError> {
        self.set_members(self.keys.holds(mediator)).await
    }

    async fn hold_counts(&self, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError> {
        if mediators.is_empty() {
            return Ok(vec![]);
        }
        let mut pipe = ::redis::pipe();
        for m in mediators {
            pipe.cmd("SCARD").arg(self.keys.holds(m));
        }
        let counts: Vec<u64> = self.query_pipe(&pipe).await?;
        Ok(counts.into_iter().map(|n| u32::try_from(n).unwrap_or(u32::MAX)).collect())
    }

    async fn claims_on(&self, day: &str, mediators: &[AccountId]) -> Result<Vec<u32>, StoreError> {
        if mediators.is_empty() {
            return Ok(vec![]);
        }
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(self.keys.claims(day));
        for m in mediators {
            cmd.arg(m.to_string());
        }
        let raw: Vec<Option<u32>> = self.query(&cmd).await?;
        Ok(raw.into_iter().map(Option::unwrap_or_default).collect())
    }

    async fn claim_due_timers(
        &self,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedTimer>, StoreError> {
        if max == 0 {
            return Ok(vec![]);
        }
        let now_ms = ms(now);
        let token = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut inv = scripts::CLAIM_DUE_TIMERS.prepare_invoke();
        inv.key(self.keys.timers()).arg(now_ms).arg(token).arg(max);
        let members: Vec<String> = self.invoke(&inv).await?;
        let mut claimed = Vec::with_capacity(members.len());
        for member in members {
            match TimerKey::parse_member(&member) {
                Some(key) => claimed.push(ClaimedTimer { key, lease_token: token }),
                // Skipping (rather than failing the batch) keeps one bad member from
                // blocking every good deadline leased with it.
                None => tracing::error!(member = %member, "unparseable timer member skipped"),
            }
        }
        Ok(claimed)
    }

    async fn finish_timer(&self, timer: &ClaimedTimer) -> Result<(), StoreError> {
        let mut inv = scripts::FINISH_TIMER.prepare_invoke();
        inv.key(self.keys.timers()).arg(timer.key.member()).arg(timer.lease_token);
        let _removed: i64 = self.invoke(&inv).await?;
        Ok(())
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let first: Vec<(String, f64)> =
            self.query(::redis::cmd("ZRANGE").arg(self.keys.timers()).arg(0).arg(0).arg("WITHSCORES")).await?;
        first.first().map(|(_, score)| score_to_timestamp(*score)).transpose()
    }

    async fn timer_due(&self, key: &TimerKey) -> Result<Option<Timestamp>, StoreError> {
        let score: Option<f64> = self.query(::redis::cmd("ZSCORE").arg(self.keys.timers()).arg(key.member())).await?;
        score.map(score_to_timestamp).transpose()
    }

    async fn index_open_incidents(&self) -> Result<usize, StoreError> {
        const CHUNK: usize = 500;
        let marker = self.keys.open_incidents_built();
        let built: bool = self.query(::redis::cmd("EXISTS").arg(&marker)).await?;
        if built {
            return Ok(0);
        }
        let (mut start, mut added) = (0, 0);
        loop {
            let chunk: Vec<(String, i64)> = self
                .query(
                    ::redis::cmd("ZRANGE")
                        .arg(self.keys.incidents_by_created())
                        .arg(start)
                        .arg(start + CHUNK - 1)
                        .arg("WITHSCORES"),
                )
                .await?;
            if !chunk.is_empty() {
                let mut inv = scripts::INDEX_OPEN.prepare_invoke();
                inv.key(self.keys.open_incidents());
                for (id, created) in &chunk {
                    inv.key(self.keys.incident(&parse_incident_id(id)?)).arg(id).arg(created);
                }
                let n: usize = self.invoke(&inv).await?;
                added += n;
            }
            if chunk.len() < CHUNK {
                break;
            }
            start += CHUNK;
        }
        self.query::<()>(::redis::cmd("SET").arg(&marker).arg("1")).await?;
        Ok(added)
    }
}
