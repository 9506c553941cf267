//! The departments' routing table kept by admins (issue #21, 派单目录): seeded from config,
//! replaced whole over the version read, checked (400 with a code, nothing saved), audited,
//! and suggested from at once by every instance.

use crate::departments::department;
use crate::helpers::{Backend, TestApp, settings_on, spawn_app, start};
use crate::on_both_stores;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_stores!(an_admin_adds_a_keyword_and_the_next_suggestion_follows_it, a_bad_or_stale_routing_table_saves_nothing);

async fn put(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, "/api/v1/admin/routing", Some(&app.admin_token()), Some(body)).await
}

async fn table(app: &TestApp) -> Value {
    let (s, t) = app.get("/api/v1/admin/routing", Some(&app.admin_token())).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

async fn report(app: &TestApp, description: &str) -> String {
    let body = json!({
        "location": { "lat": 36.62, "lng": 101.78, "coord": "wgs84" },
        "category": "neighbor", "description": description,
    });
    let (s, r) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

async fn suggested_kinds(app: &TestApp, id: &str) -> Vec<String> {
    let path = format!("/api/v1/command/incidents/{id}/department-suggestions");
    let (s, list) = app.get(&path, Some(&app.admin_token())).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap().to_owned()).collect()
}

fn with_rule(t: &Value, rule: Value) -> Value {
    let mut rules = t["rules"].as_array().unwrap().clone();
    rules.push(rule);
    json!({ "version": t["version"], "rules": rules })
}

async fn an_admin_adds_a_keyword_and_the_next_suggestion_follows_it(backend: Backend) {
    let (settings, redis) = settings_on(backend, |s| s.report_limits.per_ip = 0);
    let app = start(settings.clone(), redis).await;
    // A second instance on the same store (memory stores are one per instance).
    let other = if backend == Backend::Redis { Some(start(settings.clone(), None).await) } else { None };
    department(&app, "城中区住建局", "housing").await;
    let seeded = table(&app).await;
    assert_eq!(seeded["version"], 1, "seeded from config on first start: {seeded}");
    assert_eq!(seeded["saved_by"], "config");
    assert_eq!(seeded["rules"].as_array().unwrap().len(), settings.departments.routing.len(), "{seeded}");
    assert_eq!(seeded["rules"][0]["categories"], json!(["wages"]), "{seeded}");

    let id = report(&app, "楼上装修噪音扰民，天天到半夜").await;
    assert!(suggested_kinds(&app, &id).await.is_empty(), "nothing matches before the rule");
    let rule = json!({ "keywords": [" 噪音扰民 "], "kinds": ["housing"] });
    let (s, saved) = put(&app, with_rule(&seeded, rule)).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["rules"].as_array().unwrap().last().unwrap()["keywords"], json!(["噪音扰民"]), "trimmed");
    assert_eq!(suggested_kinds(&app, &id).await, vec!["housing"]);
    if let Some(other) = &other {
        assert_eq!(suggested_kinds(other, &id).await, vec!["housing"], "the other instance suggests from it at once");
        assert_eq!(table(other).await["version"], 2);
    }

    let (_, audit) = app.get("/api/v1/admin/audit?limit=5", Some(&app.admin_token())).await;
    let entry = &audit["items"][0];
    assert_eq!((entry["action"].as_str(), entry["target_id"].as_str()), (Some("routing_saved"), Some("2")), "{audit}");
}

async fn a_bad_or_stale_routing_table_saves_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = table(&app).await;
    let long = "很".repeat(21);
    let many: Vec<String> = (0..31).map(|i| format!("词{i}")).collect();
    let rule = json!({ "keywords": ["欠薪"], "kinds": ["labour_inspection"] });
    for (bad, code) in [
        (json!({ "categories": ["lottery"], "kinds": ["court"] }), "unknown_category"),
        (json!({ "keywords": ["欠薪"], "kinds": ["fire_brigade"] }), "unknown_department_kind"),
        (json!({ "kinds": ["court"] }), "rule_matches_nothing"),
        (json!({ "keywords": ["欠薪"], "kinds": [] }), "rule_kind_count"),
        (json!({ "keywords": [long], "kinds": ["court"] }), "bad_keyword"),
        (json!({ "keywords": ["  "], "kinds": ["court"] }), "bad_keyword"),
        (json!({ "keywords": many, "kinds": ["court"] }), "too_many_keywords"),
    ] {
        let (s, e) = put(&app, with_rule(&before, bad.clone())).await;
        assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{bad}: {e}");
    }
    let (s, e) = put(&app, json!({ "version": before["version"], "rules": vec![rule.clone(); 101] })).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("too_many_rules")), "{e}");
    assert_eq!(table(&app).await, before, "nothing refused was saved");

    let (s, first) = put(&app, json!({ "version": before["version"], "rules": [rule.clone()] })).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let (s, e) = put(&app, json!({ "version": before["version"], "rules": [] })).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("stale_version")), "{e}");
    assert_eq!(table(&app).await, first, "the stale save changed nothing");
    let (s, e) = app
        .call(Method::PUT, "/api/v1/admin/routing", Some(&app.operator("值班员").await.token), Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
}
