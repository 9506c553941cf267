//! [`Directory`] on the Redis backend.

use super::scripts;
use super::{RedisStore, decode, encode, parse_account_id};
use crate::domain::account::{Account, Phone, Role};
use crate::domain::audit::{AUDIT_KEEP, AuditEntry};
use crate::domain::ids::{AccountId, SceneId};
use crate::domain::scene::Scene;
use crate::store::Directory;
use crate::store::records::Record;
use crate::store::{AccountWrite, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Directory for RedisStore {
    async fn insert_account(&self, account: &Account) -> Result<bool, StoreError> {
        let json = account.encode()?;
        let mut inv = scripts::INSERT_ACCOUNT.prepare_invoke();
        inv.key(self.keys.accounts())
            .key(self.keys.phones())
            .arg(account.id.to_string())
            .arg(account.phone.full())
            .arg(json);
        let created: i64 = self.invoke(&inv).await?;
        Ok(created == 1)
    }

    async fn update_account(&self, account: &Account, expected_version: u64) -> Result<bool, StoreError> {
        let json = account.encode()?;
        let mut inv = scripts::UPDATE_ACCOUNT.prepare_invoke();
        inv.key(self.keys.accounts())
            .arg(account.id.to_string())
            .arg(expected_version)
            .arg(account.phone.full())
            .arg(json);
        let replaced: i64 = self.invoke(&inv).await?;
        Ok(replaced == 1)
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let raw: Option<String> =
            self.query(::redis::cmd("HGET").arg(self.keys.accounts()).arg(id.to_string())).await?;
        raw.map(|json| Account::decode(&json)).transpose()
    }

    async fn get_accounts(&self, ids: &[AccountId]) -> Result<Vec<Option<Account>>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let fields: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let raw: Vec<Option<String>> = self.query(::redis::cmd("HMGET").arg(self.keys.accounts()).arg(fields)).await?;
        raw.into_iter().map(|json| json.map(|j| Account::decode(&j)).transpose()).collect()
    }

    async fn account_by_phone(&self, phone: &Phone) -> Result<Option<Account>, StoreError> {
        // Two reads: an account is created atomically with its phone entry. A phone change
        // between them moves both in one script, so an account that no longer has this phone
        // is not the answer.
        let id: Option<String> = self.query(::redis::cmd("HGET").arg(self.keys.phones()).arg(phone.full())).await?;
        let Some(id) = id else { return Ok(None) };
        Ok(self.get_account(&parse_account_id(&id)?).await?.filter(|a| a.phone == *phone))
    }

    async fn list_accounts(&self, role: Role) -> Result<Vec<Account>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("HVALS").arg(self.keys.accounts())).await?;
        let mut accounts = Vec::new();
        for json in raw {
            let account: Account = Account::decode(&json)?;
            if account.role == role {
                accounts.push(account);
            }
        }
        // Ids are UUIDv7: id order is creation order, as in the memory store.
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(accounts)
    }

    async fn insert_accounts(&self, accounts: &[Account], audit: &[AuditEntry]) -> Result<Vec<usize>, StoreError> {
        let mut inv = scripts::INSERT_ACCOUNTS.prepare_invoke();
        inv.key(self.keys.accounts()).key(self.keys.phones()).key(self.keys.audit());
        inv.arg(accounts.len()).arg(AUDIT_KEEP);
        for a in accounts {
            inv.arg(a.id.to_string()).arg(a.phone.full()).arg(a.encode()?);
        }
        for e in audit {
            inv.arg(encode("audit entry", e)?);
        }
        self.invoke(&inv).await
    }

    async fn change_account(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &[AuditEntry],
    ) -> Result<AccountWrite, StoreError> {
        let mut inv = scripts::CHANGE_ACCOUNT.prepare_invoke();
        inv.key(self.keys.accounts()).key(self.keys.phones()).key(self.keys.audit());
        inv.arg(account.id.to_string())
            .arg(expected_version)
            .arg(account.phone.full())
            .arg(account.encode()?)
            .arg(AUDIT_KEEP);
        for e in audit {
            inv.arg(encode("audit entry", e)?);
        }
        let outcome: i64 = self.invoke(&inv).await?;
        Ok(match outcome {
            1 => AccountWrite::Written,
            2 => AccountWrite::PhoneTaken,
            _ => AccountWrite::Conflict,
        })
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let key = self.keys.audit();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("LPUSH")
            .arg(&key)
            .arg(encode("audit entry", entry)?)
            .ignore()
            .cmd("LTRIM")
            .arg(&key)
            .arg(0)
            .arg(AUDIT_KEEP - 1)
            .ignore();
        self.query_pipe::<()>(&pipe).await
    }

    async fn list_audit(&self, offset: usize, limit: usize) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        if limit == 0 {
            let total: u64 = self.query(::redis::cmd("LLEN").arg(self.keys.audit())).await?;
            return Ok((vec![], total));
        }
        let key = self.keys.audit();
        let mut pipe = ::redis::pipe();
        pipe.cmd("LRANGE").arg(&key).arg(offset).arg(offset + limit - 1).cmd("LLEN").arg(&key);
        let (raw, total): (Vec<String>, u64) = self.query_pipe(&pipe).await?;
        let entries = raw.iter().map(|json| decode("audit entry", json)).collect::<Result<Vec<_>, _>>()?;
        Ok((entries, total))
    }

    async fn insert_scene(&self, scene: &Scene) -> Result<(), StoreError> {
        let json = scene.encode()?;
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.scenes()).arg(scene.id.to_string()).arg(json)).await
    }

    async fn put_area(&self, area: &crate::domain::area::Area) -> Result<(), StoreError> {
        let json = area.encode()?;
        self.query::<()>(::redis::cmd("HSET").arg(self.keys.areas()).arg(&area.code).arg(json)).await
    }

    async fn list_areas(&self) -> Result<Vec<crate::domain::area::Area>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("HVALS").arg(self.keys.areas())).await?;
        let mut areas =
            raw.iter().map(|json| crate::domain::area::Area::decode(json)).collect::<Result<Vec<_>, _>>()?;
        areas.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(areas)
    }

    async fn get_scene(&self, id: &SceneId) -> Result<Option<Scene>, StoreError> {
        let raw: Option<String> = self.query(::redis::cmd("HGET").arg(self.keys.scenes()).arg(id.to_string())).await?;
        raw.map(|json| Scene::decode(&json)).transpose()
    }

    async fn list_scenes(&self) -> Result<Vec<Scene>, StoreError> {
        let raw: Vec<String> = self.query(::redis::cmd("HVALS").arg(self.keys.scenes())).await?;
        let mut scenes = raw.iter().map(|json| Scene::decode(json)).collect::<Result<Vec<_>, _>>()?;
        scenes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(scenes)
    }
}
