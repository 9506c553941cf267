//! The case lifecycle districts run on: waves, risk colours, deadlines and urging, supervision,
//! audit, follow-up visits, statistics and hot spots.

use crate::helpers::{Backend, Events, Socket, Staff, TestApp, spawn_app, spawn_app_on_clock, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

on_both_stores!(
    a_red_report_is_alerted_at_once_and_listed_first,
    offers_widen_in_waves_and_lapse_unanswered,
    a_decline_moves_on_to_the_next_mediator_at_once,
    deadlines_remind_then_mark_overdue_and_urge_the_command_center,
    supervision_and_phone_reveals_are_audited,
    the_follow_up_visit_rates_or_reopens,
    statistics_match_the_history,
    repeated_and_duplicate_reports_are_flagged,
    the_tracking_stream_pushes_each_change,
);

async fn report(app: &TestApp, lat: f64, lng: f64, description: &str, category: &str) -> Value {
    let body = json!({
        "location": { "lat": lat, "lng": lng, "coord": "wgs84" },
        "category": category,
        "description": description,
        "phone": "13812345678",
    });
    let (s, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created
}

async fn detail(app: &TestApp, op: &Staff, id: &str) -> Value {
    let (s, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d
}

fn events(detail: &Value) -> Vec<String> {
    detail["timeline"].as_array().unwrap().iter().map(|e| e["event"]["type"].as_str().unwrap().to_owned()).collect()
}

async fn socket_ready(app: &TestApp, m: &Staff) -> Socket {
    let mut ws = app.socket("/api/v1/mediator/ws", &m.token).await;
    ws.wait_for("duty", |_| true).await;
    ws
}

async fn a_red_report_is_alerted_at_once_and_listed_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    live.wait_for("snapshot", |_| true).await;
    let blue = report(&app, LAT, LNG, "楼上漏水", "neighbor").await;
    let red = report(&app, LAT, LNG + 0.05, "他拿着刀在楼道里喊", "neighbor").await;
    let wages = report(&app, LAT, LNG + 0.1, "老板三个月没发工资", "wages").await;
    let alert = live.wait_for("incident", |m| m["event"]["type"] == "alerted").await;
    assert_eq!(alert["incident"]["id"], red["id"]);
    assert_eq!(alert["incident"]["risk"], "red");
    assert!(alert["incident"]["alerted_at"].is_string());

    let (_, list) = app.get("/api/v1/command/incidents", Some(&op.token)).await;
    let order: Vec<_> = list.as_array().unwrap().iter().map(|i| (i["id"].clone(), i["risk"].clone())).collect();
    assert_eq!(
        order,
        vec![
            (red["id"].clone(), json!("red")),
            (wages["id"].clone(), json!("yellow")),
            (blue["id"].clone(), json!("blue"))
        ]
    );

    let id = blue["id"].as_str().unwrap();
    let (s, raised) =
        app.post(&format!("/api/v1/command/incidents/{id}/risk"), Some(&op.token), json!({ "risk": "red" })).await;
    assert_eq!((s, raised["risk"].clone()), (StatusCode::OK, json!("red")));
    live.wait_for("incident", |m| m["event"]["type"] == "alerted" && m["incident"]["id"] == id).await;
    assert!(events(&detail(&app, &op, id).await).ends_with(&["risk_changed".into(), "alerted".into()]));
}

async fn offers_widen_in_waves_and_lapse_unanswered(backend: Backend) {
    let app = spawn_app_on_clock(backend, |s| s.dispatch.offer_count = 1).await;
    let (wave_interval, offer_ttl) = (app.settings.dispatch.wave_interval, app.settings.dispatch.offer_ttl);
    let near = app.mediator("近", &[]).await;
    let far = app.mediator("远", &[]).await;
    app.on_duty_at(&near, LAT + 0.001, LNG).await; // ~110 m: wave 1
    app.on_duty_at(&far, LAT + 0.020, LNG).await; // ~2.2 km: beyond wave 1 (~1.2 km), within wave 2
    let mut near_ws = socket_ready(&app, &near).await;
    let mut far_ws = socket_ready(&app, &far).await;
    let created = report(&app, LAT, LNG, "噪音", "neighbor").await;
    let id = created["id"].as_str().unwrap();
    near_ws.wait_for("offer", |m| m["incident"]["id"] == id).await;
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&far.token)).await;
    assert_eq!(offers, json!([]), "the far mediator is not in the first wave");

    app.advance(wave_interval).await;
    let offer = far_ws.wait_for("offer", |m| m["incident"]["id"] == id).await;
    assert!(offer["incident"]["wave"].as_u64().unwrap() >= 2);
    let at = |k: &str| offer["incident"][k].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert!(at("offered_at") > at("created_at"), "a later wave says when it was offered: {offer}");
    // The next wave after the first offer's time is up lapses it.
    app.advance(offer_ttl).await;
    let lapsed = near_ws.wait_for("offer_closed", |m| m["incident_id"] == id).await;
    assert_eq!(lapsed["reason"], "expired");
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&near.token), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a lapsed offer cannot be accepted");
    let op = app.operator("看").await;
    let kinds = events(&detail(&app, &op, id).await);
    assert!(kinds.contains(&"offers_expired".to_owned()), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "offered").count(), 2, "{kinds:?}");
}

async fn a_decline_moves_on_to_the_next_mediator_at_once(backend: Backend) {
    // Waves are an hour apart: only the decline can bring the second mediator in.
    let app = spawn_app_with(backend, |s| {
        s.dispatch.offer_count = 1;
        s.dispatch.wave_interval = Duration::from_secs(3600);
        s.dispatch.offer_ttl = Duration::from_secs(3600);
    })
    .await;
    let first = app.mediator("甲", &[]).await;
    let second = app.mediator("乙", &[]).await;
    app.on_duty_at(&first, LAT + 0.001, LNG).await;
    app.on_duty_at(&second, LAT + 0.002, LNG).await;
    let mut second_ws = socket_ready(&app, &second).await;
    let created = report(&app, LAT, LNG, "噪音", "neighbor").await;
    let id = created["id"].as_str().unwrap();
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/decline"), Some(&first.token), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    second_ws.wait_for("offer", |m| m["incident"]["id"] == id).await;
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&first.token), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "declined is declined");
}

async fn deadlines_remind_then_mark_overdue_and_urge_the_command_center(backend: Backend) {
    let app = spawn_app_on_clock(backend, |_| {}).await;
    let (blue, remind_before) = (app.settings.lifecycle.blue, app.settings.lifecycle.remind_before);
    let m = app.mediator("守时", &[]).await;
    app.on_duty_at(&m, LAT + 0.001, LNG).await;
    let op = app.operator("督办员").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    let mut ws = socket_ready(&app, &m).await;
    let created = report(&app, LAT, LNG, "噪音", "neighbor").await;
    let id = created["id"].as_str().unwrap();
    let (s, claimed) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(claimed["arrive_by"].is_string() && claimed["resolve_by"].is_string());

    app.advance(blue.arrive_within - remind_before).await;
    let reminder = ws.wait_for("reminder", |r| r["incident_id"] == id && r["overdue"] == false).await;
    assert_eq!(reminder["deadline"], "arrive");
    app.advance(remind_before).await;
    let overdue = ws.wait_for("reminder", |r| r["incident_id"] == id && r["overdue"] == true).await;
    assert_eq!(overdue["deadline"], "arrive");
    let urged = live.wait_for("incident", |x| x["event"]["type"] == "overdue" && x["incident"]["id"] == id).await;
    assert_eq!(urged["incident"]["overdue"], true);
    // Arriving late still counts; the resolution deadline keeps running, then passes too.
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/arrive"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    app.advance(blue.resolve_within - blue.arrive_within).await;
    ws.wait_for("reminder", |r| r["incident_id"] == id && r["deadline"] == "resolve" && r["overdue"] == true).await;
    let (s, _) = app
        .post(&format!("/api/v1/mediator/incidents/{id}/resolve"), Some(&m.token), json!({ "outcome": "mediated" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let kinds = events(&detail(&app, &op, id).await);
    for (kind, times) in [("reminded", 2), ("overdue", 2)] {
        assert_eq!(kinds.iter().filter(|k| *k == kind).count(), times, "{kind}: {kinds:?}");
    }
}

async fn supervision_and_phone_reveals_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("被督办", &[]).await;
    app.on_duty_at(&m, LAT + 0.001, LNG).await;
    let op = app.operator("督办").await;
    let mut ws = socket_ready(&app, &m).await;
    let created = report(&app, LAT, LNG, "噪音", "neighbor").await;
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    let (s, sup) = app
        .post(&format!("/api/v1/command/incidents/{id}/supervise"), Some(&op.token), json!({ "note": "今天必须到场" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{sup}");
    assert_eq!(sup["supervision"]["note"], "今天必须到场");
    let told = ws.wait_for("supervised", |x| x["incident_id"] == id).await;
    assert_eq!(told["note"], "今天必须到场");
    let (s, _) =
        app.post(&format!("/api/v1/command/incidents/{id}/supervise"), Some(&op.token), json!({ "note": "  " })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let d = detail(&app, &op, id).await;
    assert_eq!(d["incident"]["resident_phone"], "138****5678");
    let (s, revealed) =
        app.post(&format!("/api/v1/command/incidents/{id}/reveal-phone"), Some(&op.token), json!({})).await;
    assert_eq!((s, revealed["phone"].clone()), (StatusCode::OK, json!("13812345678")));
    app.post(&format!("/api/v1/command/incidents/{id}/reveal-phone"), Some(&op.token), json!({})).await;
    let d = detail(&app, &op, id).await;
    let reveals: Vec<_> =
        d["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "phone_revealed").collect();
    assert_eq!(reveals.len(), 2, "every reveal is recorded");
    assert_eq!(reveals[0]["actor_id"], op.id.as_str());
    assert_eq!(reveals[0]["actor_role"], "operator");
    let supervised =
        d["timeline"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "supervised").unwrap().clone();
    assert_eq!(supervised["actor_id"], op.id.as_str());
    let (s, _) = app.post(&format!("/api/v1/command/incidents/{id}/reveal-phone"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn the_follow_up_visit_rates_or_reopens(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("回访", &[]).await;
    let other = app.mediator("接手", &[]).await;
    app.on_duty_at(&m, LAT + 0.001, LNG).await;
    let op = app.operator("回访员").await;
    let created = report(&app, LAT, LNG, "噪音", "neighbor").await;
    let (id, token) = (created["id"].as_str().unwrap(), created["tracking_token"].as_str().unwrap());
    let (s, _) = app.post(&format!("/api/v1/track/{token}/feedback"), None, json!({ "rating": 5 })).await;
    assert_eq!(s, StatusCode::CONFLICT, "not before it is resolved");
    app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    app.post(&format!("/api/v1/mediator/incidents/{id}/resolve"), Some(&m.token), json!({ "outcome": "mediated" }))
        .await;
    let (s, _) = app.post(&format!("/api/v1/track/{token}/feedback"), None, json!({ "rating": 9 })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, view) = app
        .post(
            &format!("/api/v1/track/{token}/feedback"),
            None,
            json!({ "rating": 2, "comment": "还是很吵", "resolved": false }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "escalated", "reopened to the command center");
    let (s, again) = app.post(&format!("/api/v1/track/{token}/feedback"), None, json!({ "rating": 5 })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    let d = detail(&app, &op, id).await;
    assert_eq!(d["incident"]["feedback"]["rating"], 2);
    assert!(d["incident"]["reopened_at"].is_string());
    assert!(events(&d).ends_with(&["feedback_given".into(), "reopened".into()]));
    let (s, _) = app
        .post(&format!("/api/v1/command/incidents/{id}/assign"), Some(&op.token), json!({ "mediator_id": other.id }))
        .await;
    assert_eq!(s, StatusCode::OK, "operators send someone anew");
    let (_, mine) = app.get("/api/v1/mediator/incidents", Some(&m.token)).await;
    assert_eq!(mine, json!([]), "the first mediator no longer holds it");
}

async fn statistics_match_the_history(backend: Backend) {
    // Time stands still: only the report with nobody near escalates (at once).
    let app = spawn_app_on_clock(backend, |_| {}).await;
    let a = app.mediator("甲", &[]).await;
    let b = app.mediator("乙", &[]).await;
    app.on_duty_at(&a, LAT + 0.001, LNG).await;
    app.on_duty_at(&b, LAT + 0.002, LNG).await;
    let op = app.operator("统计").await;
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    // Scripted history: 1 mediated + rated 4, 1 referred + rated 2, 1 escalated then assigned
    // and not mediated, 1 left open, 1 cancelled.
    let r1 = report(&app, LAT, LNG, "一", "neighbor").await;
    let r2 = report(&app, LAT, LNG, "二", "family").await;
    let r3 = report(&app, LAT, LNG + 0.2, "三", "wages").await; // nobody near: escalates at once
    let r4 = report(&app, LAT, LNG, "四", "neighbor").await;
    let r5 = report(&app, LAT, LNG, "五", "other").await;
    let ids: Vec<&str> = [&r1, &r2, &r3, &r4, &r5].iter().map(|r| r["id"].as_str().unwrap()).collect();
    let act = |who: &Staff, id: &str, what: &str, body: Value| {
        let (path, token, what) =
            (format!("/api/v1/mediator/incidents/{id}/{what}"), who.token.clone(), what.to_owned());
        let app = &app;
        async move {
            let (s, b) = app.post(&path, Some(&token), body).await;
            assert_eq!(s, StatusCode::OK, "{what}: {b}");
        }
    };
    act(&a, ids[0], "accept", json!({})).await;
    act(&a, ids[0], "arrive", json!({})).await;
    act(&a, ids[0], "resolve", json!({ "outcome": "mediated" })).await;
    act(&b, ids[1], "accept", json!({})).await;
    act(&b, ids[1], "resolve", json!({ "outcome": "referred" })).await;
    live.wait_for("incident", |x| x["event"]["type"] == "escalated" && x["incident"]["id"] == ids[2]).await;
    let (s, _) = app
        .post(&format!("/api/v1/command/incidents/{}/assign", ids[2]), Some(&op.token), json!({ "mediator_id": b.id }))
        .await;
    assert_eq!(s, StatusCode::OK);
    act(&b, ids[2], "resolve", json!({ "outcome": "not_mediated" })).await;
    let (s, _) =
        app.post(&format!("/api/v1/track/{}/cancel", r5["tracking_token"].as_str().unwrap()), None, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    for (r, rating) in [(&r1, 4), (&r2, 2)] {
        let (s, _) = app
            .post(
                &format!("/api/v1/track/{}/feedback", r["tracking_token"].as_str().unwrap()),
                None,
                json!({ "rating": rating }),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }

    // The expected figures, computed here from the incidents as the API shows them.
    let mut incidents = vec![];
    for id in &ids {
        incidents.push(detail(&app, &op, id).await["incident"].clone());
    }
    let secs = |i: &Value, field: &str| -> Option<i64> {
        let t = |f: &str| i[f].as_str().map(|s| s.parse::<jiff::Timestamp>().unwrap());
        Some(t(field)?.duration_since(t("created_at")?).as_secs())
    };
    let nearest_rank = |mut v: Vec<i64>, p: f64| -> Option<i64> {
        v.sort_unstable();
        (!v.is_empty()).then(|| v[((p * v.len() as f64).ceil() as usize).max(1) - 1])
    };
    let claims: Vec<i64> = incidents.iter().filter_map(|i| secs(i, "claimed_at")).collect();
    let resolves: Vec<i64> = incidents.iter().filter_map(|i| secs(i, "resolved_at")).collect();
    assert_eq!(claims.len(), 3);

    // Days in Asia/Shanghai; a window around today so a run across midnight still sees all.
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date();
    let (from, to) = (today.yesterday().unwrap(), today.tomorrow().unwrap());
    let (s, stats) = app.get(&format!("/api/v1/command/stats?from={from}&to={to}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    assert_eq!(stats["total"], 5);
    assert_eq!(stats["by_status"], json!({ "resolved": 3, "dispatching": 1, "cancelled": 1 }));
    assert_eq!(stats["by_category"], json!({ "neighbor": 2, "family": 1, "wages": 1, "other": 1 }));
    assert_eq!(stats["by_risk"], json!({ "blue": 4, "yellow": 1 }), "wages start yellow");
    assert_eq!(stats["time_to_claim"]["count"], 3);
    assert_eq!(stats["time_to_claim"]["median_s"].as_i64(), nearest_rank(claims.clone(), 0.5));
    assert_eq!(stats["time_to_claim"]["p90_s"].as_i64(), nearest_rank(claims, 0.9));
    assert_eq!(stats["time_to_resolve"]["median_s"].as_i64(), nearest_rank(resolves, 0.5));
    assert_eq!(stats["time_to_arrive"]["count"], 1);
    assert!((stats["escalation_rate"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    assert!((stats["mediation_success_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert!((stats["on_time_rate"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert!((stats["average_rating"].as_f64().unwrap() - 3.0).abs() < 1e-9);
    let loads: Vec<_> = stats["mediators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].clone(), m["claimed"].clone(), m["mediated"].clone()))
        .collect();
    assert_eq!(loads, vec![(json!("乙"), json!(2), json!(0)), (json!("甲"), json!(1), json!(1))]);

    let resp = app
        .http()
        .get(format!("{}/api/v1/command/stats.csv?from={from}&to={to}", app.base))
        .bearer_auth(&op.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("total,reports,5\r\n"));
    assert!(text.contains("rate,mediation_success,0.3333\r\n"));
    let (s, _) = app.get(&format!("/api/v1/command/stats?from={today}&to=2020-01-01"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn repeated_and_duplicate_reports_are_flagged(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("研判").await;
    // The centre of the resolution-8 cell around LAT/LNG: points within ~300 m stay inside it.
    let centre = h3o::LatLng::from(h3o::LatLng::new(LAT, LNG).unwrap().to_cell(h3o::Resolution::Eight));
    let (lat, lng) = (centre.lat(), centre.lng());
    let first = report(&app, lat, lng, "噪音", "neighbor").await;
    let far_enough = report(&app, lat + 0.0015, lng, "又是噪音", "neighbor").await; // ~170 m, same area
    let third = report(&app, lat + 0.0003, lng, "还是噪音", "neighbor").await; // ~33 m from the first
    let elsewhere = report(&app, lat + 0.3, lng, "别处", "neighbor").await;
    let get = |r: &Value| {
        let id = r["id"].as_str().unwrap().to_owned();
        let (app, op) = (&app, &op);
        async move { detail(app, op, &id).await["incident"].clone() }
    };
    assert_eq!(get(&first).await["recurring"], false);
    assert_eq!(get(&far_enough).await["recurring"], false, "one earlier report is not yet a pattern");
    assert_eq!(get(&far_enough).await["duplicate_of"], Value::Null, "170 m away is another place");
    let t = get(&third).await;
    assert_eq!(t["recurring"], true, "two earlier reports in the same area");
    assert_eq!(t["duplicate_of"], first["id"], "within 100 m and 30 minutes of an open one");
    assert_eq!(get(&elsewhere).await["recurring"], false);
    // Once the first is withdrawn, a report beside it is no longer its duplicate.
    let token = first["tracking_token"].as_str().unwrap();
    let (s, _) = app.post(&format!("/api/v1/track/{token}/cancel"), None, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let fourth = report(&app, lat - 0.0003, lng, "噪音又来了", "neighbor").await; // ~33 m from the first
    let f = get(&fourth).await;
    assert_eq!(f["duplicate_of"], third["id"], "the nearest open one");
    let (s, hot) = app.get("/api/v1/command/hotspots", Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK);
    let hot = hot.as_array().unwrap();
    assert_eq!(hot.len(), 1);
    assert_eq!(hot[0]["reports"], 4);
    assert_eq!(hot[0]["boundary"].as_array().unwrap().len(), 6);
}

async fn the_tracking_stream_pushes_each_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("直播", &[]).await;
    app.on_duty_at(&m, LAT + 0.009, LNG).await;
    let created = report(&app, LAT, LNG, "噪音", "neighbor").await;
    let (id, token) = (created["id"].as_str().unwrap(), created["tracking_token"].as_str().unwrap());
    let response = app.http().get(format!("{}/api/v1/track/{token}/events", app.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let mut events = Events::new(response);
    assert_eq!(events.next().await["status"], "dispatching");
    app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    let claimed = events.next().await;
    assert_eq!(claimed["status"], "claimed");
    assert_eq!(claimed["mediator"]["name"], "直播");
    app.move_to(&m, LAT + 0.001, LNG).await;
    let moved = loop {
        let e = events.next().await;
        if e["mediator"]["distance_m"].as_f64().is_some_and(|d| d < 150.0) {
            break e;
        }
    };
    assert_eq!(moved["status"], "claimed");
    let (s, _) = app.get("/api/v1/track/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/events", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
