//! The case file's pure types and rules (no I/O): parties, the mediation record (调解笔录),
//! agreement versions (调解协议书) and their signatures, with the limits every input is held to.
//! Sealed fields are opaque here; `seal.rs` opens them.
//!
//! One file per concept, each adding its part of [`CaseFile`]'s rules: the parties
//! (`party.rs`), the record (`record.rs`), the agreement and its signatures (`agreement.rs`),
//! what comes after it (deadlines, follow-ups, 司法确认: `after.rs`), and the limits and
//! checks every input passes (`validation.rs`). Here the case file itself and its conflicts.

mod after;
mod agreement;
mod party;
mod record;
mod validation;

pub use after::{Confirmation, DueKind, FollowUp, FollowUpAction, Performance, Reminder};
pub use agreement::{AgreementDraft, AgreementVersion, Mark, NamedParty, Signature, Signer};
pub use party::{Actor, AuditNote, Party, PartyLink, PartyRole, Sealed};
pub use record::RecordEntry;
pub use validation::{
    ImageKind, Invalid, MAX_ADDRESS_CHARS, MAX_ENTRY_CHARS, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE_PX, MAX_NAME_CHARS,
    MAX_PARTIES, MAX_PERFORMANCE_CHARS, MAX_RECORD_ENTRIES, MAX_SECTION_CHARS, MAX_TERM_CHARS, MAX_TERMS, MAX_VERSIONS,
    TEXT_LAYOUT, check_chars, check_image, mask_id_number, mask_phone, parse_id_number, parse_phone, sha256_hex,
};

use serde::{Deserialize, Serialize};

/// Why a signature or an edit is refused (409s at the edge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// No agreement drafted yet.
    #[error("no agreement has been drafted")]
    NoAgreement,
    /// The text changed since the signer saw it.
    #[error("the text changed since it was shown: show it again and sign that")]
    TextChanged,
    /// This signer already signed this version.
    #[error("already signed")]
    AlreadySigned,
    /// The mediator signs only after every party.
    #[error("every party signs before the mediator")]
    PartiesFirst,
    /// The signer is not a party of this version.
    #[error("not a party of this version")]
    NotAParty,
    /// The record is signed: no more entries or edits.
    #[error("the record is signed and can no longer change")]
    RecordSigned,
    /// A limit on counts was reached.
    #[error("{0}")]
    Full(String),
    /// No such entry or party.
    #[error("no such {0}")]
    Missing(&'static str),
    /// Parties no longer change once the agreement carries a signature (or this party signed
    /// the record).
    #[error("the agreement is signed: its parties can no longer be removed")]
    PartySigned,
}

/// The whole case file of one incident.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CaseFile {
    /// Parties, in the order added.
    pub parties: Vec<Party>,
    /// The mediation record's entries, oldest first.
    pub record: Vec<RecordEntry>,
    /// Signatures on the record.
    #[serde(default)]
    pub record_signatures: Vec<Signature>,
    /// Agreement versions, oldest first; the last is the current one.
    pub versions: Vec<AgreementVersion>,
    /// Audited actions (reveals).
    pub audit: Vec<AuditNote>,
    /// Counter behind the ids handed out within this case.
    pub next_id: u64,
    /// Deadlines (performance follow-up, 司法确认 reminder, the mediation deadline).
    #[serde(default)]
    pub reminders: Vec<Reminder>,
    /// Performance follow-ups recorded.
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
    /// The 司法确认 application.
    #[serde(default)]
    pub confirmation: Option<Confirmation>,
    /// Extensions of the mediation deadline, each with every party's consent (party ids).
    #[serde(default)]
    pub extensions: Vec<Vec<String>>,
    /// The difficulty grade as decided (以案定补; `grade.rs`), none until someone decides.
    #[serde(default)]
    pub grade: Option<super::grade::Graded>,
    /// The amount in dispute (争议标的额), whole yuan, as the holder recorded it.
    #[serde(default)]
    pub amount_in_dispute_yuan: Option<u64>,
    /// Each party's own link to their copy (`/p/{token}`), the newest per party.
    #[serde(default)]
    pub party_links: Vec<PartyLink>,
}

impl CaseFile {
    /// A fresh id within this case (`p1`, `e2`, …).
    pub fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;
    use jiff::Timestamp;

    fn version_with(parties: &[&str]) -> CaseFile {
        let mut case = CaseFile::default();
        for name in parties {
            let id = case.fresh_id("p");
            case.parties.push(Party {
                id,
                role: PartyRole::Applicant,
                name: (*name).to_owned(),
                phone: None,
                phone_masked: None,
                id_number: None,
                id_number_masked: None,
                address: None,
                from_reporter: false,
                added_at: Timestamp::UNIX_EPOCH,
            });
        }
        let draft = AgreementDraft { terms: vec!["赔偿500元".into()], ..AgreementDraft::default() };
        case.draft(draft, Timestamp::UNIX_EPOCH).unwrap();
        case
    }

    fn sig(case: &CaseFile, signer: Signer) -> Signature {
        Signature {
            signer,
            mark: Mark::Signature,
            image_sha256: "00".into(),
            text_sha256: case.current().unwrap().text_sha256(),
            at: Timestamp::UNIX_EPOCH,
            taken_by: AccountId::operations(),
        }
    }

    #[test]
    fn the_mediator_signs_last_and_that_makes_it_take_effect() {
        let mut case = version_with(&["甲", "乙"]);
        let p1 = Signer::Party { party_id: case.parties[0].id.clone() };
        let p2 = Signer::Party { party_id: case.parties[1].id.clone() };
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(case.sign_agreement(sig(&case, Signer::Mediator), now), Err(Conflict::PartiesFirst));
        assert_eq!(case.sign_agreement(sig(&case, p1.clone()), now), Ok(false));
        assert_eq!(case.sign_agreement(sig(&case, p1), now), Err(Conflict::AlreadySigned));
        assert_eq!(case.sign_agreement(sig(&case, p2), now), Ok(false));
        assert_eq!(case.sign_agreement(sig(&case, Signer::Mediator), now), Ok(true));
        assert!(case.in_effect().is_some());
    }

    #[test]
    fn a_deadline_fires_once_however_often_it_is_delivered() {
        let mut case = version_with(&["甲"]);
        let t = |s| Timestamp::from_second(s).unwrap();
        case.set_reminder(DueKind::Deadline, t(100));
        assert!(!case.fire(DueKind::Deadline, t(99)), "not before it is due");
        assert!(case.fire(DueKind::Deadline, t(100)));
        assert!(!case.fire(DueKind::Deadline, t(160)), "a redelivery changes nothing");
        assert_eq!(case.reminders[0].fired_at, Some(t(100)));
        assert_eq!(case.reminders.len(), 1);
    }

    #[test]
    fn a_party_is_removed_until_the_agreement_carries_a_signature() {
        let mut case = version_with(&["甲", "乙", "丙"]);
        let (p2, p3) = (case.parties[1].id.clone(), case.parties[2].id.clone());
        assert_eq!(case.remove_party("p99"), Err(Conflict::Missing("party")));
        assert_eq!(case.remove_party(&p3).map(|p| p.name), Ok("丙".to_owned()));
        assert_eq!(case.current().unwrap().parties.len(), 2, "gone from the unsigned draft too");
        let signer = Signer::Party { party_id: case.parties[0].id.clone() };
        case.sign_agreement(sig(&case, signer), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(case.remove_party(&p2), Err(Conflict::PartySigned));
        assert_eq!(case.parties.len(), 2);
    }

    #[test]
    fn an_edit_after_a_signature_makes_a_new_version_needing_every_signature() {
        let mut case = version_with(&["甲"]);
        let p1 = Signer::Party { party_id: case.parties[0].id.clone() };
        let old = sig(&case, p1.clone());
        case.sign_agreement(old.clone(), Timestamp::UNIX_EPOCH).unwrap();
        let draft = AgreementDraft { terms: vec!["赔偿600元".into()], ..AgreementDraft::default() };
        case.draft(draft, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(case.versions.len(), 2);
        assert!(case.current().unwrap().signatures.is_empty());
        assert_eq!(case.sign_agreement(old, Timestamp::UNIX_EPOCH), Err(Conflict::TextChanged));
    }
}
