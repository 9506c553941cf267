//! The parties (当事人) of a case file: added by the holder (or made from the resident who
//! reported, in one tap), their phones and ID numbers sealed at rest and revealed only through
//! an audited action, and removed by the holder until the agreement carries a signature.

use super::after::by_holder;
use super::domain::{self, AuditNote, CaseFile, Conflict, Party, PartyRole};
use super::{CaseFileError, CaseFiles, NewParty, Revealed, Viewer};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Event;

impl CaseFiles {
    fn seal_party(&self, id: &IncidentId, party: &mut Party, phone: Option<String>, id_number: Option<String>) {
        if let Some(p) = phone {
            party.phone_masked = Some(domain::mask_phone(&p));
            party.phone = Some(self.inner.sealer.seal(&format!("{id}:{}:phone", party.id), &p));
        }
        if let Some(n) = id_number {
            party.id_number_masked = Some(domain::mask_id_number(&n));
            party.id_number = Some(self.inner.sealer.seal(&format!("{id}:{}:id_number", party.id), &n));
        }
    }

    /// The holder adds a party.
    ///
    /// # Errors
    /// `NotFound`; `Invalid` (limits); `Conflict::Full` past [`domain::MAX_PARTIES`].
    pub async fn add_party(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        new: NewParty,
    ) -> Result<Party, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let name = new.name.trim().to_owned();
        domain::check_chars("name", &name, 1, domain::MAX_NAME_CHARS)?;
        let address = new.address.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
        if let Some(a) = &address {
            domain::check_chars("address", a, 1, domain::MAX_ADDRESS_CHARS)?;
        }
        let phone = new.phone.filter(|p| !p.trim().is_empty()).map(|p| domain::parse_phone(&p)).transpose()?;
        let id_number =
            new.id_number.filter(|n| !n.trim().is_empty()).map(|n| domain::parse_id_number(&n)).transpose()?;
        let now = self.now();
        let party = self
            .update(id, incident.claimed_at, |case| {
                self.push_party(
                    case,
                    id,
                    new.role,
                    &name,
                    phone.clone(),
                    id_number.clone(),
                    address.clone(),
                    false,
                    now,
                )
            })
            .await?;
        tracing::info!(incident_id = %id, party = %party.id, "party added");
        Ok(party)
    }

    #[expect(clippy::too_many_arguments, reason = "one party's fields, used by both ways of adding one")]
    fn push_party(
        &self,
        case: &mut CaseFile,
        id: &IncidentId,
        role: PartyRole,
        name: &str,
        phone: Option<String>,
        id_number: Option<String>,
        address: Option<String>,
        from_reporter: bool,
        now: jiff::Timestamp,
    ) -> Result<Party, CaseFileError> {
        if case.parties.len() >= domain::MAX_PARTIES {
            return Err(Conflict::Full(format!("at most {} parties", domain::MAX_PARTIES)).into());
        }
        if from_reporter && case.parties.iter().any(|p| p.from_reporter) {
            return Err(Conflict::Full("the reporter is already a party".into()).into());
        }
        let mut party = Party {
            id: case.fresh_id("p"),
            role,
            name: name.to_owned(),
            phone: None,
            phone_masked: None,
            id_number: None,
            id_number_masked: None,
            address,
            from_reporter,
            added_at: now,
        };
        self.seal_party(id, &mut party, phone, id_number);
        case.parties.push(party.clone());
        Ok(party)
    }

    /// The holder makes the resident who reported a party, in one tap: their phone comes
    /// from the report.
    ///
    /// # Errors
    /// As [`Self::add_party`]; `Conflict::Full` when the reporter already is one.
    pub async fn add_reporter(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        role: PartyRole,
        name: Option<String>,
    ) -> Result<Party, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| "报告人".into());
        domain::check_chars("name", &name, 1, domain::MAX_NAME_CHARS)?;
        let phone = incident.resident_phone.map(|p| p.full().to_owned());
        let address = incident.address.clone().or(incident.place_name.clone());
        let now = self.now();
        self.update(id, incident.claimed_at, |case| {
            self.push_party(case, id, role, &name, phone.clone(), None, address.clone(), true, now)
        })
        .await
    }

    /// A party's full phone and ID number, for the holder or an operator in scope; the
    /// reveal is written to the case file's audit before anything is returned.
    ///
    /// # Errors
    /// `NotFound` (incident or party); `Unopenable` when the sealing key is gone.
    pub async fn reveal(&self, viewer: &Viewer, id: &IncidentId, party_id: &str) -> Result<Revealed, CaseFileError> {
        self.visible(viewer, id).await?;
        let actor = viewer.actor();
        let now = self.now();
        // Audit first: no record, no number.
        let party = self
            .update(id, None, |case| {
                let party = case.parties.iter().find(|p| p.id == party_id).cloned().ok_or(CaseFileError::NotFound)?;
                case.audit.push(AuditNote {
                    at: now,
                    actor: actor.clone(),
                    action: format!("revealed the phone and ID number of party {party_id}"),
                });
                Ok(party)
            })
            .await?;
        tracing::info!(incident_id = %id, party = %party_id, role = %actor.role, "party contact revealed");
        let open = |field: &str, v: &Option<domain::Sealed>| {
            v.as_ref().map(|s| self.inner.sealer.open(&format!("{id}:{}:{field}", party.id), s)).transpose()
        };
        Ok(Revealed { phone: open("phone", &party.phone)?, id_number: open("id_number", &party.id_number)? })
    }

    /// The holder removes a party before the agreement carries any signature; the removal is
    /// written to the case file's audit and the incident's timeline with it.
    ///
    /// # Errors
    /// `NotFound` (incident or party); `Conflict::PartySigned` once signing began.
    pub async fn remove_party(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        party_id: &str,
    ) -> Result<Party, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let actor = Viewer::Mediator(mediator.clone()).actor();
        let now = self.now();
        let party = self
            .update_with(id, incident.claimed_at, |case, effects| {
                let party = case.remove_party(party_id)?;
                let who = format!("{} {}", party.role.label(), party.name);
                case.audit.push(AuditNote {
                    at: now,
                    actor: actor.clone(),
                    action: format!("removed party {party_id} ({who})"),
                });
                let event = Event::CaseFile { step: "party_removed".into(), date: None, detail: Some(who) };
                effects.timeline.push(by_holder(mediator, now, event));
                Ok(party)
            })
            .await?;
        tracing::info!(incident_id = %id, party = %party_id, "party removed");
        Ok(party)
    }
}
