//! Departments' deadlines, fired by the shared timer runner through its
//! [`crate::timers::TimerHandler`]: a call-in's reminders and overdue marks (once, under the
//! call-in's version) and the webhook outbox's deliveries.

use super::{DepartmentError, Departments};
use crate::dispatch::Actor;
use crate::domain::ids::CallInId;
use crate::store::{TimerKey, TimerKind};

impl Departments {
    /// Fire a due call-in deadline (reminder or overdue mark), once.
    ///
    /// # Errors
    /// `Store`, `Contended` (it comes back after its lease).
    pub async fn fire(&self, key: &TimerKey) -> Result<bool, DepartmentError> {
        if key.kind == TimerKind::Webhook {
            return match key.sub.as_deref() {
                Some(id) => self.deliver(id).await,
                None => Ok(false),
            };
        }
        let Some(id) = key.sub.as_deref().and_then(|s| CallInId::parse(s).ok()) else { return Ok(false) };
        let (ack, overdue) = match key.kind {
            TimerKind::CallInRemindAck => (true, false),
            TimerKind::CallInAckDue => (true, true),
            TimerKind::CallInRemindRespond => (false, false),
            TimerKind::CallInRespondDue => (false, true),
            _ => return Ok(false),
        };
        match self.change(&id, &Actor::system(), None, |c| Ok(c.deadline(ack, overdue))).await {
            Ok((_, steps)) => Ok(!steps.is_empty()),
            Err(DepartmentError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl crate::timers::TimerHandler for Departments {
    fn handles(&self, kind: TimerKind) -> bool {
        matches!(
            kind,
            TimerKind::CallInRemindAck
                | TimerKind::CallInAckDue
                | TimerKind::CallInRemindRespond
                | TimerKind::CallInRespondDue
                | TimerKind::Webhook
        )
    }

    async fn fire(&self, key: &TimerKey) -> Result<bool, crate::timers::FireError> {
        Ok(Departments::fire(self, key).await?)
    }
}
