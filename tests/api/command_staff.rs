//! The command center's people: the signed-in operator and their area (an unknown area is
//! said, not shown as an empty screen), the roster of mediators (free, busy, off duty, told
//! apart by phone tail and home area), and calling a mediator through an audited reveal.

use crate::helpers::{Backend, Staff, TestApp, spawn_app};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    an_operator_is_told_whether_their_area_exists,
    the_roster_tells_free_busy_and_off_duty_mediators_apart_without_their_numbers,
    calling_a_mediator_reveals_the_number_only_once_recorded_on_the_incident,
);

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

fn square(lat: f64, lng: f64, d: f64) -> Value {
    let (w, s, e, n) = (lng - d, lat - d, lng + d, lat + d);
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

async fn upload(app: &TestApp, code: &str, name: &str, level: &str, parent: Option<&str>, geometry: Value) {
    let body = json!({ "code": code, "name": name, "level": level, "parent": parent, "geometry": geometry });
    let (s, b) = app.post("/api/v1/admin/areas", Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{code}: {b}");
}

/// An operator account naming `area` as it is stored (written before areas were checked, or by
/// another tool), logged in.
async fn operator_of(app: &TestApp, name: &str, area: Option<&str>) -> Staff {
    use grid_dispatch::domain::ids::AccountId;
    let staff = app.operator(name).await;
    let store = app.app().ports().directory.clone();
    let id = AccountId::parse(&staff.id).unwrap();
    let mut account = store.get_account(&id).await.unwrap().unwrap();
    let version = account.version;
    account.area = area.map(Into::into);
    account.version += 1;
    assert!(store.update_account(&account, version).await.unwrap());
    app.app().dispatcher().account_changed(&account).await;
    staff
}

async fn an_operator_is_told_whether_their_area_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    upload(&app, "630103000000", "城中区", "district", None, square(LAT, LNG, 0.05)).await;
    upload(&app, "630103001000", "人民街街道", "street", Some("630103000000"), square(LAT, LNG, 0.02)).await;
    let street = operator_of(&app, "街道值班员", Some("630103001000")).await;
    let lost = operator_of(&app, "旧账号值班员", Some("城中区")).await;
    let nowhere = operator_of(&app, "区值班员", None).await;

    let (s, me) = app.get("/api/v1/command/me", Some(&street.token)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["id"], street.id.as_str());
    assert_eq!(me["name"], "街道值班员");
    assert_eq!(me["area_status"], "known");
    assert_eq!((me["area_name"].as_str(), me["area_level"].as_str()), (Some("人民街街道"), Some("street")));
    assert_eq!(me["sees_all"], false);

    // The case that showed an empty screen with a green status dot: it is said.
    let (_, me) = app.get("/api/v1/command/me", Some(&lost.token)).await;
    assert_eq!((me["area"].as_str(), me["area_status"].as_str()), (Some("城中区"), Some("unknown")), "{me}");
    assert!(me["area_name"].is_null() && me["sees_all"] == false, "{me}");

    let (_, me) = app.get("/api/v1/command/me", Some(&nowhere.token)).await;
    assert_eq!((me["area_status"].as_str(), me["sees_all"].as_bool()), (Some("none"), Some(true)), "{me}");

    let (s, _) = app.get("/api/v1/command/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let mediator = app.mediator("王调解", &[]).await;
    let (s, _) = app.get("/api/v1/command/me", Some(&mediator.token)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn the_roster_tells_free_busy_and_off_duty_mediators_apart_without_their_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let operator = app.operator("值班员").await;
    let free = app.mediator("王调解", &[]).await;
    let busy = app.mediator("李调解", &[]).await;
    let off = app.mediator("张调解", &[]).await;
    app.on_duty_at(&free, LAT + 0.01, LNG).await;
    app.on_duty_at(&busy, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&busy.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let (s, roster) = app.get("/api/v1/command/roster", Some(&operator.token)).await;
    assert_eq!(s, StatusCode::OK, "{roster}");
    let row = |m: &Staff| roster.as_array().unwrap().iter().find(|r| r["id"] == m.id.as_str()).cloned().unwrap();
    let (f, b, o) = (row(&free), row(&busy), row(&off));
    assert_eq!(
        (f["state"].as_str(), b["state"].as_str(), o["state"].as_str()),
        (Some("free"), Some("busy"), Some("off_duty"))
    );
    assert_eq!((b["holds"].as_u64(), b["capacity"].as_u64()), (Some(1), Some(3)), "{b}");
    assert_eq!(f["phone_tail"], &free.phone[7..], "{f}");
    assert_eq!(f["name"], "王调解");
    assert!((f["position"]["lat"].as_f64().unwrap() - (LAT + 0.01)).abs() < 1e-9, "{f}");
    assert!(o["position"].is_null(), "no position shown off duty: {o}");
    let text = roster.to_string();
    for m in [&free, &busy, &off] {
        assert!(!text.contains(&m.phone), "a full number in the roster: {text}");
    }
    let (s, _) = app.get("/api/v1/command/roster", Some(&free.token)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "mediators do not read the roster");
}

async fn calling_a_mediator_reveals_the_number_only_once_recorded_on_the_incident(backend: Backend) {
    let app = spawn_app(backend).await;
    let operator = app.operator("值班员").await;
    let holder = app.mediator("李调解", &[]).await;
    app.on_duty_at(&holder, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&holder.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let call = |who: &str, incident: &str, token: &str| {
        let (path, body, token) = (
            format!("/api/v1/command/mediators/{who}/reveal-phone"),
            json!({ "incident_id": incident }),
            token.to_owned(),
        );
        let app = &app;
        async move { app.post(&path, Some(&token), body).await }
    };
    let (s, phone) = call(&holder.id, id, &operator.token).await;
    assert_eq!(s, StatusCode::OK, "{phone}");
    assert_eq!(phone["phone"], holder.phone.as_str());

    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&operator.token)).await;
    let reveals: Vec<&Value> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "mediator_phone_revealed")
        .collect();
    assert_eq!(reveals.len(), 1, "{detail}");
    assert_eq!(reveals[0]["event"]["mediator_id"], holder.id.as_str());
    assert_eq!(reveals[0]["actor_id"], operator.id.as_str());
    assert_eq!(reveals[0]["actor_role"], "operator");

    // Nothing revealed, nothing recorded, for an unknown incident, a non-mediator, a mediator.
    let (s, _) = call(&holder.id, "0190f1b2-0000-7000-8000-000000000000", &operator.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&operator.id, id, &operator.token).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an operator's number is not revealed as a mediator's");
    let (s, _) = call(&holder.id, id, &holder.token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&format!("/api/v1/command/mediators/{}/reveal-phone", holder.id), Some(&operator.token), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the incident is required");
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&operator.token)).await;
    let count = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "mediator_phone_revealed")
        .count();
    assert_eq!(count, 1, "{detail}");
}
