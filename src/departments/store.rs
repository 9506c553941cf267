//! The departments' storage port: departments, and call-ins written together with their
//! deadlines (in the shared durable timer set), their incident's timeline lines and their
//! bus messages, all or nothing; and the routing table, versioned.

use super::domain::{CallIn, Department};
use super::routing::RoutingTable;
use crate::domain::ids::{CallInId, DepartmentId, IncidentId};
use crate::domain::timeline::TimelineEntry;
use crate::store::{BusMessage, StoreError, TimerOp};
use async_trait::async_trait;

/// An outbound webhook event waiting for delivery (kept until delivered or given up).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEvent {
    /// Event id (`X-GD-Event-Id`), a UUIDv7.
    pub id: String,
    /// The incident it is about (its deadline's key).
    pub incident_id: IncidentId,
    /// `call_in.<step>`.
    pub kind: String,
    /// The JSON body sent, byte for byte on every attempt.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
}

/// One line of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeliveryLine {
    /// The event.
    pub event_id: String,
    /// `call_in.<step>`.
    pub kind: String,
    /// Which attempt (from 1).
    pub attempt: u32,
    /// `delivered <status>`, `failed <status or error>; retry`, `gave up: <why>`.
    pub outcome: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
}

/// Delivery lines kept (newest first).
pub const DELIVERY_LOG_KEEP: usize = 1000;

/// One atomic change to a call-in and what changes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInWrite {
    /// The call-in as it must be stored (its `version` already bumped).
    pub call_in: CallIn,
    /// Its stored version must be this (0: it must not exist yet).
    pub expect_version: u64,
    /// Deadline changes (in the timer set every instance's runner claims from).
    pub timers: Vec<TimerOp>,
    /// Lines for the incident's timeline.
    pub timeline: Vec<TimelineEntry>,
    /// Bus messages published iff the write applies (a `next_deadline` is added when a
    /// deadline is sooner than every one held).
    pub announce: Vec<BusMessage>,
    /// Webhook events stored with it (their delivery deadlines are in `timers`).
    pub webhooks: Vec<WebhookEvent>,
}

/// Storage of departments and call-ins.
#[async_trait]
pub trait DepartmentStore: Send + Sync + 'static {
    /// Create or replace a department.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_department(&self, department: &Department) -> Result<(), StoreError>;

    /// One department.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_department(&self, id: &DepartmentId) -> Result<Option<Department>, StoreError>;

    /// Every department, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list_departments(&self) -> Result<Vec<Department>, StoreError>;

    /// The stored routing table (None until the first is stored).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_routing(&self) -> Result<Option<RoutingTable>, StoreError>;

    /// Store `table` iff the stored one's version is `table.version - 1` (none stored counts
    /// as version 0); false (nothing written) otherwise.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn put_routing(&self, table: &RoutingTable) -> Result<bool, StoreError>;

    /// Apply a call-in write; false (nothing written) when the version moved.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure; a timeout is ambiguous (re-read before retrying).
    async fn write_call_in(&self, write: &CallInWrite) -> Result<bool, StoreError>;

    /// One call-in.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_call_in(&self, id: &CallInId) -> Result<Option<CallIn>, StoreError>;

    /// An incident's call-ins, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn call_ins_of_incident(&self, id: &IncidentId) -> Result<Vec<CallIn>, StoreError>;

    /// A department's call-ins, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn call_ins_of_department(&self, id: &DepartmentId) -> Result<Vec<CallIn>, StoreError>;

    /// A stored webhook event.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookEvent>, StoreError>;

    /// Keep `event` (its attempts counted) for another attempt at `due` (its deadline moves),
    /// and log `line`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn retry_webhook(
        &self,
        event: &WebhookEvent,
        due: jiff::Timestamp,
        line: &DeliveryLine,
    ) -> Result<(), StoreError>;

    /// Forget a delivered (or given-up) event and log `line`.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn finish_webhook(&self, id: &str, line: &DeliveryLine) -> Result<(), StoreError>;

    /// The delivery log, newest first, at most `limit` lines.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryLine>, StoreError>;
}

/// The deadline that delivers `event`.
#[must_use]
pub fn webhook_key(event: &WebhookEvent) -> crate::store::TimerKey {
    crate::store::TimerKey::with_sub(crate::store::TimerKind::Webhook, event.incident_id.clone(), event.id.clone())
}

/// Oldest first (ids are time-ordered UUIDv7).
pub(super) fn oldest_first(mut call_ins: Vec<CallIn>) -> Vec<CallIn> {
    call_ins.sort_by(|a, b| a.id.cmp(&b.id));
    call_ins
}
