//! The in-memory [`DepartmentStore`], beside the memory store whose timer set, timelines and
//! bus it shares.

use super::domain::{CallIn, Department};
use super::routing::RoutingTable;
use super::store::{
    CallInWrite, DELIVERY_LOG_KEEP, DeliveryLine, DepartmentStore, WebhookEvent, oldest_first, webhook_key,
};
use crate::domain::ids::{CallInId, DepartmentId, IncidentId};
use crate::store::memory::MemoryStore;
use crate::store::{Bus, IncidentStore, StoreError};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Inner {
    departments: BTreeMap<DepartmentId, Department>,
    call_ins: BTreeMap<CallInId, CallIn>,
    by_incident: HashMap<IncidentId, Vec<CallInId>>,
    by_department: HashMap<DepartmentId, Vec<CallInId>>,
    webhooks: HashMap<String, WebhookEvent>,
    routing: Option<RoutingTable>,
    /// Newest first.
    deliveries: std::collections::VecDeque<DeliveryLine>,
}

/// Departments and call-ins in memory. Cheap to clone.
#[derive(Clone)]
pub struct MemoryDepartments {
    inner: Arc<Mutex<Inner>>,
    store: MemoryStore,
}

impl MemoryDepartments {
    /// Beside `store` (its timers, timelines and bus).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { inner: Arc::default(), store }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every method checks before it mutates: a poisoned lock holds no half-applied write.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn many(&self, ids: Option<&Vec<CallInId>>) -> Vec<CallIn> {
        let g = self.lock();
        oldest_first(ids.into_iter().flatten().filter_map(|id| g.call_ins.get(id).cloned()).collect())
    }
}

#[async_trait]
impl DepartmentStore for MemoryDepartments {
    async fn put_department(&self, department: &Department) -> Result<(), StoreError> {
        self.lock().departments.insert(department.id.clone(), department.clone());
        Ok(())
    }

    async fn get_department(&self, id: &DepartmentId) -> Result<Option<Department>, StoreError> {
        Ok(self.lock().departments.get(id).cloned())
    }

    async fn list_departments(&self) -> Result<Vec<Department>, StoreError> {
        Ok(self.lock().departments.values().cloned().collect())
    }

    async fn get_routing(&self) -> Result<Option<RoutingTable>, StoreError> {
        Ok(self.lock().routing.clone())
    }

    async fn put_routing(&self, table: &RoutingTable) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.routing.as_ref().map_or(0, |r| r.version) + 1 != table.version {
            return Ok(false);
        }
        g.routing = Some(table.clone());
        Ok(true)
    }

    async fn write_call_in(&self, write: &CallInWrite) -> Result<bool, StoreError> {
        let c = &write.call_in;
        {
            let mut g = self.lock();
            let stored = g.call_ins.get(&c.id).map_or(0, |s| s.version);
            if stored != write.expect_version {
                return Ok(false);
            }
            if write.expect_version == 0 {
                g.by_incident.entry(c.incident_id.clone()).or_default().push(c.id.clone());
                g.by_department.entry(c.department_id.clone()).or_default().push(c.id.clone());
            }
            g.call_ins.insert(c.id.clone(), c.clone());
            for w in &write.webhooks {
                g.webhooks.insert(w.id.clone(), w.clone());
            }
        }
        // The rest cannot fail in memory: the write is whole once the version check passed.
        self.store.change_timers(&write.timers);
        self.store.append_timeline(&c.incident_id, &write.timeline).await?;
        let bus = self.store.bus();
        for message in &write.announce {
            bus.publish(message).await?;
        }
        Ok(true)
    }

    async fn get_call_in(&self, id: &CallInId) -> Result<Option<CallIn>, StoreError> {
        Ok(self.lock().call_ins.get(id).cloned())
    }

    async fn call_ins_of_incident(&self, id: &IncidentId) -> Result<Vec<CallIn>, StoreError> {
        let ids = self.lock().by_incident.get(id).cloned();
        Ok(self.many(ids.as_ref()))
    }

    async fn call_ins_of_department(&self, id: &DepartmentId) -> Result<Vec<CallIn>, StoreError> {
        let ids = self.lock().by_department.get(id).cloned();
        Ok(self.many(ids.as_ref()))
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookEvent>, StoreError> {
        Ok(self.lock().webhooks.get(id).cloned())
    }

    async fn retry_webhook(
        &self,
        event: &WebhookEvent,
        due: jiff::Timestamp,
        line: &DeliveryLine,
    ) -> Result<(), StoreError> {
        {
            let mut g = self.lock();
            g.webhooks.insert(event.id.clone(), event.clone());
            push_line(&mut g, line);
        }
        self.store.change_timers(&[crate::store::TimerOp::Schedule(webhook_key(event), due)]);
        Ok(())
    }

    async fn finish_webhook(&self, id: &str, line: &DeliveryLine) -> Result<(), StoreError> {
        let mut g = self.lock();
        g.webhooks.remove(id);
        push_line(&mut g, line);
        Ok(())
    }

    async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryLine>, StoreError> {
        Ok(self.lock().deliveries.iter().take(limit).cloned().collect())
    }
}

fn push_line(g: &mut Inner, line: &DeliveryLine) {
    g.deliveries.push_front(line.clone());
    g.deliveries.truncate(DELIVERY_LOG_KEEP);
}
