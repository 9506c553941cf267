//! Every Redis key and channel name the backend uses, built in one place under a configurable
//! prefix. Nothing else in the crate formats a key.
//!
//! # One hash tag for everything
//!
//! All keys share ONE hash tag, `{<prefix>}`, so Redis Cluster puts them all in the same slot.
//! That is deliberate: an incident write changes the incident, its timeline, the timer set, the
//! offer and hold sets of several mediators, the tracking and idempotency keys and the index in
//! one Lua script, and a script may only touch keys of one slot (Redis 7 enforces it; older
//! servers break silently when a reshard splits the keys). Account creation likewise changes
//! the account hash and the phone index together. The volume of this data is low (a district's
//! reports and staff), so one slot on one node is plenty, and atomicity is worth far more than
//! spreading it.
//!
//! Position data (`fix`, `fix_at`, `duty`) stays under the same tag too (issue #6 decided it).
//! It is the highest-volume write (one `HSET` + `ZADD` per mediator every few seconds: 20,000
//! mediators at 5 s is 4,000 writes/s, a few percent of one Redis core), but every position is
//! also published on the bus, and with classic pub/sub every node handles every message: moving
//! the hashes to their own slots would spread the smaller half of the load and add a fan-out
//! read to every resync. If positions ever outgrow one node, they move together with the bus:
//! per-area tags `{<prefix>:pos:<n>}` holding that area's `fix`/`fix_at` and a sharded
//! channel, touched only by single-slot commands, never by the scripts in `scripts.rs`.
//!
//! Ids are validated UUIDs and hashes are hex before they reach this module, so no user input
//! can forge another key or a different hash tag.
//!
//! # Layout (`{p}` = `{<prefix>}`)
//!
//! | Key                    | Type   | Contents                                                   |
//! |------------------------|--------|------------------------------------------------------------|
//! | `{p}:accounts`         | hash   | account id → `Account` JSON                                |
//! | `{p}:phones`           | hash   | phone (11 digits) → account id                             |
//! | `{p}:duty`             | hash   | mediator id → `"1"` (on duty) / `"0"`                      |
//! | `{p}:fix`              | hash   | mediator id → `Fix` JSON                                   |
//! | `{p}:fix_at`           | zset   | mediator id scored by its fix's minute (ms, rounded up), to prune silence |
//! | `{p}:scenes`           | hash   | scene id → `Scene` JSON                                    |
//! | `{p}:audit`            | list   | `AuditEntry` JSON, newest first, trimmed to `AUDIT_KEEP`    |
//! | `{p}:inc:<id>`         | hash   | `v` → version (decimal), `doc` → `Incident` JSON           |
//! | `{p}:tl:<id>`          | list   | `StoredTimelineEntryV1` JSON, oldest first                 |
//! | `{p}:incidents`        | zset   | incident id scored by creation time (ms since epoch)       |
//! | `{p}:track:<hash>`     | string | incident id for a tracking-token SHA-256                   |
//! | `{p}:idem:<hash>`      | hash   | `id` → incident id, `fp` → fingerprint, `r` → receipt; TTL |
//! | `{p}:offers:<id>`      | set    | incident ids with an open offer to this mediator           |
//! | `{p}:holds:<id>`       | set    | incident ids this mediator holds                           |
//! | `{p}:claims:<day>`     | hash   | mediator id → claims (grabs, assignments) that day; 2 days |
//! | `{p}:spot:<cell>`      | zset   | `"<incident id> <lat> <lng>"` by report time (ms); 30 days |
//! | `{p}:spots`            | zset   | hot-spot cell by its newest note's time (ms); 30 days      |
//! | `{p}:timers`           | zset   | `TimerKey::member()` scored by due time (ms since epoch)   |
//! | `{p}:bus`              | channel| pub/sub channel of `BusMessage`s (`bus_codec.rs`: positions binary, the rest JSON) |
//! | `{p}:ready`            | string | readiness write probe (the prober's clock, ms); 60 s TTL   |
//! | `{p}:depts`            | hash   | department id → `Department` JSON (issue #21)              |
//! | `{p}:callins`          | hash   | call-in id → `CallIn` JSON (its `version` inside)          |
//! | `{p}:callins:inc:<id>` | set    | call-in ids of an incident                                 |
//! | `{p}:callins:dept:<id>`| set    | call-in ids of a department                                |
//! | `{p}:hooks`            | hash   | webhook event id → `WebhookEvent` JSON, until delivered    |
//! | `{p}:hooklog`          | list   | `DeliveryLine` JSON, newest first, trimmed                 |

use crate::domain::ids::{AccountId, IncidentId};
use std::fmt;

/// A prefix that would break the shared hash tag or the key syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redis key prefix must be 1-64 characters of [A-Za-z0-9_.-]")]
pub struct InvalidPrefix;

/// The key builder for one prefix. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// `{<prefix>}`: the hash tag every key starts with.
    tag: String,
}

impl Keys {
    /// Keys under `prefix`.
    ///
    /// # Errors
    /// [`InvalidPrefix`] when the prefix is empty, too long, or has characters other than ASCII
    /// letters, digits, `_`, `.` and `-` (braces would change the hash tag, `:` and spaces
    /// make keys ambiguous).
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let valid = !prefix.is_empty()
            && prefix.len() <= 64
            && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid { Ok(Self { tag: format!("{{{prefix}}}") }) } else { Err(InvalidPrefix) }
    }

    /// The one function every key goes through: `{prefix}:<name>[:<id>]`.
    fn key(&self, name: &str, id: Option<&dyn fmt::Display>) -> String {
        match id {
            Some(id) => format!("{}:{name}:{id}", self.tag),
            None => format!("{}:{name}", self.tag),
        }
    }

    /// The hash tag shared by every key, `{<prefix>}`.
    #[must_use]
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Hash: account id → account JSON.
    #[must_use]
    pub fn accounts(&self) -> String {
        self.key("accounts", None)
    }

    /// Hash: phone → account id (the uniqueness index).
    #[must_use]
    pub fn phones(&self) -> String {
        self.key("phones", None)
    }

    /// List: audit entries, newest first.
    #[must_use]
    pub fn audit(&self) -> String {
        self.key("audit", None)
    }

    /// Hash: mediator id → `"1"`/`"0"`.
    #[must_use]
    pub fn duty(&self) -> String {
        self.key("duty", None)
    }

    /// Hash: mediator id → last `Fix` JSON.
    #[must_use]
    pub fn fixes(&self) -> String {
        self.key("fix", None)
    }

    /// Zset: mediator id scored by the time of the fix in [`Self::fixes`] rounded up to its
    /// minute (ms, `store::presence::fix_minute_ms`: a phone reporting every few seconds
    /// changes it once a minute), so positions of phones gone silent can be pruned without
    /// reading every fix.
    #[must_use]
    pub fn fix_times(&self) -> String {
        self.key("fix_at", None)
    }

    /// Hash: mediator id → claims on `day` (`YYYY-MM-DD`); expires after two days.
    #[must_use]
    pub fn claims(&self, day: &str) -> String {
        self.key("claims", Some(&day))
    }

    /// Zset: incident ids reported in hot-spot cell `cell`, scored by report time (ms).
    #[must_use]
    pub fn area_notes(&self, cell: &str) -> String {
        self.key("spot", Some(&cell))
    }

    /// Zset: hot-spot cells scored by their newest note's time (ms), so an instance can load
    /// every recent note without scanning keys.
    #[must_use]
    pub fn noted_areas(&self) -> String {
        self.key("spots", None)
    }

    /// Hash: area code → area JSON (outline as GeoJSON).
    #[must_use]
    pub fn areas(&self) -> String {
        self.key("areas", None)
    }

    /// String written by the readiness probe (proves Redis takes writes, not only PING).
    #[must_use]
    pub fn ready_probe(&self) -> String {
        self.key("ready", None)
    }

    /// Hash: scene id → scene JSON.
    #[must_use]
    pub fn scenes(&self) -> String {
        self.key("scenes", None)
    }

    /// Hash `{v, doc}` of one incident.
    #[must_use]
    pub fn incident(&self, id: &IncidentId) -> String {
        self.key("inc", Some(id))
    }

    /// List: one incident's timeline.
    #[must_use]
    pub fn timeline(&self, id: &IncidentId) -> String {
        self.key("tl", Some(id))
    }

    /// Zset: incident ids by creation time.
    #[must_use]
    pub fn incidents_by_created(&self) -> String {
        self.key("incidents", None)
    }

    /// Zset: ids of incidents not yet closed, by creation time.
    #[must_use]
    pub fn open_incidents(&self) -> String {
        self.key("incidents:open", None)
    }

    /// String: present once `incidents:open` holds every open incident (its one-time build
    /// from the incidents written before it existed is done).
    #[must_use]
    pub fn open_incidents_built(&self) -> String {
        self.key("incidents:open:built", None)
    }

    /// String: the incident a tracking-token hash (hex) belongs to.
    #[must_use]
    pub fn tracking(&self, tracking_hash: &str) -> String {
        self.key("track", Some(&tracking_hash))
    }

    /// Hash `{id, fp, r}` with a TTL: a remembered idempotency key (hex hash).
    #[must_use]
    pub fn idempotency(&self, key_hash: &str) -> String {
        self.key("idem", Some(&key_hash))
    }

    /// Set: incidents with an open offer to `mediator`.
    #[must_use]
    pub fn offers(&self, mediator: &AccountId) -> String {
        self.key("offers", Some(mediator))
    }

    /// Set: incidents `mediator` holds.
    #[must_use]
    pub fn holds(&self, mediator: &AccountId) -> String {
        self.key("holds", Some(mediator))
    }

    /// Zset: durable deadlines, member `kind:incident-id`, score due time in ms.
    #[must_use]
    pub fn timers(&self) -> String {
        self.key("timers", None)
    }

    /// Hash: department id → department JSON (issue #21).
    #[must_use]
    pub fn departments(&self) -> String {
        self.key("depts", None)
    }

    /// Hash: call-in id → call-in JSON (issue #21).
    #[must_use]
    pub fn call_ins(&self) -> String {
        self.key("callins", None)
    }

    /// Set: the call-in ids of an incident.
    #[must_use]
    pub fn call_ins_of_incident(&self, id: &IncidentId) -> String {
        self.key("callins:inc", Some(id))
    }

    /// Set: the call-in ids of a department.
    #[must_use]
    pub fn call_ins_of_department(&self, id: &crate::domain::ids::DepartmentId) -> String {
        self.key("callins:dept", Some(id))
    }

    /// String: the departments' routing table JSON (issue #21), versioned.
    #[must_use]
    pub fn routing(&self) -> String {
        self.key("routing", None)
    }

    /// Hash: webhook event id → event JSON, until delivered or given up.
    #[must_use]
    pub fn webhooks(&self) -> String {
        self.key("hooks", None)
    }

    /// List: the webhook delivery log, newest first.
    #[must_use]
    pub fn webhook_log(&self) -> String {
        self.key("hooklog", None)
    }

    /// Pub/sub channel of the cross-instance bus.
    #[must_use]
    pub fn bus_channel(&self) -> String {
        self.key("bus", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_starts_with_the_one_hash_tag() {
        let k = Keys::new("gd").expect("valid prefix");
        let (i, m) = (IncidentId::generate(), AccountId::generate());
        let all = [
            k.accounts(),
            k.phones(),
            k.audit(),
            k.duty(),
            k.fixes(),
            k.fix_times(),
            k.scenes(),
            k.incident(&i),
            k.timeline(&i),
            k.incidents_by_created(),
            k.open_incidents(),
            k.open_incidents_built(),
            k.tracking("ab12"),
            k.idempotency("cd34"),
            k.offers(&m),
            k.holds(&m),
            k.claims("2026-12-02"),
            k.area_notes("88283082b9fffff"),
            k.noted_areas(),
            k.timers(),
            k.bus_channel(),
            k.departments(),
            k.call_ins(),
            k.call_ins_of_incident(&i),
            k.webhooks(),
            k.webhook_log(),
            k.routing(),
            k.call_ins_of_department(&crate::domain::ids::DepartmentId::generate()),
        ];
        for key in &all {
            assert!(key.starts_with("{gd}:"), "{key}");
            assert_eq!(key.matches('{').count(), 1, "{key}");
        }
        assert_eq!(k.incident(&i), format!("{{gd}}:inc:{i}"));
    }

    #[test]
    fn prefixes_that_would_change_the_hash_tag_are_refused() {
        for bad in ["", "a}b", "{x", "a b", "a:b", &"x".repeat(65)] {
            assert_eq!(Keys::new(bad), Err(InvalidPrefix), "{bad}");
        }
        assert!(Keys::new("gd-test_1.x").is_ok());
    }
}

// --- residents via WeChat (issue #3) ---------------------------------------------------------
//
// | Key                    | Type   | Contents                                                   |
// |------------------------|--------|------------------------------------------------------------|
// | `{p}:wx:sess:<hash>`   | string | `ResidentSession` JSON of an openid (SHA-256 hex); TTL     |
// | `{p}:wx:msg:<hash>`    | string | a delivery's answer: `p` (pending) or `a:<reply>`; TTL     |
// | `{p}:wx:url:<hash>`    | string | body hash first seen with a signed URL; TTL                |
// | `{p}:rl:<hash>`        | string | fixed-window hit counter; TTL = the window                 |
// | `{p}:wx:token`         | string | `CachedToken` JSON; TTL = until it expires                 |
// | `{p}:wx:token_lock`    | string | holder of the token-refresh lock; TTL = lease              |
// | `{p}:wx:qr`            | hash   | scene id → permanent WeChat QR content                     |
// | `{p}:wx:inc:<id>`      | string | openid of the WeChat user who reported the incident; TTL   |

impl Keys {
    /// String: a resident's conversation state, by openid hash (hex).
    #[must_use]
    pub fn wechat_session(&self, openid_hash: &str) -> String {
        self.key("wx:sess", Some(&openid_hash))
    }

    /// String: a delivery's dedupe record, by dedupe-key hash (hex).
    #[must_use]
    pub fn wechat_delivery(&self, key_hash: &str) -> String {
        self.key("wx:msg", Some(&key_hash))
    }

    /// String: the body hash first seen with a signed URL, by URL hash (hex).
    #[must_use]
    pub fn wechat_signed_url(&self, url_hash: &str) -> String {
        self.key("wx:url", Some(&url_hash))
    }

    /// String: a fixed-window rate counter, by scoped key hash (hex).
    #[must_use]
    pub fn rate_window(&self, key_hash: &str) -> String {
        self.key("rl", Some(&key_hash))
    }

    /// String: the shared WeChat access token.
    #[must_use]
    pub fn wechat_token(&self) -> String {
        self.key("wx:token", None)
    }

    /// String: the token-refresh lock.
    #[must_use]
    pub fn wechat_token_lock(&self) -> String {
        self.key("wx:token_lock", None)
    }

    /// Hash: scene id → permanent WeChat QR content.
    #[must_use]
    pub fn wechat_qr(&self) -> String {
        self.key("wx:qr", None)
    }

    /// String: the reporting WeChat user of an incident.
    #[must_use]
    pub fn wechat_incident(&self, id: &IncidentId) -> String {
        self.key("wx:inc", Some(id))
    }
}

#[cfg(test)]
mod wechat_key_tests {
    use super::*;

    #[test]
    fn wechat_keys_share_the_one_hash_tag() {
        let k = Keys::new("gd").expect("valid prefix");
        let i = IncidentId::generate();
        for key in [
            k.wechat_session("ab"),
            k.wechat_delivery("cd"),
            k.wechat_signed_url("ef"),
            k.rate_window("01"),
            k.wechat_token(),
            k.wechat_token_lock(),
            k.wechat_qr(),
            k.wechat_incident(&i),
        ] {
            assert!(key.starts_with("{gd}:"), "{key}");
            assert_eq!(key.matches('{').count(), 1, "{key}");
        }
    }
}

// The case file (issue #20, `casefile/redis.rs`), same hash tag:
// | `{p}:case:<id>`        | hash   | `v` → version, `doc` → `CaseFile` JSON (phones, ID numbers sealed) |
// | `{p}:case_img:<id>`    | hash   | image SHA-256 (hex) → the image's bytes (signatures, thumb prints) |
// | `{p}:case_due`         | zset   | before the shared timer set held them: `<kind>:<incident id>` by due time (ms); moved into `{p}:timers` at start |

impl Keys {
    /// Hash `{v, doc}`: one incident's case file.
    #[must_use]
    pub fn case_file(&self, id: &IncidentId) -> String {
        self.key("case", Some(id))
    }

    /// Zset: case-file deadlines (`<kind>:<incident id>`) by due time (ms), as an earlier
    /// version kept them; moved into [`Self::timers`] at start.
    #[must_use]
    pub fn case_deadlines(&self) -> String {
        self.key("case_due", None)
    }

    /// Hash: one incident's signature and thumb-print images by SHA-256.
    #[must_use]
    pub fn case_images(&self, id: &IncidentId) -> String {
        self.key("case_img", Some(id))
    }
}
