//! Reads: what the resident's tracking page, the mediator's phone and the command center see.

use super::{DispatchError, Dispatcher};
use crate::auth;
use crate::domain::account::{Account, Role};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::{Incident, Status};
use crate::domain::timeline::TimelineEntry;
use crate::matcher::index::fresh_after;
use crate::push::wire::{IncidentView, LatLng, MediatorPosition};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// How many more mediators than `dispatch.suggest_count` are ranked for an incident's
/// suggestions, so that those an operator may not send can be left out.
const SUGGEST_SCOPED_FACTOR: usize = 4;

/// Assumed travel speed for ETAs (e-bike or taxi in town): 15 km/h.
const ETA_SPEED_M_PER_MIN: f64 = 250.0;
/// The mediator's position is shown to residents rounded to 4 decimal places of a degree:
/// 0.0001° is 11 m north–south and 9 m east–west at Xining's latitude (36.6° N), so the
/// resident sees where the mediator is to about 10 m, never their exact fix.
const SHOWN_POSITION_PER_DEG: f64 = 10_000.0;
/// Distances shown to residents are measured from that rounded position, to 10 m.
const SHOWN_DISTANCE_STEP_M: f64 = 10.0;

/// A point as the resident sees it (see [`SHOWN_POSITION_PER_DEG`]).
fn shown(point: crate::domain::location::GeoPoint) -> crate::domain::location::GeoPoint {
    // Dividing by a power of ten gives the double nearest the decimal (36.6235, not 36.62350000000001).
    let round = |deg: f64| (deg * SHOWN_POSITION_PER_DEG).round() / SHOWN_POSITION_PER_DEG;
    // Rounding keeps a valid point valid (it moves at most half a step, and never past ±90/±180).
    crate::domain::location::GeoPoint::new(round(point.lat()), round(point.lng())).unwrap_or(point)
}

/// The holding mediator as the resident sees them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MediatorDetail {
    /// Name.
    pub name: String,
    /// Full phone: the resident may call them.
    pub phone: String,
    /// Live position while they are on the way or on site (hidden once resolved), rounded to
    /// 0.0001° (about 10 m).
    pub position: Option<LatLng>,
    /// When that position was reported.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub position_at: Option<Timestamp>,
    /// Distance to the incident from the rounded position, to 10 m.
    pub distance_m: Option<f64>,
    /// Rough minutes until arrival.
    pub eta_min: Option<u32>,
}

/// The resident's tracking view.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrackingView {
    /// Incident id.
    pub id: String,
    /// State.
    pub status: Status,
    /// Category (pages translate it).
    pub category: crate::domain::category::Category,
    /// Category label (Chinese).
    pub category_label: String,
    /// Their words.
    pub description: String,
    /// Where they reported it (WGS-84).
    pub location: LatLng,
    /// The place's name (the QR scene's, else the community and grid names).
    pub place_name: Option<String>,
    /// The place in their own words, if they typed one.
    pub address: Option<String>,
    /// Reported at.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it went to the command center, if it did.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<Timestamp>,
    /// The command center's public phone (`resident.center_phone`), while the command center is
    /// finding a mediator (escalated, or reopened and not yet claimed again).
    pub center_phone: Option<String>,
    /// Whether the page may offer to text its link (`POST …/sms`).
    pub sms_available: bool,
    /// Who is coming, once claimed.
    pub mediator: Option<MediatorDetail>,
    /// Their follow-up answer, once given.
    pub feedback: Option<crate::domain::incident::Feedback>,
    /// When "not resolved" reopened it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reopened_at: Option<Timestamp>,
    /// What happened, oldest first.
    pub timeline: Vec<TrackedEntry>,
}

/// One line of the resident's timeline: the entry without staff ids, and the name of the
/// mediator it is about (a claim or an assignment), which the resident may know.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrackedEntry {
    /// The entry (ids replaced).
    #[serde(flatten)]
    pub entry: TimelineEntry,
    /// The mediator who claimed it or was assigned, by name.
    pub who: Option<String>,
}

/// The mediator a timeline event names as taking the incident.
fn claimant(event: &crate::domain::incident::Event) -> Option<&AccountId> {
    use crate::domain::incident::Event as E;
    match event {
        E::Claimed { mediator_id } | E::Assigned { mediator_id, .. } => Some(mediator_id),
        _ => None,
    }
}

/// A mediator an operator could send.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    /// Mediator id.
    pub mediator_id: String,
    /// Name.
    pub name: String,
    /// Distance to the incident, metres.
    pub distance_m: f64,
    /// Specialist in this category.
    pub specialist: bool,
    /// Incidents they hold now.
    pub holds: u32,
    /// How many they may hold.
    pub capacity: u32,
}

impl Dispatcher {
    /// One incident, if it exists.
    ///
    /// # Errors
    /// `Store`.
    pub async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>, DispatchError> {
        Ok(self.ports().incidents.get_incident(id).await?)
    }

    /// The incident behind a tracking token.
    ///
    /// # Errors
    /// `NotFound` for an unknown token.
    pub async fn tracked_incident(&self, token: &str) -> Result<Incident, DispatchError> {
        if token.len() < 32 || token.len() > 64 {
            return Err(DispatchError::NotFound);
        }
        let id = self
            .ports()
            .incidents
            .incident_by_tracking(&auth::sha256_hex(token))
            .await?
            .ok_or(DispatchError::NotFound)?;
        self.ports().incidents.get_incident(&id).await?.ok_or(DispatchError::NotFound)
    }

    /// What the resident holding `token` sees.
    ///
    /// # Errors
    /// `NotFound` for an unknown token; `Store`.
    pub async fn tracking(&self, token: &str) -> Result<TrackingView, DispatchError> {
        Ok(self.tracking_and_holder(token).await?.0)
    }

    /// [`Self::tracking`], with the mediator whose moves change it (the holder, while the
    /// claim is active).
    ///
    /// # Errors
    /// `NotFound` for an unknown token; `Store`.
    pub async fn tracking_and_holder(&self, token: &str) -> Result<(TrackingView, Option<AccountId>), DispatchError> {
        let incident = self.tracked_incident(token).await?;
        let mut timeline = self.ports().incidents.timeline(&incident.id).await?;
        // The resident sees what happened to their report, not internal steps, audit, delivery
        // plumbing or staff account ids.
        timeline.retain(|e| {
            use crate::domain::incident::Event as E;
            // Of the case file, the 司法确认 reminder is theirs: the parties apply together.
            matches!(&e.event, E::CaseFile { step, .. } if step == "confirmation_due")
                || matches!(
                    e.event,
                    E::Reported
                        | E::Offered { .. }
                        | E::Claimed { .. }
                        | E::Assigned { .. }
                        | E::Escalated
                        | E::Arrived
                        | E::Resolved { .. }
                        | E::Cancelled
                        | E::FeedbackGiven { .. }
                        | E::Reopened
                )
        });
        let named: Vec<AccountId> = timeline.iter().filter_map(|e| claimant(&e.event).cloned()).collect();
        let accounts = if named.is_empty() { vec![] } else { self.ports().directory.get_accounts(&named).await? };
        let names: std::collections::HashMap<AccountId, String> =
            named.into_iter().zip(accounts).filter_map(|(id, a)| Some((id, a?.name))).collect();
        let timeline = timeline
            .into_iter()
            .map(|mut entry| {
                let who = claimant(&entry.event).and_then(|m| names.get(m)).cloned();
                entry.actor_id = None;
                entry.event.anonymize();
                TrackedEntry { entry, who }
            })
            .collect();
        let with_center =
            incident.status == Status::Escalated || (incident.reopened_at.is_some() && incident.status.is_unclaimed());
        let center_phone =
            Some(self.settings().resident.center_phone.trim().to_owned()).filter(|p| with_center && !p.is_empty());
        let mediator = match &incident.claimed_by {
            Some(m) => self.ports().directory.get_account(m).await?.map(|a| self.mediator_detail(&incident, &a)),
            None => None,
        };
        let holder = incident.claimed_by.clone().filter(|_| incident.status.is_active_claim());
        let view = TrackingView {
            id: incident.id.to_string(),
            status: incident.status,
            category: incident.category,
            category_label: incident.category.label_zh().to_owned(),
            description: incident.description.clone(),
            location: incident.location.into(),
            place_name: incident.place_name.clone(),
            address: incident.address.clone(),
            created_at: incident.created_at,
            escalated_at: incident.escalated_at,
            center_phone,
            sms_available: crate::sms::is_configured(&self.settings().sms),
            mediator,
            feedback: incident.feedback.clone(),
            reopened_at: incident.reopened_at,
            timeline,
        };
        Ok((view, holder))
    }

    fn mediator_detail(&self, incident: &Incident, account: &Account) -> MediatorDetail {
        // The position is shown only between claim and resolution.
        let fix =
            if incident.status.is_active_claim() { self.index().get(&account.id).and_then(|(_, f)| f) } else { None };
        let point = fix.map(|f| shown(f.point));
        let distance_m =
            point.map(|p| (p.distance_m(incident.location) / SHOWN_DISTANCE_STEP_M).round() * SHOWN_DISTANCE_STEP_M);
        MediatorDetail {
            name: account.name.clone(),
            phone: account.phone.full().to_owned(),
            position: point.map(Into::into),
            position_at: fix.map(|f| f.at),
            distance_m,
            eta_min: match (incident.status, distance_m) {
                (Status::Claimed, Some(d)) => Some((d / ETA_SPEED_M_PER_MIN).ceil() as u32),
                _ => None,
            },
        }
    }

    /// One incident with its timeline and, while unclaimed, the nearest available mediators an
    /// operator with `scope` may send ([`Self::may_send`]).
    ///
    /// # Errors
    /// `NotFound`; `Store`.
    pub async fn incident_detail(
        &self,
        id: &IncidentId,
        scope: &super::Scope,
    ) -> Result<(Incident, Vec<TimelineEntry>, Vec<Suggestion>), DispatchError> {
        let incident = self.ports().incidents.get_incident(id).await?.ok_or(DispatchError::NotFound)?;
        let timeline = self.ports().incidents.timeline(id).await?;
        let mut suggestions = vec![];
        if incident.status.is_unclaimed() {
            let n = self.settings().dispatch.suggest_count;
            // Near a boundary some of the nearest belong elsewhere: rank more, keep `n` of ours.
            let want = if *scope == super::Scope::All { n } else { n * SUGGEST_SCOPED_FACTOR };
            let ranked = self.candidates(incident.location, incident.category, want).await?;
            let ids: Vec<_> = ranked.iter().map(|c| c.mediator_id.clone()).collect();
            let accounts = self.ports().directory.get_accounts(&ids).await?;
            suggestions = ranked
                .into_iter()
                .zip(accounts)
                .filter_map(|(c, a)| Some((c, a?)))
                .filter(|(_, a)| self.may_send(scope, a))
                .take(n)
                .map(|(c, a)| Suggestion {
                    mediator_id: c.mediator_id.to_string(),
                    name: a.name,
                    distance_m: c.distance_m.round(),
                    specialist: c.specialist,
                    holds: c.holds,
                    capacity: c.capacity,
                })
                .collect();
        }
        Ok((incident, timeline, suggestions))
    }

    /// Offers still open for a mediator, newest first.
    ///
    /// # Errors
    /// `Store`.
    pub async fn open_offers(&self, mediator: &AccountId) -> Result<Vec<IncidentView>, DispatchError> {
        let ids = self.ports().incidents.offered_to(mediator).await?;
        let mut incidents = self.ports().incidents.get_incidents(&ids).await?;
        incidents.retain(|i| i.status.is_unclaimed() && i.open_offer(mediator).is_some());
        incidents.sort_by(super::stats::urgent_first);
        let ttl = self.settings().dispatch.offer_ttl;
        Ok(incidents.iter().map(|i| IncidentView::for_offer(i, mediator, ttl)).collect())
    }

    /// Incidents a mediator holds, newest first, with the residents' phones.
    ///
    /// # Errors
    /// `Store`.
    pub async fn held_incidents(&self, mediator: &AccountId) -> Result<Vec<IncidentView>, DispatchError> {
        let ids = self.ports().incidents.held_by(mediator).await?;
        let mut incidents = self.ports().incidents.get_incidents(&ids).await?;
        incidents.retain(|i| i.claimed_by.as_ref() == Some(mediator));
        incidents.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        Ok(incidents.iter().map(IncidentView::for_holder).collect())
    }

    /// On-duty mediators with a fresh position where `keep` holds (a box, an operator's area),
    /// by id, with their accounts: only theirs are read.
    ///
    /// # Errors
    /// `Store`.
    pub async fn mediators_where(
        &self,
        keep: impl Fn(crate::domain::location::GeoPoint) -> bool,
    ) -> Result<Vec<(MediatorPosition, Option<Account>)>, DispatchError> {
        let fresh = fresh_after(self.now(), self.settings().dispatch.stale_after);
        let mut on_duty = self.index().on_duty(fresh);
        on_duty.retain(|(_, f)| keep(f.point));
        on_duty.sort_by(|a, b| a.0.cmp(&b.0));
        let ids: Vec<_> = on_duty.iter().map(|(id, _)| id.clone()).collect();
        let accounts = self.ports().directory.get_accounts(&ids).await?;
        Ok(on_duty
            .iter()
            .zip(accounts)
            .filter(|(_, a)| a.as_ref().is_none_or(|a| a.role == Role::Mediator))
            .map(|((id, fix), a)| (MediatorPosition::new(id, fix), a))
            .collect())
    }

    /// Incidents not yet closed, oldest first, at most `limit` (of every area).
    ///
    /// # Errors
    /// `Store`.
    pub async fn open_incidents(&self, limit: usize) -> Result<Vec<Incident>, DispatchError> {
        Ok(self.ports().incidents.open_incidents(limit).await?)
    }
}
