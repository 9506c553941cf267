//! [`HealthProbe`] on the Redis backend.

use super::{Connection, RedisStore, corrupt};
use crate::store::HealthProbe;
use crate::store::StoreError;
use crate::store::health::ServerSettings;
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::HashMap;

#[async_trait]
impl HealthProbe for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.query(&::redis::cmd("PING")).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        // A small write with a TTL: refused exactly when our own writes would be (OOM,
        // READONLY, MISCONF all deny `SET`), and it never accumulates.
        let now_ms = Timestamp::now().as_millisecond().to_string();
        let () = self.query(::redis::cmd("SET").arg(self.keys.ready_probe()).arg(now_ms).arg("PX").arg(60_000)).await?;
        Ok(())
    }

    async fn persistence_settings(&self) -> Result<Option<ServerSettings>, StoreError> {
        self.server_settings().await.map(Some)
    }
}

impl RedisStore {
    /// Redis's persistence and eviction settings, read from the node that holds this
    /// deployment's keys (on a cluster, the master of the `{prefix}` slot). One `CONFIG GET`
    /// per setting: several names in one call need Redis 7.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis is unreachable or refuses `CONFIG` (renamed away
    /// on some managed services).
    pub async fn server_settings(&self) -> Result<ServerSettings, StoreError> {
        let mut seen = ServerSettings::default();
        for (name, into) in [
            ("appendonly", &mut seen.appendonly),
            ("appendfsync", &mut seen.appendfsync),
            ("no-appendfsync-on-rewrite", &mut seen.no_appendfsync_on_rewrite),
            ("maxmemory-policy", &mut seen.maxmemory_policy),
        ] {
            let mut cmd = ::redis::cmd("CONFIG");
            cmd.arg("GET").arg(name);
            let reply: HashMap<String, String> = match &self.conn {
                Connection::Single(_) => self.query(&cmd).await?,
                Connection::Cluster(conn) => {
                    use ::redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                    let route = Route::with_key(self.keys.tag(), SlotAddr::Master);
                    let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                    let value = self.bounded("config", conn.clone().route_command(cmd, routing)).await?;
                    ::redis::from_redis_value(value).map_err(|e| corrupt("CONFIG GET reply", e))?
                }
            };
            reply.get(name).unwrap_or(&String::new()).clone_into(into);
        }
        Ok(seen)
    }
}
