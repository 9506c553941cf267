//! Every `casefile::conformance` check against the memory backend and against a real
//! `redis-server`, one test per check per backend (the shared harness, `support/conformance.rs`).
//!
//! Needs `--features conformance` and `redis-server` on PATH.

#[path = "support/conformance.rs"]
mod harness;

use grid_dispatch::casefile::conformance;
use grid_dispatch::casefile::redis::RedisCaseFiles;
use grid_dispatch::casefile::store::MemoryCaseFiles;
use grid_dispatch::store::memory::MemoryStore;
use grid_dispatch::store::redis::RedisStore;
use std::sync::Arc;

async fn run_on_memory(name: &str) {
    let store = MemoryStore::new();
    harness::named(conformance::all(), name)(Arc::new(MemoryCaseFiles::new(store.clone())), Arc::new(store)).await;
}

async fn run_on_redis(name: &str) {
    let run = harness::named(conformance::all(), name);
    harness::on_fresh_redis(|store: RedisStore| run(Arc::new(RedisCaseFiles::new(store.clone())), Arc::new(store)))
        .await;
}

harness::conformance_tests!(
    conformance::all;
    an_unwritten_case_file_is_empty_at_version_zero,
    a_write_bumps_the_version_and_a_stale_one_writes_nothing,
    of_concurrent_writers_at_one_version_exactly_one_wins,
    images_round_trip_by_hash_per_incident,
    deadlines_and_timeline_lines_go_with_their_write_into_the_shared_timer_set,
);

/// Deadlines an earlier version kept in a set of their own (`{p}:case_due`) move into the shared
/// timer set at start, once, at their due times.
#[tokio::test(flavor = "multi_thread")]
async fn deadlines_kept_by_an_earlier_version_move_into_the_shared_timer_set() {
    use grid_dispatch::casefile::domain::DueKind;
    use grid_dispatch::casefile::store::CaseFileStore;
    use grid_dispatch::domain::ids::IncidentId;
    use grid_dispatch::store::IncidentStore;

    let server = harness::RedisServer::start();
    let store = RedisStore::connect(&harness::redis_config(&server)).await.expect("connect to the test redis");
    let id = IncidentId::generate();
    let due_ms = 1_800_000_000_000_i64;
    let old =
        ::redis::cmd("ZADD").arg(store.keys().case_deadlines()).arg(due_ms).arg(format!("confirmation:{id}")).clone();
    store.command::<i64>(&old, true).await.expect("an old deadline");
    let files = RedisCaseFiles::new(store.clone());
    assert_eq!(files.adopt_old_deadlines().await.unwrap(), 1);
    assert_eq!(files.adopt_old_deadlines().await.unwrap(), 0, "once");
    let due = store.timer_due(&grid_dispatch::casefile::timers::key(&id, DueKind::Confirmation)).await.unwrap();
    assert_eq!(due.map(|t| t.as_millisecond()), Some(due_ms));
}
