//! Stored records: the shapes incidents, accounts, scenes and areas have in a backend, each
//! with its schema version, apart from the domain and API types. Renaming a field of an API
//! or domain type changes only its `From` conversion here, never a stored byte; a change to
//! what is stored is a new `Stored…V2` and a conversion from V1, read by [`Record::decode`].
//!
//! Both stores use it: Redis keeps the encoded JSON, the memory store keeps what decoding it
//! gives back (so both hand out the same values), and the bus carries an incident in the same
//! encoding. Today every record is schema 1; records written before the version existed have
//! no `schema` field and read as 1.
//!
//! Timeline entries are records too (`timeline.rs`), each carrying its schema. The domain's
//! enums inside records (status, category, colour, outcome, level, role, deadline, actor) are
//! stored through their own spellings (`values.rs`), so an API rename of a variant stays out
//! of stored bytes too. Ids, points, phones and timestamps are values with one spelling.
//!
//! One file per kind: `incident.rs`, `directory.rs` (accounts, scenes, areas), `timeline.rs`;
//! `tests/golden/` holds the bytes each schema is written with, and the tests here prove that
//! records written before (and before the schema existed) still read.

use super::StoreError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The schema every record is written with today.
pub const SCHEMA: u32 = 1;

pub(crate) fn schema_v1() -> u32 {
    1
}

/// Something a store keeps, with the storage type of its current schema.
pub trait Record: Sized {
    /// What it is, for errors.
    const WHAT: &'static str;
    /// How it is stored today.
    type Stored: Serialize + DeserializeOwned + Into<Self>;
    /// Its stored form.
    fn to_stored(&self) -> Self::Stored;
    /// The schema `stored` says it has.
    fn schema(stored: &Self::Stored) -> u32;

    /// The stored bytes (JSON) of `self`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if it cannot be encoded (never for these types).
    fn encode(&self) -> Result<String, StoreError> {
        serde_json::to_string(&self.to_stored()).map_err(|e| StoreError::Corrupt(format!("{}: {e}", Self::WHAT)))
    }

    /// A record back from its stored bytes, whatever schema it was written with.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the bytes are not a record of a known schema.
    fn decode(json: &str) -> Result<Self, StoreError> {
        match serde_json::from_str::<Self::Stored>(json) {
            Ok(stored) if Self::schema(&stored) == SCHEMA => Ok(stored.into()),
            Ok(stored) => Err(unknown_schema(Self::WHAT, Self::schema(&stored))),
            Err(e) => Err(match serde_json::from_str::<Versioned>(json) {
                Ok(Versioned { schema }) if schema != SCHEMA => unknown_schema(Self::WHAT, schema),
                _ => StoreError::Corrupt(format!("{}: {e}", Self::WHAT)),
            }),
        }
    }

    /// What a store hands back for `self` once written: encoded and decoded again (the memory
    /// store keeps this, so it answers exactly as Redis does, floats included).
    ///
    /// # Errors
    /// As [`Record::encode`] and [`Record::decode`].
    fn round_trip(&self) -> Result<Self, StoreError> {
        Self::decode(&self.encode()?)
    }
}

/// `Record` for a domain type stored as `$stored` (which has `schema` and the `From`s).
macro_rules! record {
    ($domain:ty, $stored:ty, $what:literal) => {
        impl Record for $domain {
            const WHAT: &'static str = $what;
            type Stored = $stored;
            fn to_stored(&self) -> $stored {
                self.into()
            }
            fn schema(stored: &$stored) -> u32 {
                stored.schema
            }
        }
    };
}

/// Only the version of a record (to name an unknown one).
#[derive(Deserialize)]
struct Versioned {
    #[serde(default = "schema_v1")]
    schema: u32,
}

fn unknown_schema(what: &str, schema: u32) -> StoreError {
    StoreError::Corrupt(format!("{what}: schema {schema} is unknown to this build (it reads {SCHEMA})"))
}

mod directory;
mod incident;
mod timeline;
mod values;

pub use directory::{StoredAccountV1, StoredAreaV1, StoredSceneV1};
pub(crate) use incident::incident_record;
pub use incident::{StoredAreaPathV1, StoredFeedbackV1, StoredIncidentV1, StoredOfferV1, StoredSupervisionV1};
pub use timeline::{StoredEventV1, StoredTimelineEntryV1};
pub use values::{
    StoredActorRoleV1, StoredAreaLevelV1, StoredCategoryV1, StoredDeadlineV1, StoredOutcomeV1, StoredRiskV1,
    StoredRoleV1, StoredStatusV1,
};

#[cfg(test)]
mod tests;
