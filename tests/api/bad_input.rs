//! Bad input gets a clear error body and loses nothing already accepted.

use crate::helpers::{Backend, spawn_app};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    each_class_of_bad_report_gets_its_error,
    an_idempotency_key_never_files_twice,
    reports_from_a_scene_use_its_place,
);

fn report(overrides: Value) -> Value {
    let mut base = json!({
        "location": { "lat": 36.6, "lng": 101.7, "coord": "wgs84" },
        "category": "family",
        "description": "家庭矛盾",
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

async fn each_class_of_bad_report_gets_its_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.report_at(36.6, 101.7).await;
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (report(json!({ "category": "alien_abduction" })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (
            report(json!({ "location": { "lat": 91.0, "lng": 101.7 } })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            report(json!({ "location": { "lat": 36.6, "lng": -181.0 } })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            report(json!({ "location": { "lat": "north", "lng": 1.0 } })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (report(json!({ "location": null })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (report(json!({ "description": "" })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (report(json!({ "description": "长".repeat(2001) })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (report(json!({ "phone": "12345" })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (report(json!({ "scene": "no-such-scene" })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (report(json!({ "extra": 1 })), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    ];
    for (body, status, code) in cases {
        let (s, err) = app.post("/api/v1/reports", None, body.clone()).await;
        assert_eq!((s, err["error"]["code"].as_str()), (status, Some(code)), "{body} → {err}");
    }
    let url = format!("{}/api/v1/reports", app.base);
    let raw =
        |body: Vec<u8>, ct: &'static str| app.http().post(url.clone()).header("content-type", ct).body(body).send();
    let resp = raw(b"{\"category\": ".to_vec(), "application/json").await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "malformed_json");
    let resp = raw(b"\xff\xfe{}".to_vec(), "application/json").await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = raw(vec![b' '; 70_000], "application/json").await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "body_too_large");
    let deep = format!("{{\"category\":\"other\",\"description\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    let resp = raw(deep.into_bytes(), "application/json").await.unwrap();
    assert!(
        matches!(resp.status(), StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY),
        "deep nesting is refused, not a crash: {}",
        resp.status()
    );
    let resp = raw(b"category=x".to_vec(), "application/x-www-form-urlencoded").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (s, _) = app.get("/api/v1/no/such/route", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let op = app.operator("核对").await;
    let (s, err) = app.get("/api/v1/command/incidents/0190e0c0-0000-7000-8000-000000000000", Some(&op.token)).await;
    assert_eq!((s, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (s, _) = app.get("/api/v1/command/incidents/{gd}:inc", Some(&op.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get("/api/v1/command/mediators?bbox=1,2,3", Some(&op.token)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.get("/api/v1/command/incidents?status=lost", Some(&op.token)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Nothing above was stored, and what was accepted before is intact.
    let (_, all) = app.get("/api/v1/command/incidents", Some(&op.token)).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["id"], first["id"]);
}

async fn an_idempotency_key_never_files_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let send = |body: Value| {
        app.http().post(format!("{}/api/v1/reports", app.base)).header("idempotency-key", "k-123").json(&body).send()
    };
    let first = send(report(json!({}))).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(report(json!({}))).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (&again["id"], &again["tracking_token"], &again["tracking_url"]),
        (&first["id"], &first["tracking_token"], &first["tracking_url"]),
        "the same report and tracking token"
    );
    let misuse = send(report(json!({ "description": "另一件事" }))).await.unwrap();
    assert_eq!(misuse.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let op = app.operator("核对").await;
    let (_, all) = app.get("/api/v1/command/incidents", Some(&op.token)).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
}

async fn reports_from_a_scene_use_its_place(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token();
    let body = json!({ "name": "幸福小区3号楼", "location": { "lat": 36.62, "lng": 101.78 }, "grid": "G-07" });
    let (s, scene) = app.post("/api/v1/admin/scenes", Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{scene}");
    assert!(scene["report_url"].as_str().unwrap().ends_with(&format!("/r/{}", scene["id"].as_str().unwrap())));
    let (s, fetched) = app.get(&format!("/api/v1/admin/scenes/{}", scene["id"].as_str().unwrap()), Some(&admin)).await;
    assert_eq!((s, fetched["name"].clone()), (StatusCode::OK, json!("幸福小区3号楼")));
    let (s, created) =
        app.post("/api/v1/reports", None, report(json!({ "location": null, "scene": scene["id"] }))).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let op = app.operator("核对").await;
    let (_, detail) =
        app.get(&format!("/api/v1/command/incidents/{}", created["id"].as_str().unwrap()), Some(&op.token)).await;
    assert_eq!(detail["incident"]["location"], json!({ "lat": 36.62, "lng": 101.78 }));
    assert_eq!(detail["incident"]["scene_id"], scene["id"]);
    let (_, stats) = app.get("/api/v1/command/stats", Some(&op.token)).await;
    assert_eq!(stats["by_grid"], json!({ "G-07": 1 }), "counted by the scene's grid");
    assert_eq!(stats["by_scene"][scene["id"].as_str().unwrap()], 1);
    let (s, _) =
        app.post("/api/v1/admin/scenes", Some(&admin), json!({ "name": "", "location": { "lat": 1, "lng": 2 } })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
