//! The holder's writing: record entries (added and edited until the record is signed),
//! agreement drafts (a signed version stays, a change becomes the next), and signatures on
//! either document; the agreement's taking effect sets its deadlines and issues the parties'
//! links.

use super::domain::{
    self, AgreementDraft, AgreementVersion, Conflict, DueKind, Invalid, Mark, RecordEntry, Signature, Signer,
};
use super::{CaseFileError, CaseFiles, performance_check_at};
use crate::domain::ids::{AccountId, IncidentId};

/// A new signature as the phone sends it.
#[derive(Debug, Clone)]
pub struct NewSignature {
    /// Who signs.
    pub signer: Signer,
    /// Signature or thumb print.
    pub mark: Mark,
    /// PNG (canvas) or JPEG (thumb-print photo).
    pub image: Vec<u8>,
    /// The hash of the text shown to the signer.
    pub text_sha256: String,
}

/// Which document is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 调解笔录.
    Record,
    /// 调解协议书 (its current version).
    Agreement,
}

impl CaseFiles {
    /// The holder adds a record entry (session ≥ 1).
    ///
    /// # Errors
    /// `NotFound`; `Invalid`; `Conflict::RecordSigned` once the mediator signed the record.
    pub async fn add_entry(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        session: u32,
        text: &str,
    ) -> Result<RecordEntry, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let text = text.trim();
        domain::check_chars("text", text, 1, domain::MAX_ENTRY_CHARS)?;
        if !(1..=99).contains(&session) {
            return Err(Invalid::new("session", "1..=99").into());
        }
        let now = self.now();
        self.update(id, incident.claimed_at, |case| {
            if case.record_closed() {
                return Err(Conflict::RecordSigned.into());
            }
            if case.record.len() >= domain::MAX_RECORD_ENTRIES {
                return Err(Conflict::Full(format!("at most {} entries", domain::MAX_RECORD_ENTRIES)).into());
            }
            let entry =
                RecordEntry { id: case.fresh_id("e"), session, at: now, text: text.to_owned(), edited_at: None };
            case.record.push(entry.clone());
            // Any party signature so far covered other text.
            case.record_signatures.clear();
            Ok(entry)
        })
        .await
    }

    /// The holder edits a record entry until the record is signed.
    ///
    /// # Errors
    /// As [`Self::add_entry`]; `Conflict::Missing` for an unknown entry.
    pub async fn edit_entry(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        entry_id: &str,
        text: &str,
    ) -> Result<RecordEntry, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        let text = text.trim();
        domain::check_chars("text", text, 1, domain::MAX_ENTRY_CHARS)?;
        let now = self.now();
        self.update(id, incident.claimed_at, |case| {
            if case.record_closed() {
                return Err(Conflict::RecordSigned.into());
            }
            let entry = case.record.iter_mut().find(|e| e.id == entry_id).ok_or(Conflict::Missing("entry"))?;
            entry.text = text.to_owned();
            entry.edited_at = Some(now);
            let entry = entry.clone();
            case.record_signatures.clear();
            Ok(entry)
        })
        .await
    }

    /// The holder drafts the agreement (or changes it: a signed version stays, the change
    /// becomes the next version).
    ///
    /// # Errors
    /// `NotFound`; `Invalid`; `Conflict::Full` (no parties yet, or too many versions).
    pub async fn draft(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        draft: AgreementDraft,
    ) -> Result<AgreementVersion, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        draft.validate()?;
        let now = self.now();
        let version = self
            .update(id, incident.claimed_at, |case| {
                if case.parties.is_empty() {
                    return Err(Conflict::Full("add the parties before drafting the agreement".into()).into());
                }
                Ok(case.draft(draft.clone(), now)?.clone())
            })
            .await?;
        tracing::info!(incident_id = %id, version = version.number, "agreement drafted");
        Ok(version)
    }

    /// A signature taken on the holder's phone. Returns whether the agreement took effect.
    ///
    /// # Errors
    /// `NotFound`; `Invalid` (image); [`Conflict`] (text changed, order, duplicates).
    pub async fn sign(
        &self,
        mediator: &AccountId,
        id: &IncidentId,
        document: Document,
        new: NewSignature,
    ) -> Result<bool, CaseFileError> {
        let incident = self.held(mediator, id).await?;
        domain::check_image(&new.image)?;
        let image_sha256 = domain::sha256_hex(&new.image);
        // Content-addressed: stored before the signature names it, harmless if it stays unused.
        self.inner.store.put_image(id, &image_sha256, &new.image).await?;
        let now = self.now();
        let signature = Signature {
            signer: new.signer,
            mark: new.mark,
            image_sha256,
            text_sha256: new.text_sha256,
            at: now,
            taken_by: mediator.clone(),
        };
        let remind_at = self.after(now, self.inner.settings.confirmation_remind_after);
        let (took_effect, linked) = self
            .update(id, incident.claimed_at, |case| match document {
                Document::Agreement => {
                    let took_effect = case.sign_agreement(signature.clone(), now)?;
                    let mut linked = vec![];
                    if took_effect {
                        linked = self.issue_missing_links(case, id, now);
                        let due = case.in_effect().and_then(|v| v.draft.performance_due);
                        if let Some(at) = due.and_then(|d| performance_check_at(d).ok()) {
                            case.set_reminder(DueKind::Performance, at);
                        }
                        case.set_reminder(DueKind::Confirmation, remind_at);
                    }
                    Ok((took_effect, linked))
                }
                Document::Record => case.sign_record(signature.clone()).map(|()| (false, vec![])).map_err(Into::into),
            })
            .await?;
        if took_effect {
            tracing::info!(incident_id = %id, "agreement took effect");
            // Texting waits on the gateway: the holder's phone does not.
            let this = self.clone();
            tokio::spawn(async move { this.text_links(&incident, &linked).await });
        }
        Ok(took_effect)
    }
}
