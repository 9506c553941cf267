//! Who hears of a call-in's step: the command center's screens that see its incident and the
//! department's accounts (on the bus, rendered by each instance's push hub), and by WeChat the
//! department's accounts with a bound openid.

use super::domain::{CallIn, Purpose, ResponseKind, Step};
use super::store::CallInWrite;
use super::{DepartmentError, Departments};
use crate::dispatch::CallInNotice;
use crate::domain::account::Role;
use crate::domain::ids::{AccountId, DepartmentId};
use crate::store::BusMessage;

impl Departments {
    /// One message per step, for the command center's screens that see the incident and for
    /// the department's own sockets (its accounts'): the call-in and its step, rendered by
    /// each instance for the sockets it holds.
    pub(super) async fn announcements(
        &self,
        call_in: &CallIn,
        steps: &[Step],
    ) -> Result<Vec<BusMessage>, DepartmentError> {
        let place = self.inner.incidents.get_incident(&call_in.incident_id).await?.map(|i| i.area);
        let accounts = self.accounts_of(&call_in.department_id).await?;
        let mut out = vec![];
        for step in steps {
            out.push(BusMessage::CallIn {
                call_in: Box::new(call_in.clone()),
                step: step.clone(),
                screens: place.clone(),
                accounts: accounts.clone(),
            });
            if matches!(step, Step::Responded(ResponseKind::TookOver) | Step::Result) {
                // The resident's tracking page says who has it now: its streams re-read.
                out.push(BusMessage::IncidentChanged { incident_id: call_in.incident_id.clone() });
            }
        }
        Ok(out)
    }

    /// After `write` applied: the department's accounts with a bound openid are told by
    /// WeChat of a call-in, a hand-over and urging (the notifier skips those without one).
    pub(super) fn tell_by_wechat(&self, write: &CallInWrite) {
        for message in &write.announce {
            let BusMessage::CallIn { call_in, step, accounts, .. } = message else { continue };
            let what = match step {
                Step::CalledIn if call_in.purpose == Purpose::Handover => CallInNotice::HandedOver,
                Step::CalledIn => CallInNotice::CalledIn,
                Step::AckOverdue | Step::RespondOverdue | Step::Supervised => CallInNotice::Urged,
                _ => continue,
            };
            let occasion = format!("{}:{}", call_in.id, step.as_str());
            self.d().wechat_call_in(&call_in.incident_id, accounts, what, &occasion);
        }
    }

    /// The enabled accounts of a department (their sockets get its queue's changes).
    pub(super) async fn accounts_of(&self, id: &DepartmentId) -> Result<Vec<AccountId>, DepartmentError> {
        let code = id.to_string();
        let all = self.inner.directory.list_accounts(Role::Department).await?;
        Ok(all.into_iter().filter(|a| a.enabled && a.area.as_deref() == Some(code.as_str())).map(|a| a.id).collect())
    }
}
