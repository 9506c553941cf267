//! The atomic incident write as a named plan: what [`IncidentWrite`] asks for, normalised once
//! (TTLs clamped, local-only messages dropped, the open flag and every score worked out), in
//! one struct with named fields that both backends apply.
//!
//! The memory store applies a [`WritePlan`] directly under its lock; the Redis store
//! serialises it to JSON, adds the key names it touches ([`super::redis`]'s `PlanKeys`, whose
//! one function also lists `KEYS`), and hands it to one Lua script as its single argument,
//! which reads `plan.expect_version`, `plan.ttl.claims_ms` and so on by name. The rules that
//! need the store's state (the precondition order, which deadline is sooner, the load
//! messages) are written here as pure functions the memory store calls; the script mirrors
//! them line for line, and `tests/store_differential.rs` runs random command sequences against
//! both backends and compares every answer, with memory as the reference model.
//!
//! Integers that Redis stores or parses back (version, scores, TTLs) travel as decimal strings:
//! Lua numbers are doubles and `redis.call` may format a large one in exponent form, which a
//! `PEXPIRE` refuses and a stored version would not match.

use super::{AreaNote, BusMessage, DayClaims, Expect, IncidentWrite, RememberedKey, TimerKey, TimerOp, WriteOutcome};
use crate::domain::ids::{AccountId, IncidentId};
use crate::domain::incident::Incident;
use crate::domain::timeline::TimelineEntry;
use crate::store::records::Record;
use serde::{Serialize, Serializer};
use std::time::Duration;

/// How long a day's claim counts are kept after the last claim counted on it: two days, so
/// "less work today" can read today and yesterday in every time zone's midnight.
pub const CLAIMS_KEEP: Duration = Duration::from_secs(2 * 24 * 3600);

/// Longest idempotency TTL a plan carries (a longer one would overflow Redis's clock).
pub const MAX_IDEMPOTENCY_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// One atomic incident write, normalised, with named fields.
#[derive(Debug, Clone, Serialize)]
pub struct WritePlan<'a> {
    /// The incident's id.
    pub id: &'a IncidentId,
    /// The version it must have now; absent: it must not exist yet.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_decimal")]
    pub expect_version: Option<u64>,
    /// Its version after the write.
    #[serde(serialize_with = "decimal")]
    pub version: u64,
    /// The record stored (its versioned stored form, verbatim, on Redis).
    #[serde(serialize_with = "record_text")]
    pub record: &'a Incident,
    /// Its creation time, ms: its score in the by-creation and open indexes.
    #[serde(serialize_with = "decimal")]
    pub created_ms: i64,
    /// Still open after the write (kept in the open index), else removed from it.
    pub open: bool,
    /// Timeline entries appended, in order (each its stored record's text).
    #[serde(serialize_with = "each_record_text")]
    pub timeline: &'a [TimelineEntry],
    /// Deadline changes, in order.
    pub timers: Vec<PlannedTimer<'a>>,
    /// Mediators who now have an open offer for it.
    pub offers_open: &'a [AccountId],
    /// Mediators whose offer for it is closed.
    pub offers_close: &'a [AccountId],
    /// A mediator takes it, guarded by capacity, and a claim is counted for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<PlannedHold<'a>>,
    /// A mediator no longer holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<&'a AccountId>,
    /// Present only when creating it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation: Option<PlannedCreation<'a>>,
    /// The report noted in its hot-spot area (only when filing one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_note: Option<PlannedNote<'a>>,
    /// Bus messages published after the effects, in order (never [`BusMessage::Resync`]).
    #[serde(serialize_with = "each_json_text")]
    pub announce: Vec<&'a BusMessage>,
    /// How long what the write leaves behind is kept.
    pub ttl: PlannedTtl,
}

/// One deadline change.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedTimer<'a> {
    /// Which deadline (serialised as its stored member, `kind:incident-id`).
    #[serde(serialize_with = "timer_member")]
    pub key: &'a TimerKey,
    /// Set (or moved) to this due time, ms; absent: removed.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_decimal")]
    pub due_ms: Option<i64>,
}

/// A mediator taking the incident.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedHold<'a> {
    /// Who.
    pub mediator_id: &'a AccountId,
    /// Refused if they hold this many others already.
    pub capacity: u32,
    /// The day the claim counts on (`YYYY-MM-DD`).
    pub day: &'a str,
}

/// What only a creation writes.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedCreation<'a> {
    /// The resident's tracking token, hashed.
    pub tracking_hash: &'a str,
    /// The client's idempotency key, if it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<PlannedIdempotency<'a>>,
}

/// An idempotency key remembered with the creation.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedIdempotency<'a> {
    /// The scoped key, hashed.
    pub key_hash: &'a str,
    /// The request's fingerprint.
    pub fingerprint: &'a str,
    /// What the first request answered (handed back on a replay).
    pub receipt: &'a str,
}

/// A report noted in its hot-spot area: added to the cell's notes, which drop the ones made
/// before `oldest_ms`; the cell is marked as noted at `at_ms` in the set of noted cells, which
/// drops cells whose newest note is older than `oldest_ms`.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedNote<'a> {
    /// The hot-spot cell.
    pub cell: &'a str,
    /// The note; on Redis its member text, `"<id> <lat> <lng>"` (the place travels with it,
    /// so a look-back filters by distance without reading incidents).
    #[serde(rename = "member", serialize_with = "note_member")]
    pub note: &'a AreaNote,
    /// When the report was made, ms: its score.
    #[serde(serialize_with = "decimal")]
    pub at_ms: i64,
    /// Notes made before this, ms, are dropped (`at_ms` less the time notes are kept).
    #[serde(serialize_with = "decimal")]
    pub oldest_ms: i64,
    /// How long the cell's notes outlive this one, ms: 1 ..= [`MAX_IDEMPOTENCY_TTL_MS`].
    #[serde(serialize_with = "decimal")]
    pub keep_ms: u64,
}

/// TTLs, ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlannedTtl {
    /// The idempotency key: 0 (not remembered) or 1 ms ..= [`MAX_IDEMPOTENCY_TTL_MS`].
    #[serde(serialize_with = "decimal")]
    pub idempotency_ms: u64,
    /// A day's claim counts, from the last claim counted on it ([`CLAIMS_KEEP`]).
    #[serde(serialize_with = "decimal")]
    pub claims_ms: u64,
}

/// What the store holds now, as far as a plan's preconditions look.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The plan's idempotency key, if it is remembered (and unexpired).
    pub remembered: Option<RememberedKey>,
    /// The incident's stored version, if it exists.
    pub version: Option<u64>,
    /// How many incidents the mediator in `hold` holds, and whether this one is among them.
    pub held: (usize, bool),
}

impl IncidentWrite {
    /// This write as a plan: what both backends apply.
    #[must_use]
    pub fn plan(&self) -> WritePlan<'_> {
        let incident = &self.incident;
        let idempotency = self.creation.as_ref().and_then(|c| c.idempotency.as_ref());
        WritePlan {
            id: &incident.id,
            expect_version: match self.expect {
                Expect::Absent => None,
                Expect::Version(v) => Some(v),
            },
            version: incident.version,
            record: incident,
            created_ms: incident.created_at.as_millisecond(),
            open: !incident.status.is_closed(),
            timeline: &self.append,
            timers: self
                .timers
                .iter()
                .map(|op| match op {
                    TimerOp::Schedule(key, due) => PlannedTimer { key, due_ms: Some(due.as_millisecond()) },
                    TimerOp::Cancel(key) => PlannedTimer { key, due_ms: None },
                })
                .collect(),
            offers_open: &self.offers_open,
            offers_close: &self.offers_close,
            hold: self.hold.as_ref().map(|h| PlannedHold {
                mediator_id: &h.mediator_id,
                capacity: h.capacity,
                day: &h.day,
            }),
            release: self.release.as_ref(),
            creation: self.creation.as_ref().map(|c| PlannedCreation {
                tracking_hash: &c.tracking_hash,
                idempotency: c.idempotency.as_ref().map(|i| PlannedIdempotency {
                    key_hash: &i.key_hash,
                    fingerprint: &i.fingerprint,
                    receipt: &i.receipt,
                }),
            }),
            area_note: self.note.as_ref().map(|n| {
                let keep_ms = duration_ms(n.keep).clamp(1, MAX_IDEMPOTENCY_TTL_MS);
                let at_ms = n.note.at.as_millisecond();
                PlannedNote {
                    cell: &n.cell,
                    note: &n.note,
                    at_ms,
                    oldest_ms: at_ms.saturating_sub(i64::try_from(keep_ms).unwrap_or(i64::MAX)),
                    keep_ms,
                }
            }),
            announce: self.announce.iter().filter(|m| !matches!(m, BusMessage::Resync)).collect(),
            ttl: PlannedTtl {
                // A sub-millisecond TTL still remembers the key for a moment; zero not at all.
                idempotency_ms: idempotency.map_or(0, |c| {
                    u64::try_from(c.ttl.as_millis())
                        .unwrap_or(u64::MAX)
                        .clamp(u64::from(!c.ttl.is_zero()), MAX_IDEMPOTENCY_TTL_MS)
                }),
                claims_ms: duration_ms(CLAIMS_KEEP),
            },
        }
    }
}

impl WritePlan<'_> {
    /// Why the plan must not apply, checked in this order (replay, version, capacity); `None`
    /// when every precondition holds.
    #[must_use]
    pub fn refusal(&self, seen: &Seen) -> Option<WriteOutcome> {
        if self.creation.as_ref().is_some_and(|c| c.idempotency.is_some())
            && let Some(prior) = &seen.remembered
        {
            let fingerprint = self.creation.as_ref().and_then(|c| c.idempotency.as_ref()).map(|i| i.fingerprint);
            return Some(WriteOutcome::Replayed {
                incident_id: prior.incident_id.clone(),
                same_request: fingerprint == Some(prior.fingerprint.as_str()),
                receipt: prior.receipt.clone(),
            });
        }
        if seen.version != self.expect_version {
            return Some(WriteOutcome::Conflict);
        }
        if let Some(hold) = &self.hold {
            let (held, already) = seen.held;
            if !already && held >= hold.capacity as usize {
                return Some(WriteOutcome::AtCapacity);
            }
        }
        None
    }

    /// The news for timer runners: the plan's soonest new deadline, when it is sooner than
    /// `earliest`, the soonest held before the write.
    #[must_use]
    pub fn next_deadline(&self, earliest: Option<i64>) -> Option<BusMessage> {
        let soonest = self.timers.iter().filter_map(|t| t.due_ms).min()?;
        earliest.is_none_or(|e| soonest < e).then_some(BusMessage::NextDeadline { due_ms: soonest })
    }

    /// The workload news the store adds before the plan's announcements: the holder's holds
    /// and the claim just counted, then the releaser's holds, as counted after the effects.
    #[must_use]
    pub fn loads(&self, holds_after: impl Fn(&AccountId) -> u32, claims_after: Option<u32>) -> Vec<BusMessage> {
        let hold = self.hold.as_ref().map(|h| BusMessage::Load {
            mediator_id: h.mediator_id.clone(),
            holds: holds_after(h.mediator_id),
            claims: claims_after.map(|count| DayClaims { day: h.day.to_owned(), count }),
        });
        let release =
            self.release.map(|m| BusMessage::Load { mediator_id: m.clone(), holds: holds_after(m), claims: None });
        hold.into_iter().chain(release).collect()
    }
}

/// Whole milliseconds, saturating.
fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn decimal<S: Serializer, N: ToString>(n: &N, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&n.to_string())
}

fn opt_decimal<S: Serializer, N: ToString>(n: &Option<N>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => decimal(n, s),
        None => s.serialize_none(),
    }
}

fn record_text<S: Serializer>(incident: &&Incident, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&incident.encode().map_err(serde::ser::Error::custom)?)
}

fn each_json_text<S: Serializer, T: Serialize>(values: &[T], s: S) -> Result<S::Ok, S::Error> {
    let texts =
        values.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>().map_err(serde::ser::Error::custom)?;
    texts.serialize(s)
}

fn each_record_text<S: Serializer, R: Record>(records: &[R], s: S) -> Result<S::Ok, S::Error> {
    let texts = records.iter().map(Record::encode).collect::<Result<Vec<_>, _>>().map_err(serde::ser::Error::custom)?;
    texts.serialize(s)
}

fn note_member<S: Serializer>(note: &&AreaNote, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{} {} {}", note.id, note.place.lat(), note.place.lng()))
}

fn timer_member<S: Serializer>(key: &TimerKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&key.member())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Creation, Hold, IdempotencyClaim, TimerKind};

    fn sample() -> IncidentWrite {
        let incident = crate::store::conformance::incident(&[]);
        let mut w = IncidentWrite::new(incident.clone(), Expect::Version(7));
        let key = TimerKey { kind: TimerKind::Escalate, incident_id: incident.id.clone(), sub: None };
        w.timers = vec![TimerOp::Schedule(key.clone(), jiff::Timestamp::from_second(1_800_000_300).unwrap())];
        w.timers.push(TimerOp::Cancel(key));
        w.hold = Some(Hold { mediator_id: AccountId::generate(), capacity: 3, day: "2026-11-22".into() });
        w.announce = vec![BusMessage::Resync, BusMessage::AreasChanged];
        let place = crate::domain::location::GeoPoint::new(36.6, 101.75).unwrap();
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let note = crate::store::AreaNote { id: incident.id.clone(), at, place };
        w.note = Some(crate::store::NoteInArea { cell: "cell-1".into(), note, keep: Duration::from_secs(60) });
        w.creation = Some(Creation {
            tracking_hash: "t".into(),
            idempotency: Some(IdempotencyClaim {
                key_hash: "k".into(),
                fingerprint: "f".into(),
                ttl: Duration::from_micros(10),
                receipt: "r".into(),
            }),
        });
        w
    }

    #[test]
    fn a_plan_names_every_field_and_keeps_large_integers_exact() {
        let w = sample();
        let json: serde_json::Value = serde_json::to_value(w.plan()).unwrap();
        assert_eq!(json["expect_version"], "7");
        assert_eq!(json["timers"][0]["due_ms"], "1800000300000");
        assert!(json["timers"][1].get("due_ms").is_none(), "a cancel has no due time: {json}");
        assert_eq!(json["ttl"]["idempotency_ms"], "1", "a sub-millisecond TTL still remembers");
        assert_eq!(json["ttl"]["claims_ms"], "172800000");
        assert_eq!(json["hold"]["capacity"], 3);
        assert_eq!(json["announce"], serde_json::json!([r#"{"t":"areas_changed"}"#]), "Resync is local");
        let note = &json["area_note"];
        assert_eq!(note["cell"], "cell-1");
        assert_eq!(note["member"], format!("{} 36.6 101.75", w.incident.id));
        assert_eq!(note["at_ms"], "1800000000000");
        assert_eq!(note["oldest_ms"], "1799999940000", "a minute before it");
        assert_eq!(note["keep_ms"], "60000");
        let record = Incident::decode(json["record"].as_str().unwrap()).unwrap();
        assert_eq!(record, w.incident);
    }

    #[test]
    fn a_plan_without_hold_creation_or_expectation_leaves_those_fields_out() {
        let incident = crate::store::conformance::incident(&[]);
        let json = serde_json::to_value(IncidentWrite::new(incident, Expect::Absent).plan()).unwrap();
        for absent in ["expect_version", "hold", "release", "creation", "area_note"] {
            assert!(json.get(absent).is_none(), "{absent} in {json}");
        }
    }

    #[test]
    fn preconditions_refuse_in_order_replay_version_capacity() {
        let w = sample();
        let plan = w.plan();
        let prior =
            RememberedKey { incident_id: IncidentId::generate(), fingerprint: "f".into(), receipt: "r0".into() };
        let everything_wrong = Seen { remembered: Some(prior.clone()), version: Some(1), held: (3, false) };
        assert!(matches!(plan.refusal(&everything_wrong), Some(WriteOutcome::Replayed { same_request: true, .. })));
        assert_eq!(plan.refusal(&Seen { remembered: None, ..everything_wrong.clone() }), Some(WriteOutcome::Conflict));
        let right_version = Seen { remembered: None, version: Some(7), held: (3, false) };
        assert_eq!(plan.refusal(&right_version), Some(WriteOutcome::AtCapacity));
        assert_eq!(
            plan.refusal(&Seen { held: (3, true), ..right_version.clone() }),
            None,
            "a re-hold is not a new one"
        );
        assert_eq!(plan.refusal(&Seen { held: (2, false), ..right_version }), None);
    }

    #[test]
    fn only_a_deadline_sooner_than_every_held_one_is_news() {
        let w = sample();
        let plan = w.plan();
        let due = 1_800_000_300_000;
        assert_eq!(plan.next_deadline(None), Some(BusMessage::NextDeadline { due_ms: due }));
        assert_eq!(plan.next_deadline(Some(due + 1)), Some(BusMessage::NextDeadline { due_ms: due }));
        assert_eq!(plan.next_deadline(Some(due)), None);
    }
}
