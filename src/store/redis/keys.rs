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
//! High-volume per-mediator position data (every few seconds per mediator on duty) may later
//! move under a different tag so it spreads over the cluster (issue #6). Only single-key
//! commands may then touch it, never the scripts in `scripts.rs`.
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
//! | `{p}:scenes`           | hash   | scene id → `Scene` JSON                                    |
//! | `{p}:inc:<id>`         | hash   | `v` → version (decimal), `doc` → `Incident` JSON           |
//! | `{p}:tl:<id>`          | list   | `TimelineEntry` JSON, oldest first                         |
//! | `{p}:incidents`        | zset   | incident id scored by creation time (ms since epoch)       |
//! | `{p}:track:<hash>`     | string | incident id for a tracking-token SHA-256                   |
//! | `{p}:idem:<hash>`      | hash   | `id` → incident id, `fp` → fingerprint, `r` → receipt; TTL |
//! | `{p}:offers:<id>`      | set    | incident ids with an open offer to this mediator           |
//! | `{p}:holds:<id>`       | set    | incident ids this mediator holds                           |
//! | `{p}:timers`           | zset   | `TimerKey::member()` scored by due time (ms since epoch)   |
//! | `{p}:bus`              | channel| pub/sub channel of JSON `BusMessage`s                      |

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
            k.duty(),
            k.fixes(),
            k.scenes(),
            k.incident(&i),
            k.timeline(&i),
            k.incidents_by_created(),
            k.tracking("ab12"),
            k.idempotency("cd34"),
            k.offers(&m),
            k.holds(&m),
            k.timers(),
            k.bus_channel(),
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
