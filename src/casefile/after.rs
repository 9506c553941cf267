//! After the agreement takes effect (issue #20): the performance follow-ups (回访, 督促履行;
//! urged, then advised to sue, each on the timeline), the 司法确认 application and its
//! result, and extending the mediation deadline on every party's consent.

use super::domain::{self, Confirmation, Conflict, DueKind, FollowUp, FollowUpAction, Invalid, Performance};
use super::{CaseFileError, CaseFiles};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Event;
use crate::domain::timeline::{ActorRole, TimelineEntry};

/// A serde enum's wire name (`not_performed`).
pub(crate) fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A timeline line by the holding mediator.
pub(super) fn by_holder(mediator: &AccountId, at: jiff::Timestamp, event: Event) -> TimelineEntry {
    TimelineEntry { at, actor_role: ActorRole::Mediator, actor_id: Some(mediator.to_string()), event }
}

impl CaseFiles {
    /// The holder records a performance follow-up (回访): not performed is urged the first
    /// time, then advised to sue.
    ///
    /// # Errors
    /// `NotFound`; `Invalid` (note over 1000 characters); `Conflict::NoAgreement`.
    pub async fn follow_up(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        performance: Performance,
        note: &str,
    ) -> Result<FollowUp, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let note = note.trim().to_owned();
        domain::check_chars("note", &note, 0, 1000)?;
        let now = self.now();
        let recheck_at = self.after(now, self.inner.settings.urge_recheck_after);
        let follow_up = self
            .update_with(id, incident.claimed_at, |case, effects| {
                if case.in_effect().is_none() {
                    return Err(Conflict::NoAgreement.into());
                }
                if case.follow_ups.len() >= 50 {
                    return Err(Conflict::Full("at most 50 follow-ups".into()).into());
                }
                let f = case.follow_up(performance, note.clone(), now);
                if f.action == FollowUpAction::Urged {
                    // Urged: the follow-up comes due again; still not performed then, the
                    // parties are advised to sue.
                    case.set_reminder(DueKind::Performance, recheck_at);
                }
                let detail = format!("{} {}", wire_name(&f.performance), wire_name(&f.action));
                let event = Event::CaseFile { step: "followed_up".into(), date: None, detail: Some(detail) };
                effects.timeline.push(by_holder(mediator, now, event));
                Ok(f)
            })
            .await?;
        tracing::info!(incident_id = %id, action = wire_name(&follow_up.action), "follow-up recorded");
        Ok(follow_up)
    }

    /// The holder records the parties' joint 司法确认 application (court, day) and, later,
    /// the court's result (`confirmed` / `rejected`).
    ///
    /// # Errors
    /// `NotFound`; `Invalid`; `Conflict::NoAgreement`.
    pub async fn confirmation(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        court: &str,
        applied_on: jiff::civil::Date,
        result: Option<&str>,
    ) -> Result<Confirmation, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let court = court.trim().to_owned();
        domain::check_chars("court", &court, 1, 100)?;
        if let Some(r) = result
            && !matches!(r, "confirmed" | "rejected")
        {
            return Err(Invalid::new("result", "confirmed or rejected").into());
        }
        let now = self.now();
        self.update(id, incident.claimed_at, |case| {
            if case.in_effect().is_none() {
                return Err(Conflict::NoAgreement.into());
            }
            let c = Confirmation {
                court: court.clone(),
                applied_on,
                result: result.map(str::to_owned),
                result_at: result.map(|_| now),
            };
            case.confirmation = Some(c.clone());
            Ok(c)
        })
        .await
    }

    /// Extend the mediation deadline by `casefile.mediation_deadline`, with every party's
    /// consent recorded (their ids).
    ///
    /// # Errors
    /// `NotFound`; `Invalid` when a party's consent is missing or unknown.
    pub async fn extend(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        consents: &[String],
    ) -> Result<jiff::Timestamp, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let now = self.now();
        let by = self.inner.settings.mediation_deadline;
        self.update(id, incident.claimed_at, |case| {
            let all: std::collections::BTreeSet<&String> = case.parties.iter().map(|p| &p.id).collect();
            let given: std::collections::BTreeSet<&String> = consents.iter().collect();
            if case.parties.len() < 2 || all != given {
                return Err(Invalid::new("consents", "every party (at least two) must consent").into());
            }
            if case.extensions.len() >= 12 {
                return Err(Conflict::Full("at most 12 extensions".into()).into());
            }
            let last = case.reminders.iter().filter(|r| r.kind == DueKind::Deadline).map(|r| r.due_at).max();
            let due = self.after(last.unwrap_or(now).max(now), by);
            case.extensions.push(consents.to_vec());
            case.set_reminder(DueKind::Deadline, due);
            Ok(due)
        })
        .await
    }
}
