//! [`HealthProbe`] on the memory backend.

use super::MemoryStore;
use crate::store::HealthProbe;
use crate::store::StoreError;
use async_trait::async_trait;

#[async_trait]
impl HealthProbe for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
