//! The harness every store conformance suite shares (`tests/store_conformance.rs`,
//! `tests/casefile_store.rs`, `tests/department_conformance.rs`): each named check runs as its
//! own test on a fresh memory backend and again on a fresh Redis behind a throwaway
//! `redis-server`, so a failure names both the check and the backend; on Redis, whatever the
//! check wrote must sit under the deployment's one hash tag (the cluster rule).
//!
//! Include it with `#[path = "support/conformance.rs"] mod harness;`, define
//! `run_on_memory(name)` and `run_on_redis(name)` at the crate root (each finds its check with
//! [`named`] and builds that suite's backend), then list the checks with
//! `harness::conformance_tests!(suite::all; check_a, check_b, …)`.
//! Needs `redis-server` on `PATH` (`./scripts/test.sh` installs it).
#![allow(dead_code, reason = "each suite uses a different subset of the harness")]

#[path = "redis_server.rs"]
pub(crate) mod redis_server;

use grid_dispatch::store::redis::{RedisConfig, RedisStore};
pub(crate) use redis_server::RedisServer;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

/// Every command's bound in these suites: a Redis that is gone fails within it.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// Settings for a deployment of its own on `server` (a fresh key prefix each call).
#[must_use]
pub(crate) fn redis_config(server: &RedisServer) -> RedisConfig {
    RedisConfig {
        url: server.url(),
        prefix: redis_server::unique_prefix(),
        command_timeout: COMMAND_TIMEOUT,
        cluster_nodes: vec![],
    }
}

/// The check called `name` in a suite's list `all`.
///
/// # Panics
/// When the suite has no such check (a test listed under a name the suite does not know).
#[must_use]
pub(crate) fn named<C>(all: Vec<(&'static str, C)>, name: &str) -> C {
    all.into_iter()
        .find_map(|(n, check)| (n == name).then_some(check))
        .unwrap_or_else(|| panic!("no conformance check named {name}"))
}

/// Run `check` on a store over a fresh `redis-server`, then assert that every key it wrote
/// carries the one `{prefix}` hash tag.
pub(crate) async fn on_fresh_redis<F, Fut>(check: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = RedisServer::start();
    let store = RedisStore::connect(&redis_config(&server)).await.expect("connect to the test redis");
    check(store).await;
    assert_every_key_is_under_one_tag(&server).await;
}

/// The cluster rule: whatever was written on `server`, every key carries the one `{prefix}`
/// hash tag.
pub(crate) async fn assert_every_key_is_under_one_tag(server: &RedisServer) {
    let mut raw = raw_connection(server).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut raw).await.expect("KEYS");
    let tags: BTreeSet<&str> = keys.iter().map(|k| k.split_once("}:").map_or(k.as_str(), |(tag, _)| tag)).collect();
    assert!(tags.len() <= 1 && tags.iter().all(|t| t.starts_with('{')), "keys outside one hash tag: {keys:?}");
}

/// A plain connection to `server`, for what a test does behind the store's back.
pub(crate) async fn raw_connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection to the test redis")
}

/// One test per listed check per backend (`memory::<check>`, `redis_backend::<check>`), calling
/// the crate root's `run_on_memory` / `run_on_redis`, and a test that fails when the suite
/// (`$all`, its list of named checks) has a check not listed here, so none goes unrun.
macro_rules! conformance_tests {
    ($all:path; $($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    crate::run_on_memory(stringify!($name)).await;
                }
            )*
        }

        mod redis_backend {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    crate::run_on_redis(stringify!($name)).await;
                }
            )*
        }

        #[test]
        fn every_conformance_check_is_listed_here() {
            let listed = [$(stringify!($name)),*];
            let missing: Vec<&str> = $all().into_iter().map(|(n, _)| n).filter(|n| !listed.contains(n)).collect();
            assert!(missing.is_empty(), "add these to conformance_tests! in {}: {missing:?}", file!());
        }
    };
}
pub(crate) use conformance_tests;
