//! One client cannot multiply server work through tracking streams: they are capped per
//! tracking token and per address, and all the streams of one report share one read per change.

use crate::helpers::{Backend, Events, TestApp, eventually, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::json;

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

on_both_stores!(
    tracking_streams_beyond_the_caps_per_token_and_per_address_get_429,
    all_the_streams_of_one_report_share_one_read_per_change,
);

async fn stream(app: &TestApp, token: &str) -> reqwest::Response {
    app.http().get(format!("{}/api/v1/track/{token}/events", app.base)).send().await.expect("request sent")
}

/// A stream that opened, with its first event read.
async fn opened(app: &TestApp, token: &str) -> Events {
    let response = stream(app, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = Events::new(response);
    assert!(events.next().await["id"].is_string(), "the first event is the view now");
    events
}

async fn refused(app: &TestApp, token: &str) -> serde_json::Value {
    let response = stream(app, token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    response.json().await.expect("an error body")
}

async fn tracking_streams_beyond_the_caps_per_token_and_per_address_get_429(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.push.tracking_streams_per_token = 2;
        s.push.tracking_streams_per_ip = 3;
        s.report_limits.per_ip = 0;
    })
    .await;
    let first = app.report_at(LAT, LNG).await["tracking_token"].as_str().unwrap().to_owned();
    let second = app.report_at(LAT, LNG).await["tracking_token"].as_str().unwrap().to_owned();

    let one = opened(&app, &first).await;
    let _two = opened(&app, &first).await;
    assert_eq!(refused(&app, &first).await["error"]["code"], "rate_limited", "a third stream of one link");
    let _three = opened(&app, &second).await;
    refused(&app, &second).await;

    // A stream that goes away frees its place.
    drop(one);
    eventually("a freed place", || async {
        let response = stream(&app, &second).await;
        (response.status() == StatusCode::OK).then_some(response)
    })
    .await;
    // A plain read of the report is not a stream: never capped.
    let (s, _) = app.get(&format!("/api/v1/track/{first}"), None).await;
    assert_eq!(s, StatusCode::OK);
}

async fn all_the_streams_of_one_report_share_one_read_per_change(backend: Backend) {
    const STREAMS: usize = 6;
    let app = spawn_app_with(backend, |s| s.push.tracking_streams_per_token = STREAMS).await;
    // Someone nearby, so the report waits for them (no escalation happens on its own).
    let m = app.mediator("附近", &[]).await;
    app.on_duty_at(&m, LAT + 0.001, LNG).await;
    let token = app.report_at(LAT, LNG).await["tracking_token"].as_str().unwrap().to_owned();
    let mut streams = vec![];
    for _ in 0..STREAMS {
        streams.push(opened(&app, &token).await);
    }
    let reads = app.app().tracking().refreshes();

    let (s, b) = app.post(&format!("/api/v1/track/{token}/cancel"), None, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for events in &mut streams {
        assert_eq!(events.next().await["status"], "cancelled");
    }
    assert_eq!(app.app().tracking().refreshes() - reads, 1, "one read for the change, shared by {STREAMS} streams");
}
