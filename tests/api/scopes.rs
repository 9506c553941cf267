//! Scopes with two districts side by side: an operator of one district sees and acts on nothing
//! in the other, on every command-center route and on the live feed; whom an operator may send;
//! what an operator without an area sees once several districts exist.

use crate::areas::{operator_in, upload};
use crate::helpers::{Backend, PROMPTLY, Socket, Staff, TestApp, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

on_both_stores!(
    an_operator_of_one_district_sees_and_acts_on_nothing_in_another,
    a_district_screen_gets_nothing_of_another_district_nor_a_street_screen_of_another_street,
    only_mediators_of_the_operators_area_can_be_sent,
    a_second_district_narrows_district_operators_and_leaves_operators_without_an_area_out,
);

/// Both districts span lat 36.60–36.64; the west one lng 101.60–101.68, the east one 101.68–101.76.
const SOUTH: f64 = 36.60;
const NORTH: f64 = 36.64;
const LAT: f64 = 36.62;
/// In the west district's first street (w-s1), its second (w-s2, 1.8 km from the east), and in
/// the east district (e-s1, 1.8 km from the west one).
const W1: f64 = 101.62;
const W2: f64 = 101.66;
const E1: f64 = 101.70;

/// A strip of both districts' latitudes.
fn rect(w: f64, e: f64) -> Value {
    crate::areas::rect(w, SOUTH, e, NORTH)
}

/// w → w-s1, w-s2 (each one community, `…-c`).
async fn west_district(app: &TestApp) {
    upload(app, "w", "district", None, rect(101.60, 101.68)).await;
    for (street, west) in [("w-s1", 101.60), ("w-s2", 101.64)] {
        upload(app, street, "street", Some("w"), rect(west, west + 0.04)).await;
        upload(app, &format!("{street}-c"), "community", Some(street), rect(west, west + 0.04)).await;
    }
}

/// e → e-s1 → e-s1-c, beside the west district.
async fn east_district(app: &TestApp) {
    upload(app, "e", "district", None, rect(101.68, 101.76)).await;
    upload(app, "e-s1", "street", Some("e"), rect(101.68, 101.76)).await;
    upload(app, "e-s1-c", "community", Some("e-s1"), rect(101.68, 101.76)).await;
}

/// A mediator whose home is `home` (None: no home area), on duty at (LAT, `lng`).
async fn mediator_at(app: &TestApp, name: &str, home: Option<&str>, lng: f64) -> Staff {
    let m = app.mediator(name, &[]).await;
    if let Some(home) = home {
        let path = format!("/api/v1/admin/mediators/{}", m.id);
        let (s, b) =
            app.call(reqwest::Method::PATCH, &path, Some(&app.admin_token()), Some(json!({ "area": home }))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    app.on_duty_at(&m, LAT, lng).await;
    m
}

async fn report(app: &TestApp, lng: f64) -> String {
    let body = json!({ "location": { "lat": LAT, "lng": lng, "coord": "wgs84" }, "category": "neighbor", "description": "辖区测试", "phone": "13812345678" });
    let (s, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn settings(s: &mut grid_dispatch::config::Settings) {
    s.report_limits.per_ip = 0;
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap_or(&vec![]).iter().map(|v| v[key].as_str().unwrap_or_default().to_owned()).collect()
}

async fn incident_ids(app: &TestApp, token: &str) -> Vec<String> {
    let (s, list) = app.get("/api/v1/command/incidents", Some(token)).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    ids(&list, "id")
}

async fn an_operator_of_one_district_sees_and_acts_on_nothing_in_another(backend: Backend) {
    let app = spawn_app_with(backend, settings).await;
    west_district(&app).await;
    east_district(&app).await;
    let west = operator_in(&app, "西区指挥", "w").await;
    let east = operator_in(&app, "东区指挥", "e").await;
    let m_west = mediator_at(&app, "西区调解员", Some("w-s2-c"), W2 + 0.005).await;
    let m_east = mediator_at(&app, "东区调解员", Some("e-s1-c"), E1 - 0.005).await;
    let mut west_ids = vec![];
    let mut east_ids = vec![];
    for _ in 0..3 {
        west_ids.push(report(&app, W2).await);
        east_ids.push(report(&app, E1).await);
    }
    let (w, e) = (west_ids[0].clone(), east_ids[0].clone());

    // Lists and detail.
    let seen = incident_ids(&app, &west.token).await;
    assert!(west_ids.iter().all(|id| seen.contains(id)), "the district sees its own");
    assert!(east_ids.iter().all(|id| !seen.contains(id)), "and nothing of the other district: {seen:?}");
    let (s, _) = app.get(&format!("/api/v1/command/incidents/{e}"), Some(&west.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another district's incident");
    let (s, detail) = app.get(&format!("/api/v1/command/incidents/{w}"), Some(&west.token)).await;
    assert_eq!(s, StatusCode::OK);
    let suggested = ids(&detail["nearest_mediators"], "mediator_id");
    assert!(suggested.contains(&m_west.id), "{suggested:?}");
    assert!(!suggested.contains(&m_east.id), "the other district's mediator (1.8 km away) is not suggested");

    // Every action on the other district's incident: 404, and nothing happens to it.
    let e_detail = format!("/api/v1/command/incidents/{e}");
    let (_, was) = app.get(&e_detail, Some(&app.admin_token())).await;
    let e_path = |action: &str| format!("/api/v1/command/incidents/{e}/{action}");
    for (action, body) in [
        ("assign", json!({ "mediator_id": m_west.id })),
        ("assign", json!({ "mediator_id": m_east.id })),
        ("supervise", json!({ "note": "越权督办" })),
        ("risk", json!({ "risk": "red" })),
        ("category", json!({ "category": "family" })),
        ("handover", json!({ "direction": "down", "note": "越权" })),
        ("transfer", json!({ "area": "w-s1-c", "note": "越权" })),
        ("reveal-phone", json!({})),
    ] {
        let (s, b) = app.post(&e_path(action), Some(&west.token), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{action} on another district's incident: {b}");
    }
    // Its case file's grade (以案定补): neither read nor decided, nor its amount recorded.
    let (s, _) = app.get(&e_path("case/grade"), Some(&west.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another district's grade");
    for (action, body) in
        [("case/grade", json!({ "grade": "simple" })), ("case/amount", json!({ "amount_in_dispute_yuan": 1 }))]
    {
        let (s, b) = app.call(reqwest::Method::PUT, &e_path(action), Some(&west.token), Some(body)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{action} on another district's incident: {b}");
    }
    let (_, untouched) = app.get(&e_detail, Some(&app.admin_token())).await;
    assert_eq!(untouched, was, "nothing happened to it, not even an audited phone reveal");

    // Video mediation on the other district's incident: no starting it, and a session its own
    // operators started is neither listed, watched, joined by invitation nor ended from here.
    let (s, b) = app.post("/api/v1/video/sessions", Some(&west.token), json!({ "incident_id": e })).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a video session on another district's incident: {b}");
    let (s, started) = app.post("/api/v1/video/sessions", Some(&east.token), json!({ "incident_id": e })).await;
    assert_eq!(s, StatusCode::CREATED, "{started}");
    let session = started["session_id"].as_str().expect("session_id").to_owned();
    let (_, listed) = app.get("/api/v1/video/sessions", Some(&west.token)).await;
    assert_eq!(listed, json!([]), "another district's live session is not listed");
    let (_, listed) = app.get("/api/v1/video/sessions", Some(&east.token)).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "its own district lists it: {listed}");
    for (action, body) in [("observe", json!({})), ("invitations", json!({ "kind": "operator" })), ("end", json!({}))] {
        let (s, b) = app.post(&format!("/api/v1/video/sessions/{session}/{action}"), Some(&west.token), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "video {action} in another district: {b}");
    }

    // Its own incident: not to another district's area, nor with another district's mediator.
    let w_path = |action: &str| format!("/api/v1/command/incidents/{w}/{action}");
    let (s, _) =
        app.post(&w_path("transfer"), Some(&west.token), json!({ "area": "e-s1-c", "note": "推给东区" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "no transfer into another district");
    let (s, b) = app.post(&w_path("assign"), Some(&west.token), json!({ "mediator_id": m_east.id })).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no sending another district's mediator: {b}");
    let (s, b) = app.post(&w_path("assign"), Some(&west.token), json!({ "mediator_id": m_west.id })).await;
    assert_eq!((s, b["claimed_by"].clone()), (StatusCode::OK, json!(m_west.id)), "its own mediator: {b}");
    let w2 = &west_ids[1];
    let (s, b) = app
        .post(
            &format!("/api/v1/command/incidents/{w2}/transfer"),
            Some(&west.token),
            json!({ "area": "w-s1-c", "note": "放错街道" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "within its own district: {b}");

    // Statistics, their CSV, hot spots, mediators on the map (any box) and area outlines.
    let (_, stats) = app.get("/api/v1/command/stats", Some(&west.token)).await;
    assert_eq!(stats["total"], 3, "{stats}");
    let codes = ids(&stats["by_area"], "code");
    assert!(codes.contains(&"w".to_owned()) && codes.iter().all(|c| c.starts_with('w')), "{codes:?}");
    let csv = app
        .http()
        .get(format!("{}/api/v1/command/stats.csv", app.base))
        .bearer_auth(&west.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("w-s2"), "{csv}");
    assert!(!csv.contains("e-s1") && !csv.contains(&m_east.id), "no figures of the other district in the CSV");
    let (_, spots) = app.get("/api/v1/command/hotspots", Some(&west.token)).await;
    let centres: Vec<f64> = spots.as_array().unwrap().iter().map(|h| h["center"]["lng"].as_f64().unwrap()).collect();
    assert_eq!(centres.len(), 1, "only the west spot: {spots}");
    assert!((centres[0] - W2).abs() < 0.01);
    for query in ["", "?bbox=101.5,36.5,101.9,36.7"] {
        let (_, on_map) = app.get(&format!("/api/v1/command/mediators{query}"), Some(&west.token)).await;
        assert_eq!(ids(&on_map, "id"), vec![m_west.id.clone()], "mediators{query}");
    }
    let (_, outlines) = app.get("/api/v1/command/areas", Some(&west.token)).await;
    let outlines: Vec<String> = outlines["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap().into())
        .collect();
    assert_eq!(outlines.len(), 5, "w, its 2 streets and 2 communities: {outlines:?}");
    assert!(outlines.iter().all(|c| c.starts_with('w')));

    // The other way round, and those who see everything.
    let seen = incident_ids(&app, &east.token).await;
    assert!(east_ids.iter().all(|id| seen.contains(id)) && west_ids.iter().all(|id| !seen.contains(id)));
    let everywhere = operator_in(&app, "市级指挥", "*").await;
    for token in [everywhere.token.clone(), app.admin_token()] {
        let seen = incident_ids(&app, &token).await;
        assert!(west_ids.iter().chain(&east_ids).all(|id| seen.contains(id)), "every district");
    }
}

/// Read the socket until `done` says so, returning everything read (panics after `PROMPTLY`).
async fn read_until(socket: &mut Socket, mut done: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    let mut read = vec![];
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = socket.next_json_within(left).await.unwrap_or_else(|| panic!("timed out; read {read:?}"));
        let stop = done(&msg);
        read.push(msg);
        if stop {
            return read;
        }
    }
}

fn went_off_duty(msg: &Value, id: &str) -> bool {
    msg["type"] == "positions" && msg["off_duty"].as_array().is_some_and(|o| o.iter().any(|x| x == id))
}

fn mentions(messages: &[Value], needles: &[&str]) -> Vec<String> {
    messages.iter().map(Value::to_string).filter(|m| needles.iter().any(|n| m.contains(n))).collect()
}

async fn a_district_screen_gets_nothing_of_another_district_nor_a_street_screen_of_another_street(backend: Backend) {
    // Mediators are offered only what is within 1 km, so no incident names another district's.
    let app = spawn_app_with(backend, |s| {
        settings(s);
        s.dispatch.search_radius_m = 1000.0;
    })
    .await;
    west_district(&app).await;
    east_district(&app).await;
    let west = operator_in(&app, "西区指挥", "w").await;
    let street = operator_in(&app, "西区一街道", "w-s1").await;
    let east = operator_in(&app, "东区指挥", "e").await;
    let m_s1 = mediator_at(&app, "一街道调解员", Some("w-s1-c"), W1 + 0.005).await;
    let m_s2 = mediator_at(&app, "二街道调解员", Some("w-s2-c"), W2 + 0.005).await;
    let m_east = mediator_at(&app, "东区调解员", Some("e-s1-c"), E1 + 0.005).await;
    let (w0, e0) = (report(&app, W2).await, report(&app, E1).await);

    let mut district_screen = app.socket("/api/v1/command/live", &west.token).await;
    let mut street_screen = app.socket("/api/v1/command/live", &street.token).await;
    let snapshot = district_screen.wait_for("snapshot", |_| true).await;
    let mut on_map = ids(&snapshot["mediators"], "id");
    on_map.sort();
    let mut want = vec![m_s1.id.clone(), m_s2.id.clone()];
    want.sort();
    assert_eq!(on_map, want, "the district's mediators only");
    assert_eq!(ids(&snapshot["incidents"], "id"), vec![w0.clone()], "the district's incidents only");
    let snapshot = street_screen.wait_for("snapshot", |_| true).await;
    assert_eq!(ids(&snapshot["mediators"], "id"), vec![m_s1.id.clone()]);

    // Everything the east district does: moves, duty, a new report, a change to an old one.
    app.move_to(&m_east, LAT + 0.005, E1 + 0.01).await;
    let (s, _) = app.post("/api/v1/mediator/duty", Some(&m_east.token), json!({ "on": false })).await;
    assert_eq!(s, StatusCode::OK);
    let e1 = report(&app, E1 + 0.02).await;
    let (s, _) = app
        .post(&format!("/api/v1/command/incidents/{e0}/supervise"), Some(&east.token), json!({ "note": "督办" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Then the second street moves and leaves duty; then the first; then a west report.
    app.move_to(&m_s2, LAT + 0.005, W2).await;
    let (s, _) = app.post("/api/v1/mediator/duty", Some(&m_s2.token), json!({ "on": false })).await;
    assert_eq!(s, StatusCode::OK);
    app.move_to(&m_s1, LAT + 0.005, W1).await;
    let (s, _) = app.post("/api/v1/mediator/duty", Some(&m_s1.token), json!({ "on": false })).await;
    assert_eq!(s, StatusCode::OK);
    let w1 = report(&app, W2 - 0.005).await;

    // The bus is ordered and batches flush in order: once the last west change has arrived,
    // anything of the east district would have arrived before it.
    let (mut off_s1, mut reported_w1) = (false, false);
    let read = read_until(&mut district_screen, |m| {
        off_s1 |= went_off_duty(m, &m_s1.id);
        reported_w1 |= m["type"] == "incident" && m["incident"]["id"] == w1.as_str();
        off_s1 && reported_w1
    })
    .await;
    assert!(read.iter().any(|m| went_off_duty(m, &m_s2.id)), "its own mediators' duty-offs arrive");
    let leaked = mentions(&read, &[&m_east.id, &e0, &e1, "e-s1"]);
    assert!(leaked.is_empty(), "nothing of the east district on the west screen: {leaked:?}");

    let read = read_until(&mut street_screen, |m| went_off_duty(m, &m_s1.id)).await;
    let leaked = mentions(&read, &[&m_east.id, &m_s2.id, &e0, &e1, &w0, &w1]);
    assert!(leaked.is_empty(), "nothing of the other street (nor district) on the street screen: {leaked:?}");
}

async fn only_mediators_of_the_operators_area_can_be_sent(backend: Backend) {
    let app = spawn_app_with(backend, settings).await;
    west_district(&app).await;
    east_district(&app).await;
    let street = operator_in(&app, "西区一街道", "w-s1").await;
    let district = operator_in(&app, "西区指挥", "w").await;
    // Home areas decide; standing in the street does not make another street's mediator ours.
    let own = mediator_at(&app, "本街道", Some("w-s1-c"), W1 + 0.004).await;
    let neighbour = mediator_at(&app, "邻街道", Some("w-s2-c"), W1 + 0.002).await;
    let visitor = mediator_at(&app, "东区来客", Some("e-s1-c"), W1 + 0.003).await;
    // Without a home area, where the phone last was decides.
    let homeless_here = mediator_at(&app, "无网格本街", None, W1 + 0.005).await;
    let homeless_there = mediator_at(&app, "无网格邻街", None, W2).await;
    let id = report(&app, W1).await;
    let detail_path = format!("/api/v1/command/incidents/{id}");
    let path = |action: &str| format!("{detail_path}/{action}");

    let (_, detail) = app.get(&detail_path, Some(&street.token)).await;
    let mut suggested = ids(&detail["nearest_mediators"], "mediator_id");
    suggested.sort();
    let mut want = vec![own.id.clone(), homeless_here.id.clone()];
    want.sort();
    assert_eq!(suggested, want, "only those the street may send are suggested: {detail}");

    for (who, m) in [("another street's", &neighbour), ("another district's", &visitor), ("a far one", &homeless_there)]
    {
        let (s, b) = app.post(&path("assign"), Some(&street.token), json!({ "mediator_id": m.id })).await;
        assert_eq!((s, b["error"]["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")), "{who}: {b}");
    }
    let (_, still) = app.get(&detail_path, Some(&street.token)).await;
    assert_eq!(still["incident"]["claimed_by"], Value::Null, "nobody was sent");
    let (s, b) = app.post(&path("assign"), Some(&street.token), json!({ "mediator_id": homeless_here.id })).await;
    assert_eq!((s, b["claimed_by"].clone()), (StatusCode::OK, json!(homeless_here.id)), "{b}");

    // The district sends any of its streets' mediators, not another district's.
    let other = report(&app, W1 + 0.001).await;
    let other_assign = format!("/api/v1/command/incidents/{other}/assign");
    let assign = |m: &Staff| app.post(&other_assign, Some(&district.token), json!({ "mediator_id": m.id }));
    let (s, _) = assign(&visitor).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = assign(&neighbour).await;
    assert_eq!((s, b["claimed_by"].clone()), (StatusCode::OK, json!(neighbour.id)), "{b}");
}

/// Wait for the server to close `socket` (well within `PROMPTLY`).
async fn closed(socket: &mut Socket) {
    let started = tokio::time::Instant::now();
    while socket.next_json_within(PROMPTLY.saturating_sub(started.elapsed())).await.is_some() {}
    assert!(started.elapsed() < PROMPTLY - Duration::from_secs(1), "the screen was not closed");
}

async fn a_second_district_narrows_district_operators_and_leaves_operators_without_an_area_out(backend: Backend) {
    let app = spawn_app_with(backend, settings).await;
    west_district(&app).await;
    let west = operator_in(&app, "西区指挥", "w").await;
    let unplaced = app.operator("未分区").await;
    let before = report(&app, E1).await;
    // One district: its operators and operators without an area see everything, as before.
    for who in [&west, &unplaced] {
        assert_eq!(incident_ids(&app, &who.token).await, vec![before.clone()], "outside the outline too");
    }
    let mut screen = app.socket("/api/v1/command/live", &west.token).await;
    screen.wait_for("snapshot", |_| true).await;

    east_district(&app).await;
    closed(&mut screen).await;
    let mut screen = app.socket("/api/v1/command/live", &west.token).await;
    screen.wait_for("snapshot", |m| m["incidents"] == json!([])).await;
    let east_report = report(&app, E1).await;
    let west_report = report(&app, W2).await;
    let read =
        read_until(&mut screen, |m| m["type"] == "incident" && m["incident"]["id"] == west_report.as_str()).await;
    assert!(mentions(&read, &[&east_report, "e-s1"]).is_empty(), "{read:?}");
    assert_eq!(incident_ids(&app, &west.token).await, vec![west_report.clone()]);

    // Without an area among several districts: refused, saying why; `*` sees every district.
    let (s, b) = app.get("/api/v1/command/incidents", Some(&unplaced.token)).await;
    assert_eq!((s, b["error"]["code"].clone()), (StatusCode::FORBIDDEN, json!("no_area")), "{b}");
    let everywhere = operator_in(&app, "市级指挥", "*").await;
    let mut seen = incident_ids(&app, &everywhere.token).await;
    seen.sort();
    let mut want = vec![before, east_report, west_report];
    want.sort();
    assert_eq!(seen, want);
}
