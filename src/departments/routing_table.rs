//! The routing table as admins keep it (issue #21, 派单目录): seeded from
//! `[[departments.routing]]` on first start, then replaced whole by admins over the version
//! they read (a stale save is refused). Read through on every suggestion, without a cache, so
//! every instance suggests from a saved table at once (one small read per panel opened).

use super::routing::{RawRule, RoutingTable, check_rules};
use super::{DepartmentError, Departments};

impl Departments {
    /// The configured table as version 0 (what holds until one is stored).
    fn configured_routing(&self) -> RoutingTable {
        let rules = self.d().settings().departments.routing.clone();
        RoutingTable { version: 0, rules, saved_at: None, saved_by: "config".to_owned() }
    }

    /// Store the configured table as version 1 unless one is stored already (every instance
    /// may try at start; one wins).
    ///
    /// # Errors
    /// `Store`.
    pub async fn seed_routing(&self) -> Result<(), DepartmentError> {
        if self.store().get_routing().await?.is_none() {
            let seed = RoutingTable { version: 1, saved_at: Some(self.d().now()), ..self.configured_routing() };
            if self.store().put_routing(&seed).await? {
                tracing::info!(rules = seed.rules.len(), "routing table seeded from config");
            }
        }
        Ok(())
    }

    /// The routing table in force: the stored one, else the configured one (version 0).
    ///
    /// # Errors
    /// `Store`.
    pub async fn routing_table(&self) -> Result<RoutingTable, DepartmentError> {
        Ok(self.store().get_routing().await?.unwrap_or_else(|| self.configured_routing()))
    }

    /// Replace the routing table with `rules`, over version `read_version` (what the admin
    /// read), saved by `by`.
    ///
    /// # Errors
    /// `Routing` (a bad rule: nothing saved), `StaleRouting` (someone saved since), `Store`.
    pub async fn replace_routing(
        &self,
        read_version: u64,
        rules: Vec<RawRule>,
        by: &str,
    ) -> Result<RoutingTable, DepartmentError> {
        let rules = check_rules(rules)?;
        let current = self.routing_table().await?.version;
        if current != read_version {
            return Err(DepartmentError::StaleRouting { current });
        }
        let table =
            RoutingTable { version: read_version + 1, rules, saved_at: Some(self.d().now()), saved_by: by.to_owned() };
        if !self.store().put_routing(&table).await? {
            let current = self.routing_table().await?.version;
            return Err(DepartmentError::StaleRouting { current });
        }
        tracing::info!(version = table.version, rules = table.rules.len(), "routing table saved");
        Ok(table)
    }
}
