//! [`PresenceStore`] on the Redis backend.

use super::scripts;
use super::{RedisStore, decode, encode, ms, parse_account_id};
use crate::domain::account::{Fix, Presence};
use crate::domain::ids::AccountId;
use crate::store::presence::fix_minute_ms;
use crate::store::{BusMessage, FixBatch, PresenceStore, StoreError, bus_codec};
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

#[async_trait]
impl PresenceStore for RedisStore {
    async fn set_duty(&self, mediator: &AccountId, on: bool) -> Result<(), StoreError> {
        let flag = if on { "1" } else { "0" };
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.duty()).arg(mediator.to_string()).arg(flag)).await
    }

    async fn store_fixes(&self, fixes: &FixBatch) -> Result<(), StoreError> {
        if fixes.is_empty() {
            return Ok(());
        }
        // One MULTI/EXEC, one round trip: each fix and its filed minute move together (same
        // slot), so pruning by time never removes a fresher fix; the batch's bus frame is
        // published inside it, after them, so a subscriber that hears it reads them, and a
        // transaction Redis refuses (OOM, READONLY, MISCONF: EXECABORT) publishes nothing. A
        // key of the wrong type (never written so by us) would fail inside EXEC, where Redis
        // runs the rest; the caller still hears the error. An unchanged score (the same
        // minute) leaves the sorted set as it was. `PUBLISH` is no key, so on a Cluster the
        // transaction goes to the slot's node, whose publish reaches every node. Retried once
        // on a dropped connection like every idempotent write: a batch heard twice changes no
        // index (a position is applied by its time).
        let payload = bus_codec::encode(&BusMessage::Fixes { fixes: fixes.clone() })?;
        let mut hset = ::redis::cmd("HSET");
        hset.arg(self.keys.fixes());
        let mut zadd = ::redis::cmd("ZADD");
        zadd.arg(self.keys.fix_times());
        for (mediator, fix) in fixes.iter() {
            let id = mediator.to_string();
            hset.arg(&id).arg(encode("fix", fix)?);
            zadd.arg(fix_minute_ms(fix.at)).arg(id);
        }
        let mut publish = ::redis::cmd("PUBLISH");
        publish.arg(self.keys.bus_channel()).arg(payload);
        let mut pipe = ::redis::pipe();
        pipe.atomic().add_command(hset).ignore().add_command(zadd).ignore().add_command(publish).ignore();
        self.query_pipe::<()>(&pipe).await
    }

    async fn all_presence(&self) -> Result<Vec<Presence>, StoreError> {
        let mut pipe = ::redis::pipe();
        pipe.cmd("HGETALL").arg(self.keys.duty()).cmd("HGETALL").arg(self.keys.fixes());
        let (duty, fixes): (HashMap<String, String>, HashMap<String, String>) = self.query_pipe(&pipe).await?;
        let mut all: BTreeMap<AccountId, Presence> = BTreeMap::new();
        let blank = |id: &AccountId| Presence { mediator_id: id.clone(), on_duty: false, fix: None };
        for (id, flag) in duty {
            let id = parse_account_id(&id)?;
            let on_duty = match flag.as_str() {
                "1" => true,
                "0" => false,
                other => return Err(StoreError::Corrupt(format!("duty flag {other:?}"))),
            };
            all.entry(id.clone()).or_insert_with(|| blank(&id)).on_duty = on_duty;
        }
        for (id, json) in fixes {
            let id = parse_account_id(&id)?;
            let fix: Fix = decode("fix", &json)?;
            all.entry(id.clone()).or_insert_with(|| blank(&id)).fix = Some(fix);
        }
        Ok(all.into_values().collect())
    }

    async fn prune_fixes_older_than(&self, cutoff: Timestamp, max: usize) -> Result<usize, StoreError> {
        let mut inv = scripts::PRUNE_FIXES.prepare_invoke();
        inv.key(self.keys.fixes()).key(self.keys.fix_times()).arg(ms(cutoff)).arg(max.max(1));
        let removed: usize = self.invoke(&inv).await?;
        Ok(removed)
    }
}
