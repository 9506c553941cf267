//! Seeding through this build's library: staff accounts written straight into Redis (hashing
//! 20,000 passwords through the admin API would measure argon2, not dispatch) and their tokens.

use crate::fleet::Mediator;
use crate::procs;
use anyhow::bail;
use grid_dispatch::auth::JwtKeys;
use grid_dispatch::domain::account::{Account, Role};
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::store::Directory;
use grid_dispatch::store::redis::{RedisConfig, RedisStore};
use secrecy::SecretString;
use std::time::Duration;

/// A store of this build on the Redis at `port` (seeding goes through the library).
pub async fn connect_store(port: u16, prefix: &str) -> anyhow::Result<RedisStore> {
    RedisStore::connect(&RedisConfig {
        url: format!("redis://127.0.0.1:{port}"),
        prefix: prefix.to_owned(),
        command_timeout: Duration::from_secs(10),
        cluster_nodes: vec![],
    })
    .await
    .map_err(|e| anyhow::anyhow!("connect: {e:?}"))
}

/// Seed `mediators` mediator and `operators` operator accounts with their tokens.
pub async fn seed_staff(
    port: u16,
    prefix: &str,
    mediators: usize,
    operators: usize,
) -> anyhow::Result<(Vec<Mediator>, Vec<Mediator>)> {
    let store = connect_store(port, prefix).await?;
    let keys = JwtKeys::hmac(&SecretString::from(procs::SECRET), "grid-dispatch", "grid-dispatch");
    Ok((
        seed_accounts(&store, &keys, Role::Mediator, mediators).await?,
        seed_accounts(&store, &keys, Role::Operator, operators).await?,
    ))
}

/// Create `n` accounts of `role` directly in the store (hashing 20,000 passwords through the
/// admin API would measure argon2, not dispatch) and mint their tokens.
pub async fn seed_accounts(store: &RedisStore, keys: &JwtKeys, role: Role, n: usize) -> anyhow::Result<Vec<Mediator>> {
    let now = jiff::Timestamp::now();
    insert_accounts(store, role, n)
        .await?
        .iter()
        .map(|id| {
            let token = keys.issue(&id.to_string(), role, Duration::from_secs(7200), now)?.0;
            Ok(Mediator { token })
        })
        .collect()
}

/// Create `n` accounts of `role` directly in the store; their ids.
pub async fn insert_accounts(store: &RedisStore, role: Role, n: usize) -> anyhow::Result<Vec<AccountId>> {
    use futures_util::StreamExt;
    let hash = grid_dispatch::auth::hash_password("loadtest-password").map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = jiff::Timestamp::now();
    let accounts: Vec<Account> = (0..n)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "id": AccountId::generate(),
                "role": role.as_str(),
                "name": format!("压测{i}"),
                "phone": format!("{}{:08}", if role == Role::Mediator { 137 } else { 136 }, i),
                "password_hash": hash,
                "enabled": true,
                "specialties": [],
                "capacity": 3,
                "created_at": now,
                "version": 1,
            }))
        })
        .collect::<Result<_, _>>()?;
    let inserted = futures_util::stream::iter(accounts.iter())
        .map(|a| store.insert_account(a))
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await;
    for r in inserted {
        if !r.map_err(|e| anyhow::anyhow!("{e:?}"))? {
            bail!("a seeded phone was taken");
        }
    }
    Ok(accounts.into_iter().map(|a| a.id).collect())
}
