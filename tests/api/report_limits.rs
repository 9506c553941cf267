//! A resident's report allowance (`report_limits.per_ip`) and Idempotency-Keys, as residents
//! and attackers meet them: refused requests and retries spend nothing, a key belongs to the
//! address that used it, and behind a proxy the address is the one the proxy appended.
//! Clients connect from distinct loopback addresses (127.x.y.z).

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};

on_both_stores!(
    refused_reports_and_retries_do_not_spend_a_residents_allowance,
    an_idempotency_key_never_returns_another_senders_receipt,
    behind_a_proxy_reports_count_against_the_address_it_appended,
);

fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(ip)).build().expect("client")
}

fn report(description: &str) -> Value {
    json!({
        "location": { "lat": 36.6171, "lng": 101.7782, "coord": "wgs84" },
        "category": "neighbor",
        "description": description,
    })
}

/// POST a report; status, body, and whether it was a replay.
async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    key: Option<&str>,
    forwarded: Option<&str>,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let mut req = client.post(format!("{}/api/v1/reports", app.base)).json(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.expect("answered");
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null), replayed)
}

async fn refused_reports_and_retries_do_not_spend_a_residents_allowance(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.report_limits.per_ip = 2).await;
    let resident = client_from(Ipv4Addr::new(127, 0, 0, 9));

    // Every kind of refusal first: none of them counts.
    let raw = |body: &'static str, content_type: &'static str| {
        let (client, url) = (resident.clone(), format!("{}/api/v1/reports", app.base));
        async move { client.post(url).header("content-type", content_type).body(body).send().await.unwrap().status() }
    };
    assert_eq!(raw("{not json", "application/json").await, StatusCode::BAD_REQUEST);
    assert_eq!(raw("description=x", "application/x-www-form-urlencoded").await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let empty = report("   ");
    assert_eq!(post(&app, &resident, None, None, &empty).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_scene = json!({ "scene": "no-such-scene", "category": "neighbor", "description": "漏水" });
    assert_eq!(post(&app, &resident, None, None, &unknown_scene).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // The allowance is whole: two reports file.
    let (s, first, _) = post(&app, &resident, Some("k-1"), None, &report("楼上漏水")).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, _, _) = post(&app, &resident, Some("k-2"), None, &report("邻居吵架")).await;
    assert_eq!(s, StatusCode::CREATED);

    // Spent: a retry of a filed report is still answered (the phone lost the first answer).
    let (s, again, replayed) = post(&app, &resident, Some("k-1"), None, &report("楼上漏水")).await;
    assert_eq!((s, replayed), (StatusCode::CREATED, true), "{again}");
    assert_eq!(again["tracking_token"], first["tracking_token"]);
    let (s, reused, _) = post(&app, &resident, Some("k-1"), None, &report("另一件事")).await;
    assert_eq!(
        (s, reused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused"))
    );
    // A new report is over the limit.
    let (s, limited, _) = post(&app, &resident, Some("k-3"), None, &report("第三件")).await;
    assert_eq!((s, limited["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
}

async fn an_idempotency_key_never_returns_another_senders_receipt(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.report_limits.per_ip = 0).await;
    let (alice, mallory) = (client_from(Ipv4Addr::new(127, 0, 0, 10)), client_from(Ipv4Addr::new(127, 0, 0, 11)));
    let body = report("家里漏水，邻居不开门");
    let (s, filed, _) = post(&app, &alice, Some("page-load-1"), None, &body).await;
    assert_eq!(s, StatusCode::CREATED);
    // Someone else sends the same key and body: a report of their own, never Alice's token.
    let (s, other, replayed) = post(&app, &mallory, Some("page-load-1"), None, &body).await;
    assert_eq!((s, replayed), (StatusCode::CREATED, false), "{other}");
    assert_ne!(other["tracking_token"], filed["tracking_token"]);
    assert_ne!(other["id"], filed["id"]);
    // Alice's own retry still replays.
    let (s, again, replayed) = post(&app, &alice, Some("page-load-1"), None, &body).await;
    assert_eq!((s, replayed, &again["id"]), (StatusCode::CREATED, true, &filed["id"]));
}

async fn behind_a_proxy_reports_count_against_the_address_it_appended(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.http.trust_forwarded_for = true;
        s.report_limits.per_ip = 2;
    })
    .await;
    let proxy = client_from(Ipv4Addr::new(127, 0, 0, 12));
    // The sender forges a new first entry each time; the proxy appends the real address.
    for i in 0..2 {
        let forwarded = format!("10.0.0.{i}, 198.51.100.30");
        let (s, body, _) = post(&app, &proxy, None, Some(&forwarded), &report("噪音")).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let (s, _, _) = post(&app, &proxy, None, Some("10.0.0.99, 198.51.100.30"), &report("噪音")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "forging the first entry does not reset the count");
    // Another resident behind the same proxy has their own allowance.
    let (s, _, _) = post(&app, &proxy, None, Some("198.51.100.31"), &report("噪音")).await;
    assert_eq!(s, StatusCode::CREATED);
}
