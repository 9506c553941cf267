//! The case file's own store port, [`CaseFileStore`], and its memory backend. The Redis backend
//! is in `redis.rs`; `conformance.rs` runs one behaviour suite on both.
//!
//! A case file is one versioned document per incident, written by compare-and-set on its
//! version (the service re-reads and retries on a lost race); images (signatures, thumb
//! prints) are stored beside it by their SHA-256, so writing one twice is harmless.

use super::domain::{CaseFile, DueKind};
use crate::domain::ids::IncidentId;
use crate::store::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A case file as stored, with its version (0: none yet).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Versioned {
    /// Bumped by every write.
    pub version: u64,
    /// The document.
    pub case: CaseFile,
}

/// Where case files live.
#[async_trait]
pub trait CaseFileStore: Send + Sync {
    /// The case file of `id` (version 0 and an empty file when none was written).
    ///
    /// # Errors
    /// The backend's.
    async fn load(&self, id: &IncidentId) -> Result<Versioned, StoreError>;

    /// Write `case` as version `expect + 1` if the stored version is still `expect`, and in the
    /// same atomic step set each deadline in `due` (one per kind and incident: a later one
    /// moves it); false when someone else wrote first (nothing written).
    ///
    /// # Errors
    /// The backend's.
    async fn save(
        &self,
        id: &IncidentId,
        expect: u64,
        case: &CaseFile,
        due: &[(DueKind, Timestamp)],
    ) -> Result<bool, StoreError>;

    /// Lease up to `max` deadlines due by `now`: each moves to `lease_until` (not deleted), so
    /// one whose instance dies comes back then. At least once delivery.
    ///
    /// # Errors
    /// The backend's.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        max: usize,
    ) -> Result<Vec<(IncidentId, DueKind)>, StoreError>;

    /// Remove a claimed deadline, unless it was moved since (its time is no longer the lease).
    ///
    /// # Errors
    /// The backend's.
    async fn finish_due(&self, id: &IncidentId, kind: DueKind, lease_until: Timestamp) -> Result<(), StoreError>;

    /// Keep an image under its SHA-256 (hex).
    ///
    /// # Errors
    /// The backend's.
    async fn put_image(&self, id: &IncidentId, sha256: &str, bytes: &[u8]) -> Result<(), StoreError>;

    /// An image kept by [`Self::put_image`].
    ///
    /// # Errors
    /// The backend's.
    async fn image(&self, id: &IncidentId, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Images by incident and SHA-256.
type Images = HashMap<(IncidentId, String), Vec<u8>>;

/// Case files in process memory (tests, the embedded store). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct MemoryCaseFiles {
    // std Mutex: never held across an await.
    cases: Arc<Mutex<HashMap<IncidentId, Versioned>>>,
    images: Arc<Mutex<Images>>,
    due: Arc<Mutex<BTreeMap<(IncidentId, DueKind), Timestamp>>>,
}

impl MemoryCaseFiles {
    /// Empty.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("case-file lock poisoned".into())
}

#[async_trait]
impl CaseFileStore for MemoryCaseFiles {
    async fn load(&self, id: &IncidentId) -> Result<Versioned, StoreError> {
        Ok(self.cases.lock().map_err(poisoned)?.get(id).cloned().unwrap_or_default())
    }

    async fn save(
        &self,
        id: &IncidentId,
        expect: u64,
        case: &CaseFile,
        due: &[(DueKind, Timestamp)],
    ) -> Result<bool, StoreError> {
        let mut cases = self.cases.lock().map_err(poisoned)?;
        let stored = cases.get(id).map_or(0, |v| v.version);
        if stored != expect {
            return Ok(false);
        }
        // Both locks, always in this order: the deadlines change with the document.
        let mut timers = self.due.lock().map_err(poisoned)?;
        cases.insert(id.clone(), Versioned { version: expect + 1, case: case.clone() });
        for (kind, at) in due {
            timers.insert((id.clone(), *kind), *at);
        }
        Ok(true)
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        max: usize,
    ) -> Result<Vec<(IncidentId, DueKind)>, StoreError> {
        let mut timers = self.due.lock().map_err(poisoned)?;
        let mut due: Vec<_> = timers.iter().filter(|(_, at)| **at <= now).map(|(k, at)| (*at, k.clone())).collect();
        due.sort();
        due.truncate(max);
        for (_, key) in &due {
            timers.insert(key.clone(), lease_until);
        }
        Ok(due.into_iter().map(|(_, k)| k).collect())
    }

    async fn finish_due(&self, id: &IncidentId, kind: DueKind, lease_until: Timestamp) -> Result<(), StoreError> {
        let mut timers = self.due.lock().map_err(poisoned)?;
        let key = (id.clone(), kind);
        if timers.get(&key) == Some(&lease_until) {
            timers.remove(&key);
        }
        Ok(())
    }

    async fn put_image(&self, id: &IncidentId, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.images.lock().map_err(poisoned)?.insert((id.clone(), sha256.to_owned()), bytes.to_vec());
        Ok(())
    }

    async fn image(&self, id: &IncidentId, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.images.lock().map_err(poisoned)?.get(&(id.clone(), sha256.to_owned())).cloned())
    }
}
