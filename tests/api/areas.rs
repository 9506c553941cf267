//! Jurisdictions: a synthetic district (two streets, four communities, twelve grids) made here,
//! reports placed in it, and operators who see only their own area and below.

use crate::helpers::{Backend, Staff, TestApp, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    reports_are_placed_in_the_hierarchy_and_boundaries_go_one_way,
    operators_see_only_their_area_and_below,
    area_uploads_are_validated,
    the_ladder_climbs_hands_over_and_transfers,
    the_first_wave_prefers_mediators_of_the_reports_own_grid,
);

/// The district spans lng 101.70–101.78, lat 36.60–36.64.
const WEST: f64 = 101.70;
const SOUTH: f64 = 36.60;

pub(crate) fn rect(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

pub(crate) async fn upload(app: &TestApp, code: &str, level: &str, parent: Option<&str>, geometry: Value) {
    let body =
        json!({ "code": code, "name": format!("区域{code}"), "level": level, "parent": parent, "geometry": geometry });
    let (s, b) = app.post("/api/v1/admin/areas", Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{code}: {b}");
}

/// D → S1 (west), S2 (east) → each split north/south into communities → each into 3 grids.
async fn synthetic_district(app: &TestApp) {
    upload(app, "D", "district", None, rect(WEST, SOUTH, WEST + 0.08, SOUTH + 0.04)).await;
    for (s, w) in [("S1", WEST), ("S2", WEST + 0.04)] {
        upload(app, s, "street", Some("D"), rect(w, SOUTH, w + 0.04, SOUTH + 0.04)).await;
        for (c, south) in [(format!("{s}-C1"), SOUTH), (format!("{s}-C2"), SOUTH + 0.02)] {
            upload(app, &c, "community", Some(s), rect(w, south, w + 0.04, south + 0.02)).await;
            for g in 0..3 {
                let gw = w + 0.04 / 3.0 * f64::from(g);
                upload(app, &format!("{c}-G{g}"), "grid", Some(&c), rect(gw, south, gw + 0.04 / 3.0, south + 0.02))
                    .await;
            }
        }
    }
}

async fn report(app: &TestApp, lat: f64, lng: f64) -> Value {
    let body = json!({ "location": { "lat": lat, "lng": lng, "coord": "wgs84" }, "category": "neighbor", "description": "区域测试" });
    let (s, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created
}

async fn area_of(app: &TestApp, id: &str) -> Value {
    let (_, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&app.admin_token())).await;
    d["incident"]["area"].clone()
}

pub(crate) async fn operator_in(app: &TestApp, name: &str, area: &str) -> Staff {
    let phone = crate::helpers::phone();
    let body = json!({ "name": name, "phone": phone, "password": "s3cret-pass", "area": area });
    let (s, created) = app.post("/api/v1/admin/operators", Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (_, login) = app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": "s3cret-pass" })).await;
    Staff { id: created["id"].as_str().unwrap().into(), token: login["access_token"].as_str().unwrap().into(), phone }
}

fn no_limits(s: &mut grid_dispatch::config::Settings) {
    s.report_limits.per_ip = 0;
}

async fn reports_are_placed_in_the_hierarchy_and_boundaries_go_one_way(backend: Backend) {
    let app = spawn_app_with(backend, no_limits).await;
    synthetic_district(&app).await;
    let (_, list) = app.get("/api/v1/admin/areas", Some(&app.admin_token())).await;
    assert_eq!(list.as_array().unwrap().len(), 19);

    // Well inside S1's northern community, its middle grid.
    let inside = report(&app, SOUTH + 0.03, WEST + 0.02).await;
    assert_eq!(
        area_of(&app, inside["id"].as_str().unwrap()).await,
        json!({ "district": "D", "street": "S1", "community": "S1-C2", "grid": "S1-C2-G1" })
    );
    // On the street boundary (lng 101.74): each point in exactly one street, the same each time.
    for i in 1..6 {
        let lat = SOUTH + 0.006 * f64::from(i);
        let a = area_of(&app, report(&app, lat, WEST + 0.04).await["id"].as_str().unwrap()).await;
        let b = area_of(&app, report(&app, lat, WEST + 0.04).await["id"].as_str().unwrap()).await;
        assert_eq!(a, b, "deterministic");
        assert!(matches!(a["street"].as_str(), Some("S1" | "S2")), "{a}");
        assert_eq!(a["district"], "D");
    }
    // Outside the district: placed nowhere, still dispatched.
    let outside = report(&app, SOUTH - 0.1, WEST).await;
    assert_eq!(area_of(&app, outside["id"].as_str().unwrap()).await, json!({}));
}

async fn operators_see_only_their_area_and_below(backend: Backend) {
    let app = spawn_app_with(backend, no_limits).await;
    synthetic_district(&app).await;
    let district = operator_in(&app, "区指挥", "D").await;
    let street1 = operator_in(&app, "一街道", "S1").await;
    let community = operator_in(&app, "一社区", "S1-C1").await;
    let mut live1 = app.socket("/api/v1/command/live", &street1.token).await;
    live1.wait_for("snapshot", |_| true).await;

    let in_s2 = report(&app, SOUTH + 0.01, WEST + 0.06).await;
    let in_s1_c2 = report(&app, SOUTH + 0.03, WEST + 0.02).await;
    let in_s1_c1 = report(&app, SOUTH + 0.01, WEST + 0.02).await;
    let (s2, s1c2, s1c1) =
        (in_s2["id"].as_str().unwrap(), in_s1_c2["id"].as_str().unwrap(), in_s1_c1["id"].as_str().unwrap());

    // The street's live feed: its own incidents only (the S2 one, filed first, never arrives).
    let first = live1.wait_for("incident", |m| m["event"]["type"] == "reported").await;
    assert_eq!(first["incident"]["id"], s1c2);

    let ids = |list: Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    let (_, all) = app.get("/api/v1/command/incidents", Some(&district.token)).await;
    assert_eq!(ids(all).len(), 3, "the district sees everything");
    let (_, mine) = app.get("/api/v1/command/incidents", Some(&street1.token)).await;
    let mut mine = ids(mine);
    mine.sort();
    let mut want = vec![s1c2.to_owned(), s1c1.to_owned()];
    want.sort();
    assert_eq!(mine, want);
    let (_, tiny) = app.get("/api/v1/command/incidents", Some(&community.token)).await;
    assert_eq!(ids(tiny), vec![s1c1.to_owned()]);

    for (who, token, id, want) in [
        ("street 1 reading street 2", &street1.token, s2, StatusCode::NOT_FOUND),
        ("community reading its sibling", &community.token, s1c2, StatusCode::NOT_FOUND),
        ("street 1 reading its own", &street1.token, s1c2, StatusCode::OK),
        ("district reading street 2", &district.token, s2, StatusCode::OK),
    ] {
        let (s, _) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(token)).await;
        assert_eq!(s, want, "{who}");
    }
    let (s, _) = app
        .post(&format!("/api/v1/command/incidents/{s2}/supervise"), Some(&street1.token), json!({ "note": "越权" }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no acting on another street's incident");
    let (s, _) =
        app.post(&format!("/api/v1/command/incidents/{s2}/reveal-phone"), Some(&street1.token), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, stats) = app.get("/api/v1/command/stats", Some(&street1.token)).await;
    assert_eq!(stats["total"], 2, "statistics cover the street only");
    let (_, stats) = app.get("/api/v1/command/stats", Some(&district.token)).await;
    assert_eq!(stats["total"], 3);
    let per_area: std::collections::BTreeMap<String, u64> = stats["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["code"].as_str().unwrap().to_owned(), a["reports"].as_u64().unwrap()))
        .collect();
    let expected = [
        ("D", 3),
        ("S1", 2),
        ("S2", 1),
        ("S1-C1", 1),
        ("S1-C2", 1),
        ("S2-C1", 1),
        ("S1-C1-G1", 1),
        ("S1-C2-G1", 1),
        ("S2-C1-G1", 1),
    ];
    assert_eq!(
        per_area,
        expected.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        "reports per area at every level"
    );

    // Hot spots (3+ reports in an area in 30 days): each operator counts their own area's.
    for _ in 0..3 {
        report(&app, SOUTH + 0.01, WEST + 0.06).await;
    }
    for _ in 0..2 {
        report(&app, SOUTH + 0.01, WEST + 0.02).await;
    }
    let spots =
        |list: Value| -> Vec<u64> { list.as_array().unwrap().iter().map(|h| h["reports"].as_u64().unwrap()).collect() };
    let (_, hot) = app.get("/api/v1/command/hotspots", Some(&district.token)).await;
    assert_eq!(spots(hot), vec![4, 3], "the S2 spot, then the S1-C1 spot; one report is no spot");
    let (_, hot) = app.get("/api/v1/command/hotspots", Some(&street1.token)).await;
    assert_eq!(spots(hot), vec![3], "street 1 sees only its own spot");
    let (_, hot) = app.get("/api/v1/command/hotspots", Some(&community.token)).await;
    assert_eq!(spots(hot), vec![3]);

    // Mediators on the map: a street operator sees those inside the street.
    let (m1, m2) = (app.mediator("一街道调解员", &[]).await, app.mediator("二街道调解员", &[]).await);
    app.on_duty_at(&m2, SOUTH + 0.01, WEST + 0.06).await;
    app.on_duty_at(&m1, SOUTH + 0.01, WEST + 0.01).await;
    let on_map = |list: Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    let (_, seen) = app.get("/api/v1/command/mediators", Some(&street1.token)).await;
    assert_eq!(on_map(seen), vec![m1.id.clone()]);
    let (_, seen) = app.get("/api/v1/command/mediators", Some(&district.token)).await;
    assert_eq!(on_map(seen).len(), 2);
    let moved = live1
        .wait_for("positions", |m| m["updates"].as_array().unwrap().iter().any(|u| u["id"] == m1.id.as_str()))
        .await;
    assert!(
        moved["updates"].as_array().unwrap().iter().all(|u| u["id"] != m2.id.as_str()),
        "no positions from another street"
    );
    let mut fresh = app.socket("/api/v1/command/live", &street1.token).await;
    let snapshot = fresh.wait_for("snapshot", |_| true).await;
    assert_eq!(on_map(snapshot["mediators"].clone()), vec![m1.id.clone()]);

    let features = |v: Value| v["features"].as_array().unwrap().len();
    let (_, outlines) = app.get("/api/v1/command/areas", Some(&street1.token)).await;
    assert_eq!(features(outlines), 9, "S1, its 2 communities and 6 grids");
    let (_, outlines) = app.get("/api/v1/command/areas", Some(&district.token)).await;
    assert_eq!(features(outlines), 19);
}

async fn area_uploads_are_validated(backend: Backend) {
    let app = spawn_app_with(backend, no_limits).await;
    let admin = app.admin_token();
    let post = |body: Value| app.post("/api/v1/admin/areas", Some(&admin), body);
    let square = rect(WEST, SOUTH, WEST + 0.04, SOUTH + 0.04);
    for (body, why) in [
        (
            json!({ "code": "S1", "name": "街道", "level": "street", "parent": "D", "geometry": square }),
            "unknown parent",
        ),
        (
            json!({ "code": "D", "name": "区", "level": "district", "parent": "X", "geometry": square }),
            "a district has no parent",
        ),
        (json!({ "code": "{gd}", "name": "区", "level": "district", "geometry": square }), "bad code"),
        (
            json!({ "code": "D", "name": "区", "level": "district", "geometry": { "type": "Point", "coordinates": [1, 2] } }),
            "not a polygon",
        ),
        (
            json!({ "code": "D", "name": "区", "level": "district", "geometry": rect(WEST, SOUTH, WEST + 0.00001, SOUTH + 0.00001) }),
            "too small",
        ),
        (json!({ "code": "D", "name": "区", "level": "country", "geometry": square }), "unknown level"),
    ] {
        let (s, b) = post(body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {b}");
    }
    let (s, _) =
        post(json!({ "code": "D", "name": "区", "level": "district", "coord": "gcj02", "geometry": square })).await;
    assert_eq!(s, StatusCode::CREATED, "GCJ-02 outlines are accepted and converted");
    let (s, _) =
        post(json!({ "code": "C", "name": "社区", "level": "community", "parent": "D", "geometry": square })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a community's parent must be a street");
    let phone = crate::helpers::phone();
    let body = json!({ "name": "无区", "phone": phone, "password": "s3cret-pass", "area": "NOPE" });
    let (s, _) = app.post("/api/v1/admin/operators", Some(&admin), body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an operator's area must exist");
    let (s, _) = app.post("/api/v1/admin/areas", Some(&app.mediator("越权", &[]).await.token), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

fn ladder_moves(detail: &Value) -> Vec<(Value, Value)> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "ladder_moved")
        .map(|e| (e["event"]["from"].clone(), e["event"]["to"].clone()))
        .collect()
}

async fn the_ladder_climbs_hands_over_and_transfers(backend: Backend) {
    let app = crate::helpers::spawn_app_on_clock(backend, no_limits).await;
    synthetic_district(&app).await;
    let district = operator_in(&app, "区指挥", "D").await;
    let street1 = operator_in(&app, "一街道", "S1").await;
    let street2 = operator_in(&app, "二街道", "S2").await;
    let mut district_live = app.socket("/api/v1/command/live", &district.token).await;
    let mut street_live = app.socket("/api/v1/command/live", &street1.token).await;
    street_live.wait_for("snapshot", |_| true).await;
    // A second instance on the same Redis polls the same timers: the climb still happens once.
    let second = match backend {
        Backend::Redis => Some(crate::helpers::start_on_clock(app.settings.clone(), None, app.clock().clone()).await),
        Backend::Memory => None,
    };

    // Nobody near: it escalates at once, to the street's command center first.
    let id = report(&app, SOUTH + 0.01, WEST + 0.02).await["id"].as_str().unwrap().to_owned();
    let escalated = street_live
        .wait_for("incident", |m| m["event"]["type"] == "escalated" && m["incident"]["id"] == id.as_str())
        .await;
    assert_eq!(escalated["incident"]["ladder"], "street");
    app.advance(app.settings.ladder.climb_after).await;
    let climbed = district_live
        .wait_for("incident", |m| {
            m["event"]["type"] == "ladder_moved" && m["event"]["to"] == "district" && m["incident"]["id"] == id.as_str()
        })
        .await;
    assert_eq!(climbed["incident"]["ladder"], "district");
    let (_, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&district.token)).await;
    assert_eq!(
        ladder_moves(&d),
        vec![(Value::Null, json!("street")), (json!("street"), json!("district"))],
        "climbed exactly once"
    );

    // The district hands it back down with a note, then up again.
    let (s, down) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/handover"),
            Some(&district.token),
            json!({ "direction": "down", "note": "请街道先处理" }),
        )
        .await;
    assert_eq!((s, down["ladder"].clone()), (StatusCode::OK, json!("street")), "{down}");
    let (s, up) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/handover"),
            Some(&street1.token),
            json!({ "direction": "up", "note": "街道处理不了" }),
        )
        .await;
    assert_eq!((s, up["ladder"].clone()), (StatusCode::OK, json!("district")));
    let (s, err) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/handover"),
            Some(&district.token),
            json!({ "direction": "up", "note": "再往上" }),
        )
        .await;
    assert_eq!((s, err["error"]["code"].clone()), (StatusCode::CONFLICT, json!("no_such_level")));

    // Placed wrongly: transferred to a grid of the other street, it leaves street 1's view.
    let (s, moved) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/transfer"),
            Some(&street1.token),
            json!({ "area": "S2-C1-G0", "note": "实际在二街道" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["area"], json!({ "district": "D", "street": "S2", "community": "S2-C1", "grid": "S2-C1-G0" }));
    let (s, _) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&street1.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The screen of the street it left hears about it, so it can drop it.
    street_live
        .wait_for("incident", |m| m["event"]["type"] == "transferred" && m["incident"]["id"] == id.as_str())
        .await;
    let (s, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&street2.token)).await;
    assert_eq!(s, StatusCode::OK);
    let transferred =
        d["timeline"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "transferred").unwrap().clone();
    assert_eq!(transferred["event"]["to"], "S2-C1-G0");
    assert_eq!(transferred["actor_id"], street1.id.as_str());
    let (s, _) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/transfer"),
            Some(&street2.token),
            json!({ "area": "NOPE", "note": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A WeChat text's guessed category is corrected by an operator, and audited.
    let body = json!({ "category": "family" });
    let (s, fixed) = app.post(&format!("/api/v1/command/incidents/{id}/category"), Some(&street2.token), body).await;
    assert_eq!((s, fixed["category"].clone()), (StatusCode::OK, json!("family")));
    let (_, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&street2.token)).await;
    let timeline = d["timeline"].as_array().unwrap();
    assert!(timeline.iter().any(|e| e["event"]["type"] == "category_changed" && e["event"]["to"] == "family"));

    // Red goes to the district at once, while its street still sees it.
    let red = app
        .post("/api/v1/reports", None, json!({ "location": { "lat": SOUTH + 0.03, "lng": WEST + 0.06, "coord": "wgs84" }, "category": "family", "description": "有人拿刀" }))
        .await
        .1;
    let (_, d) =
        app.get(&format!("/api/v1/command/incidents/{}", red["id"].as_str().unwrap()), Some(&street2.token)).await;
    assert_eq!(d["incident"]["ladder"], "district");
    assert_eq!(d["incident"]["risk"], "red");
    drop(second);
}

async fn the_first_wave_prefers_mediators_of_the_reports_own_grid(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        no_limits(s);
        s.dispatch.offer_count = 1;
    })
    .await;
    synthetic_district(&app).await;
    let admin = app.admin_token();
    let stranger = app.mediator("外来", &[]).await;
    let local = app.mediator("本网格", &[]).await;
    let path = format!("/api/v1/admin/mediators/{}", local.id);
    for (area, want) in [
        ("S1", StatusCode::UNPROCESSABLE_ENTITY),
        ("NOPE", StatusCode::UNPROCESSABLE_ENTITY),
        ("S1-C1-G1", StatusCode::OK),
    ] {
        let (s, b) = app.call(reqwest::Method::PATCH, &path, Some(&admin), Some(json!({ "area": area }))).await;
        assert_eq!(s, want, "home area {area}: {b}");
    }
    let (lat, lng) = (SOUTH + 0.01, WEST + 0.02); // in S1-C1-G1
    app.on_duty_at(&stranger, lat + 0.003, lng).await; // ~330 m
    app.on_duty_at(&local, lat - 0.008, lng).await; // ~890 m
    let created = report(&app, lat, lng).await;
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&local.token)).await;
    assert_eq!(offers[0]["id"], created["id"], "the grid's own mediator is asked first");
    let (_, offers) = app.get("/api/v1/mediator/offers", Some(&stranger.token)).await;
    assert_eq!(offers, json!([]));
    // A scene without a grid is located in the hierarchy.
    let body = json!({ "name": "网格内二维码", "location": { "lat": lat, "lng": lng } });
    let (_, scene) = app.post("/api/v1/admin/scenes", Some(&admin), body).await;
    assert_eq!(scene["grid"], "S1-C1-G1");
}
