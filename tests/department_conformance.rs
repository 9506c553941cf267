//! Every `departments::conformance` check against the memory store and against a real
//! `redis-server`, one test per check per backend.

#[path = "support/redis_server.rs"]
mod redis_server;

use grid_dispatch::departments::conformance;
use grid_dispatch::departments::memory::MemoryDepartments;
use grid_dispatch::departments::redis::RedisDepartments;
use grid_dispatch::store::memory::MemoryStore;
use grid_dispatch::store::redis::{RedisConfig, RedisStore};
use redis_server::{RedisServer, unique_prefix};
use std::sync::Arc;
use std::time::Duration;

fn check(name: &str) -> conformance::Check {
    conformance::all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no conformance check named {name}"))
}

async fn run_on_memory(name: &str) {
    let (_, run) = check(name);
    let store = MemoryStore::new();
    run(Arc::new(MemoryDepartments::new(store.clone())), Arc::new(store)).await;
}

async fn run_on_redis(name: &str) {
    let (_, run) = check(name);
    let server = RedisServer::start();
    let cfg = RedisConfig {
        url: server.url(),
        prefix: unique_prefix(),
        command_timeout: Duration::from_secs(1),
        cluster_nodes: vec![],
    };
    let store = RedisStore::connect(&cfg).await.expect("connect to the test redis");
    run(Arc::new(RedisDepartments::new(store.clone())), Arc::new(store)).await;
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

        #[test]
        fn every_conformance_check_is_listed_here() {
            let listed = [$(stringify!($name)),*];
            let missing: Vec<&str> =
                conformance::all().into_iter().map(|(n, _)| n).filter(|n| !listed.contains(n)).collect();
            assert!(missing.is_empty(), "add these to tests/department_conformance.rs: {missing:?}");
        }
    };
}

conformance_tests!(
    departments_round_trip_oldest_first,
    a_call_in_is_written_with_its_deadlines_and_timeline_at_once,
    a_stale_call_in_version_writes_nothing,
    call_ins_are_listed_per_incident_and_per_department,
    a_call_in_deadline_is_claimed_with_its_sub_key,
    webhook_events_are_kept_with_their_write_until_delivered,
);
