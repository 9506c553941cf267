//! Signed outbound webhooks of joint handling (issue #21): every call-in step reaches the
//! district's platform signed and once, despite a failing attempt and despite the instance
//! that stored it stopping before it was delivered.

use crate::departments::{LAT, LNG, call_in, department, department_account};
use crate::helpers::{Backend, settings_on, spawn_app_on_clock, start_on_clock};
use crate::on_both_stores;
use grid_dispatch::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

on_both_stores!(webhooks_are_signed_and_every_event_arrives_once_despite_a_failing_first_attempt);

const WEBHOOK_SECRET: &str = "webhook-secret-for-tests";

/// What the test receiver saw: every request's event id, type, whether its signature was
/// right, and the status it answered; the events it accepted, each once (a receiver drops
/// repeats by event id); and whether it is down (answering 500 to everything).
#[derive(Default)]
struct Received {
    requests: Vec<(String, String, bool, u16)>,
    accepted: std::collections::BTreeSet<String>,
    down: bool,
}

/// How the receiver starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// It fails the very first request with 500, then accepts.
    FailingTheFirst,
    /// It answers 500 until the test sets `down` to false.
    Down,
}

/// A receiver on 127.0.0.1:0 that checks each request's signature on its own (HMAC-SHA256
/// over "<timestamp>.<body>"), failing at first as `start` says.
async fn webhook_receiver(start: Start) -> (String, std::sync::Arc<std::sync::Mutex<Received>>) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use hmac::Mac;
    let seen =
        std::sync::Arc::new(std::sync::Mutex::new(Received { down: start == Start::Down, ..Received::default() }));
    let state = seen.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let state = state.clone();
        async move {
            let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
            mac.update(header("x-gd-timestamp").as_bytes());
            mac.update(b".");
            mac.update(&body);
            let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
            let signed = header("x-gd-signature") == format!("sha256={want}");
            let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = header("x-gd-event-id");
            assert_eq!(parsed["id"], json!(id), "the id header names the body's event");
            let mut g = state.lock().unwrap();
            let status = if g.down || (start == Start::FailingTheFirst && g.requests.is_empty()) {
                500
            } else if signed {
                g.accepted.insert(id.clone());
                200
            } else {
                401
            };
            g.requests.push((id, parsed["type"].as_str().unwrap_or("").to_owned(), signed, status));
            axum::http::StatusCode::from_u16(status).unwrap()
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

async fn webhooks_are_signed_and_every_event_arrives_once_despite_a_failing_first_attempt(backend: Backend) {
    let (url, seen) = webhook_receiver(Start::FailingTheFirst).await;
    let app = spawn_app_on_clock(backend, |s| signed_to(s, url)).await;
    let retry_max = app.settings.departments.webhook.retry_first * 2;
    let op = app.operator("指挥").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    let court = department(&app, "城中区法院", "court").await;
    let p = department_account(&app, &police, "值班民警").await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let made = call_in(&app, &op, id, &[&police, &court], "assist").await;
    let a = made[0]["id"].as_str().unwrap();
    let (s, _) = app.post(&format!("/api/v1/department/call-ins/{a}/acknowledge"), Some(&p.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .post(&format!("/api/v1/department/call-ins/{a}/respond"), Some(&p.token), json!({ "response": "arrived" }))
        .await;
    assert_eq!(s, StatusCode::OK);

    // The failed first attempt comes back after its backoff (at most twice `retry_first`).
    let accepted = crate::helpers::eventually("four events accepted", || async {
        app.advance(retry_max).await;
        let g = seen.lock().unwrap();
        let ok: Vec<_> = g.requests.iter().filter(|r| r.3 == 200).cloned().collect();
        (ok.len() >= 4).then_some(ok)
    })
    .await;
    app.advance(retry_max).await;
    let requests = seen.lock().unwrap().requests.clone();
    assert!(requests.iter().all(|r| r.2), "every request is signed right: {:?}", requests);
    assert_eq!(requests[0].3, 500, "the first attempt failed");
    assert_eq!(requests.len(), 5, "four events, one of them twice: {:?}", requests);
    let mut ids: Vec<&String> = accepted.iter().map(|r| &r.0).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each event accepted once: {accepted:?}");
    let mut kinds: Vec<&str> = accepted.iter().map(|r| r.1.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["call_in.acknowledged", "call_in.called_in", "call_in.called_in", "call_in.responded"]);
    let (s, log) = app.get("/api/v1/admin/webhooks/deliveries", Some(&app.admin_token())).await;
    assert_eq!(s, StatusCode::OK);
    let outcomes: Vec<&str> = log.as_array().unwrap().iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "delivered 200").count(), 4, "{log}");
    assert_eq!(outcomes.iter().filter(|o| **o == "failed 500; retry").count(), 1, "{log}");
}

/// Webhooks on, to `url`, signed with the test's secret.
fn signed_to(s: &mut grid_dispatch::config::Settings, url: String) {
    s.departments.webhook.url = url;
    s.departments.webhook.secret = Some(secrecy::SecretString::from(WEBHOOK_SECRET));
}

/// The outbox is in Redis: an event whose delivery failed while the receiver was down waits
/// there for its retry; the instance stops; a new one (same Redis) delivers it, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_pending_when_the_instance_stops_is_delivered_once_by_the_next_instance_on_redis() {
    let (url, seen) = webhook_receiver(Start::Down).await;
    let (settings, redis) = settings_on(Backend::Redis, |s| signed_to(s, url));
    let first = start_on_clock(settings, redis, Arc::new(ManualClock::starting_now())).await;
    let retry_max = first.settings.departments.webhook.retry_first * 2;
    let op = first.operator("指挥").await;
    let police = department(&first, "南滩派出所", "police_station").await;
    let report = first.report_at(LAT, LNG).await;
    let made = call_in(&first, &op, report["id"].as_str().unwrap(), &[&police], "assist").await;
    crate::helpers::eventually("the first attempt failed", || async {
        first.advance(std::time::Duration::ZERO).await;
        (!seen.lock().unwrap().requests.is_empty()).then_some(())
    })
    .await;
    let (settings, redis) = first.stop().await;
    let pending = seen.lock().unwrap().requests.clone();
    assert_eq!(pending.len(), 1, "one failed attempt before the stop: {pending:?}");
    assert_eq!(pending[0].3, 500);

    seen.lock().unwrap().down = false;
    let next = start_on_clock(settings, redis, Arc::new(ManualClock::starting_now())).await;
    crate::helpers::eventually("the new instance delivers it", || async {
        next.advance(retry_max).await;
        (!seen.lock().unwrap().accepted.is_empty()).then_some(())
    })
    .await;
    next.advance(retry_max * 4).await;
    let (requests, accepted) = {
        let g = seen.lock().unwrap();
        (g.requests.clone(), g.accepted.iter().cloned().collect::<Vec<_>>())
    };
    assert!(requests.iter().all(|r| r.2), "every request is signed right: {requests:?}");
    assert_eq!(accepted, vec![pending[0].0.clone()], "the pending event, and nothing else");
    let deliveries = requests.iter().filter(|r| r.3 == 200).count();
    assert_eq!(deliveries, 1, "delivered once, not only deduplicated: {requests:?}");
    assert_eq!(pending[0].1, "call_in.called_in");
    let (s, log) = next.get("/api/v1/admin/webhooks/deliveries", Some(&next.admin_token())).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let outcomes: Vec<&str> = log.as_array().unwrap().iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["delivered 200", "failed 500; retry"], "newest first: {log}");
    assert_eq!(log[0]["event_id"], json!(pending[0].0));
    assert_eq!(made.len(), 1);
}
