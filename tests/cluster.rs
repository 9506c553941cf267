//! The same code on a real 3-master Redis Cluster (`redis.cluster_nodes`): every store
//! conformance check, slot discipline, script-cache loss on every node, and the core behaviour
//! through the public API with two instances (report → offers → a race of accepts with exactly
//! one winner → escalation seen by every command center).
//!
//! Needs `--features conformance` (the dev-dependency turns it on) and `redis-server` and
//! `redis-cli` on PATH (see README). One cluster per test keeps the suite to a few seconds.

#[allow(dead_code, reason = "the cluster tests use part of the API harness")]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/redis_cluster.rs"]
mod redis_cluster;
#[path = "support/redis_server.rs"]
mod redis_server;

use grid_dispatch::store::conformance;
use grid_dispatch::store::redis::{RedisBus, RedisConfig, RedisStore};
use grid_dispatch::store::{Bus, BusMessage, HealthProbe, IncidentStore, Ports, WriteOutcome};
use helpers::{Backend, TestApp, spawn_app_with};
use redis_cluster::RedisCluster;
use redis_server::unique_prefix;
use reqwest::StatusCode;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

fn config(cluster: &RedisCluster) -> RedisConfig {
    RedisConfig {
        url: String::new(),
        prefix: unique_prefix(),
        command_timeout: Duration::from_secs(2),
        cluster_nodes: cluster.seeds(),
    }
}

/// Every key of every node, with the node's port.
fn keys_by_node(cluster: &RedisCluster) -> Vec<(u16, String)> {
    let mut all = Vec::new();
    for port in cluster.ports() {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .expect("url")
            .get_connection()
            .expect("a direct connection to one node");
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).expect("KEYS");
        all.extend(keys.into_iter().map(|k| (port, k)));
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conformance_check_passes_on_a_cluster_with_each_deployment_in_one_slot() {
    let cluster = RedisCluster::start();
    let mut prefixes = Vec::new();
    for (name, run) in conformance::all() {
        let cfg = config(&cluster);
        prefixes.push(cfg.prefix.clone());
        let store = RedisStore::connect(&cfg).await.unwrap_or_else(|e| panic!("{name}: connect: {e:?}"));
        // A failing check panics inside; the name says which on the way out.
        let outcome = tokio::spawn(run(Ports::of(Arc::new(store)))).await;
        assert!(outcome.is_ok(), "conformance check {name} failed on the cluster");
    }

    // Slot discipline: every key carries one `{prefix}` tag, and each deployment's keys all
    // live on one node (one slot), whatever the checks wrote.
    let mut nodes_by_tag: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (port, key) in keys_by_node(&cluster) {
        let tag = key.split_once("}:").map(|(t, _)| t.trim_start_matches('{').to_owned());
        let tag = tag.unwrap_or_else(|| panic!("key without the hash tag: {key}"));
        nodes_by_tag.entry(tag).or_default().insert(port);
    }
    assert!(!nodes_by_tag.is_empty(), "the checks wrote keys");
    for (tag, nodes) in &nodes_by_tag {
        assert!(prefixes.contains(tag), "a key outside the deployments' tags: {tag}");
        assert_eq!(nodes.len(), 1, "keys of {{{tag}}} are spread over nodes {nodes:?}");
    }
    // With 12+ random prefixes the deployments really do land on different masters.
    let used: BTreeSet<u16> = nodes_by_tag.values().flatten().copied().collect();
    assert!(used.len() > 1, "every deployment on one master: the test proves little");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_survive_every_nodes_script_cache_being_flushed_and_the_bus_spans_nodes() {
    let cluster = RedisCluster::start();
    let cfg = config(&cluster);
    let store = RedisStore::connect(&cfg).await.unwrap();
    let flush_all = || {
        for port in cluster.ports() {
            assert!(cluster.command(port, "SCRIPT FLUSH").is_some_and(|r| r.contains("OK")));
        }
    };

    let first = conformance::incident(&[]);
    assert_eq!(store.write_incident(&conformance::creation(&first, "c1")).await.unwrap(), WriteOutcome::Written);
    flush_all();
    let second = conformance::incident(&[]);
    assert_eq!(store.write_incident(&conformance::creation(&second, "c2")).await.unwrap(), WriteOutcome::Written);
    flush_all();
    let claimed = store.claim_due_timers(second.escalate_at, Duration::from_secs(30), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for timer in &claimed {
        store.finish_timer(timer).await.unwrap();
    }
    assert_eq!(store.next_timer_due().await.unwrap(), None);

    // Two buses subscribed through different seed nodes hear each other.
    let cancel = CancellationToken::new();
    let a = RedisBus::start(&cfg, cancel.clone()).await.unwrap();
    let mut rotated = cfg.clone();
    rotated.cluster_nodes.rotate_left(1);
    let b = RedisBus::start(&rotated, cancel.clone()).await.unwrap();
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
    let message = BusMessage::IncidentChanged { incident_id: first.id.clone() };
    b.publish(&message).await.unwrap();
    for rx in [&mut on_a, &mut on_b] {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("in time");
        assert_eq!(got, Some(message.clone()));
    }
    store.ping().await.unwrap();
    cancel.cancel();

    // The durability guard reads the settings of the master that holds the deployment's slot:
    // give every node another eviction policy and see which one is reported.
    let policies = ["allkeys-lru", "volatile-ttl", "allkeys-random", "volatile-lfu", "allkeys-lfu", "volatile-random"];
    let probe = format!("GET {}:probe", store.keys().tag());
    let mut owners = vec![];
    for (port, policy) in cluster.ports().into_iter().zip(policies) {
        let reply = cluster.command(port, &format!("CONFIG SET maxmemory-policy {policy}"));
        assert!(reply.is_some_and(|r| r.contains("OK")));
        if cluster.command(port, &probe).is_some_and(|r| !r.contains("MOVED")) {
            owners.push(policy);
        }
    }
    assert_eq!(owners.len(), 1, "one node serves the slot");
    assert_eq!(store.server_settings().await.unwrap().maxmemory_policy, owners[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writes_announcements_reach_the_bus_through_any_node_and_a_refused_writes_never_do() {
    let cluster = RedisCluster::start();
    let mut cfg = config(&cluster);
    let store = RedisStore::connect(&cfg).await.unwrap();
    // Subscribed through another node than the first seed: the script's PUBLISH crosses nodes.
    cfg.cluster_nodes.rotate_left(1);
    let cancel = CancellationToken::new();
    let bus = RedisBus::start(&cfg, cancel.clone()).await.unwrap();
    let (store, bus) = (Arc::new(store), Arc::new(bus));
    conformance::announcements_leave_only_with_an_applied_write(store.clone(), bus.clone()).await;
    // A batch of positions: `PUBLISH` inside the transaction on the slot's node reaches a
    // subscriber on another node, after its positions are readable.
    conformance::a_batch_of_positions_is_announced_once_and_heard_when_readable(store, bus).await;
    cancel.cancel();
}

async fn instance_on(cluster: &RedisCluster, prefix: &str) -> TestApp {
    spawn_app_with(Backend::Memory, |s| {
        s.redis.cluster_nodes = cluster.seeds();
        s.redis.prefix = prefix.to_owned();
        s.dispatch.escalate_after = Duration::from_millis(800);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_offer_one_winner_and_escalation_work_on_a_cluster_with_two_instances() {
    let cluster = RedisCluster::start();
    let prefix = unique_prefix();
    let a = instance_on(&cluster, &prefix).await;
    let b = instance_on(&cluster, &prefix).await;

    // Three mediators near the report, their sockets split over both instances.
    let mut mediators = Vec::new();
    for (i, app) in [&a, &b, &a].into_iter().enumerate() {
        let m = app.mediator(&format!("调解员{i}"), &[]).await;
        app.on_duty_at(&m, LAT + 0.001 * (i as f64 + 1.0), LNG).await;
        let mut ws = app.socket("/api/v1/mediator/ws", &m.token).await;
        ws.wait_for("duty", |d| d["on"] == true).await;
        mediators.push((m, ws));
    }
    let op = b.operator("指挥员").await;
    let mut live_b = b.socket("/api/v1/command/live", &op.token).await;
    live_b.wait_for("snapshot", |_| true).await;

    // Both instances' indexes know all three (fed by the bus), so either finds them.
    let report = a.report_at(LAT, LNG).await;
    let id = report["id"].as_str().expect("id").to_owned();
    for (_, ws) in &mut mediators {
        ws.wait_for("offer", |o| o["incident"]["id"] == id.as_str()).await;
    }

    // Everyone accepts at once, through alternating instances: exactly one wins.
    let path = format!("/api/v1/mediator/incidents/{id}/accept");
    let accepts = mediators.iter().enumerate().map(|(i, (m, _))| {
        let app = if i % 2 == 0 { &b } else { &a };
        app.post(&path, Some(&m.token), serde_json::json!({}))
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(accepts).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 2, "{statuses:?}");

    // An unclaimed report escalates once; the command center on the other instance sees it.
    let unclaimed = b.report_at(LAT, LNG).await;
    let uid = unclaimed["id"].as_str().expect("id").to_owned();
    live_b.wait_for("incident", |m| m["event"]["type"] == "escalated" && m["incident"]["id"] == uid.as_str()).await;
    let (s, detail) = a.get(&format!("/api/v1/command/incidents/{uid}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    let escalations = detail["timeline"].as_array().expect("timeline");
    assert_eq!(escalations.iter().filter(|e| e["event"]["type"] == "escalated").count(), 1);

    a.stop().await;
    b.stop().await;
}

/// This process's TCP sockets: (local port, peer port, `TCP_NODELAY`), read from its open
/// file descriptors (other tests' sockets included; callers filter by port).
fn tcp_sockets_of_this_process() -> Vec<(u16, u16, bool)> {
    use std::os::fd::BorrowedFd;
    let mut sockets = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        // SAFETY: only getsockopt/getsockname/getpeername are called, while the fd is borrowed
        // for this iteration; an fd another test closes meanwhile just fails those calls.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let port = |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket()).map(|a| a.port());
        let (Some(local), Some(peer)) = (port(socket.local_addr()), port(socket.peer_addr())) else { continue };
        if let Ok(nodelay) = socket.tcp_nodelay() {
            sockets.push((local, peer, nodelay));
        }
    }
    sockets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_an_instance_holds_sends_small_writes_at_once() {
    let cluster = RedisCluster::start();
    let app = instance_on(&cluster, &unique_prefix()).await;
    let m = app.mediator("调解员", &[]).await;
    app.on_duty_at(&m, LAT, LNG).await;
    let mut ws = app.socket("/api/v1/mediator/ws", &m.token).await;
    ws.wait_for("duty", |d| d["on"] == true).await;

    // Offers and answers to phones, commands to Redis: small writes that must not wait for
    // the previous one's acknowledgement (Nagle's algorithm off: TCP_NODELAY).
    let app_port: u16 = app.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let nodes = cluster.ports();
    let sockets = tcp_sockets_of_this_process();
    let accepted: Vec<_> = sockets.iter().filter(|(local, ..)| *local == app_port).collect();
    let to_redis: Vec<_> = sockets.iter().filter(|(_, peer, _)| nodes.contains(peer)).collect();
    assert!(!accepted.is_empty(), "the mediator's socket is connected: {sockets:?}");
    assert!(to_redis.len() >= 2, "commands and the bus are connected: {sockets:?}");
    for (local, peer, nodelay) in accepted.iter().chain(&to_redis) {
        assert!(nodelay, "Nagle is on for {local} → {peer}");
    }
    app.stop().await;
}
