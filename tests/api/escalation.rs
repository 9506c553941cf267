//! Unclaimed reports escalate to the command center exactly once; operators see, assign.

use crate::helpers::{self, Backend, spawn_app_on_clock, spawn_app_with};
use crate::on_both_stores;
use grid_dispatch::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

on_both_stores!(
    an_unclaimed_report_escalates_once_and_an_operator_assigns_it,
    a_report_with_nobody_near_escalates_at_once,
    an_accept_after_escalation_still_claims_it,
    the_live_feed_sends_a_snapshot_then_deltas,
);

/// Offers outlive the escalation (`offer_ttl` longer than `escalate_after`, as a district may
/// set it): a mediator offered at first can still grab it from the command center's queue.
fn offers_outlive_the_escalation(s: &mut grid_dispatch::config::Settings) {
    s.dispatch.offer_ttl = s.dispatch.escalate_after * 2;
}

async fn an_unclaimed_report_escalates_once_and_an_operator_assigns_it(backend: Backend) {
    let app = spawn_app_on_clock(backend, offers_outlive_the_escalation).await;
    let escalate_after = app.settings.dispatch.escalate_after;
    let busy = app.mediator("忙", &[]).await;
    let spare = app.mediator("闲", &[]).await;
    app.on_duty_at(&busy, LAT + 0.002, LNG).await;
    app.on_duty_at(&spare, LAT + 0.003, LNG).await;
    let op = app.operator("指挥员").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    live.wait_for("snapshot", |_| true).await;
    let mut spare_ws = app.socket("/api/v1/mediator/ws", &spare.token).await;
    spare_ws.wait_for("duty", |_| true).await;

    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap().to_owned();
    live.wait_for("incident", |m| m["event"]["type"] == "reported" && m["incident"]["id"] == id.as_str()).await;
    // Never early: a second before its deadline, with everything due by then fired, it is
    // still with the mediators.
    app.advance(escalate_after - Duration::from_secs(1)).await;
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
    assert_eq!(detail["incident"]["status"], "dispatching", "never early");
    app.advance(Duration::from_secs(1)).await;
    let escalated =
        live.wait_for("incident", |m| m["event"]["type"] == "escalated" && m["incident"]["id"] == id.as_str()).await;
    assert_eq!(escalated["incident"]["status"], "escalated");
    assert_eq!(escalated["incident"]["resident_phone"], "138****5678", "operators see it masked");

    // The phones kept reporting where they are meanwhile.
    app.move_to(&busy, LAT + 0.002, LNG).await;
    app.move_to(&spare, LAT + 0.003, LNG).await;
    let (s, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["incident"]["status"], "escalated");
    let nearest = detail["nearest_mediators"].as_array().unwrap();
    assert_eq!(nearest.len(), 2);
    assert_eq!(nearest[0]["mediator_id"], busy.id.as_str(), "nearest first");
    let d0 = nearest[0]["distance_m"].as_f64().unwrap();
    let d1 = nearest[1]["distance_m"].as_f64().unwrap();
    assert!((200.0..250.0).contains(&d0) && (300.0..360.0).contains(&d1), "{d0} {d1}");
    let escalations =
        detail["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "escalated").count();
    assert_eq!(escalations, 1);

    let (s, assigned) = app
        .post(&format!("/api/v1/command/incidents/{id}/assign"), Some(&op.token), json!({ "mediator_id": spare.id }))
        .await;
    assert_eq!(s, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["claimed_by"], spare.id.as_str());
    let msg = spare_ws.wait_for("assigned", |m| m["incident"]["id"] == id.as_str()).await;
    assert_eq!(msg["incident"]["resident_phone"], "13812345678", "the assigned mediator can call");
    let (s, err) = app
        .post(&format!("/api/v1/command/incidents/{id}/assign"), Some(&op.token), json!({ "mediator_id": busy.id }))
        .await;
    assert_eq!((s, err["error"]["code"].clone()), (StatusCode::CONFLICT, json!("already_claimed")));
    let (_, after) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
    let kinds: Vec<_> = after["timeline"].as_array().unwrap().iter().map(|e| e["event"]["type"].clone()).collect();
    let want = ["reported", "offered", "escalated", "ladder_moved", "assigned"];
    assert_eq!(kinds, want.map(|k| json!(k)).to_vec(), "with no areas known, it goes to the district");
    assert_eq!(after["timeline"][3]["event"]["to"], "district");
    let assigned_by = after["timeline"][4]["actor_id"].clone();
    assert_eq!(assigned_by, op.id.as_str(), "the audit names the operator");
}

async fn a_report_with_nobody_near_escalates_at_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.timers.poll_interval = Duration::from_secs(3600)).await;
    let op = app.operator("指挥员").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    let report = app.report_at(LAT, LNG).await;
    // The poll interval is an hour: only the wake-up on an immediate deadline can fire it.
    live.wait_for("incident", |m| m["event"]["type"] == "escalated" && m["incident"]["id"] == report["id"]).await;
}

async fn an_accept_after_escalation_still_claims_it(backend: Backend) {
    let app = spawn_app_on_clock(backend, offers_outlive_the_escalation).await;
    let m = app.mediator("晚到", &[]).await;
    app.on_duty_at(&m, LAT, LNG + 0.002).await;
    let op = app.operator("指挥员").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    app.advance(app.settings.dispatch.escalate_after).await;
    live.wait_for("incident", |x| x["event"]["type"] == "escalated" && x["incident"]["id"] == id).await;
    let (s, claimed) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!((s, claimed["status"].clone()), (StatusCode::OK, json!("claimed")));
    let update = live.wait_for("incident", |x| x["event"]["type"] == "claimed" && x["incident"]["id"] == id).await;
    assert_eq!(update["incident"]["claimed_by"], m.id.as_str());
}

async fn the_live_feed_sends_a_snapshot_then_deltas(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let a = app.mediator("甲", &[]).await;
    let b = app.mediator("乙", &[]).await;
    app.on_duty_at(&a, LAT, LNG).await;
    let op = app.operator("大屏").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = live.wait_for("snapshot", |_| true).await;
    let ids: Vec<_> = snapshot["mediators"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, vec![json!(a.id)]);

    app.on_duty_at(&b, LAT + 0.01, LNG).await;
    live.wait_for("positions", |m| m["updates"].as_array().unwrap().iter().any(|u| u["id"] == b.id.as_str())).await;
    app.move_to(&a, LAT + 0.02, LNG).await;
    let moved =
        live.wait_for("positions", |m| m["updates"].as_array().unwrap().iter().any(|u| u["id"] == a.id.as_str())).await;
    let update = moved["updates"].as_array().unwrap().iter().find(|u| u["id"] == a.id.as_str()).unwrap().clone();
    assert!((update["lat"].as_f64().unwrap() - (LAT + 0.02)).abs() < 1e-9);
    let (s, _) = app.post("/api/v1/mediator/duty", Some(&b.token), json!({ "on": false })).await;
    assert_eq!(s, StatusCode::OK);
    live.wait_for("positions", |m| m["off_duty"].as_array().unwrap().iter().any(|x| x == b.id.as_str())).await;
}

/// Durable escalation on Redis: the deadline passes while no server runs; the next start fires it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_due_while_stopped_fires_promptly_after_restart() {
    let clock = Arc::new(ManualClock::starting_now());
    let (settings, redis) = helpers::settings_on(Backend::Redis, |_| {});
    let app = helpers::start_on_clock(settings, redis, clock.clone()).await;
    let m = app.mediator("值守", &[]).await;
    app.on_duty_at(&m, LAT, LNG + 0.001).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap().to_owned();
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&app.admin_token())).await;
    assert_eq!(detail["incident"]["status"], "dispatching");
    let (settings, redis) = app.stop().await;

    // Its deadline passes while no instance runs.
    clock.advance(settings.dispatch.escalate_after);
    let restarted_at = Instant::now();
    let app = helpers::start_on_clock(settings, redis, clock).await;
    let op = app.operator("早班").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = live.wait_for("snapshot", |_| true).await;
    let already =
        snapshot["incidents"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str() && i["status"] == "escalated");
    if !already {
        live.wait_for("incident", |x| x["event"]["type"] == "escalated" && x["incident"]["id"] == id.as_str()).await;
    }
    assert!(restarted_at.elapsed() < Duration::from_secs(3), "fired promptly after the restart");
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
    let escalations =
        detail["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "escalated").count();
    assert_eq!(escalations, 1);
    assert_eq!(detail["incident"]["offered_to"][0], m.id.as_str(), "the incident and its offers survived");
}

/// A deadline set by another instance's write wakes this instance's timer runner at once (the
/// store announces a sooner deadline on the bus), and the runner then sleeps until it is due.
/// Its safety-net poll is an hour here, so the poll can fire neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_set_by_another_instance_wakes_the_timer_runner() {
    use grid_dispatch::clock::Clock;
    use grid_dispatch::store::redis::{RedisConfig, RedisStore};
    use grid_dispatch::store::{IncidentStore, WriteOutcome, conformance};
    let app = spawn_app_on_clock(Backend::Redis, |s| s.timers.poll_interval = Duration::from_secs(3600)).await;
    let op = app.operator("值班").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    live.wait_for("snapshot", |_| true).await;
    // The other instance's write, made straight on the store: no timer runner runs beside it.
    let other = RedisStore::connect(&RedisConfig {
        url: app.settings.redis.url.clone(),
        prefix: app.settings.redis.prefix.clone(),
        command_timeout: Duration::from_secs(2),
        cluster_nodes: vec![],
    })
    .await
    .expect("connect");
    let now = app.clock().now();
    let file = |after: Duration, key: &str| {
        let mut incident = conformance::incident(&[]);
        incident.created_at = now;
        incident.escalate_at = now.checked_add(jiff::SignedDuration::try_from(after).unwrap()).unwrap();
        (incident.id.to_string(), conformance::creation(&incident, key))
    };
    let escalated = |id: String| {
        move |m: &serde_json::Value| m["event"]["type"] == "escalated" && m["incident"]["id"] == id.as_str()
    };

    let (due_now, write) = file(Duration::ZERO, "wake-1");
    assert_eq!(other.write_incident(&write).await.unwrap(), WriteOutcome::Written);
    live.wait_for("incident", escalated(due_now)).await;

    let escalate_after = app.settings.dispatch.escalate_after;
    let (later, write) = file(escalate_after, "wake-2");
    assert_eq!(other.write_incident(&write).await.unwrap(), WriteOutcome::Written);
    app.advance(escalate_after - Duration::from_secs(1)).await;
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{later}"), Some(&op.token)).await;
    assert_eq!(detail["incident"]["status"], "dispatching", "never early");
    app.advance(Duration::from_secs(1)).await;
    live.wait_for("incident", escalated(later)).await;
}
