//! The mediation record (调解笔录): its entries, its canonical text and its signatures (the
//! mediator's, last, closes it).

use super::{CaseFile, Conflict, Signature, Signer, sha256_hex};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One record entry (a paragraph of 调解笔录).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEntry {
    /// Opaque id within the case.
    pub id: String,
    /// Which session (1, 2, …).
    pub session: u32,
    /// When it was said.
    pub at: Timestamp,
    /// What was said.
    pub text: String,
    /// When it was last edited.
    pub edited_at: Option<Timestamp>,
}

impl CaseFile {
    /// The record's canonical text (what its signatures bind).
    #[must_use]
    pub fn record_text(&self) -> String {
        let mut s = String::from("record-v1\n");
        for e in &self.record {
            s.push_str(&format!("{} {} {}\n", e.session, e.at, e.text));
        }
        s
    }

    /// Whether the record is signed by the mediator (then it no longer changes).
    #[must_use]
    pub fn record_closed(&self) -> bool {
        self.record_signatures.iter().any(|s| s.signer == Signer::Mediator)
    }

    /// Add a signature to the record; the mediator's, last, closes it.
    ///
    /// # Errors
    /// [`Conflict`] as named.
    pub fn sign_record(&mut self, signature: Signature) -> Result<(), Conflict> {
        if self.record_closed() {
            return Err(Conflict::RecordSigned);
        }
        if signature.text_sha256 != sha256_hex(self.record_text().as_bytes()) {
            return Err(Conflict::TextChanged);
        }
        if self.record_signatures.iter().any(|s| s.signer == signature.signer) {
            return Err(Conflict::AlreadySigned);
        }
        if let Signer::Party { party_id } = &signature.signer
            && !self.parties.iter().any(|p| &p.id == party_id)
        {
            return Err(Conflict::NotAParty);
        }
        self.record_signatures.push(signature);
        Ok(())
    }
}
