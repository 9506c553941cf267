//! Every `casefile::conformance` check against the memory backend and against a real
//! `redis-server`, one test per check per backend (the shared harness, `support/conformance.rs`).
//!
//! Needs `--features conformance` and `redis-server` on PATH.

#[path = "support/conformance.rs"]
mod harness;

use grid_dispatch::casefile::conformance;
use grid_dispatch::casefile::redis::RedisCaseFiles;
use grid_dispatch::casefile::store::MemoryCaseFiles;
use std::sync::Arc;

async fn run_on_memory(name: &str) {
    harness::named(conformance::all(), name)(Arc::new(MemoryCaseFiles::new())).await;
}

async fn run_on_redis(name: &str) {
    let run = harness::named(conformance::all(), name);
    harness::on_fresh_redis(|store| run(Arc::new(RedisCaseFiles::new(store)))).await;
}

harness::conformance_tests!(
    conformance::all;
    an_unwritten_case_file_is_empty_at_version_zero,
    a_write_bumps_the_version_and_a_stale_one_writes_nothing,
    of_concurrent_writers_at_one_version_exactly_one_wins,
    images_round_trip_by_hash_per_incident,
    deadlines_are_set_with_their_write_leased_when_due_and_finished_unless_moved,
);
