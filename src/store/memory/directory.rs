//! [`Directory`] on the memory backend.

use super::MemoryStore;
use crate::domain::account::{Account, Phone, Role};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{AccountId, SceneId};
use crate::domain::scene::Scene;
use crate::store::Directory;
use crate::store::records::Record;
use crate::store::{AccountWrite, StoreError};
use async_trait::async_trait;
use std::collections::HashSet;

#[async_trait]
impl Directory for MemoryStore {
    async fn insert_account(&self, account: &Account) -> Result<bool, StoreError> {
        let mut g = self.lock();
        if g.phones.contains_key(account.phone.full()) || g.accounts.contains_key(&account.id) {
            return Ok(false);
        }
        g.phones.insert(account.phone.full().to_owned(), account.id.clone());
        g.accounts.insert(account.id.clone(), account.round_trip()?);
        Ok(true)
    }

    async fn update_account(&self, account: &Account, expected_version: u64) -> Result<bool, StoreError> {
        let mut g = self.lock();
        match g.accounts.get(&account.id) {
            Some(cur) if cur.version == expected_version && cur.phone == account.phone => {
                g.accounts.insert(account.id.clone(), account.round_trip()?);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.lock().accounts.get(id).cloned())
    }

    async fn get_accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<Account>>, StoreError> {
        let g = self.lock();
        Ok(ids.iter().map(|id| g.accounts.get(id).cloned()).collect())
    }

    async fn account_by_phone(&self, phone: &Phone) -> Result<Option<Account>, StoreError> {
        let g = self.lock();
        Ok(g.phones.get(phone.full()).and_then(|id| g.accounts.get(id)).cloned())
    }

    async fn list_accounts(&self, role: Role) -> Result<Vec<Account>, StoreError> {
        // Ids are UUIDv7, so map order is creation order.
        Ok(self.lock().accounts.values().filter(|a| a.role == role).cloned().collect())
    }

    async fn insert_accounts(&self, accounts: &[Account], audit: &[AuditEntry]) -> Result<Vec<usize>, StoreError> {
        let mut g = self.lock();
        let mut seen = HashSet::new();
        let clashing: Vec<usize> = accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                g.phones.contains_key(a.phone.full())
                    || g.accounts.contains_key(&a.id)
                    || !seen.insert(a.phone.full().to_owned())
            })
            .map(|(i, _)| i)
            .collect();
        if !clashing.is_empty() {
            return Ok(clashing);
        }
        for a in accounts {
            g.phones.insert(a.phone.full().to_owned(), a.id.clone());
            g.accounts.insert(a.id.clone(), a.round_trip()?);
        }
        g.push_audit(audit);
        Ok(vec![])
    }

    async fn change_account(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<AccountWrite, StoreError> {
        let mut g = self.lock();
        let Some(old_phone) =
            g.accounts.get(&account.id).filter(|cur| cur.version == expected_version).map(|cur| cur.phone.clone())
        else {
            return Ok(AccountWrite::Conflict);
        };
        if old_phone != account.phone {
            if g.phones.contains_key(account.phone.full()) {
                return Ok(AccountWrite::PhoneTaken);
            }
            g.phones.remove(old_phone.full());
            g.phones.insert(account.phone.full().to_owned(), account.id.clone());
        }
        g.accounts.insert(account.id.clone(), account.round_trip()?);
        g.push_audit(audit);
        Ok(AccountWrite::Written)
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.lock().push_audit(std::slice::from_ref(entry));
        Ok(())
    }

    async fn list_audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let g = self.lock();
        let page = g.audit.iter().skip(offset).take(limit).cloned().collect();
        Ok((page, g.audit.len() as u64))
    }

    async fn insert_scene(&self, scene: &Scene) -> Result<(), StoreError> {
        let stored = scene.round_trip()?;
        self.lock().scenes.insert(scene.id.clone(), stored);
        Ok(())
    }

    async fn get_scene(&self, id: &SceneId) -> Result<Option<Scene>, StoreError> {
        Ok(self.lock().scenes.get(id).cloned())
    }

    async fn list_scenes(&self) -> Result<Vec<Scene>, StoreError> {
        Ok(self.lock().scenes.values().cloned().collect())
    }

    async fn put_area(&self, area: &crate::domain::area::Area) -> Result<(), StoreError> {
        let stored = area.round_trip()?;
        self.lock().areas.insert(area.code.clone(), stored);
        Ok(())
    }

    async fn list_areas(&self) -> Result<Vec<crate::domain::area::Area>, StoreError> {
        Ok(self.lock().areas.values().cloned().collect())
    }
}
