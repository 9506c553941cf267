//! Filing a report: place it, find the nearest available mediators (the first wave) and look
//! back for duplicates, then file it through the state machine (`Command::File`) like every
//! other change, and hand the transition to the engine's one atomic write
//! (`Dispatcher::create`), which stores it with its deadlines, offers and hot-spot note and
//! publishes the offers.

use super::Reports;
use super::look_back::HOTSPOT_WINDOW;
use crate::auth;
use crate::dispatch::{Actor, DispatchError};
use crate::domain::account::Phone;
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{IncidentId, SceneId};
use crate::domain::incident::{self, Command, Filing, Incident, Offer, Report};
use crate::domain::location::GeoPoint;
use crate::store::{AreaNote, Creation, IdempotencyClaim, NoteInArea, WriteOutcome};
use jiff::SignedDuration;
use tracing::instrument;

/// A resident's report, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// The QR scene scanned, if any.
    pub scene: Option<SceneId>,
    /// Where, if given (wins over the scene's place).
    pub location: Option<GeoPoint>,
    /// Kind.
    pub category: Category,
    /// Words.
    pub description: String,
    /// Phone to call back on.
    pub phone: Option<Phone>,
    /// Colour chosen by the resident.
    pub risk: Option<Risk>,
    /// Where, in the resident's words (an address or landmark); alone it files the report at
    /// the district's centre, straight to the command center.
    pub address: Option<String>,
}

/// What the resident gets back.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportReceipt {
    /// The stored incident.
    pub incident: Incident,
    /// The secret that reads it (never stored in clear).
    pub tracking_token: String,
    /// True when this was a retry answered from the first request.
    pub replayed: bool,
}

impl Reports {
    /// File a resident's report, without an allowance (the allowance is [`Reports::file`]'s;
    /// the demo's simulated residents file here).
    ///
    /// `idempotency` is the caller-scoped key and a fingerprint of the request body.
    ///
    /// # Errors
    /// `Invalid` for an unknown scene or a report with no place; `IdempotencyMismatch`; `Store`.
    #[instrument(skip_all)]
    pub async fn report(
        &self,
        new: NewReport,
        idempotency: Option<(String, String)>,
    ) -> Result<ReportReceipt, DispatchError> {
        let engine = &self.engine;
        let found = self.place_of(&new).await?;
        let place = found.point;
        let s = &engine.settings().dispatch;
        let now = engine.now();
        let risk = engine.settings().triage.rules().assess(new.category, &new.description, new.risk);
        // A place known only in words cannot be offered by distance: the command center reads
        // the address and sends someone (the same path as "nobody near").
        let first_wave = async {
            if found.approximate { Ok((1, vec![])) } else { self.waves.first_wave(place, new.category).await }
        };
        let ((wave, chosen), (duplicate_of, recurring)) = tokio::try_join!(first_wave, self.look_back(place, now))?;
        let area = engine.locate(place);
        // The district's centre names nothing: the resident's words are the place.
        let place_name = if found.approximate { None } else { found.scene_name.or_else(|| self.area_names(&area)) };
        let filing = Filing {
            report: Report {
                id: IncidentId::generate(),
                category: new.category,
                risk,
                description: new.description,
                location: place,
                cell: place.cell(engine.index().resolution()).to_string(),
                scene_id: new.scene,
                resident_phone: new.phone,
                address: new.address,
            },
            area,
            place_name,
            approximate: found.approximate,
            offers: chosen.iter().map(|c| Offer::new(c.mediator_id.clone(), c.distance_m, now)).collect(),
            wave,
            duplicate_of,
            recurring,
            escalate_after: SignedDuration::try_from(s.escalate_after).unwrap_or(SignedDuration::MAX),
        };
        let transition = incident::decide(None, &Command::File(Box::new(filing)), now)?;
        let incident = &transition.incident;
        let tracking_token = auth::random_token();
        // Noted in its hot-spot area with the write itself: later look-backs and the hot-spot
        // map see every filed report, and no refused one.
        let keep = std::time::Duration::from_secs(HOTSPOT_WINDOW.as_secs().unsigned_abs());
        let note = AreaNote { id: incident.id.clone(), at: now, place };
        let note = NoteInArea { cell: place.area().to_string(), note, keep };
        let creation = Creation {
            tracking_hash: auth::sha256_hex(&tracking_token),
            idempotency: idempotency.map(|(key, fingerprint)| IdempotencyClaim {
                key_hash: auth::sha256_hex(&key),
                fingerprint,
                ttl: s.idempotency_ttl,
                receipt: tracking_token.clone(),
            }),
        };
        match engine.create(&transition, &Actor::resident(), now, Some(note), creation).await? {
            WriteOutcome::Written => {}
            WriteOutcome::Replayed { incident_id, same_request: true, receipt } => {
                return self.replayed(&incident_id, receipt).await;
            }
            WriteOutcome::Replayed { same_request: false, .. } => return Err(DispatchError::IdempotencyMismatch),
            WriteOutcome::Conflict | WriteOutcome::AtCapacity => return Err(DispatchError::Contended),
        }
        metrics::counter!("gd_reports_total").increment(1);
        tracing::info!(incident_id = %incident.id, cell = %incident.cell, offers = chosen.len(), "report filed");
        Ok(ReportReceipt { incident: transition.incident, tracking_token, replayed: false })
    }

    /// The answer to a retry: the first request's incident as it is now, with its receipt.
    pub(super) async fn replayed(
        &self,
        incident_id: &IncidentId,
        tracking_token: String,
    ) -> Result<ReportReceipt, DispatchError> {
        let incident = self.incidents.get_incident(incident_id).await?.ok_or(DispatchError::NotFound)?;
        Ok(ReportReceipt { incident, tracking_token, replayed: true })
    }
}
