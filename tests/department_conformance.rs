//! Every `departments::conformance` check against the memory store and against a real
//! `redis-server`, one test per check per backend (the shared harness, `support/conformance.rs`).

#[path = "support/conformance.rs"]
mod harness;

use grid_dispatch::departments::conformance;
use grid_dispatch::departments::memory::MemoryDepartments;
use grid_dispatch::departments::redis::RedisDepartments;
use grid_dispatch::store::memory::MemoryStore;
use std::sync::Arc;

async fn run_on_memory(name: &str) {
    let store = MemoryStore::new();
    harness::named(conformance::all(), name)(Arc::new(MemoryDepartments::new(store.clone())), Arc::new(store)).await;
}

async fn run_on_redis(name: &str) {
    let run = harness::named(conformance::all(), name);
    harness::on_fresh_redis(|store| run(Arc::new(RedisDepartments::new(store.clone())), Arc::new(store))).await;
}

harness::conformance_tests!(
    conformance::all;
    departments_round_trip_oldest_first,
    a_call_in_is_written_with_its_deadlines_and_timeline_at_once,
    a_stale_call_in_version_writes_nothing,
    call_ins_are_listed_per_incident_and_per_department,
    a_call_in_deadline_is_claimed_with_its_sub_key,
    webhook_events_are_kept_with_their_write_until_delivered,
    the_routing_table_is_saved_only_over_the_version_it_was_read_at,
);
