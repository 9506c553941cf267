//! The parties (当事人): their roles, sealed particulars, each party's own link to their copy,
//! and who did what to the case file (the audit); removing a party entered by mistake.

use super::{CaseFile, Conflict, Signer};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A party's place in the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// 申请人.
    Applicant,
    /// 被申请人.
    Respondent,
    /// 第三人.
    ThirdParty,
    /// 委托代理人.
    Agent,
}

impl PartyRole {
    /// The role's name on paper.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Applicant => "申请人",
            Self::Respondent => "被申请人",
            Self::ThirdParty => "第三人",
            Self::Agent => "委托代理人",
        }
    }
}

/// A ciphertext with the id of the key that sealed it (`seal.rs`): `kid.nonce.ciphertext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed(pub String);

/// One party (当事人).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// Opaque id within the case.
    pub id: String,
    /// 申请人 / 被申请人 / 第三人 / 代理人.
    pub role: PartyRole,
    /// Full name.
    pub name: String,
    /// The phone, sealed.
    pub phone: Option<Sealed>,
    /// The phone as lists show it (`138****5678`).
    pub phone_masked: Option<String>,
    /// The ID number, sealed.
    pub id_number: Option<Sealed>,
    /// The ID number as lists show it (first 6 and last 4).
    pub id_number_masked: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Made from the resident who reported.
    pub from_reporter: bool,
    /// When it was added.
    pub added_at: Timestamp,
}

/// Who did something to a case file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `mediator`, `operator` or `admin`.
    pub role: String,
    /// Their account id (or `operations`).
    pub id: String,
}

/// One audited action on the case file (reveals, grades).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditNote {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// What, in words (never the revealed value).
    pub action: String,
}

/// A party's read-only capability link to their copy of the agreement and the case's dates
/// (`/p/{incident}.{party}.{secret}`): re-issuing replaces it (the old one stops working).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyLink {
    /// Whose.
    pub party_id: String,
    /// The secret part, sealed (the holder's page shows the link and its QR code).
    pub secret: Sealed,
    /// SHA-256 (hex) of the secret, compared on every visit.
    pub secret_sha256: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When the SMS gateway accepted the text carrying it.
    #[serde(default)]
    pub texted_at: Option<Timestamp>,
}

impl CaseFile {
    /// Remove a party before anything is signed: from the case and from the unsigned draft.
    ///
    /// # Errors
    /// `Missing` for an unknown party; `PartySigned` once any agreement version carries a
    /// signature or this party signed the record.
    pub fn remove_party(&mut self, party_id: &str) -> Result<Party, Conflict> {
        let at = self.parties.iter().position(|p| p.id == party_id).ok_or(Conflict::Missing("party"))?;
        let signed_record =
            self.record_signatures.iter().any(|s| matches!(&s.signer, Signer::Party { party_id: p } if p == party_id));
        if signed_record || self.versions.iter().any(|v| !v.signatures.is_empty()) {
            return Err(Conflict::PartySigned);
        }
        if let Some(v) = self.versions.last_mut() {
            v.parties.retain(|p| p.party_id != party_id);
        }
        Ok(self.parties.remove(at))
    }
}
