//! The agreement (调解协议书): drafts, versions frozen by their first signature, the canonical
//! text the signatures bind, and signing (every party, then the mediator, which makes it take
//! effect).

use super::{
    CaseFile, Conflict, Invalid, MAX_PERFORMANCE_CHARS, MAX_SECTION_CHARS, MAX_TERM_CHARS, MAX_TERMS, MAX_VERSIONS,
    PartyRole, TEXT_LAYOUT, check_chars, sha256_hex,
};
use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Who signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signer {
    /// A party (by id).
    Party {
        /// The party's id.
        party_id: String,
    },
    /// The mediator who holds the case (signs last).
    Mediator,
}

/// How a signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// A finger signature on the phone's canvas.
    Signature,
    /// A photographed thumb print, for a party who cannot write.
    ThumbPrint,
}

/// One signature on a document: an image, bound to the text it signed by that text's hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// Who signed.
    pub signer: Signer,
    /// Signature or thumb print.
    pub mark: Mark,
    /// SHA-256 (hex) of the image, which the store keeps beside the case file.
    pub image_sha256: String,
    /// SHA-256 (hex) of the text signed ([`AgreementVersion::text_sha256`] or the record's).
    pub text_sha256: String,
    /// Server time of signing.
    pub at: Timestamp,
    /// The mediator's account that took it.
    pub taken_by: AccountId,
}

/// The agreement's content, as drafted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgreementDraft {
    /// The category template it started from.
    pub template: Option<Category>,
    /// 纠纷主要事实.
    pub facts: String,
    /// 争议事项.
    pub issues: String,
    /// 各方责任.
    pub responsibility: String,
    /// 协议内容: the terms, numbered on paper.
    pub terms: Vec<String>,
    /// 履行方式.
    pub performance_method: String,
    /// 履行地点.
    pub performance_place: String,
    /// 履行期限: by which day.
    pub performance_due: Option<jiff::civil::Date>,
}

impl AgreementDraft {
    /// Check every limit.
    ///
    /// # Errors
    /// The first field out of its limits.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (field, text) in
            [("facts", &self.facts), ("issues", &self.issues), ("responsibility", &self.responsibility)]
        {
            check_chars(field, text, 0, MAX_SECTION_CHARS)?;
        }
        if self.terms.is_empty() || self.terms.len() > MAX_TERMS {
            return Err(Invalid::new("terms", format!("1..={MAX_TERMS} terms")));
        }
        for t in &self.terms {
            check_chars("terms", t, 1, MAX_TERM_CHARS)?;
        }
        check_chars("performance_method", &self.performance_method, 0, MAX_PERFORMANCE_CHARS)?;
        check_chars("performance_place", &self.performance_place, 0, MAX_PERFORMANCE_CHARS)?;
        Ok(())
    }
}

/// A party as a version names it (the particulars printed on it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedParty {
    /// The party's id.
    pub party_id: String,
    /// Role.
    pub role: PartyRole,
    /// Name.
    pub name: String,
}

/// One version of the agreement. Frozen once it has any signature: a change makes the next
/// version, which needs every signature again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementVersion {
    /// 1, 2, ….
    pub number: u32,
    /// The parties it binds (those on the case when it was drafted).
    pub parties: Vec<NamedParty>,
    /// The content.
    pub draft: AgreementDraft,
    /// When it was drafted (last edited, while unsigned).
    pub drafted_at: Timestamp,
    /// Signatures so far.
    pub signatures: Vec<Signature>,
    /// When the last signature (the mediator's) made it take effect.
    pub effective_at: Option<Timestamp>,
}

impl AgreementVersion {
    /// The canonical text the signatures bind: layout id, parties and every section.
    #[must_use]
    pub fn canonical_text(&self) -> String {
        let d = &self.draft;
        let mut s = format!("{TEXT_LAYOUT}\n第{}版\n", self.number);
        for p in &self.parties {
            s.push_str(&format!("{}：{}\n", p.role.label(), p.name));
        }
        s.push_str(&format!("事实：{}\n争议：{}\n责任：{}\n", d.facts, d.issues, d.responsibility));
        for (i, t) in d.terms.iter().enumerate() {
            s.push_str(&format!("{}、{}\n", i + 1, t));
        }
        let due = d.performance_due.map(|x| x.to_string()).unwrap_or_default();
        s.push_str(&format!("方式：{}\n地点：{}\n期限：{}\n", d.performance_method, d.performance_place, due));
        s
    }

    /// SHA-256 (hex) of [`Self::canonical_text`].
    #[must_use]
    pub fn text_sha256(&self) -> String {
        sha256_hex(self.canonical_text().as_bytes())
    }

    /// Whether every party of this version has signed.
    #[must_use]
    pub fn parties_signed(&self) -> bool {
        self.parties.iter().all(|p| self.signed_by(&Signer::Party { party_id: p.party_id.clone() }))
    }

    /// Whether `signer` has signed this version.
    #[must_use]
    pub fn signed_by(&self, signer: &Signer) -> bool {
        self.signatures.iter().any(|s| &s.signer == signer)
    }
}

impl CaseFile {
    /// The current (latest) agreement version.
    #[must_use]
    pub fn current(&self) -> Option<&AgreementVersion> {
        self.versions.last()
    }

    /// The latest version that took effect.
    #[must_use]
    pub fn in_effect(&self) -> Option<&AgreementVersion> {
        self.versions.iter().rev().find(|v| v.effective_at.is_some())
    }

    /// Draft or redraft the agreement. An unsigned current version is edited in place; one
    /// with any signature stays as it is and the draft becomes the next version.
    ///
    /// # Errors
    /// `Full` past [`MAX_VERSIONS`].
    pub fn draft(&mut self, draft: AgreementDraft, now: Timestamp) -> Result<&AgreementVersion, Conflict> {
        let parties = self
            .parties
            .iter()
            .map(|p| NamedParty { party_id: p.id.clone(), role: p.role, name: p.name.clone() })
            .collect();
        match self.versions.last_mut() {
            Some(v) if v.signatures.is_empty() => {
                v.parties = parties;
                v.draft = draft;
                v.drafted_at = now;
            }
            last => {
                let number = last.map_or(1, |v| v.number + 1);
                if self.versions.len() >= MAX_VERSIONS {
                    return Err(Conflict::Full(format!("at most {MAX_VERSIONS} agreement versions")));
                }
                self.versions.push(AgreementVersion {
                    number,
                    parties,
                    draft,
                    drafted_at: now,
                    signatures: vec![],
                    effective_at: None,
                });
            }
        }
        self.versions.last().ok_or(Conflict::NoAgreement)
    }

    /// Add a signature to the current agreement version. The mediator's, last, makes it
    /// take effect. Returns whether it took effect now.
    ///
    /// # Errors
    /// [`Conflict`] as named.
    pub fn sign_agreement(&mut self, signature: Signature, now: Timestamp) -> Result<bool, Conflict> {
        let v = self.versions.last_mut().ok_or(Conflict::NoAgreement)?;
        if signature.text_sha256 != v.text_sha256() {
            return Err(Conflict::TextChanged);
        }
        if v.signed_by(&signature.signer) {
            return Err(Conflict::AlreadySigned);
        }
        match &signature.signer {
            Signer::Party { party_id } if !v.parties.iter().any(|p| &p.party_id == party_id) => {
                return Err(Conflict::NotAParty);
            }
            Signer::Mediator if !v.parties_signed() => return Err(Conflict::PartiesFirst),
            _ => {}
        }
        let takes_effect = signature.signer == Signer::Mediator;
        v.signatures.push(signature);
        if takes_effect {
            v.effective_at = Some(now);
        }
        Ok(takes_effect)
    }
}
