//! Revocation reaches open sockets: disabling an account closes its sockets (4403) and takes a
//! mediator off every screen; a token that runs out, or an admin's revocation of an account's
//! tokens, closes its sockets (4401).

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::on_both_stores;
use grid_dispatch::domain::account::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;
/// "Within a second or two".
const REVOCATION_BOUND: Duration = Duration::from_secs(2);

on_both_stores!(
    disabling_a_mediator_closes_their_socket_with_4403_and_takes_them_off_every_screen,
    disabling_an_operator_closes_their_screen_with_4403_and_it_is_sent_nothing_more,
    sockets_close_with_4401_when_their_token_runs_out,
    revoking_an_accounts_tokens_closes_its_sockets_with_4401,
);

async fn disable(app: &TestApp, kind: &str, id: &str) {
    let path = format!("/api/v1/admin/{kind}/{id}");
    let (s, b) = app.call(Method::PATCH, &path, Some(&app.admin_token()), Some(json!({ "enabled": false }))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect()
}

async fn disabling_a_mediator_closes_their_socket_with_4403_and_takes_them_off_every_screen(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, other) = (app.mediator("停用", &[]).await, app.mediator("在岗", &[]).await);
    app.on_duty_at(&m, LAT, LNG).await;
    let op = app.operator("大屏").await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = screen.wait_for("snapshot", |_| true).await;
    assert!(ids(&snapshot["mediators"]).contains(&m.id.as_str()));
    let mut phone = app.socket("/api/v1/mediator/ws", &m.token).await;
    phone.wait_for("duty", |d| d["on"] == true).await;

    let started = Instant::now();
    disable(&app, "mediators", &m.id).await;
    // The phone keeps sending positions as it closes: none of them is stored or shown.
    let far = json!({ "type": "position", "lat": LAT + 0.05, "lng": LNG, "coord": "wgs84" });
    phone.try_send(Message::Text(far.to_string().into())).await;
    let (code, _) = phone.closed().await;
    assert_eq!(code, Some(4403), "closed because the account is disabled");
    assert!(started.elapsed() < REVOCATION_BOUND, "closed in {:?}", started.elapsed());
    let off = screen.wait_for("positions", |p| p["off_duty"].as_array().unwrap().contains(&json!(m.id))).await;
    assert!(!ids(&off["updates"]).contains(&m.id.as_str()));

    // Positions are written one batch at a time: once another phone's is stored, any the
    // closed socket had queued was stored too.
    app.on_duty_at(&other, LAT, LNG).await;
    let presence = app.app().ports().presence.all_presence().await.unwrap();
    let held = presence.iter().find(|p| p.mediator_id.to_string() == m.id).expect("presence kept");
    assert!(!held.on_duty, "taken off duty");
    assert!((held.fix.unwrap().point.lat() - LAT).abs() < 1e-6, "the position sent after disabling was not stored");
    let mut fresh = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = fresh.wait_for("snapshot", |_| true).await;
    assert!(!ids(&snapshot["mediators"]).contains(&m.id.as_str()), "not on a new screen");
    let (_, listed) = app.get("/api/v1/command/mediators", Some(&op.token)).await;
    assert!(!ids(&listed).contains(&m.id.as_str()), "not on the map list");
    assert_eq!(app.app().hub().socket_counts(), (0, 2), "the phone's socket is gone from the hub");
}

async fn disabling_an_operator_closes_their_screen_with_4403_and_it_is_sent_nothing_more(backend: Backend) {
    let app = spawn_app(backend).await;
    let (op, colleague) = (app.operator("停用值班员").await, app.operator("同事").await);
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    screen.wait_for("snapshot", |_| true).await;
    let mut other = app.socket("/api/v1/command/live", &colleague.token).await;
    other.wait_for("snapshot", |_| true).await;

    let started = Instant::now();
    disable(&app, "operators", &op.id).await;
    let created = app.report_at(LAT, LNG).await;
    let (code, before) = screen.closed().await;
    assert_eq!(code, Some(4403));
    assert!(started.elapsed() < REVOCATION_BOUND, "closed in {:?}", started.elapsed());
    assert!(
        !before.iter().any(|m| m["incident"]["id"] == created["id"]),
        "a report filed after disabling never reaches the disabled screen"
    );
    // The colleague's screen is untouched.
    other.wait_for("incident", |m| m["incident"]["id"] == created["id"]).await;
}

/// A token valid for about one more second: its `exp` passed 29 s ago (leeway 30 s).
fn nearly_expired(app: &TestApp, sub: &str, role: Role) -> String {
    let issued = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    app.app().keys().issue(sub, role, Duration::from_secs(31), issued).expect("token").0
}

async fn sockets_close_with_4401_when_their_token_runs_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, op) = (app.mediator("到期", &[]).await, app.operator("到期值班员").await);
    let mut phone = app.socket("/api/v1/mediator/ws", &nearly_expired(&app, &m.id, Role::Mediator)).await;
    phone.wait_for("duty", |_| true).await;
    let mut screen = app.socket("/api/v1/command/live", &nearly_expired(&app, &op.id, Role::Operator)).await;
    screen.wait_for("snapshot", |_| true).await;
    let ops = app.admin_token();
    let mut ops_screen = app.socket("/api/v1/command/live", &ops).await;
    ops_screen.wait_for("snapshot", |_| true).await;

    assert_eq!(phone.closed().await.0, Some(4401));
    assert_eq!(screen.closed().await.0, Some(4401));
    // A screen on a valid token keeps getting updates.
    let created = app.report_at(LAT, LNG).await;
    ops_screen.wait_for("incident", |m| m["incident"]["id"] == created["id"]).await;
}

async fn revoking_an_accounts_tokens_closes_its_sockets_with_4401(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("撤销", &[]).await;
    let op = app.operator("撤销大屏").await;
    let mut phone = app.socket("/api/v1/mediator/ws", &m.token).await;
    phone.wait_for("duty", |_| true).await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    screen.wait_for("snapshot", |_| true).await;

    let started = Instant::now();
    for id in [&m.id, &op.id] {
        let (s, b) =
            app.post(&format!("/api/v1/admin/accounts/{id}/revoke"), Some(&app.admin_token()), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    assert_eq!(phone.closed().await.0, Some(4401), "the phone must sign in again");
    assert_eq!(screen.closed().await.0, Some(4401), "the screen must sign in again");
    assert!(started.elapsed() < REVOCATION_BOUND, "closed in {:?}", started.elapsed());
    // A fresh sign-in opens a socket that stays open.
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&m.token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old token is refused");
}
