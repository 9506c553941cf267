//! Every `casefile::conformance` check against the memory backend and against a real
//! `redis-server`, one test per check per backend.
//!
//! Needs `--features conformance` and `redis-server` on PATH.

#[path = "support/redis_server.rs"]
mod redis_server;

use grid_dispatch::casefile::conformance;
use grid_dispatch::casefile::redis::RedisCaseFiles;
use grid_dispatch::casefile::store::MemoryCaseFiles;
use grid_dispatch::store::redis::{RedisConfig, RedisStore};
use redis_server::{RedisServer, unique_prefix};
use std::sync::Arc;
use std::time::Duration;

fn check(name: &str) -> conformance::Check {
    conformance::all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no case-file conformance check named {name}"))
}

async fn run_on_memory(name: &str) {
    let (_, run) = check(name);
    run(Arc::new(MemoryCaseFiles::new())).await;
}

async fn run_on_redis(name: &str) {
    let (_, run) = check(name);
    let server = RedisServer::start();
    let config = RedisConfig {
        url: server.url(),
        prefix: unique_prefix(),
        command_timeout: Duration::from_secs(1),
        cluster_nodes: vec![],
    };
    let store = RedisStore::connect(&config).await.expect("connect to the test redis");
    run(Arc::new(RedisCaseFiles::new(store))).await;
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::run_on_memory(stringify!($name)).await;
                }
            )*
        }

        mod redis_backend {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::run_on_redis(stringify!($name)).await;
                }
            )*
        }

        /// A check added to `casefile/conformance.rs` but not listed here must not go unrun.
        #[test]
        fn every_case_file_check_is_listed_here() {
            let listed = [$(stringify!($name)),*];
            let missing: Vec<&str> =
                conformance::all().into_iter().map(|(n, _)| n).filter(|n| !listed.contains(n)).collect();
            assert!(missing.is_empty(), "add these to conformance_tests! in tests/casefile_store.rs: {missing:?}");
        }
    };
}

conformance_tests!(
    an_unwritten_case_file_is_empty_at_version_zero,
    a_write_bumps_the_version_and_a_stale_one_writes_nothing,
    of_concurrent_writers_at_one_version_exactly_one_wins,
    images_round_trip_by_hash_per_incident,
    deadlines_are_set_with_their_write_leased_when_due_and_finished_unless_moved,
);
