//! Phones in the field (issue #18): a dead link is noticed, places have names, a resident can
//! always say where and is never left without a way back (the center's phone, the tracking
//! link by text).

use crate::helpers::{Backend, Socket, TestApp, eventually, spawn_app_with};
use crate::on_both_stores;
use axum::Json;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

on_both_stores!(
    a_phone_that_stops_answering_pings_is_closed_and_leaves_the_live_map_while_duty_stays,
    places_have_names_on_offers_jobs_tracking_and_the_command_center,
    a_place_typed_in_words_alone_goes_straight_to_the_command_center_whose_phone_the_resident_sees,
    a_report_without_any_place_or_with_an_unknown_scene_is_refused_and_stores_nothing,
    the_tracking_link_is_texted_through_the_configured_gateway_and_limited_per_report,
    nothing_is_texted_when_no_gateway_is_configured,
    the_residents_timeline_names_each_mediator_also_after_a_reopen,
    a_risk_change_restarts_the_holders_deadlines_on_the_new_colours_clock_and_tells_their_phone,
);

async fn on_map(app: &TestApp, operator: &str) -> Vec<String> {
    let (status, list) = app.get("/api/v1/command/mediators", Some(operator)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("a list").iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect()
}

async fn on_duty_by_socket(app: &TestApp, token: &str) -> Socket {
    let mut socket = app.socket("/api/v1/mediator/ws", token).await;
    socket.send_json(&json!({ "type": "duty", "on": true })).await;
    socket.wait_for("duty", |m| m["on"] == true).await;
    socket
}

/// Read (and so answer pings on) `socket` until `stop` fires; then hand it back unread.
fn keep_reading(mut socket: Socket) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Socket>) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => return socket,
                _ = socket.next_json_within(Duration::from_millis(100)) => {}
            }
        }
    });
    (stop, reader)
}

async fn a_phone_that_stops_answering_pings_is_closed_and_leaves_the_live_map_while_duty_stays(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.push.ping_interval = Duration::from_millis(200)).await;
    let operator = app.operator("值班员").await;
    let (silent, lively) = (app.mediator("断网的", &[]).await, app.mediator("在线的", &[]).await);
    let (stop_silent, silent_reader) = keep_reading(on_duty_by_socket(&app, &silent.token).await);
    let mut lively_socket = on_duty_by_socket(&app, &lively.token).await;
    // The page's own heartbeat is answered.
    lively_socket.send_json(&json!({ "type": "ping" })).await;
    lively_socket.wait_for("pong", |_| true).await;
    let (stop_lively, lively_reader) = keep_reading(lively_socket);
    app.move_to(&silent, LAT, LNG).await;
    app.move_to(&lively, LAT + 0.001, LNG).await;
    eventually("both on the live map", || async {
        let ids = on_map(&app, &operator.token).await;
        (ids.contains(&silent.id) && ids.contains(&lively.id)).then_some(())
    })
    .await;

    // A command-center screen watches (and answers its own pings by reading).
    let mut screen = app.socket("/api/v1/command/live", &operator.token).await;
    let gone = silent.id.clone();
    let screen_told = tokio::spawn(async move {
        let until = tokio::time::Instant::now() + crate::helpers::PROMPTLY;
        while tokio::time::Instant::now() < until {
            if let Some(m) = screen.next_json_within(Duration::from_millis(100)).await
                && m["type"] == "positions"
                && m["off_duty"].as_array().is_some_and(|ids| ids.iter().any(|id| id == gone.as_str()))
            {
                return true;
            }
        }
        false
    });

    // One phone's link dies: it reads nothing any more, so it answers no ping.
    let _ = stop_silent.send(());
    let mut silent_socket = silent_reader.await.expect("reader");
    eventually("the silent phone off the live map", || async {
        let ids = on_map(&app, &operator.token).await;
        (!ids.contains(&silent.id)).then_some(())
    })
    .await;
    assert!(on_map(&app, &operator.token).await.contains(&lively.id), "a phone that answers stays");
    let mut closed = false;
    for _ in 0..20 {
        if silent_socket.next_json_within(Duration::from_millis(500)).await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed, "the silent socket was closed by the server");
    assert!(screen_told.await.expect("screen"), "the screen took the silent phone off its map");
    let _ = stop_lively.send(());
    let mut lively_socket = lively_reader.await.expect("reader");
    lively_socket.send_json(&json!({ "type": "ping" })).await;
    lively_socket.wait_for("pong", |_| true).await;

    // Duty stays: the phone reconnects on duty, and its next position puts it back.
    let mut back = app.socket("/api/v1/mediator/ws", &silent.token).await;
    back.wait_for("duty", |m| m["on"] == true).await;
    app.move_to(&silent, LAT, LNG).await;
    eventually("back on the live map", || async {
        on_map(&app, &operator.token).await.contains(&silent.id).then_some(())
    })
    .await;
}

fn rect(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

async fn upload_areas(app: &TestApp) {
    let (w, s) = (LNG - 0.02, LAT - 0.02);
    for (code, name, level, parent) in [
        ("D", "城中区", "district", None),
        ("S1", "南关街道", "street", Some("D")),
        ("C1", "南滩社区", "community", Some("S1")),
        ("G1", "南滩第一网格", "grid", Some("C1")),
    ] {
        let body = json!({ "code": code, "name": name, "level": level, "parent": parent,
            "geometry": rect(w, s, w + 0.04, s + 0.04) });
        let (status, created) = app.post("/api/v1/admin/areas", Some(&app.admin_token()), body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
}

async fn create_scene(app: &TestApp, name: &str) -> String {
    let body = json!({ "name": name, "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" } });
    let (status, scene) = app.post("/api/v1/admin/scenes", Some(&app.admin_token()), body).await;
    assert_eq!(status, StatusCode::CREATED, "{scene}");
    scene["id"].as_str().expect("scene id").to_owned()
}

async fn file(app: &TestApp, body: Value) -> Value {
    let (status, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// A filed report as the command center sees it.
async fn command_view(app: &TestApp, filed: &Value) -> Value {
    let id = filed["id"].as_str().expect("id");
    let (status, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&app.admin_token())).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail["incident"].clone()
}

async fn places_have_names_on_offers_jobs_tracking_and_the_command_center(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.report_limits.per_ip = 0).await;
    upload_areas(&app).await;
    let scene = create_scene(&app, "幸福小区3号楼").await;
    let mediator = app.mediator("王调解", &[]).await;
    app.on_duty_at(&mediator, LAT + 0.002, LNG).await;

    // From a QR scene: the scene's name, with what the resident typed.
    let by_scene = file(
        &app,
        json!({ "scene": scene, "category": "neighbor", "description": "楼上漏水", "address": "2单元501门口" }),
    )
    .await;
    let id = by_scene["id"].as_str().expect("id");
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&mediator.token)).await;
    assert_eq!(offers[0]["place_name"], "幸福小区3号楼", "{offers}");
    assert_eq!(offers[0]["address"], "2单元501门口", "{offers}");
    let (status, job) =
        app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&mediator.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["place_name"], "幸福小区3号楼");
    let (_, jobs) = app.get("/api/v1/mediator/incidents", Some(&mediator.token)).await;
    assert_eq!(jobs[0]["place_name"], "幸福小区3号楼", "{jobs}");
    let token = by_scene["tracking_token"].as_str().expect("token");
    let (_, tracking) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(tracking["place_name"], "幸福小区3号楼", "{tracking}");
    assert_eq!(tracking["address"], "2单元501门口", "{tracking}");
    assert_eq!(command_view(&app, &by_scene).await["place_name"], "幸福小区3号楼");

    // From a pin: the community and grid it lies in.
    let by_pin = file(
        &app,
        json!({ "location": { "lat": LAT + 0.01, "lng": LNG, "coord": "wgs84" }, "category": "family", "description": "夫妻吵架" }),
    )
    .await;
    let seen = command_view(&app, &by_pin).await;
    assert_eq!(seen["place_name"], "南滩社区 · 南滩第一网格", "{seen}");
    assert_eq!(seen["approximate"], false);

    // Outside every area and without a scene: no name (pages show the coordinates).
    let nowhere = file(
        &app,
        json!({ "location": { "lat": LAT + 0.5, "lng": LNG, "coord": "wgs84" }, "category": "other", "description": "路上争执" }),
    )
    .await;
    let seen = command_view(&app, &nowhere).await;
    assert!(seen["place_name"].is_null(), "{seen}");
}

async fn a_place_typed_in_words_alone_goes_straight_to_the_command_center_whose_phone_the_resident_sees(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| {
        s.resident.center_phone = "0971-8123456".into();
        s.report_limits.per_ip = 0;
    })
    .await;
    // A mediator right at the district's centre: offering by distance would pick them.
    let mediator = app.mediator("王调解", &[]).await;
    let home = (app.settings.resident.home_lat, app.settings.resident.home_lng);
    app.on_duty_at(&mediator, home.0, home.1).await;

    let filed = file(
        &app,
        json!({ "category": "neighbor", "description": "小区门口有人吵架", "address": "  人民街12号小卖部门口 " }),
    )
    .await;
    let token = filed["tracking_token"].as_str().expect("token");
    let view = eventually("the report with the command center", || async {
        let (_, v) = app.get(&format!("/api/v1/track/{token}"), None).await;
        (v["status"] == "escalated").then_some(v)
    })
    .await;
    assert_eq!(view["address"], "人民街12号小卖部门口", "{view}");
    assert_eq!(view["center_phone"], "0971-8123456", "{view}");
    assert!(view["escalated_at"].is_string(), "{view}");
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&mediator.token)).await;
    assert_eq!(offers, json!([]), "nobody is offered a place known only in words");
    let seen = command_view(&app, &filed).await;
    assert_eq!(seen["approximate"], true, "{seen}");
    assert_eq!(seen["address"], "人民街12号小卖部门口");

    // While a mediator is coming, the center's number is not shown.
    let id = filed["id"].as_str().expect("id");
    let (status, _) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/assign"),
            Some(&app.admin_token()),
            json!({ "mediator_id": mediator.id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert!(view["center_phone"].is_null(), "{view}");
}

async fn a_report_without_any_place_or_with_an_unknown_scene_is_refused_and_stores_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.report_limits.per_ip = 0).await;
    let refused = |body: Value, field: &'static str| {
        let app = &app;
        async move {
            let (status, error) = app.post("/api/v1/reports", None, body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
            assert_eq!(error["error"]["code"], "invalid_field", "{error}");
            assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains(field)), "{error}");
        }
    };
    let base = json!({ "category": "neighbor", "description": "吵架" });
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        b
    };
    refused(base.clone(), "location").await;
    refused(with(json!({ "address": "   " })), "location").await;
    refused(with(json!({ "address": "门".repeat(201) })), "address").await;
    let unknown = "0193a7c2-5d1e-7a00-8000-000000000000";
    refused(with(json!({ "scene": unknown })), "scene").await;
    refused(with(json!({ "scene": unknown, "address": "人民街12号" })), "scene").await;
    let (_, list) = app.get("/api/v1/command/incidents", Some(&app.admin_token())).await;
    assert_eq!(list, json!([]), "nothing was filed");
    // 200 characters is the limit, not less.
    file(&app, with(json!({ "address": "门".repeat(200) }))).await;
}

/// A local SMS gateway: records what it is asked to send; refuses one number (HTTP 500).
#[derive(Clone, Default)]
pub(crate) struct Gateway {
    sent: Arc<Mutex<Vec<Texted>>>,
}

/// One text the gateway took: its Authorization header and body.
pub(crate) type Texted = (Option<String>, Value);

const REFUSED_PHONE: &str = "13900000000";

impl Gateway {
    pub(crate) async fn start(&self) -> String {
        async fn accept(
            axum::extract::State(g): axum::extract::State<Gateway>,
            headers: HeaderMap,
            Json(body): Json<Value>,
        ) -> AxumStatus {
            if body["phone"] == REFUSED_PHONE {
                return AxumStatus::INTERNAL_SERVER_ERROR;
            }
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            g.sent.lock().expect("lock").push((auth, body));
            AxumStatus::OK
        }
        let router = axum::Router::new().route("/send", axum::routing::post(accept)).with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}/send")
    }

    pub(crate) fn sent(&self) -> Vec<Texted> {
        self.sent.lock().expect("lock").clone()
    }
}

async fn the_tracking_link_is_texted_through_the_configured_gateway_and_limited_per_report(backend: Backend) {
    let gateway = Gateway::default();
    let url = gateway.start().await;
    let app = spawn_app_with(backend, |s| {
        s.sms.url = url;
        s.sms.sign = "城中区矛调中心".into();
        s.sms.per_report = 2;
        s.sms.api_key = Some(secrecy::SecretString::from("gateway-key"));
    })
    .await;
    let filed = app.report_at(LAT, LNG).await;
    let token = filed["tracking_token"].as_str().expect("token");
    let (_, view) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(view["sms_available"], true, "{view}");
    let texts = format!("/api/v1/track/{token}/sms");

    let (status, body) = app.post(&texts, None, json!({ "phone": "12345" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.post(&texts, None, json!({ "phone": REFUSED_PHONE })).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "sms_failed");
    assert!(gateway.sent().is_empty());

    let (status, body) = app.post(&texts, None, json!({ "phone": "13812345678" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let sent = gateway.sent();
    assert_eq!(sent.len(), 1);
    let (auth, text) = &sent[0];
    assert_eq!(auth.as_deref(), Some("Bearer gateway-key"));
    assert_eq!(text["phone"], "13812345678");
    assert_eq!(text["sign"], "城中区矛调中心");
    assert!(text["text"].as_str().is_some_and(|t| t.contains(&format!("/t/{token}"))), "{text}");

    // The refused attempt counted too: two a day per report.
    let (status, body) = app.post(&texts, None, json!({ "phone": "13812345678" })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(gateway.sent().len(), 1, "nothing more sent");
    let (status, _) = app
        .post("/api/v1/track/not-a-token-not-a-token-not-a-token-x/sms", None, json!({ "phone": "13812345678" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn nothing_is_texted_when_no_gateway_is_configured(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let filed = app.report_at(LAT, LNG).await;
    let token = filed["tracking_token"].as_str().expect("token");
    let (_, view) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(view["sms_available"], false, "{view}");
    let (status, body) = app.post(&format!("/api/v1/track/{token}/sms"), None, json!({ "phone": "13812345678" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "sms_unavailable");
}

async fn the_residents_timeline_names_each_mediator_also_after_a_reopen(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let (first, second) = (app.mediator("王调解", &[]).await, app.mediator("李调解", &[]).await);
    app.on_duty_at(&first, LAT + 0.001, LNG).await;
    let filed = app.report_at(LAT, LNG).await;
    let (id, token) = (filed["id"].as_str().expect("id"), filed["tracking_token"].as_str().expect("token"));
    let act = |who: &str, what: &'static str, body: Value| {
        let (path, token) = (format!("/api/v1/mediator/incidents/{id}/{what}"), who.to_owned());
        let app = &app;
        async move {
            let (status, b) = app.post(&path, Some(&token), body).await;
            assert_eq!(status, StatusCode::OK, "{what}: {b}");
        }
    };
    act(&first.token, "accept", json!({})).await;
    act(&first.token, "arrive", json!({})).await;
    act(&first.token, "resolve", json!({ "outcome": "not_mediated" })).await;
    let (status, b) =
        app.post(&format!("/api/v1/track/{token}/feedback"), None, json!({ "rating": 2, "resolved": false })).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let (status, b) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/assign"),
            Some(&app.admin_token()),
            json!({ "mediator_id": second.id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");

    let (_, view) = app.get(&format!("/api/v1/track/{token}"), None).await;
    let who = |kind: &str| -> Vec<Value> {
        view["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|e| e["event"]["type"] == kind)
            .map(|e| e["who"].clone())
            .collect()
    };
    assert_eq!(who("claimed"), vec![json!("王调解")], "{view}");
    assert_eq!(who("assigned"), vec![json!("李调解")], "{view}");
    let text = view.to_string();
    assert!(!text.contains(&first.id) && !text.contains(&second.id), "no staff ids: {text}");
}

async fn a_risk_change_restarts_the_holders_deadlines_on_the_new_colours_clock_and_tells_their_phone(backend: Backend) {
    use grid_dispatch::domain::ids::IncidentId;
    use grid_dispatch::store::{TimerKey, TimerKind};
    let app = spawn_app_with(backend, |s| {
        // Red is urgent here: arrive within 2 s, reminded 1 s before.
        s.lifecycle.red.arrive_within = Duration::from_secs(2);
        s.lifecycle.red.resolve_within = Duration::from_secs(3600);
        s.lifecycle.remind_before = Duration::from_secs(1);
    })
    .await;
    let mediator = app.mediator("王调解", &[]).await;
    let mut phone = on_duty_by_socket(&app, &mediator.token).await;
    app.move_to(&mediator, LAT + 0.001, LNG).await;
    let filed = app.report_at(LAT, LNG).await;
    let id = filed["id"].as_str().expect("id").to_owned();
    let (status, held) =
        app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&mediator.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(held["risk"], "blue", "{held}");
    let blue_arrive: jiff::Timestamp = held["arrive_by"].as_str().expect("arrive_by").parse().expect("time");

    let before = jiff::Timestamp::now();
    let (status, raised) = app
        .post(&format!("/api/v1/command/incidents/{id}/risk"), Some(&app.admin_token()), json!({ "risk": "red" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    let after = jiff::Timestamp::now();
    let arrive_by: jiff::Timestamp = raised["arrive_by"].as_str().expect("arrive_by").parse().expect("time");
    let resolve_by: jiff::Timestamp = raised["resolve_by"].as_str().expect("resolve_by").parse().expect("time");
    // From the change, on red's clock (documented: not from the claim).
    let two = jiff::SignedDuration::from_secs(2);
    assert!(arrive_by >= before.checked_add(two).unwrap() && arrive_by <= after.checked_add(two).unwrap(), "{raised}");
    assert!(arrive_by < blue_arrive);
    let hour = jiff::SignedDuration::from_secs(3600);
    assert!(resolve_by >= before.checked_add(hour).unwrap() && resolve_by <= after.checked_add(hour).unwrap());

    // The holder's phone hears it, with the new deadline.
    let told = phone.wait_for("risk_changed", |m| m["incident"]["id"] == id.as_str()).await;
    assert_eq!(told["incident"]["risk"], "red");
    assert_eq!(told["incident"]["arrive_by"], raised["arrive_by"]);
    assert_eq!(told["incident"]["resident_phone"], "13812345678", "the holder's view");

    // The reminders and checks moved with it.
    let store = app.app().ports().incidents.clone();
    let incident_id = IncidentId::parse(&id).expect("id");
    let due = |kind| {
        let (store, key) = (store.clone(), TimerKey::new(kind, incident_id.clone()));
        // Timers are kept to the millisecond.
        async move { store.timer_due(&key).await.expect("store").map(|t| t.as_millisecond()) }
    };
    let ms = |t: jiff::Timestamp| Some(t.as_millisecond());
    let second = jiff::SignedDuration::from_secs(1);
    // (A timer may already have fired and been removed: 2 s is short.)
    if let Some(at) = due(TimerKind::RemindArrive).await {
        assert_eq!(Some(at), ms(arrive_by.checked_sub(second).unwrap()));
    }
    assert_eq!(due(TimerKind::RemindResolve).await, ms(resolve_by.checked_sub(second).unwrap()));
    assert_eq!(due(TimerKind::ResolveDue).await, ms(resolve_by));
    // …and fire on the new clock: reminded, then overdue, within seconds (blue's were an hour away).
    phone.wait_for("reminder", |m| m["incident_id"] == id.as_str() && m["overdue"] == false).await;
    phone.wait_for("reminder", |m| m["incident_id"] == id.as_str() && m["overdue"] == true).await;

    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&app.admin_token())).await;
    let changed = detail["timeline"].as_array().expect("timeline").iter().any(|e| e["event"]["type"] == "risk_changed");
    assert!(changed, "{detail}");
}
