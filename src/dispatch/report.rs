//! Filing a report: locate it, find the nearest available mediators and look back for
//! duplicates, then file it through the state machine (`Command::File`) and store it with its
//! deadlines and offers in one atomic write, which also publishes the offers.

use super::recent::{Kept, Nearby, PER_AREA};
use super::{Actor, DispatchError, Dispatcher};
use crate::auth;
use crate::domain::account::Phone;
use crate::domain::category::{Category, Risk};
use crate::domain::ids::{IncidentId, SceneId};
use crate::domain::incident::{self, Command, Filing, Incident, Offer, Report};
use crate::domain::location::GeoPoint;
use crate::matcher::{self, Candidate, index::fresh_after};
use crate::store::{AreaNote, BusMessage, Creation, IdempotencyClaim, NoteInArea, WriteOutcome};
use jiff::{SignedDuration, Timestamp};
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

impl Dispatcher {
    /// The best `n` available mediators for a point and category.
    ///
    /// # Errors
    /// `Store` on backend failure.
    pub async fn candidates(
        &self,
        point: GeoPoint,
        category: Category,
        n: usize,
    ) -> Result<Vec<Candidate>, DispatchError> {
        self.candidates_within(point, category, n, self.settings().dispatch.search_radius_m, &[]).await
    }

    /// The best `n` available mediators within `radius_m`, leaving out `exclude`.
    ///
    /// # Errors
    /// `Store` on backend failure.
    pub async fn candidates_within(
        &self,
        point: GeoPoint,
        category: Category,
        n: usize,
        radius_m: f64,
        exclude: &[crate::domain::ids::AccountId],
    ) -> Result<Vec<Candidate>, DispatchError> {
        const ATTEMPTS: usize = 4;
        let s = &self.settings().dispatch;
        let fresh = fresh_after(self.now(), s.stale_after);
        let mut want = n + exclude.len();
        let bonuses = matcher::Bonuses { specialty_m: s.specialty_bonus_m, home_m: s.home_area_bonus_m };
        let place = self.locate(point);
        let home = |code: &str| place.grid.as_deref() == Some(code) || place.community.as_deref() == Some(code);
        let today = super::stats::today(self.now());
        // Capacity lives in the store: widen the search while it excludes candidates, a
        // bounded number of times.
        for attempt in 1..=ATTEMPTS {
            let mut nearby = self.index().nearest(point, radius_m, want, bonuses.max_m(), fresh);
            let found = nearby.len();
            nearby.retain(|c| !exclude.contains(&c.mediator_id));
            let ids: Vec<_> = nearby.iter().map(|c| c.mediator_id.clone()).collect();
            // Everyone within reach is scored from this instance's profiles; then the best few
            // get their holds and today's claims (this instance's copies), best first, until
            // `n` have room.
            let mut scored: Vec<Candidate> = nearby
                .iter()
                .zip(self.profiles(&ids).await?)
                .filter_map(|(near, profile)| {
                    let p = profile?;
                    Some(Candidate {
                        mediator_id: near.mediator_id.clone(),
                        distance_m: near.distance_m,
                        specialist: p.specialties.contains(&category),
                        local: p.area.as_deref().is_some_and(&home),
                        holds: 0,
                        capacity: p.capacity,
                        claims_today: 0,
                    })
                })
                .collect();
            matcher::order_by_score(&mut scored, bonuses);
            let mut pool = Vec::new();
            let mut ranked = vec![];
            let mut rest = scored.as_mut_slice();
            while ranked.len() < n && !rest.is_empty() {
                let (batch, after) = rest.split_at_mut(matcher::score_batch_len(rest, n, bonuses));
                let batch_ids: Vec<_> = batch.iter().map(|c| c.mediator_id.clone()).collect();
                for (c, (holds, claims_today)) in batch.iter_mut().zip(self.workloads(&batch_ids, today).await?) {
                    c.holds = holds;
                    c.claims_today = claims_today;
                }
                pool.extend_from_slice(batch);
                // Everyone after this batch scores worse than everyone in it: once `n` in the
                // pool have room, nobody later can displace them.
                ranked = matcher::rank(pool.clone(), n, bonuses);
                rest = after;
            }
            let full = pool.iter().filter(|c| c.holds >= c.capacity).count();
            if ranked.len() >= n || found < want || attempt == ATTEMPTS {
                return Ok(ranked);
            }
            want += full + (nearby.len() - scored.len());
        }
        Ok(vec![])
    }

    /// File a resident's report.
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
        let found = self.place_of(&new).await?;
        let place = found.point;
        let s = &self.settings().dispatch;
        let now = self.now();
        let risk = self.settings().triage.rules().assess(new.category, &new.description, new.risk);
        // A place known only in words cannot be offered by distance: the command center reads
        // the address and sends someone (the same path as "nobody near").
        let first_wave =
            async { if found.approximate { Ok((1, vec![])) } else { self.first_wave(place, new.category).await } };
        let ((wave, chosen), (duplicate_of, recurring)) = tokio::try_join!(first_wave, self.look_back(place, now))?;
        let area = self.locate(place);
        // The district's centre names nothing: the resident's words are the place.
        let place_name = if found.approximate { None } else { found.scene_name.or_else(|| self.area_names(&area)) };
        let filing = Filing {
            report: Report {
                id: IncidentId::generate(),
                category: new.category,
                risk,
                description: new.description,
                location: place,
                cell: place.cell(self.index().resolution()).to_string(),
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
        let mut write = self.plan(None, &transition, &Actor::resident(), None, now);
        // Noted in its hot-spot area with the write itself: later look-backs and the hot-spot
        // map see every filed report, and no refused one.
        let keep = std::time::Duration::from_secs(HOTSPOT_WINDOW.as_secs().unsigned_abs());
        let note = AreaNote { id: incident.id.clone(), at: now, place };
        write.note = Some(NoteInArea { cell: place.area().to_string(), note, keep });
        write.creation = Some(Creation {
            tracking_hash: auth::sha256_hex(&tracking_token),
            idempotency: idempotency.map(|(key, fingerprint)| IdempotencyClaim {
                key_hash: auth::sha256_hex(&key),
                fingerprint,
                ttl: s.idempotency_ttl,
                receipt: tracking_token.clone(),
            }),
        });
        match self.ports().incidents.write_incident(&write).await? {
            WriteOutcome::Written => {}
            WriteOutcome::Replayed { incident_id, same_request: true, receipt } => {
                return self.replayed(&incident_id, receipt).await;
            }
            WriteOutcome::Replayed { same_request: false, .. } => return Err(DispatchError::IdempotencyMismatch),
            WriteOutcome::Conflict | WriteOutcome::AtCapacity => return Err(DispatchError::Contended),
        }
        metrics::counter!("gd_reports_total").increment(1);
        self.written(&transition, &write, self.workload_mark()).await;
        tracing::info!(incident_id = %incident.id, cell = %incident.cell, offers = chosen.len(), "report filed");
        Ok(ReportReceipt { incident: transition.incident, tracking_token, replayed: false })
    }
}

impl Dispatcher {
    /// The answer to a retry: the first request's incident as it is now, with its receipt.
    pub(super) async fn replayed(
        &self,
        incident_id: &IncidentId,
        tracking_token: String,
    ) -> Result<ReportReceipt, DispatchError> {
        let incident = self.ports().incidents.get_incident(incident_id).await?.ok_or(DispatchError::NotFound)?;
        Ok(ReportReceipt { incident, tracking_token, replayed: true })
    }
}

/// How far back hot spots look, and the duplicate window.
pub(crate) const HOTSPOT_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 30);
const DUPLICATE_WINDOW: SignedDuration = SignedDuration::from_mins(30);
const DUPLICATE_DISTANCE_M: f64 = 100.0;
/// Reports counted per area for the hot-spot map: far more than one area gathers in 30 days
/// (one every 10 minutes, day and night, is 4,320).
pub(crate) const HOTSPOT_NOTES_PER_AREA: usize = 10_000;
/// Hot-spot cells whose notes one read asks for (a reload, the hot-spot list).
pub(crate) const CELLS_PER_READ: usize = 256;

impl Dispatcher {
    /// For a new report at `place`: a possibly identical open report (within 100 m and 30
    /// minutes; the nearest), and whether its area had two or more reports in 30 days.
    async fn look_back(&self, place: GeoPoint, now: Timestamp) -> Result<(Option<IncidentId>, bool), DispatchError> {
        let since = now.checked_sub(HOTSPOT_WINDOW).unwrap_or(Timestamp::MIN);
        let dup_since = now.checked_sub(DUPLICATE_WINDOW).unwrap_or(Timestamp::MIN);
        // The report's own area and its neighbours (a duplicate 100 m away may sit across an
        // edge). This instance's copy answers; until it is loaded, the store's index does.
        let area = place.area();
        let cells: Vec<h3o::CellIndex> = area.grid_disk(1);
        let Nearby { recent, in_area } = match self.inner.recent.around(place, &cells, dup_since, since) {
            Some(nearby) => nearby,
            None => self.look_back_in_store(area, &cells, dup_since, since).await?,
        };
        let close: Vec<(Kept, f64)> = recent
            .into_iter()
            .map(|k| {
                let d = k.note.place.distance_m(place);
                (k, d)
            })
            .filter(|(_, d)| *d <= DUPLICATE_DISTANCE_M)
            .collect();
        // Whether a note loaded from the store is still open is not known: read those reports.
        let unknown: Vec<IncidentId> =
            close.iter().filter(|(k, _)| k.open.is_none()).map(|(k, _)| k.note.id.clone()).collect();
        let open_unknown: Vec<IncidentId> =
            if unknown.is_empty() { vec![] } else { self.ports().incidents.get_incidents(&unknown).await? }
                .into_iter()
                .filter(|i| !i.status.is_closed())
                .map(|i| i.id)
                .collect();
        let duplicate = close
            .iter()
            .filter(|(k, _)| k.open.unwrap_or_else(|| open_unknown.contains(&k.note.id)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k.note.id.clone());
        Ok((duplicate, in_area >= 2))
    }

    /// The look-back's reads from the store's index (one round trip): a count of the report's
    /// own area, and the newest notes of it and its neighbours, which carry their places.
    async fn look_back_in_store(
        &self,
        area: h3o::CellIndex,
        cells: &[h3o::CellIndex],
        dup_since: Timestamp,
        since: Timestamp,
    ) -> Result<Nearby, DispatchError> {
        let (own, cells) = (area.to_string(), cells.iter().map(ToString::to_string).collect::<Vec<_>>());
        let (in_area, noted) = tokio::try_join!(
            self.ports().incidents.count_noted(&own, since),
            self.ports().incidents.noted_in_areas(&cells, dup_since, PER_AREA),
        )?;
        Ok(Nearby {
            recent: noted.into_iter().map(|note| Kept { note, open: None }).collect(),
            in_area: usize::try_from(in_area).unwrap_or(usize::MAX),
        })
    }

    /// Load this instance's copy of recent reports from the store's index (at start and on
    /// every resync); the look-back asks the store until it is done.
    ///
    /// # Errors
    /// The store's error; the copy stays unready and the caller retries.
    pub async fn reload_recent_reports(&self) -> Result<(), crate::store::StoreError> {
        self.inner.recent.reload().await
    }

    /// Apply a report's news from the bus (see [`BusMessage::Noted`]).
    pub fn report_noted(&self, incident_id: &IncidentId, at: Timestamp, place: GeoPoint, open: bool) {
        self.inner.recent.keep(Kept { note: AreaNote { id: incident_id.clone(), at, place }, open: Some(open) });
    }

    /// Apply this instance's own news at once, so its next report sees them before the bus
    /// brings them back (which changes nothing then).
    pub(super) fn note_own(&self, announced: &[BusMessage]) {
        for message in announced {
            if let BusMessage::Noted { incident_id, at, place, open } = message {
                self.report_noted(incident_id, *at, *place, *open);
            }
        }
    }

    /// Forget recent reports older than the hot-spot window; returns how many.
    pub fn forget_old_reports(&self) -> usize {
        self.inner.recent.forget_old()
    }
}
