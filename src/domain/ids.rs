//! Opaque identifiers: UUIDv7 strings, sortable by creation time, validated at the boundary so
//! no user input ever reaches a store key unchecked.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An identifier that failed to parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid id")]
pub struct InvalidId;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            #[must_use]
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Parse a client-supplied id.
            ///
            /// # Errors
            /// [`InvalidId`] unless the text is a hyphenated UUID.
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                if s.len() != 36 {
                    return Err(InvalidId);
                }
                uuid::Uuid::try_parse(s).map(Self).map_err(|_| InvalidId)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

id_type!(
    /// An incident (one resident report and everything that follows it).
    IncidentId
);
id_type!(
    /// A staff account: mediator, operator or admin.
    AccountId
);
impl AccountId {
    /// The operations principal: admin tokens minted by the CLI name no account, and actions
    /// they take are recorded under this (nil) id.
    #[must_use]
    pub fn operations() -> Self {
        Self(uuid::Uuid::nil())
    }

    /// The id's 16 bytes (the bus's compact position batches carry these).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The id whose bytes these are (every 16 bytes name some id).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }
}

id_type!(
    /// A QR scene: a named place where residents scan to report.
    SceneId
);
id_type!(
    /// A department called in to joint handling (issue #21): a police station, a justice office…
    DepartmentId
);
id_type!(
    /// One call-in (吹哨) of one department to one incident (issue #21).
    CallInId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_key_injection() {
        let id = IncidentId::generate();
        assert_eq!(IncidentId::parse(&id.to_string()), Ok(id));
        for bad in ["", "{gd}:x", "0190e0c0-0000-7000-8000-00000000000\n", "*"] {
            assert_eq!(IncidentId::parse(bad), Err(InvalidId));
        }
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = IncidentId::generate();
        let b = IncidentId::generate();
        assert!(a.to_string() < b.to_string());
    }
}
