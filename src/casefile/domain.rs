//! The case file's pure types and rules (no I/O): parties, the mediation record (调解笔录),
//! agreement versions (调解协议书) and their signatures, with the limits every input is held to.
//! Sealed fields are opaque here; `seal.rs` opens them.

use crate::domain::category::Category;
use crate::domain::ids::AccountId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most parties on one case.
pub const MAX_PARTIES: usize = 10;
/// Longest party name, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Most record entries on one case.
pub const MAX_RECORD_ENTRIES: usize = 300;
/// Longest record entry, in characters.
pub const MAX_ENTRY_CHARS: usize = 5000;
/// Longest agreement section (facts, points in dispute, responsibility), in characters.
pub const MAX_SECTION_CHARS: usize = 5000;
/// Most agreed terms.
pub const MAX_TERMS: usize = 30;
/// Longest agreed term, in characters.
pub const MAX_TERM_CHARS: usize = 1000;
/// Longest performance method or place, in characters.
pub const MAX_PERFORMANCE_CHARS: usize = 500;
/// Most agreement versions one case may go through.
pub const MAX_VERSIONS: usize = 50;
/// Largest signature or thumb-print image, in bytes (decoded).
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;
/// Largest signature image side, in pixels.
pub const MAX_IMAGE_SIDE_PX: u32 = 3000;
/// The layout the text hash covers: a new layout changes every hash.
pub const TEXT_LAYOUT: &str = "agreement-v1";

/// A field the case file refuses, in domain words (the HTTP edge makes it a 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct Invalid {
    /// Which field.
    pub field: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl Invalid {
    /// Field `field` is wrong because `why`.
    #[must_use]
    pub fn new(field: &'static str, why: impl Into<String>) -> Self {
        Self { field, why: why.into() }
    }
}

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

/// What a case-file deadline is for (durable timers in the case file's own port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// Check on the performance at the agreed date (回访, 督促履行).
    Performance,
    /// Remind the parties and the mediator of 司法确认 while its 30-day window is open.
    Confirmation,
    /// The one-month mediation deadline.
    Deadline,
}

impl DueKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Performance, Self::Confirmation, Self::Deadline];

    /// Stable name inside stored timer members.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Performance => "performance",
            Self::Confirmation => "confirmation",
            Self::Deadline => "deadline",
        }
    }

    /// Parse a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A deadline of the case file and whether it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    /// What for.
    pub kind: DueKind,
    /// When it is due.
    pub due_at: Timestamp,
    /// When it fired (once).
    pub fired_at: Option<Timestamp>,
}

/// How the agreement was performed, as the mediator found at a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Performance {
    /// 已履行.
    Performed,
    /// 部分履行.
    Partly,
    /// 未履行.
    NotPerformed,
}

/// What the mediator did about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpAction {
    /// Nothing more to do.
    None,
    /// Urged the party to perform (督促履行).
    Urged,
    /// Not performed after urging: advised to sue (告知可向人民法院起诉).
    AdvisedToSue,
}

/// One performance follow-up (回访).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// When recorded.
    pub at: Timestamp,
    /// What was found.
    pub performance: Performance,
    /// What followed.
    pub action: FollowUpAction,
    /// Notes.
    pub note: String,
}

/// A 司法确认 application and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The court applied to.
    pub court: String,
    /// The day the parties applied.
    pub applied_on: jiff::civil::Date,
    /// `confirmed` or `rejected`, once known.
    pub result: Option<String>,
    /// When the result was recorded.
    pub result_at: Option<Timestamp>,
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
    /// A fresh id within this case (`p1`, `e2`, …).
    pub fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

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

    /// Set (or move) the pending deadline of `kind` to `due_at`.
    pub fn set_reminder(&mut self, kind: DueKind, due_at: Timestamp) {
        self.reminders.retain(|r| r.kind != kind || r.fired_at.is_some());
        self.reminders.push(Reminder { kind, due_at, fired_at: None });
    }

    /// The pending deadline of `kind`, if any.
    #[must_use]
    pub fn pending(&self, kind: DueKind) -> Option<&Reminder> {
        self.reminders.iter().find(|r| r.kind == kind && r.fired_at.is_none())
    }

    /// Fire the deadline of `kind` if it is due and still matters; true when it fired now.
    /// A second call (a timer delivered twice) finds nothing pending: exactly-once effect.
    pub fn fire(&mut self, kind: DueKind, now: Timestamp) -> bool {
        let matters = match kind {
            // Not followed up yet, or urged at the last follow-up (it comes due again).
            DueKind::Performance => {
                self.in_effect().is_some() && self.follow_ups.last().is_none_or(|f| f.action == FollowUpAction::Urged)
            }
            DueKind::Confirmation => self.in_effect().is_some() && self.confirmation.is_none(),
            DueKind::Deadline => self.in_effect().is_none(),
        };
        let due = |r: &Reminder| r.kind == kind && r.fired_at.is_none() && r.due_at <= now;
        if !matters {
            // Moot (performed already, applied already, agreed in time): dropped, not fired.
            self.reminders.retain(|r| !due(r));
            return false;
        }
        match self.reminders.iter_mut().find(|r| due(r)) {
            Some(r) => {
                r.fired_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// Whether a follow-up is due: the performance deadline fired since the last one recorded.
    #[must_use]
    pub fn follow_up_due(&self) -> bool {
        let fired = self.reminders.iter().filter(|r| r.kind == DueKind::Performance).filter_map(|r| r.fired_at).max();
        let last = self.follow_ups.last().map(|f| f.at);
        fired.is_some_and(|f| last.is_none_or(|l| l < f))
    }

    /// Record a follow-up; not performed after an earlier "not performed" is advised to sue.
    pub fn follow_up(&mut self, performance: Performance, note: String, now: Timestamp) -> FollowUp {
        let action = match performance {
            Performance::Performed => FollowUpAction::None,
            _ if self.follow_ups.iter().any(|f| f.action == FollowUpAction::Urged) => FollowUpAction::AdvisedToSue,
            _ => FollowUpAction::Urged,
        };
        let f = FollowUp { at: now, performance, action, note };
        self.follow_ups.push(f.clone());
        f
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

/// Characters of `text` within `min..=max`.
///
/// # Errors
/// [`Invalid`] naming `field`.
pub fn check_chars(field: &'static str, text: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let n = text.chars().count();
    if n < min || n > max {
        return Err(Invalid::new(field, format!("must be {min}..={max} characters (got {n})")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// A phone as parties give it: 5..=20 of digits, `+`, `-` and spaces, at least 5 digits.
///
/// # Errors
/// [`Invalid`] on `phone`.
pub fn parse_phone(raw: &str) -> Result<String, Invalid> {
    let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if s.len() > 20 || digits < 5 || !s.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
        return Err(Invalid::new("phone", "a phone number: 5..=20 digits, '+' or '-'"));
    }
    Ok(s)
}

/// A mainland resident ID number (18 characters, checksum verified; `x` is read as `X`).
///
/// # Errors
/// [`Invalid`] on `id_number`.
pub fn parse_id_number(raw: &str) -> Result<String, Invalid> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let s = raw.trim().to_ascii_uppercase();
    let bytes = s.as_bytes();
    let bad = || Invalid::new("id_number", "an 18-character resident ID number with a valid last digit");
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    if CHECK[(sum % 11) as usize] != bytes[17] {
        return Err(bad());
    }
    Ok(s)
}

/// `13812345678` → `138****5678`; short numbers keep only their last 4.
#[must_use]
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        format!("****{tail}")
    }
}

/// An ID number with all but the first 6 and last 4 characters hidden.
#[must_use]
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// SHA-256 as lowercase hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What kind of image these bytes are, after checking size and (for PNG) dimensions.
///
/// # Errors
/// [`Invalid`] on `image`.
pub fn check_image(bytes: &[u8]) -> Result<ImageKind, Invalid> {
    if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
        return Err(Invalid::new("image", format!("1..={MAX_IMAGE_BYTES} bytes")));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageKind::Jpeg);
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().map_err(|_| Invalid::new("image", "must be a PNG or JPEG image"))?;
    let info = reader.info();
    if info.width == 0 || info.height == 0 || info.width > MAX_IMAGE_SIDE_PX || info.height > MAX_IMAGE_SIDE_PX {
        return Err(Invalid::new("image", format!("sides must be 1..={MAX_IMAGE_SIDE_PX} px")));
    }
    Ok(ImageKind::Png)
}

/// A signature image's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG (canvas signatures, seals).
    Png,
    /// JPEG (photographed thumb prints).
    Jpeg,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_numbers_are_checked_by_their_last_digit() {
        assert_eq!(parse_id_number("11010519491231002x").unwrap(), "11010519491231002X");
        assert!(parse_id_number("110105194912310021").is_err());
        assert!(parse_id_number("1101051949123100").is_err());
    }

    #[test]
    fn phones_and_id_numbers_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
    }

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
