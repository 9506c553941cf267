//! The case file's deadlines on the shared timer runner: the performance follow-up (回访), the
//! 司法确认 reminder and the one-month mediation deadline are members `case_<kind>:<id>` of the
//! shared timer set, written with the document that says they are pending
//! ([`CaseFiles::update`]). Every instance's [`crate::timers::TimerRunner`] sleeps until the
//! soonest (woken by the bus when a write sets a sooner one), claims it with a lease and fires
//! it here through its [`TimerHandler`]: recorded once (a compare-and-set on the document),
//! with what reaches people in the same write — a timeline line, a `case_due` message to the
//! holder's phone, the command center's screens for the mediation deadline, the resident's
//! tracking page for the 司法确认 reminder (its streams re-read) — then WeChat, queued, to
//! whoever has an openid. At-least-once delivery, exactly-once effect.
//!
//! The mediation deadline starts with the claim: the incident's claim write schedules
//! `case_deadline:<id>` in the same atomic write as the claim (durable, unlike bus news, which
//! an instance that is down never hears), knowing only the configured duration; firing it here
//! sets the case file's deadline from the claim when no case-file write has, so a claimed case
//! nobody opens still comes due once.

use super::CaseFileError;
use super::CaseFiles;
use super::domain::{CaseFile, DueKind};
use crate::dispatch::CaseNotice;
use crate::domain::ids::IncidentId;
use crate::domain::incident::Event;
use crate::domain::timeline;
use crate::store::{BusMessage, TimerKey, TimerKind};
use crate::timers::{FireError, TimerHandler};
use jiff::Timestamp;

/// Days after the agreement takes effect in which the parties may apply for 司法确认
/// (人民调解法 §33).
pub const CONFIRMATION_WINDOW_DAYS: i64 = 30;

/// The shared timer set's key of the deadline of `kind` on `id`.
#[must_use]
pub fn key(id: &IncidentId, kind: DueKind) -> TimerKey {
    let kind = match kind {
        DueKind::Performance => TimerKind::CasePerformance,
        DueKind::Confirmation => TimerKind::CaseConfirmation,
        DueKind::Deadline => TimerKind::CaseDeadline,
    };
    TimerKey::new(kind, id.clone())
}

fn due_kind(kind: TimerKind) -> Option<DueKind> {
    match kind {
        TimerKind::CasePerformance => Some(DueKind::Performance),
        TimerKind::CaseConfirmation => Some(DueKind::Confirmation),
        TimerKind::CaseDeadline => Some(DueKind::Deadline),
        _ => None,
    }
}

/// The timeline's name of a fired deadline.
fn step(kind: DueKind) -> &'static str {
    match kind {
        DueKind::Performance => "performance_due",
        DueKind::Confirmation => "confirmation_due",
        DueKind::Deadline => "deadline_due",
    }
}

/// `t` as a day in Beijing time.
#[must_use]
pub fn beijing_day(t: Timestamp) -> jiff::civil::Date {
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date()
}

/// The last day the parties may apply for 司法确认: [`CONFIRMATION_WINDOW_DAYS`] after the
/// agreement in effect took effect (Beijing time).
#[must_use]
pub fn confirmation_apply_by(case: &CaseFile) -> Option<jiff::civil::Date> {
    let day = beijing_day(case.in_effect()?.effective_at?);
    day.checked_add(jiff::Span::new().days(CONFIRMATION_WINDOW_DAYS)).ok()
}

/// The day a deadline of `kind` due at `due_at` concerns: the agreed performance day, the last
/// day to apply for 司法确认, the mediation deadline itself.
fn concerns(case: &CaseFile, kind: DueKind, due_at: Timestamp) -> Option<jiff::civil::Date> {
    match kind {
        DueKind::Performance => case.in_effect()?.draft.performance_due,
        DueKind::Confirmation => confirmation_apply_by(case),
        DueKind::Deadline => Some(beijing_day(due_at)),
    }
}

/// No case-file work began: no party, record entry or agreement.
fn untouched(case: &CaseFile) -> bool {
    case.parties.is_empty() && case.record.is_empty() && case.versions.is_empty()
}

impl CaseFiles {
    /// A case-file deadline fell due (the runner, at least once): records it once, with its
    /// timeline line and messages, then queues its WeChat notices. Returns whether it fired
    /// now (false: already fired, moved, moot, or the incident is gone).
    ///
    /// # Errors
    /// `Store`; `Contended`.
    pub async fn fire(&self, id: &IncidentId, kind: DueKind) -> Result<bool, CaseFileError> {
        let Some(incident) = self.inner.incidents.get_incident(id).await? else {
            return Ok(false);
        };
        let holder = incident.claimed_by.clone();
        let now = self.now();
        // The claim: a case file never written gets its mediation deadline from the claim here.
        let fired = self
            .update_with(id, incident.claimed_at, |case, effects| {
                let due_at = case.pending(kind).map(|r| r.due_at);
                if kind == DueKind::Deadline && incident.resolved_at.is_some() && untouched(case) {
                    // Resolved on the spot, no case file opened: nothing is left to mediate.
                    case.reminders.retain(|r| r.kind != kind || r.fired_at.is_some());
                    return Ok(None);
                }
                if !case.fire(kind, now) {
                    // Early (the claim's timer, then an extension moved it): it stays due later.
                    if let Some(later) = case.pending(kind).map(|r| r.due_at).filter(|at| *at > now) {
                        effects.timers.push(crate::store::TimerOp::Schedule(key(id, kind), later));
                    }
                    return Ok(None);
                }
                let date = due_at.and_then(|at| concerns(case, kind, at)).map(|d| d.to_string());
                let event = Event::CaseFile { step: step(kind).into(), date: date.clone(), detail: None };
                effects.timeline.push(timeline::system(now, event));
                let screens = (kind == DueKind::Deadline).then(|| incident.area.clone());
                effects.announce.push(BusMessage::CaseDue {
                    incident_id: id.clone(),
                    kind: kind.as_str().to_owned(),
                    date: date.clone(),
                    holder: holder.clone(),
                    screens,
                });
                if kind == DueKind::Confirmation {
                    effects.announce.push(BusMessage::IncidentChanged { incident_id: id.clone() });
                }
                Ok(Some(date))
            })
            .await?;
        let Some(date) = fired else { return Ok(false) };
        let notice = match kind {
            DueKind::Performance => CaseNotice::FollowUp,
            DueKind::Confirmation => CaseNotice::Confirmation,
            DueKind::Deadline => CaseNotice::Deadline,
        };
        self.inner.dispatcher.wechat_case_due(id, notice, holder.as_ref(), date);
        tracing::info!(incident_id = %id, kind = kind.as_str(), "case-file deadline fired");
        metrics::counter!("gd_casefile_deadlines_fired_total", "kind" => kind.as_str()).increment(1);
        Ok(true)
    }
}

#[async_trait::async_trait]
impl TimerHandler for CaseFiles {
    fn handles(&self, kind: TimerKind) -> bool {
        due_kind(kind).is_some()
    }

    async fn fire(&self, key: &TimerKey) -> Result<bool, FireError> {
        match due_kind(key.kind) {
            Some(kind) => Ok(CaseFiles::fire(self, &key.incident_id, kind).await?),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_deadline_has_its_own_timer_kind_and_back() {
        for kind in DueKind::ALL {
            assert_eq!(due_kind(key(&IncidentId::generate(), kind).kind), Some(kind));
        }
        assert_eq!(due_kind(TimerKind::Escalate), None);
    }
}
