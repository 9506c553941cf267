//! Background work is bounded (issue #16, point 12): the WeChat notifier against a WeChat that
//! accepts connections and never answers. The binary runs as a child process so its metrics
//! are its own.

#[path = "support/service.rs"]
mod service;

use grid_dispatch::domain::account::Role;
use reqwest::StatusCode;
use serde_json::json;
use service::{ServiceProcess, token};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A "WeChat" that takes every connection and never says a word; counts what it holds.
async fn silent_wechat() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let held = Arc::new(AtomicUsize::new(0));
    let count = held.clone();
    tokio::spawn(async move {
        let mut open = vec![];
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            open.push(tcp);
        }
    });
    (base, held)
}

/// One sample's value from Prometheus text (0 when absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// 200 offer notifications meet a WeChat that never answers: at most 8 deliveries wait on it
/// and at most `wechat.notify_queue` (10) wait in line; the other 182 are dropped and counted
/// at once, instead of each parking a task (and its memory) until WeChat answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_that_never_answers_holds_a_bounded_number_of_notifications() {
    let (wechat, held) = silent_wechat().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("GD_WECHAT__APPID", "wx2c2769f8efd9abc2".to_owned()),
        ("GD_WECHAT__APPSECRET", "background-test-appsecret".to_owned()),
        ("GD_WECHAT__API_BASE", wechat),
        ("GD_WECHAT__API_TIMEOUT", "120s".to_owned()),
        ("GD_WECHAT__TEMPLATE_OFFER", "offer-template".to_owned()),
        ("GD_WECHAT__NOTIFY_QUEUE", "10".to_owned()),
        ("GD_DISPATCH__OFFER_COUNT", "50".to_owned()),
        ("GD_REPORT_LIMITS__PER_IP", "0".to_owned()),
    ];
    let svc = ServiceProcess::start("svc", dir.path(), &env).await;
    let http = reqwest::Client::new();
    let admin = token("ops", Role::Admin);
    let at = json!({ "lat": 36.6171, "lng": 101.7782, "coord": "wgs84" });
    for i in 0..50 {
        let id = svc.create_mediator(&http, &format!("调解{i}"), &format!("137{i:08}")).await;
        let bind = http
            .patch(format!("{}/api/v1/admin/mediators/{id}", svc.base))
            .bearer_auth(&admin)
            .json(&json!({ "wechat_openid": format!("oBackground{i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(bind.status(), StatusCode::OK);
        let me = token(&id, Role::Mediator);
        let on = http.post(format!("{}/api/v1/mediator/duty", svc.base)).bearer_auth(&me).json(&json!({ "on": true }));
        assert_eq!(on.send().await.unwrap().status(), StatusCode::OK);
        let there = http.post(format!("{}/api/v1/mediator/position", svc.base)).bearer_auth(&me).json(&at);
        assert_eq!(there.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    }
    for i in 0..4 {
        let report = json!({ "location": at, "category": "neighbor", "description": format!("第{i}起") });
        let r = http.post(format!("{}/api/v1/reports", svc.base)).json(&report).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = http.get(format!("{}/metrics", svc.base)).send().await.unwrap().text().await.unwrap();
        if metric(&text, "gd_wechat_notify_dropped_total") >= 182.0 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "200 notifications to a silent WeChat were never shed: dropped {}",
            metric(&text, "gd_wechat_notify_dropped_total")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(metric(&text, "gd_wechat_notify_dropped_total"), 182.0, "8 delivering + 10 queued, the rest dropped");
    assert_eq!(metric(&text, "gd_wechat_notify_in_flight"), 8.0);
    assert_eq!(metric(&text, "gd_wechat_notify_queued"), 10.0);
    assert!(held.load(Ordering::SeqCst) <= 8, "WeChat sees at most 8 calls at once");
    let ok = http.get(format!("{}/healthz", svc.base)).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}
