//! Mediators' positions as others see them: an old position is refused on the socket and over
//! HTTP (never stamped as now, which would put the mediator where they no longer are), and the
//! resident's tracking view shows the mediator to about 10 m, never the exact fix.

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    a_stale_position_is_refused_on_the_socket_and_over_http,
    the_resident_sees_the_mediator_to_about_ten_metres
);

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

/// `minutes` ago, RFC 3339.
fn ago(minutes: i64) -> String {
    jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_mins(minutes)).expect("valid").to_string()
}

/// Where the command center sees mediator `id`.
async fn seen_at(app: &TestApp, id: &str) -> (f64, f64) {
    let (s, list) = app.get("/api/v1/command/mediators", Some(&app.admin_token())).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let m = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not on the map: {list}"));
    (m["lat"].as_f64().unwrap(), m["lng"].as_f64().unwrap())
}

async fn a_stale_position_is_refused_on_the_socket_and_over_http(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("旧位置", &[]).await;
    app.on_duty_at(&m, LAT, LNG).await;
    let far = |lat_offset: f64, at: &str| json!({ "lat": LAT + lat_offset, "lng": LNG, "coord": "wgs84", "at": at });

    // Over HTTP: 3 minutes old (dispatch.stale_after is 2) and two hours old are both refused.
    for (offset, at) in [(0.05, ago(3)), (0.08, ago(120))] {
        let (s, err) = app.post("/api/v1/mediator/position", Some(&m.token), far(offset, &at)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["code"], "invalid_field");
        assert!(err["error"]["message"].as_str().unwrap().contains("at"), "{err}");
    }
    // A current one with its own time is taken.
    let (s, _) = app.post("/api/v1/mediator/position", Some(&m.token), far(0.001, &ago(0))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // On the socket: an error message, and the position is not taken.
    let mut ws = app.socket("/api/v1/mediator/ws", &m.token).await;
    ws.send_json(&json!({ "type": "position", "lat": LAT + 0.09, "lng": LNG, "coord": "wgs84", "at": ago(90) })).await;
    let err: Value = ws.wait_for("error", |_| true).await;
    assert_eq!(err["code"], "invalid_field", "{err}");
    let (lat, _) = seen_at(&app, &m.id).await;
    assert!((lat - (LAT + 0.001)).abs() < 1e-6, "the mediator stays where they last were: {lat}");
}

async fn the_resident_sees_the_mediator_to_about_ten_metres(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("近似", &[]).await;
    let (exact_lat, exact_lng) = (36.623_456_7, 101.781_234_5);
    app.on_duty_at(&m, exact_lat, exact_lng).await;
    let report = app.report_at(LAT, LNG).await;
    let (id, token) = (report["id"].as_str().unwrap(), report["tracking_token"].as_str().unwrap());
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);

    let (_, view) = app.get(&format!("/api/v1/track/{token}"), None).await;
    let shown = &view["mediator"];
    assert_eq!((shown["position"]["lat"].as_f64(), shown["position"]["lng"].as_f64()), (Some(36.6235), Some(101.7812)));
    let d = shown["distance_m"].as_f64().unwrap();
    assert_eq!(d % 10.0, 0.0, "distance to 10 m: {d}");
    assert!((740.0..=780.0).contains(&d), "{d}");
    let text = view.to_string();
    assert!(!text.contains("36.62345") && !text.contains("101.78123"), "no exact fix anywhere: {text}");
    // Operators still see the exact position.
    let (lat, lng) = seen_at(&app, &m.id).await;
    assert!((lat - exact_lat).abs() < 1e-9 && (lng - exact_lng).abs() < 1e-9);
}
