//! The heart: report → nearest mediators get offers → first accept wins → others told.

use crate::helpers::{Backend, spawn_app, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::json;

/// A report site in Xining; 0.001° of latitude is about 111 m.
const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

on_both_stores!(
    the_nearest_mediators_get_offers_and_the_first_accept_wins,
    fifty_concurrent_accepts_have_exactly_one_winner,
    the_resident_tracks_the_claiming_mediator,
    specialists_count_nearer_and_busy_mediators_are_skipped,
    a_mediator_socket_receives_offers_and_streams_positions,
    the_resident_can_cancel_before_a_claim,
    positions_sent_together_are_each_stored_and_matched,
);

/// Positions arriving together are written as one batch: every request is answered only once
/// it is stored, each mediator ends at their own latest position, and matching sees them all.
async fn positions_sent_together_are_each_stored_and_matched(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.dispatch.position_batch_window = std::time::Duration::from_millis(50);
        s.dispatch.offer_count = 30;
    })
    .await;
    let op = app.operator("大屏").await;
    let mut mediators = vec![];
    for i in 0..30 {
        let m = app.mediator(&format!("调解员{i}"), &[]).await;
        let (s, _) = app.post("/api/v1/mediator/duty", Some(&m.token), json!({ "on": true })).await;
        assert_eq!(s, StatusCode::OK);
        mediators.push(m);
    }
    let place = |i: usize, step: f64| (LAT + 0.0003 * i as f64 + step, LNG);
    for step in [0.0, 0.00005] {
        // Everyone at once (each `move_to` asserts its 204): they land in shared batches.
        futures_util::future::join_all(mediators.iter().enumerate().map(|(i, m)| {
            let (lat, lng) = place(i, step);
            app.move_to(m, lat, lng)
        }))
        .await;
    }
    let (s, seen) = app.get("/api/v1/command/mediators", Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK);
    for (i, m) in mediators.iter().enumerate() {
        let entry = seen.as_array().unwrap().iter().find(|e| e["id"] == m.id.as_str()).expect("on the map");
        let (lat, _) = place(i, 0.00005);
        assert!((entry["lat"].as_f64().unwrap() - lat).abs() < 1e-7, "{i}: {entry}");
    }
    let report = app.report_at(LAT, LNG).await;
    let (_, detail) =
        app.get(&format!("/api/v1/command/incidents/{}", report["id"].as_str().unwrap()), Some(&op.token)).await;
    assert_eq!(detail["incident"]["offered_to"].as_array().map(Vec::len), Some(30), "{detail}");
}

async fn the_nearest_mediators_get_offers_and_the_first_accept_wins(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.dispatch.offer_count = 2).await;
    let near = app.mediator("近", &[]).await;
    let middle = app.mediator("中", &[]).await;
    let third = app.mediator("远", &[]).await;
    let outside = app.mediator("外", &[]).await;
    let off_duty = app.mediator("休", &[]).await;
    app.on_duty_at(&near, LAT + 0.001, LNG).await; // ~110 m
    app.on_duty_at(&middle, LAT + 0.005, LNG).await; // ~555 m
    app.on_duty_at(&third, LAT + 0.010, LNG).await; // ~1.1 km
    app.on_duty_at(&outside, LAT + 0.060, LNG).await; // ~6.7 km: beyond the 5 km radius
    app.on_duty_at(&off_duty, LAT, LNG).await;
    let (s, _) = app.post("/api/v1/mediator/duty", Some(&off_duty.token), json!({ "on": false })).await;
    assert_eq!(s, StatusCode::OK);

    let mut near_ws = app.socket("/api/v1/mediator/ws", &near.token).await;
    let mut middle_ws = app.socket("/api/v1/mediator/ws", &middle.token).await;
    near_ws.wait_for("duty", |m| m["on"] == true).await;
    middle_ws.wait_for("duty", |m| m["on"] == true).await;

    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap().to_owned();
    assert_eq!(report["status"], "dispatching");

    let offer = near_ws.wait_for("offer", |m| m["incident"]["id"] == id.as_str()).await;
    let distance = offer["incident"]["distance_m"].as_f64().unwrap();
    assert!((100.0..125.0).contains(&distance), "distance {distance}");
    assert_eq!(offer["incident"]["resident_phone"], "138****5678", "masked until claimed");
    assert_eq!(offer["incident"]["offered_at"], offer["incident"]["created_at"], "offered as it was filed");
    // The card counts down to the offer's own lapse, which comes before the escalation.
    let at = |v: &serde_json::Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let ttl = jiff::SignedDuration::try_from(app.settings.dispatch.offer_ttl).unwrap();
    assert_eq!(at(&offer["incident"]["offer_expires_at"]), at(&offer["incident"]["offered_at"]) + ttl);
    assert!(at(&offer["incident"]["offer_expires_at"]) < at(&offer["incident"]["escalate_at"]), "{offer}");
    middle_ws.wait_for("offer", |m| m["incident"]["id"] == id.as_str()).await;
    for (who, staff) in [("third", &third), ("outside", &outside), ("off duty", &off_duty)] {
        let (_, offers) = app.get("/api/v1/mediator/offers", Some(&staff.token)).await;
        assert_eq!(offers, json!([]), "{who} must not be offered");
    }
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&middle.token)).await;
    assert_eq!(offers[0]["id"], id.as_str());
    assert_eq!(offers[0]["offer_expires_at"], offer["incident"]["offer_expires_at"], "polling shows the same lapse");

    let (s, claimed) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&near.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["status"], "claimed");
    assert_eq!(claimed["resident_phone"], "13812345678", "the claimer can call the resident");

    let closed = middle_ws.wait_for("offer_closed", |m| m["incident_id"] == id.as_str()).await;
    assert_eq!(closed["reason"], "claimed");
    let (s, err) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&middle.token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "already_claimed");
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&third.token), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "never offered: nothing to see");
    let (s, again) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&near.token), json!({})).await;
    assert_eq!((s, again["status"].clone()), (StatusCode::OK, json!("claimed")), "the winner retrying gets 200");

    let (_, mine) = app.get("/api/v1/mediator/incidents", Some(&near.token)).await;
    assert_eq!(mine[0]["id"], id.as_str());
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&middle.token)).await;
    assert_eq!(offers, json!([]));

    let (s, arrived) = app.post(&format!("/api/v1/mediator/incidents/{id}/arrive"), Some(&near.token), json!({})).await;
    assert_eq!((s, arrived["status"].clone()), (StatusCode::OK, json!("on_site")));
    let (s, _) = app
        .post(
            &format!("/api/v1/mediator/incidents/{id}/resolve"),
            Some(&middle.token),
            json!({ "outcome": "mediated" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the holder resolves");
    let body = json!({ "outcome": "mediated", "note": "双方达成协议" });
    let (s, done) = app.post(&format!("/api/v1/mediator/incidents/{id}/resolve"), Some(&near.token), body).await;
    assert_eq!(
        (s, done["status"].clone(), done["outcome"].clone()),
        (StatusCode::OK, json!("resolved"), json!("mediated"))
    );
    assert_eq!(done["resident_phone"], "138****5678", "closed: the phone is masked again");
}

async fn fifty_concurrent_accepts_have_exactly_one_winner(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.dispatch.offer_count = 50).await;
    let mut mediators = vec![];
    for i in 0..50 {
        let m = app.mediator(&format!("调解员{i}"), &[]).await;
        app.on_duty_at(&m, LAT + 0.0001 * f64::from(i), LNG).await;
        mediators.push(m);
    }
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap().to_owned();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(mediators.len()));
    let tasks: Vec<_> = mediators
        .iter()
        .map(|m| {
            let (client, url, token, barrier) = (
                app.http().clone(),
                format!("{}/api/v1/mediator/incidents/{id}/accept", app.base),
                m.token.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client.post(url).bearer_auth(token).send().await.expect("sent");
                let status = resp.status();
                (status, resp.json::<serde_json::Value>().await.expect("json"))
            })
        })
        .collect();
    let mut winners = vec![];
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => winners.push(i),
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "already_claimed", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    let winner = &mediators[winners[0]];
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&app.admin_token())).await;
    assert_eq!(detail["incident"]["claimed_by"], winner.id.as_str());
    let claims = detail["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "claimed").count();
    assert_eq!(claims, 1, "one claim in the audit timeline");
}

async fn the_resident_tracks_the_claiming_mediator(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("王调解", &[]).await;
    app.on_duty_at(&m, LAT + 0.009, LNG).await; // ~1 km away
    let report = app.report_at(LAT, LNG).await;
    let token = report["tracking_token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits, base64url");
    assert!(report["tracking_url"].as_str().unwrap().ends_with(&format!("/t/{token}")));

    let (s, before) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(before["status"], "dispatching");
    assert_eq!(before["mediator"], serde_json::Value::Null);

    let id = report["id"].as_str().unwrap();
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, after) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(after["status"], "claimed");
    assert_eq!(after["mediator"]["name"], "王调解");
    assert_eq!(after["mediator"]["phone"], m.phone.as_str(), "the resident can call the mediator");
    let d = after["mediator"]["distance_m"].as_f64().unwrap();
    assert!((950.0..1060.0).contains(&d), "distance {d}");
    assert!(after["mediator"]["eta_min"].as_u64().unwrap() >= 1);
    assert!((after["mediator"]["position"]["lat"].as_f64().unwrap() - (LAT + 0.009)).abs() < 1e-9);

    // The mediator moves closer: the resident sees it.
    app.move_to(&m, LAT + 0.001, LNG).await;
    let (_, moved) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert!(moved["mediator"]["distance_m"].as_f64().unwrap() < 150.0);

    let (s, _) = app
        .post(&format!("/api/v1/mediator/incidents/{id}/resolve"), Some(&m.token), json!({ "outcome": "referred" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, closed) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["mediator"]["position"], serde_json::Value::Null, "position hidden once resolved");
    let kinds: Vec<_> = closed["timeline"].as_array().unwrap().iter().map(|e| e["event"]["type"].clone()).collect();
    assert_eq!(kinds, vec![json!("reported"), json!("offered"), json!("claimed"), json!("resolved")]);
    let timeline = closed["timeline"].as_array().unwrap();
    assert!(timeline.iter().all(|e| e["actor_id"].is_null()), "no staff account ids for residents");
    assert!(!closed.to_string().contains(&m.id), "the mediator's account id is not shown to the resident");

    let (s, _) = app.get("/api/v1/track/not-a-real-token-not-a-real-token-xxxxxx", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn specialists_count_nearer_and_busy_mediators_are_skipped(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.dispatch.offer_count = 1).await;
    let generalist = app.mediator("通才", &[]).await;
    let specialist = app.mediator("专家", &["neighbor"]).await;
    app.on_duty_at(&generalist, LAT + 0.001, LNG).await; // 111 m
    app.on_duty_at(&specialist, LAT + 0.004, LNG).await; // 444 m, within the 500 m bonus
    let first = app.report_at(LAT, LNG).await;
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&specialist.token)).await;
    assert_eq!(offers[0]["id"], first["id"], "the specialist ranks first");

    // Fill the specialist's capacity (3): the next reports go to the generalist.
    let admin = app.admin_token();
    let (s, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/mediators/{}", specialist.id),
            Some(&admin),
            Some(json!({ "capacity": 1 })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let id = first["id"].as_str().unwrap();
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&specialist.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let second = app.report_at(LAT, LNG).await;
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&generalist.token)).await;
    assert_eq!(offers[0]["id"], second["id"], "a full mediator is skipped");
}

async fn a_mediator_socket_receives_offers_and_streams_positions(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("李", &[]).await;
    let mut ws = app.socket("/api/v1/mediator/ws", &m.token).await;
    ws.wait_for("duty", |d| d["on"] == false).await;
    ws.send_json(&json!({ "type": "duty", "on": true })).await;
    ws.wait_for("duty", |d| d["on"] == true).await;
    ws.send_json(&json!({ "type": "position", "lat": LAT + 0.002, "lng": LNG, "coord": "wgs84", "accuracy_m": 8 }))
        .await;
    // Garbage gets an error reply and the socket stays usable.
    ws.send_json(&json!({ "type": "teleport" })).await;
    let err = ws.wait_for("error", |_| true).await;
    assert_eq!(err["code"], "invalid_field");
    ws.send_json(&json!({ "type": "position", "lat": 95.0, "lng": LNG })).await;
    ws.wait_for("error", |_| true).await;

    let op = app.operator("值班员").await;
    let seen = crate::helpers::eventually("the mediator on the map", || async {
        let (_, list) = app.get("/api/v1/command/mediators", Some(&op.token)).await;
        list.as_array().and_then(|l| l.iter().find(|x| x["id"] == m.id.as_str()).cloned())
    })
    .await;
    assert!((seen["lat"].as_f64().unwrap() - (LAT + 0.002)).abs() < 1e-9);
    assert_eq!(seen["name"], "李");
    let report = app.report_at(LAT, LNG).await;
    let offer = ws.wait_for("offer", |o| o["incident"]["id"] == report["id"]).await;
    assert_eq!(offer["incident"]["category"], "neighbor");
}

async fn the_resident_can_cancel_before_a_claim(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("赵", &[]).await;
    app.on_duty_at(&m, LAT, LNG + 0.001).await;
    let mut ws = app.socket("/api/v1/mediator/ws", &m.token).await;
    let report = app.report_at(LAT, LNG).await;
    let token = report["tracking_token"].as_str().unwrap();
    ws.wait_for("offer", |o| o["incident"]["id"] == report["id"]).await;
    let (s, view) = app.post(&format!("/api/v1/track/{token}/cancel"), None, json!({})).await;
    assert_eq!((s, view["status"].clone()), (StatusCode::OK, json!("cancelled")));
    let closed = ws.wait_for("offer_closed", |o| o["incident_id"] == report["id"]).await;
    assert_eq!(closed["reason"], "cancelled");
    let id = report["id"].as_str().unwrap();
    let (s, err) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!((s, err["error"]["code"].clone()), (StatusCode::CONFLICT, json!("wrong_state")));
}
