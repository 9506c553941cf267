//! The atomic incident write on Redis: a [`WritePlan`] with the names of the keys it touches,
//! encoded once as JSON and passed to [`scripts::WRITE_INCIDENT`] as its one argument.
//!
//! The keys come from one struct, [`PlanKeys`]: the script reads them by name
//! (`plan.keys.incident`), and [`PlanKeys::declared`] lists the same strings as `KEYS`, so
//! every key the script touches is declared (the Redis Cluster rule) by construction.

use super::keys::Keys;
use super::scripts::{self, write_code};
use crate::store::plan::WritePlan;
use crate::store::{StoreError, WriteOutcome};
use serde::Serialize;

/// Every key one plan touches, by role.
#[derive(Debug, Serialize)]
pub(super) struct PlanKeys {
    /// `inc:<id>`: the record and its version.
    incident: String,
    /// `tl:<id>`: the timeline.
    timeline: String,
    /// `timers`: every deadline.
    timers: String,
    /// `incidents`: by creation time.
    index: String,
    /// `incidents:open`: the open ones, by creation time.
    open_index: String,
    /// `track:<hash>`, when creating.
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking: Option<String>,
    /// `idem:<hash>`, when creating under an idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency: Option<String>,
    /// `offers:<m>` of each offer opened, in the plan's order.
    offers_open: Vec<String>,
    /// `offers:<m>` of each offer closed, in the plan's order.
    offers_close: Vec<String>,
    /// `holds:<m>` of the mediator taking it.
    #[serde(skip_serializing_if = "Option::is_none")]
    hold: Option<String>,
    /// `claims:<day>` the hold counts on.
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<String>,
    /// `holds:<m>` of the mediator releasing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    release: Option<String>,
    /// `spot:<cell>`: the notes of the cell a filed report is noted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    area_notes: Option<String>,
    /// `spots`: the noted cells, when a report is noted.
    #[serde(skip_serializing_if = "Option::is_none")]
    noted_areas: Option<String>,
}

impl PlanKeys {
    /// The keys `plan` touches, named by `keys`.
    fn of(plan: &WritePlan<'_>, keys: &Keys) -> Self {
        let creation = plan.creation.as_ref();
        Self {
            incident: keys.incident(plan.id),
            timeline: keys.timeline(plan.id),
            timers: keys.timers(),
            index: keys.incidents_by_created(),
            open_index: keys.open_incidents(),
            tracking: creation.map(|c| keys.tracking(c.tracking_hash)),
            idempotency: creation.and_then(|c| c.idempotency.as_ref()).map(|i| keys.idempotency(i.key_hash)),
            offers_open: plan.offers_open.iter().map(|m| keys.offers(m)).collect(),
            offers_close: plan.offers_close.iter().map(|m| keys.offers(m)).collect(),
            hold: plan.hold.as_ref().map(|h| keys.holds(h.mediator_id)),
            claims: plan.hold.as_ref().map(|h| keys.claims(h.day)),
            release: plan.release.map(|m| keys.holds(m)),
            area_notes: plan.area_note.as_ref().map(|n| keys.area_notes(n.cell)),
            noted_areas: plan.area_note.as_ref().map(|_| keys.noted_areas()),
        }
    }

    /// Every key, for `KEYS`. (Destructured, so a new field cannot be left out.)
    fn declared(&self) -> Vec<&str> {
        let Self {
            incident,
            timeline,
            timers,
            index,
            open_index,
            tracking,
            idempotency,
            offers_open,
            offers_close,
            hold,
            claims,
            release,
            area_notes,
            noted_areas,
        } = self;
        [incident, timeline, timers, index, open_index]
            .into_iter()
            .chain(tracking)
            .chain(idempotency)
            .chain(offers_open)
            .chain(offers_close)
            .chain(hold)
            .chain(claims)
            .chain(release)
            .chain(area_notes)
            .chain(noted_areas)
            .map(String::as_str)
            .collect()
    }
}

/// The script's one argument: the plan, its keys, and the bus channel it announces on.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(flatten)]
    plan: &'a WritePlan<'a>,
    keys: &'a PlanKeys,
    channel: String,
}

/// The script invocation for `plan`: `KEYS` from its [`PlanKeys`], `ARGV[1]` the JSON payload.
///
/// # Errors
/// [`StoreError::Corrupt`] if the plan cannot be encoded.
pub(super) fn invocation(plan: &WritePlan<'_>, keys: &Keys) -> Result<::redis::ScriptInvocation<'static>, StoreError> {
    let plan_keys = PlanKeys::of(plan, keys);
    let payload = Payload { plan, keys: &plan_keys, channel: keys.bus_channel() };
    let json = serde_json::to_string(&payload).map_err(|e| StoreError::Corrupt(format!("write plan: {e}")))?;
    let mut inv = scripts::WRITE_INCIDENT.prepare_invoke();
    for key in plan_keys.declared() {
        inv.key(key);
    }
    inv.arg(json);
    Ok(inv)
}

/// The script's answer, `{code, incident id or "", same 0/1, receipt or ""}`, as an outcome.
///
/// # Errors
/// [`StoreError::Corrupt`] for an unknown code or a bad id.
pub(super) fn outcome((code, first_id, same, receipt): (i64, String, i64, String)) -> Result<WriteOutcome, StoreError> {
    match code {
        write_code::WRITTEN => Ok(WriteOutcome::Written),
        write_code::CONFLICT => Ok(WriteOutcome::Conflict),
        write_code::AT_CAPACITY => Ok(WriteOutcome::AtCapacity),
        write_code::REPLAYED => Ok(WriteOutcome::Replayed {
            incident_id: super::parse_incident_id(&first_id)?,
            same_request: same == 1,
            receipt,
        }),
        other => Err(StoreError::Corrupt(format!("write_incident script returned code {other}"))),
    }
}
