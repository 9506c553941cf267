//! Every `store::conformance` check against the memory store and against a real `redis-server`,
//! one test per check per backend so a failure names both; then Redis-only behaviour: script
//! cache loss, kill -9 with AOF, fail-fast during an outage, and the pub/sub bus.
//!
//! Needs `--features conformance` and `redis-server` on PATH (see README).

#[path = "support/conformance.rs"]
mod harness;

use grid_dispatch::domain::account::Fix;
use grid_dispatch::domain::ids::{AccountId, IncidentId};
use grid_dispatch::domain::location::GeoPoint;
use grid_dispatch::store::conformance;
use grid_dispatch::store::memory::MemoryStore;
use grid_dispatch::store::redis::{RedisBus, RedisStore};
use grid_dispatch::store::{
    Bus, BusMessage, BusReceiver, FixBatch, HealthProbe, IncidentStore, Ports, PresenceStore, StoreError, WriteOutcome,
};
use harness::{COMMAND_TIMEOUT, RedisServer, raw_connection, redis_config};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

async fn run_on_memory(name: &str) {
    harness::named(conformance::all(), name)(Ports::of(Arc::new(MemoryStore::new()))).await;
}

async fn run_on_redis(name: &str) {
    let run = harness::named(conformance::all(), name);
    harness::on_fresh_redis(|store| run(Ports::of(Arc::new(store)))).await;
}

harness::conformance_tests!(
    conformance::all;
    accounts_are_unique_by_phone_and_updated_by_version,
    a_batch_of_accounts_is_written_whole_or_not_at_all,
    an_account_changes_phone_and_is_audited_with_the_change,
    presence_keeps_duty_and_position_apart,
    stale_positions_are_pruned_oldest_first_and_duty_stays,
    scenes_round_trip,
    creating_an_incident_writes_everything_at_once,
    a_stale_version_writes_nothing,
    exactly_one_of_many_concurrent_claims_wins,
    capacity_guard_refuses_a_full_mediator,
    idempotency_key_replays_the_first_incident,
    due_timers_are_leased_not_deleted,
    timers_due_at_the_same_moment_are_claimed_in_member_order,
    a_finished_timer_stays_if_rescheduled,
    incidents_list_newest_first_within_range,
    open_incidents_are_kept_apart_from_closed_ones,
    timeline_entries_append_after_the_state_ones,
    claims_are_counted_per_day,
    areas_are_replaced_by_code,
    reports_are_noted_by_area_and_forgotten_after_their_window,
    // --- residents via WeChat (issue #3) ---
    resident_sessions_round_trip_and_expire,
    a_delivery_is_claimed_once_and_answered_the_same,
    a_signed_url_remembers_its_first_body,
    rate_windows_count_refund_reset_and_clear,
    the_wechat_token_is_cached_locked_and_dropped_only_if_stale,
    wechat_qr_codes_and_incident_openids_round_trip,
);

/// A bus check on a fresh memory store's ports and its bus.
async fn on_memory_with_bus<F: std::future::Future<Output = ()>>(check: impl FnOnce(Ports, Arc<dyn Bus>) -> F) {
    let store = MemoryStore::new();
    let bus = Arc::new(store.bus());
    check(Ports::of(Arc::new(store)), bus).await;
}

/// A bus check on a fresh Redis, through a store's ports and a subscribed bus.
async fn on_redis_with_bus<F: std::future::Future<Output = ()>>(check: impl FnOnce(Ports, Arc<dyn Bus>) -> F) {
    let server = RedisServer::start();
    let cfg = redis_config(&server);
    let store = RedisStore::connect(&cfg).await.expect("connect to the test redis");
    let cancel = CancellationToken::new();
    let bus = RedisBus::start(&cfg, cancel.clone()).await.expect("subscribe");
    check(Ports::of(Arc::new(store)), Arc::new(bus)).await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_announcements_leave_only_with_an_applied_write() {
    on_memory_with_bus(|p, bus| conformance::announcements_leave_only_with_an_applied_write(p.incidents, bus)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_announcements_leave_only_with_an_applied_write() {
    on_redis_with_bus(|p, bus| conformance::announcements_leave_only_with_an_applied_write(p.incidents, bus)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_a_sooner_deadline_is_announced_with_its_write() {
    on_memory_with_bus(|p, bus| conformance::a_sooner_deadline_is_announced_with_its_write(p.incidents, bus)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_a_sooner_deadline_is_announced_with_its_write() {
    on_redis_with_bus(|p, bus| conformance::a_sooner_deadline_is_announced_with_its_write(p.incidents, bus)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_a_batch_of_positions_crosses_the_bus_unchanged() {
    on_memory_with_bus(|p, bus| conformance::a_batch_of_positions_crosses_the_bus_unchanged(p.incidents, bus)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_a_batch_of_positions_crosses_the_bus_unchanged() {
    on_redis_with_bus(|p, bus| conformance::a_batch_of_positions_crosses_the_bus_unchanged(p.incidents, bus)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_a_batch_of_positions_is_announced_once_and_heard_when_readable() {
    on_memory_with_bus(|p, bus| {
        conformance::a_batch_of_positions_is_announced_once_and_heard_when_readable(p.presence, bus)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_a_batch_of_positions_is_announced_once_and_heard_when_readable() {
    on_redis_with_bus(|p, bus| {
        conformance::a_batch_of_positions_is_announced_once_and_heard_when_readable(p.presence, bus)
    })
    .await;
}

// --- Redis only -------------------------------------------------------------------------------

fn is_unavailable<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable(_)))
}

/// Retry `f` until it succeeds or `within` passes.
async fn eventually<T, F, Fut>(within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + within;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("still failing after {within:?}: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scripts_survive_a_script_cache_flush() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&redis_config(&server)).await.unwrap();
    let mut raw = raw_connection(&server).await;

    let first = conformance::incident(&[]);
    assert_eq!(store.write_incident(&conformance::creation(&first, "f1")).await.unwrap(), WriteOutcome::Written);
    let () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut raw).await.unwrap();

    let second = conformance::incident(&[]);
    assert_eq!(store.write_incident(&conformance::creation(&second, "f2")).await.unwrap(), WriteOutcome::Written);
    let () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut raw).await.unwrap();
    let claimed = store.claim_due_timers(second.escalate_at, Duration::from_secs(30), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut raw).await.unwrap();
    for timer in &claimed {
        store.finish_timer(timer).await.unwrap();
    }
    assert_eq!(store.next_timer_due().await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_to_an_absent_redis_fails_as_unavailable() {
    let server = RedisServer::start();
    let mut settings = redis_config(&server);
    drop(server); // socket gone
    let started = Instant::now();
    let result = RedisStore::connect(&settings).await;
    assert!(is_unavailable(&result), "{:?}", result.err());
    assert!(started.elapsed() < Duration::from_secs(5), "connect took {:?}", started.elapsed());
    let bus = RedisBus::start(&settings, CancellationToken::new()).await;
    assert!(is_unavailable(&bus), "{:?}", bus.err());
    settings.prefix = "bad}prefix".into();
    assert!(is_unavailable(&RedisStore::connect(&settings).await));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_survives_kill_9_with_aof_and_the_store_recovers_by_itself() {
    let mut server = RedisServer::start_durable();
    let store = RedisStore::connect(&redis_config(&server)).await.unwrap();
    let inc = conformance::incident(&[]);
    assert_eq!(store.write_incident(&conformance::creation(&inc, "k9")).await.unwrap(), WriteOutcome::Written);

    server.kill9();
    // During the outage every call fails fast with Unavailable; none hangs.
    for _ in 0..3 {
        let started = Instant::now();
        let read = store.get_incident(&inc.id).await;
        assert!(is_unavailable(&read), "read during outage: {read:?}");
        let write = store.write_incident(&conformance::creation(&conformance::incident(&[]), "x")).await;
        assert!(is_unavailable(&write), "write during outage: {write:?}");
        assert!(started.elapsed() < COMMAND_TIMEOUT * 3, "calls took {:?}", started.elapsed());
    }
    assert!(is_unavailable(&store.ping().await));

    server.restart();
    // The same store object reconnects by itself.
    let back = eventually(Duration::from_secs(10), || store.get_incident(&inc.id)).await;
    assert_eq!(back, Some(inc.clone()), "AOF kept the incident");
    assert_eq!(store.incident_by_tracking("k9").await.unwrap(), Some(inc.id.clone()));
    let next = conformance::incident(&[]);
    assert_eq!(store.write_incident(&conformance::creation(&next, "k10")).await.unwrap(), WriteOutcome::Written);
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn undecodable_data_is_reported_as_corrupt() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&redis_config(&server)).await.unwrap();
    let mut raw = raw_connection(&server).await;
    let id = IncidentId::generate();
    let () = redis::cmd("HSET")
        .arg(store.keys().incident(&id))
        .arg("doc")
        .arg("{not json")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(store.get_incident(&id).await, Err(StoreError::Corrupt(_))));
    let () = redis::cmd("SET")
        .arg(store.keys().timeline(&id))
        .arg("a string, not a list")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(store.timeline(&id).await, Err(StoreError::Corrupt(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_typed_key_refuses_the_whole_write_and_leaks_no_replies() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&redis_config(&server)).await.unwrap();
    let mut raw = raw_connection(&server).await;
    let (good, bad) = (AccountId::generate(), AccountId::generate());
    let () = redis::cmd("SET").arg(store.keys().offers(&bad)).arg("not a set").query_async(&mut raw).await.unwrap();

    // The script checks key types before its first write: nothing of this incident is stored.
    let inc = conformance::incident(&[good.clone(), bad.clone()]);
    let refused = store.write_incident(&conformance::creation(&inc, "wt")).await;
    assert!(matches!(refused, Err(StoreError::Corrupt(_))), "{refused:?}");
    assert_eq!(store.get_incident(&inc.id).await.unwrap(), None);
    assert_eq!(store.incident_by_tracking("wt").await.unwrap(), None);
    assert!(store.offered_to(&good).await.unwrap().is_empty());
    assert_eq!(store.next_timer_due().await.unwrap(), None);

    // redis-rs #698: an error reply inside a pipeline must not shift later replies to other
    // callers. Interleave failing pipelines with good calls from many tasks.
    let () = redis::cmd("SET").arg(store.keys().holds(&bad)).arg("not a set").query_async(&mut raw).await.unwrap();
    let ok = conformance::incident(std::slice::from_ref(&good));
    assert_eq!(store.write_incident(&conformance::creation(&ok, "ok")).await.unwrap(), WriteOutcome::Written);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, good, bad, ok) = (store.clone(), good.clone(), bad.clone(), ok.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    let counts = store.hold_counts(&[good, bad]).await;
                    assert!(matches!(counts, Err(StoreError::Corrupt(_))), "{counts:?}");
                } else {
                    assert_eq!(store.offered_to(&good).await.unwrap(), vec![ok.id.clone()]);
                    assert_eq!(store.get_incident(&ok.id).await.unwrap(), Some(ok));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// A batch of positions Redis refuses (out of memory under `noeviction`: the transaction is
/// discarded whole) is neither stored nor announced; the next one is both.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_batch_of_positions_is_neither_stored_nor_announced() {
    let server = RedisServer::start();
    let cfg = redis_config(&server);
    let store = RedisStore::connect(&cfg).await.unwrap();
    let cancel = CancellationToken::new();
    let bus = RedisBus::start(&cfg, cancel.clone()).await.unwrap();
    let mut rx = bus.subscribe();
    let mut raw = raw_connection(&server).await;
    let fix = |lat| Fix { point: GeoPoint::new(lat, 101.7).unwrap(), at: Timestamp::now(), accuracy_m: None };
    let (refused, stored): (FixBatch, FixBatch) =
        (vec![(AccountId::generate(), fix(36.6))].into(), vec![(AccountId::generate(), fix(36.7))].into());

    let () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("1").query_async(&mut raw).await.unwrap();
    let answer = store.store_fixes(&refused).await;
    assert!(answer.is_err(), "{answer:?}");
    let () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("0").query_async(&mut raw).await.unwrap();
    store.store_fixes(&stored).await.unwrap();
    let marker = BusMessage::AreasChanged;
    bus.publish(&marker).await.unwrap();

    let heard =
        [recv_within(&mut rx, Duration::from_secs(5)).await, recv_within(&mut rx, Duration::from_secs(5)).await];
    assert_eq!(heard, [BusMessage::Fixes { fixes: stored.clone() }, marker], "only the stored batch is heard");
    let all = store.all_presence().await.unwrap();
    let ids: Vec<&AccountId> = all.iter().map(|p| &p.mediator_id).collect();
    assert_eq!(ids, vec![&stored[0].0], "only the stored batch is there");
    cancel.cancel();
}

async fn recv_within(rx: &mut BusReceiver, within: Duration) -> BusMessage {
    tokio::time::timeout(within, rx.recv()).await.expect("a bus message in time").expect("bus open")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bus_delivers_to_every_instance_on_one_redis() {
    let server = RedisServer::start();
    let settings = redis_config(&server);
    let cancel = CancellationToken::new();
    let a = RedisBus::start(&settings, cancel.clone()).await.unwrap();
    let b = RedisBus::start(&settings, cancel.clone()).await.unwrap();
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());

    let message = BusMessage::IncidentChanged { incident_id: IncidentId::generate() };
    a.publish(&message).await.unwrap();
    assert_eq!(recv_within(&mut on_b, Duration::from_secs(5)).await, message);
    assert_eq!(recv_within(&mut on_a, Duration::from_secs(5)).await, message, "the publisher hears itself too");

    // Another prefix is another deployment: it hears nothing.
    let other = RedisBus::start(&redis_config(&server), cancel.clone()).await.unwrap();
    let mut on_other = other.subscribe();
    b.publish(&BusMessage::AreasChanged).await.unwrap();
    assert!(matches!(recv_within(&mut on_a, Duration::from_secs(5)).await, BusMessage::AreasChanged));
    assert!(tokio::time::timeout(Duration::from_millis(200), on_other.recv()).await.is_err());

    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bus_asks_for_resync_after_redis_restarts() {
    let mut server = RedisServer::start();
    let settings = redis_config(&server);
    let cancel = CancellationToken::new();
    let bus = RedisBus::start(&settings, cancel.clone()).await.unwrap();
    let mut rx = bus.subscribe();

    server.kill9();
    let during = bus.publish(&BusMessage::AreasChanged).await;
    assert!(is_unavailable(&during), "{during:?}");
    server.restart();

    assert_eq!(recv_within(&mut rx, Duration::from_secs(10)).await, BusMessage::Resync);
    // Subscribed again: new messages flow (the publish connection recovers by itself too).
    let message = BusMessage::Duty { mediator_id: AccountId::generate(), on: true };
    eventually(Duration::from_secs(10), || bus.publish(&message)).await;
    assert_eq!(recv_within(&mut rx, Duration::from_secs(5)).await, message);

    // Cancelling stops the subscriber task: receivers see the bus close once it is dropped.
    cancel.cancel();
    drop(bus);
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("closes in time"), None);
}
