//! The case file's own store port, [`CaseFileStore`], and its memory backend. The Redis backend
//! is in `redis.rs`; `conformance.rs` runs one behaviour suite on both.
//!
//! A case file is one versioned document per incident, written by compare-and-set on its
//! version (the service re-reads and retries on a lost race); images (signatures, thumb
//! prints) are stored beside it by their SHA-256, so writing one twice is harmless.
//!
//! Its deadlines are not kept here: a write puts them in the shared timer set (beside the
//! incident store's, `{p}:timers`), with the incident's timeline lines and bus messages that
//! go with it, all or nothing, so every instance's [`crate::timers::TimerRunner`] wakes for
//! them and fires each once.

use super::domain::CaseFile;
use crate::domain::ids::IncidentId;
use crate::domain::timeline::TimelineEntry;
use crate::store::memory::MemoryStore;
use crate::store::{Bus, BusMessage, IncidentStore, StoreError, TimerOp};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What changes with a case-file write, all or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Deadline changes in the shared timer set (a `next_deadline` goes out with the write
    /// when one is sooner than every deadline held, so every runner wakes for it).
    pub timers: Vec<TimerOp>,
    /// Lines for the incident's timeline.
    pub timeline: Vec<TimelineEntry>,
    /// Bus messages published iff the write applies.
    pub announce: Vec<BusMessage>,
}

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

    /// Write `case` as version `expect + 1` if the stored version is still `expect`, and with
    /// it `effects`; false when someone else wrote first (nothing written, nothing announced).
    ///
    /// # Errors
    /// The backend's.
    async fn save(&self, id: &IncidentId, expect: u64, case: &CaseFile, effects: &Effects) -> Result<bool, StoreError>;

    /// Move the deadlines an earlier version kept in a set of their own (`{p}:case_due`)
    /// into the shared timer set, once; returns how many moved.
    ///
    /// # Errors
    /// The backend's; the next start tries again (moving is idempotent).
    async fn adopt_old_deadlines(&self) -> Result<usize, StoreError>;

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

/// Case files in process memory (tests, the embedded store), beside the memory store whose
/// timer set, timelines and bus they share. Cheap to clone.
#[derive(Clone)]
pub struct MemoryCaseFiles {
    // std Mutex: never held across an await.
    cases: Arc<Mutex<HashMap<IncidentId, Versioned>>>,
    images: Arc<Mutex<Images>>,
    store: MemoryStore,
}

impl MemoryCaseFiles {
    /// Empty, beside `store`.
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { cases: Arc::default(), images: Arc::default(), store }
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

    async fn save(&self, id: &IncidentId, expect: u64, case: &CaseFile, effects: &Effects) -> Result<bool, StoreError> {
        {
            let mut cases = self.cases.lock().map_err(poisoned)?;
            let stored = cases.get(id).map_or(0, |v| v.version);
            if stored != expect {
                return Ok(false);
            }
            cases.insert(id.clone(), Versioned { version: expect + 1, case: case.clone() });
        }
        // The rest cannot fail in memory: the write is whole once the version check passed.
        self.store.change_timers(&effects.timers);
        self.store.append_timeline(id, &effects.timeline).await?;
        let bus = self.store.bus();
        for message in &effects.announce {
            bus.publish(message).await?;
        }
        Ok(true)
    }

    async fn adopt_old_deadlines(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    async fn put_image(&self, id: &IncidentId, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.images.lock().map_err(poisoned)?.insert((id.clone(), sha256.to_owned()), bytes.to_vec());
        Ok(())
    }

    async fn image(&self, id: &IncidentId, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.images.lock().map_err(poisoned)?.get(&(id.clone(), sha256.to_owned())).cloned())
    }
}
