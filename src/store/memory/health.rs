//! [`Health`] on the memory backend.

use super::MemoryStore;
use crate::store::Health;
use crate::store::StoreError;
use async_trait::async_trait;

#[async_trait]
impl Health for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
