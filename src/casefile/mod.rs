//! The case file (卷宗, issue #20): what happens after the mediator arrives. Parties with
//! sealed phones and ID numbers, the mediation record (调解笔录), agreement versions drafted
//! from category templates (调解协议书), signatures with the hash of the text they signed, and
//! the A4 PDFs.
//!
//! - `domain/`: pure types and rules (freeze on signatures, mediator last, limits).
//! - `seal.rs`: sealing at rest with rotating keys.
//! - `store.rs` / `redis.rs`: the [`CaseFileStore`] port and its two backends; `conformance.rs`
//!   is their shared behaviour suite.
//! - `templates.rs`: common clauses per category. `pdf/`: layout and rendering.
//! - `grade.rs`: the difficulty grade (suggested, decided, audited); `subsidy.rs` and
//!   `subsidy_pdf.rs`: the monthly 以案定补 report per mediator and committee, CSV and PDF.
//! - `documents.rs`: the holder's writing: record entries, agreement drafts, signatures.
//! - `parties.rs`: adding, revealing (audited) and removing parties.
//! - `links.rs`: every party's own read-only link to their copy, texted to their phone.
//! - `after.rs`: after the agreement: follow-ups, 司法确认, extending the deadline.
//! - `timers.rs`: the deadlines on the shared timer runner, and what reaches people when
//!   they fall due.
//! - `settings.rs`: `[casefile]`: committees, the font, the deadlines, grading and subsidy.
//!
//! [`CaseFiles`] is the service handle. It reads incidents through the [`Dispatcher`] (to know
//! the holder and the operator's scope) and never writes them. Nothing here knows HTTP.

mod after;
mod documents;
pub mod domain;
pub mod grade;
pub mod links;
mod parties;
pub mod pdf;
pub mod redis;
pub mod seal;
mod settings;
pub mod store;
pub mod subsidy;
pub mod subsidy_pdf;
pub mod templates;
pub mod timers;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub(crate) use after::wire_name;
pub use documents::{Document, NewSignature};
pub use settings::{CaseFileSettings, Committee};

use crate::dispatch::{Dispatcher, Scope};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::store::{Directory, IncidentStore, Leases, Ports, StoreError, TimerOp};
use domain::{Actor, CaseFile, Conflict, DueKind, Invalid, PartyRole};
use seal::Sealer;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use store::{CaseFileStore, Effects};

/// Why a case-file action failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    /// No such incident, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// Only the holding mediator does this.
    #[error("only the mediator holding the case does this")]
    HolderOnly,
    /// A field is unusable.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The case file's rules refuse it now.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Too many concurrent writers.
    #[error("the case file is changing too fast; retry")]
    Contended,
    /// A sealed field does not open (its key is gone).
    #[error(transparent)]
    Unopenable(#[from] seal::Unopenable),
    /// PDFs cannot be made here (the font is missing).
    #[error("documents are unavailable: {0}")]
    PdfUnavailable(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::dispatch::DispatchError> for CaseFileError {
    fn from(e: crate::dispatch::DispatchError) -> Self {
        match e {
            crate::dispatch::DispatchError::Store(s) => Self::Store(s),
            _ => Self::NotFound,
        }
    }
}

/// Who asks.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// A mediator (sees only the incidents they hold).
    Mediator(AccountId),
    /// An operator or admin, with their scope and their id for the audit.
    Operator {
        /// Account id (or `operations`).
        id: AccountId,
        /// `operator` or `admin`.
        role: &'static str,
        /// What they see.
        scope: Scope,
    },
}

impl Viewer {
    fn actor(&self) -> Actor {
        match self {
            Self::Mediator(id) => Actor { role: "mediator".into(), id: id.to_string() },
            Self::Operator { id, role, .. } => Actor { role: (*role).into(), id: id.to_string() },
        }
    }
}

/// A party as the holder enters it.
#[derive(Debug, Clone)]
pub struct NewParty {
    /// Role.
    pub role: PartyRole,
    /// Name.
    pub name: String,
    /// Phone (plain; sealed here).
    pub phone: Option<String>,
    /// ID number (plain; sealed here).
    pub id_number: Option<String>,
    /// Address.
    pub address: Option<String>,
}

/// A party's revealed contact details.
#[derive(Debug, Clone)]
pub struct Revealed {
    /// Full phone.
    pub phone: Option<String>,
    /// Full ID number.
    pub id_number: Option<String>,
}

/// The case-file service. Cheap to clone.
#[derive(Clone)]
pub struct CaseFiles {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn CaseFileStore>,
    sealer: Sealer,
    dispatcher: Dispatcher,
    /// Incidents the case files belong to, and their timelines.
    incidents: Arc<dyn IncidentStore>,
    /// Holders' names on the PDFs, mediators' in the subsidy report.
    directory: Arc<dyn Directory>,
    /// The daily cap on texting a party's link.
    leases: Arc<dyn Leases>,
    settings: CaseFileSettings,
    /// Texts the parties' links; None when `sms.url` is empty.
    sms: Option<Arc<dyn crate::sms::SmsSender>>,
    /// Loaded on the first PDF (26 MB): most instances and tests never render one.
    font: OnceLock<Result<pdf::Typeface, String>>,
}

/// How many times a write re-reads after losing a race before answering `Contended`.
const WRITE_ATTEMPTS: usize = 8;

impl CaseFiles {
    /// Build the service on `store` and the incidents, directory and leases of `ports`, with
    /// the keys from `settings.keys` (a random key for this run when none are configured:
    /// logged, since nothing it seals survives a restart).
    ///
    /// # Errors
    /// A malformed key list.
    pub fn new(
        store: Arc<dyn CaseFileStore>,
        dispatcher: Dispatcher,
        ports: &Ports,
        settings: CaseFileSettings,
    ) -> Result<Self, seal::BadKeys> {
        let sealer = match &settings.keys {
            Some(spec) => Sealer::from_spec(spec.expose_secret())?,
            None => {
                tracing::warn!(
                    "no GD_CASEFILE__KEYS configured: parties' phones and ID numbers are sealed with a key for this \
                     run only and will not open after a restart"
                );
                Sealer::ephemeral()
            }
        };
        let sms = crate::sms::from_settings(&dispatcher.settings().sms);
        let (incidents, directory, leases) = (ports.incidents.clone(), ports.directory.clone(), ports.leases.clone());
        let inner =
            Inner { store, sealer, dispatcher, incidents, directory, leases, settings, sms, font: OnceLock::new() };
        Ok(Self { inner: Arc::new(inner) })
    }

    fn now(&self) -> jiff::Timestamp {
        self.inner.dispatcher.now()
    }

    /// The incident, if `viewer` may see its case file: its holder, or an operator in scope.
    async fn visible(&self, viewer: &Viewer, id: &IncidentId) -> Result<Incident, CaseFileError> {
        let incident = self.inner.incidents.get_incident(id).await?.ok_or(CaseFileError::NotFound)?;
        let sees = match viewer {
            Viewer::Mediator(me) => incident.claimed_by.as_ref() == Some(me),
            Viewer::Operator { scope, .. } => scope.sees(&incident),
        };
        if sees { Ok(incident) } else { Err(CaseFileError::NotFound) }
    }

    /// The incident, if `mediator` holds it.
    async fn held(&self, mediator: &AccountId, id: &IncidentId) -> Result<Incident, CaseFileError> {
        self.visible(&Viewer::Mediator(mediator.clone()), id).await
    }

    /// Read, change, compare-and-set; again on a lost race. Deadlines the change sets or
    /// moves are written with it (the document says what is pending; the shared timer set
    /// follows it in the same atomic write). The first write of a held case sets the
    /// mediation deadline from the claim.
    async fn update<T>(
        &self,
        id: &IncidentId,
        claimed_at: Option<jiff::Timestamp>,
        mut change: impl FnMut(&mut CaseFile) -> Result<T, CaseFileError>,
    ) -> Result<T, CaseFileError> {
        self.update_with(id, claimed_at, |case, _| change(case)).await
    }

    /// [`Self::update`], where the change also says what goes with it (timeline lines, bus
    /// messages).
    async fn update_with<T>(
        &self,
        id: &IncidentId,
        claimed_at: Option<jiff::Timestamp>,
        mut change: impl FnMut(&mut CaseFile, &mut Effects) -> Result<T, CaseFileError>,
    ) -> Result<T, CaseFileError> {
        for _ in 0..WRITE_ATTEMPTS {
            let stored = self.inner.store.load(id).await?;
            let mut case = stored.case.clone();
            if let Some(at) = claimed_at
                && !case.reminders.iter().any(|r| r.kind == DueKind::Deadline)
            {
                case.set_reminder(DueKind::Deadline, self.after(at, self.inner.settings.mediation_deadline));
            }
            let mut effects = Effects::default();
            let out = change(&mut case, &mut effects)?;
            effects.timers.extend(DueKind::ALL.into_iter().filter_map(|k| {
                let now = case.pending(k)?.due_at;
                let moved = stored.case.pending(k).map(|r| r.due_at) != Some(now);
                moved.then(|| TimerOp::Schedule(timers::key(id, k), now))
            }));
            if self.inner.store.save(id, stored.version, &case, &effects).await? {
                return Ok(out);
            }
        }
        Err(CaseFileError::Contended)
    }

    fn after(&self, t: jiff::Timestamp, d: std::time::Duration) -> jiff::Timestamp {
        jiff::SignedDuration::try_from(d).ok().and_then(|d| t.checked_add(d).ok()).unwrap_or(jiff::Timestamp::MAX)
    }

    /// The incident and its case file.
    ///
    /// # Errors
    /// `NotFound` when `viewer` may not see it; `Store`.
    pub async fn case_file(&self, viewer: &Viewer, id: &IncidentId) -> Result<(Incident, CaseFile), CaseFileError> {
        let incident = self.visible(viewer, id).await?;
        Ok((incident, self.inner.store.load(id).await?.case))
    }

    /// A signature image of a case `viewer` may see.
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn image(&self, viewer: &Viewer, id: &IncidentId, sha256: &str) -> Result<Vec<u8>, CaseFileError> {
        self.visible(viewer, id).await?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CaseFileError::NotFound);
        }
        self.inner.store.image(id, sha256).await?.ok_or(CaseFileError::NotFound)
    }

    /// The committee handling this incident: the most specific configured area, else the
    /// default name.
    #[must_use]
    pub fn committee_for(&self, incident: &Incident) -> (String, Option<PathBuf>) {
        match self.committee_of(incident) {
            Some(c) => (c.name.clone(), c.seal_png.clone()),
            None => (self.inner.settings.committee.clone(), None),
        }
    }

    /// Render a document of a case `viewer` may see, as PDF bytes.
    ///
    /// # Errors
    /// `NotFound`; `Conflict::NoAgreement` for an agreement not drafted; `PdfUnavailable`
    /// when the font is missing.
    pub async fn pdf(&self, viewer: &Viewer, id: &IncidentId, which: pdf::Which) -> Result<Vec<u8>, CaseFileError> {
        let (incident, case) = self.case_file(viewer, id).await?;
        if which == pdf::Which::Agreement && case.current().is_none() {
            return Err(Conflict::NoAgreement.into());
        }
        self.render(incident, case, which).await
    }

    /// The agreement in effect, for the resident holding the report's tracking token (their
    /// copy); 404 until one is in effect.
    ///
    /// # Errors
    /// `NotFound`; `PdfUnavailable`.
    pub async fn resident_agreement(&self, tracking_token: &str) -> Result<Vec<u8>, CaseFileError> {
        let incident = self.inner.dispatcher.tracked_incident(tracking_token).await?;
        let case = self.inner.store.load(&incident.id).await?.case;
        self.copy_in_effect(incident, case).await
    }

    /// A party's copy: the agreement in effect, as PDF; 404 until one is.
    async fn copy_in_effect(&self, incident: Incident, mut case: CaseFile) -> Result<Vec<u8>, CaseFileError> {
        let number = case.in_effect().map(|v| v.number).ok_or(CaseFileError::NotFound)?;
        // A later version still being signed is not theirs yet.
        case.versions.retain(|v| v.number <= number);
        self.render(incident, case, pdf::Which::Agreement).await
    }

    async fn render(&self, incident: Incident, case: CaseFile, which: pdf::Which) -> Result<Vec<u8>, CaseFileError> {
        let id = &incident.id.clone();
        let mut images = std::collections::HashMap::new();
        let signatures = case
            .versions
            .iter()
            .flat_map(|v| &v.signatures)
            .chain(&case.record_signatures)
            .map(|s| s.image_sha256.clone());
        for sha in signatures.collect::<std::collections::BTreeSet<_>>() {
            if let Some(bytes) = self.inner.store.image(id, &sha).await? {
                images.insert(sha, bytes);
            }
        }
        let (committee, seal_path) = self.committee_for(&incident);
        let timeline = if which == pdf::Which::CaseFile { self.inner.incidents.timeline(id).await? } else { vec![] };
        let mediator = match &incident.claimed_by {
            Some(m) => self.inner.directory.get_account(m).await?.map(|a| a.name).unwrap_or_default(),
            None => String::new(),
        };
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let seal = match seal_path {
                Some(p) => Some(std::fs::read(&p).map_err(|e| {
                    CaseFileError::PdfUnavailable(format!("the seal image {} cannot be read: {e}", p.display()))
                })?),
                None => None,
            };
            let input = pdf::Input { incident, case, images, committee, seal, mediator, timeline };
            let face = this.font()?;
            Ok(pdf::render(which, &input, &face))
        })
        .await
        .map_err(|e| CaseFileError::PdfUnavailable(format!("rendering stopped: {e}")))?
    }

    fn font(&self) -> Result<pdf::Typeface, CaseFileError> {
        let s = &self.inner.settings;
        self.inner
            .font
            .get_or_init(|| {
                let bytes = std::fs::read(&s.font_path)
                    .map_err(|e| format!("casefile.font_path {} cannot be read: {e}", s.font_path.display()))?;
                let advances = pdf::Advances::of(&bytes, s.font_face);
                let font = krilla::text::Font::new(Arc::new(bytes).into(), s.font_face).ok_or_else(|| {
                    format!("casefile.font_path {} face {} is not a font", s.font_path.display(), s.font_face)
                })?;
                Ok(pdf::Typeface { font, advances })
            })
            .clone()
            .map_err(CaseFileError::PdfUnavailable)
    }
}

/// The performance follow-up: 09:00 Asia/Shanghai on the agreed day.
///
/// # Errors
/// A day out of the representable range.
pub fn performance_check_at(day: jiff::civil::Date) -> Result<jiff::Timestamp, jiff::Error> {
    day.at(9, 0, 0, 0).to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).map(|z| z.timestamp())
}
