//! The case file's answers on the wire (masked parties, entries, signatures, agreement
//! versions, deadlines), built from the domain types in `casefile::domain`.

use crate::casefile::domain::{
    self, AgreementVersion, CaseFile, DueKind, FollowUpAction, Mark, Party, PartyRole, Performance, RecordEntry,
    Signature, Signer,
};
use crate::domain::category::Category;
use crate::domain::ids::IncidentId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A party as lists show it (masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// Id within the case.
    pub id: String,
    /// Role.
    pub role: PartyRole,
    /// The role's name on paper (申请人…).
    pub role_label: &'static str,
    /// Name.
    pub name: String,
    /// `138****5678`.
    pub phone_masked: Option<String>,
    /// First 6 and last 4 characters.
    pub id_number_masked: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Made from the resident who reported.
    pub from_reporter: bool,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        Self {
            id: p.id.clone(),
            role: p.role,
            role_label: p.role.label(),
            name: p.name.clone(),
            phone_masked: p.phone_masked.clone(),
            id_number_masked: p.id_number_masked.clone(),
            address: p.address.clone(),
            from_reporter: p.from_reporter,
        }
    }
}

/// A record entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// Id within the case.
    pub id: String,
    /// Session number.
    pub session: u32,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Text.
    pub text: String,
    /// Last edit.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<Timestamp>,
}

impl From<&RecordEntry> for EntryView {
    fn from(e: &RecordEntry) -> Self {
        Self { id: e.id.clone(), session: e.session, at: e.at, text: e.text.clone(), edited_at: e.edited_at }
    }
}

/// A signature (its image at `…/case/images/{image_sha256}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureView {
    /// Who.
    pub signer: Signer,
    /// Signature or thumb print.
    pub mark: Mark,
    /// The image's SHA-256.
    pub image_sha256: String,
    /// The signed text's SHA-256.
    pub text_sha256: String,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<&Signature> for SignatureView {
    fn from(s: &Signature) -> Self {
        Self {
            signer: s.signer.clone(),
            mark: s.mark,
            image_sha256: s.image_sha256.clone(),
            text_sha256: s.text_sha256.clone(),
            at: s.at,
        }
    }
}

/// One agreement version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementView {
    /// 1, 2, ….
    pub number: u32,
    /// The parties it binds: id, role, name.
    #[schema(value_type = Vec<Object>)]
    pub parties: Vec<domain::NamedParty>,
    /// Template category.
    #[schema(value_type = Option<String>)]
    pub template: Option<Category>,
    /// 纠纷主要事实.
    pub facts: String,
    /// 争议事项.
    pub issues: String,
    /// 各方责任.
    pub responsibility: String,
    /// 协议内容.
    pub terms: Vec<String>,
    /// 履行方式.
    pub performance_method: String,
    /// 履行地点.
    pub performance_place: String,
    /// 履行期限.
    #[schema(value_type = Option<String>, format = Date)]
    pub performance_due: Option<jiff::civil::Date>,
    /// The text the signatures bind (show it to each signer).
    pub text: String,
    /// Its SHA-256: send it back with each signature.
    pub text_sha256: String,
    /// Signatures so far.
    pub signatures: Vec<SignatureView>,
    /// Who still has to sign, in order (the mediator last).
    pub awaiting: Vec<Signer>,
    /// When it took effect.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_at: Option<Timestamp>,
}

impl From<&AgreementVersion> for AgreementView {
    fn from(v: &AgreementVersion) -> Self {
        let d = &v.draft;
        let mut awaiting: Vec<Signer> = v
            .parties
            .iter()
            .map(|p| Signer::Party { party_id: p.party_id.clone() })
            .filter(|s| !v.signed_by(s))
            .collect();
        if !v.signed_by(&Signer::Mediator) {
            awaiting.push(Signer::Mediator);
        }
        Self {
            number: v.number,
            parties: v.parties.clone(),
            template: d.template,
            facts: d.facts.clone(),
            issues: d.issues.clone(),
            responsibility: d.responsibility.clone(),
            terms: d.terms.clone(),
            performance_method: d.performance_method.clone(),
            performance_place: d.performance_place.clone(),
            performance_due: d.performance_due,
            text: v.canonical_text(),
            text_sha256: v.text_sha256(),
            signatures: v.signatures.iter().map(Into::into).collect(),
            awaiting,
            effective_at: v.effective_at,
        }
    }
}

/// An audited action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `mediator`, `operator`, `admin`.
    pub actor_role: String,
    /// Their id.
    pub actor_id: String,
    /// What.
    pub action: String,
}

/// The case file of one incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseFileView {
    /// The incident.
    pub incident_id: String,
    /// Parties.
    pub parties: Vec<PartyView>,
    /// Record entries, oldest first.
    pub record: Vec<EntryView>,
    /// The record's text hash (send it with a record signature).
    pub record_text_sha256: String,
    /// Signatures on the record.
    pub record_signatures: Vec<SignatureView>,
    /// Signed by the mediator: no more entries or edits.
    pub record_closed: bool,
    /// The current agreement version.
    pub agreement: Option<AgreementView>,
    /// The number of the version in effect.
    pub in_effect_version: Option<u32>,
    /// How many versions there are.
    pub versions: usize,
    /// Reveals and other audited actions.
    pub audit: Vec<AuditView>,
    /// Deadlines: the performance follow-up, the 司法确认 reminder, the mediation deadline.
    pub deadlines: Vec<DeadlineView>,
    /// Performance follow-ups recorded.
    pub follow_ups: Vec<FollowUpView>,
    /// The performance deadline fell due and no follow-up was recorded since: the phone asks
    /// for one.
    pub follow_up_due: bool,
    /// The last day the parties may apply for 司法确认 (Beijing time), while an agreement is
    /// in effect.
    #[schema(value_type = Option<String>, format = Date)]
    pub confirmation_apply_by: Option<jiff::civil::Date>,
    /// The 司法确认 application.
    pub confirmation: Option<ConfirmationView>,
    /// Extensions of the mediation deadline (the consenting parties' ids each).
    pub extensions: Vec<Vec<String>>,
}

/// A case-file deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineView {
    /// What for.
    pub kind: DueKind,
    /// When due.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// When it fired.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fired_at: Option<Timestamp>,
}

/// A performance follow-up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUpView {
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// What was found.
    pub performance: Performance,
    /// What followed (urged, then advised to sue).
    pub action: FollowUpAction,
    /// Notes.
    pub note: String,
}

/// A 司法确认 application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationView {
    /// The court.
    pub court: String,
    /// The day applied.
    #[schema(value_type = String, format = Date)]
    pub applied_on: jiff::civil::Date,
    /// `confirmed` / `rejected`.
    pub result: Option<String>,
}

pub(super) fn view(id: &IncidentId, c: &CaseFile) -> CaseFileView {
    CaseFileView {
        incident_id: id.to_string(),
        parties: c.parties.iter().map(Into::into).collect(),
        record: c.record.iter().map(Into::into).collect(),
        record_text_sha256: domain::sha256_hex(c.record_text().as_bytes()),
        record_signatures: c.record_signatures.iter().map(Into::into).collect(),
        record_closed: c.record_closed(),
        agreement: c.current().map(Into::into),
        in_effect_version: c.in_effect().map(|v| v.number),
        versions: c.versions.len(),
        audit: c
            .audit
            .iter()
            .map(|a| AuditView {
                at: a.at,
                actor_role: a.actor.role.clone(),
                actor_id: a.actor.id.clone(),
                action: a.action.clone(),
            })
            .collect(),
        deadlines: c
            .reminders
            .iter()
            .map(|r| DeadlineView { kind: r.kind, due_at: r.due_at, fired_at: r.fired_at })
            .collect(),
        follow_ups: c
            .follow_ups
            .iter()
            .map(|f| FollowUpView { at: f.at, performance: f.performance, action: f.action, note: f.note.clone() })
            .collect(),
        follow_up_due: c.follow_up_due(),
        confirmation_apply_by: crate::casefile::timers::confirmation_apply_by(c),
        confirmation: c.confirmation.as_ref().map(|x| ConfirmationView {
            court: x.court.clone(),
            applied_on: x.applied_on,
            result: x.result.clone(),
        }),
        extensions: c.extensions.clone(),
    }
}
