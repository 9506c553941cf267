//! The mediators an operator directs: who each is (name, phone tail, home area), whether they
//! are free, busy or off duty, and calling one, whose number an operator reads only through an
//! audited action recorded on the incident they call about.

use super::Presence;
use crate::dispatch::{Actor, DispatchError, Scope};
use crate::domain::account::{Account, Fix, Role};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Event;
use crate::domain::timeline::TimelineEntry;
use crate::matcher::index::fresh_after;

/// One mediator as the command center lists them.
#[derive(Debug, Clone)]
pub struct RosterEntry {
    /// The account.
    pub account: Account,
    /// On duty with a fresh position (shown on the map).
    pub on_duty: bool,
    /// The latest position, if still known.
    pub fix: Option<Fix>,
    /// Incidents they hold now.
    pub holds: u32,
}

impl Presence {
    /// Every enabled mediator an operator with `scope` directs (may send:
    /// `Dispatcher::may_send`), by name.
    ///
    /// # Errors
    /// `Store`.
    pub async fn roster(&self, scope: &Scope) -> Result<Vec<RosterEntry>, DispatchError> {
        let engine = &self.engine;
        let mut accounts = self.directory.list_accounts(Role::Mediator).await?;
        accounts.retain(|a| a.enabled && engine.may_send(scope, a));
        accounts.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let ids: Vec<AccountId> = accounts.iter().map(|a| a.id.clone()).collect();
        let loads = engine.workloads(&ids, crate::dispatch::stats::today(engine.now())).await?;
        let fresh = fresh_after(engine.now(), engine.settings().dispatch.stale_after);
        Ok(accounts
            .into_iter()
            .zip(loads)
            .map(|(account, (holds, _))| {
                let (duty, fix) = engine.index().get(&account.id).unwrap_or((false, None));
                let on_duty = duty && fix.is_some_and(|f| f.at >= fresh);
                RosterEntry { account, on_duty, fix, holds }
            })
            .collect())
    }

    /// An operator reads a mediator's full phone number to call them about incident `id`; the
    /// read is recorded in that incident's timeline first (no record, no number). The mediator
    /// must hold the incident, have been offered it, or be one the operator directs.
    ///
    /// # Errors
    /// `NotFound` for an unknown incident or a mediator who is none of those; `Store`.
    pub async fn reveal_mediator_phone(
        &self,
        operator: &Actor,
        scope: &Scope,
        id: &IncidentId,
        mediator: &AccountId,
    ) -> Result<String, DispatchError> {
        let engine = &self.engine;
        let incident = self.incidents.get_incident(id).await?.ok_or(DispatchError::NotFound)?;
        let account = self
            .directory
            .get_account(mediator)
            .await?
            .filter(|a| a.role == Role::Mediator)
            .ok_or(DispatchError::NotFound)?;
        let involved = incident.claimed_by.as_ref() == Some(mediator)
            || incident.offers.iter().any(|o| &o.mediator_id == mediator);
        if !involved && !engine.may_send(scope, &account) {
            return Err(DispatchError::NotFound);
        }
        let entry = TimelineEntry {
            at: engine.now(),
            actor_role: operator.role,
            actor_id: operator.id.clone(),
            event: Event::MediatorPhoneRevealed { mediator_id: mediator.clone() },
        };
        self.incidents.append_timeline(id, &[entry]).await?;
        tracing::info!(incident_id = %id, mediator_id = %mediator, "mediator phone revealed to an operator");
        Ok(account.phone.full().to_owned())
    }
}
