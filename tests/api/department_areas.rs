//! Departments serve an area (issue #21): routing suggests only departments whose area covers
//! the incident's place (a district's department covers its streets), and operators see and
//! call in only the departments serving some place in their scope; elsewhere the answers are
//! 404 (the incident), 422 (the department, as if unknown) or empty (lists).

use crate::areas::{operator_in, rect, upload};
use crate::departments::department_in;
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    routing_suggests_only_departments_serving_the_incidents_place,
    operators_see_and_call_in_only_the_departments_of_their_scope,
    a_mediator_is_offered_only_the_departments_serving_the_incident_or_their_area,
);

const LAT: f64 = 36.62;
/// In the west district's first street, its second street, the east district, and in no area.
const W1: f64 = 101.62;
const W2: f64 = 101.66;
const E1: f64 = 101.70;
const NOWHERE: f64 = 101.90;

/// w → w-s1, w-s2 and e → e-s1, side by side over the same latitudes.
async fn two_districts(app: &TestApp) {
    let strip = |w: f64, e: f64| rect(w, 36.60, e, 36.64);
    upload(app, "w", "district", None, strip(101.60, 101.68)).await;
    upload(app, "w-s1", "street", Some("w"), strip(101.60, 101.64)).await;
    upload(app, "w-s2", "street", Some("w"), strip(101.64, 101.68)).await;
    upload(app, "e", "district", None, strip(101.68, 101.76)).await;
    upload(app, "e-s1", "street", Some("e"), strip(101.68, 101.76)).await;
}

/// A red report naming a knife (the police station is suggested at once) at (LAT, `lng`).
async fn violent_report(app: &TestApp, lng: f64) -> String {
    let body = json!({
        "location": { "lat": LAT, "lng": lng, "coord": "wgs84" },
        "category": "family", "description": "丈夫拿着刀，家暴",
    });
    let (s, r) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["id"].as_str().unwrap().to_owned()
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap_or(&vec![]).iter().map(|v| v[key].as_str().unwrap_or_default().to_owned()).collect()
}

async fn suggested(app: &TestApp, token: &str, id: &str) -> (StatusCode, Vec<String>) {
    let (s, list) = app.get(&format!("/api/v1/command/incidents/{id}/department-suggestions"), Some(token)).await;
    (s, ids(&list, "department_id"))
}

fn no_limits(s: &mut grid_dispatch::config::Settings) {
    s.report_limits.per_ip = 0;
}

async fn routing_suggests_only_departments_serving_the_incidents_place(backend: Backend) {
    let app = spawn_app_with(backend, no_limits).await;
    two_districts(&app).await;
    // Oldest first among those serving the place: the east's and the second street's come
    // first, and must still not be suggested in the west's first street.
    let east = department_in(&app, "东区派出所", "police_station", Some("e")).await;
    let second_street = department_in(&app, "二街派出所", "police_station", Some("w-s2")).await;
    let west = department_in(&app, "西区派出所", "police_station", Some("w")).await;
    let admin = app.admin_token();

    let (s, in_first_street) = suggested(&app, &admin, &violent_report(&app, W1).await).await;
    assert_eq!((s, in_first_street), (StatusCode::OK, vec![west.clone()]), "the district's covers its streets");
    let (_, in_second_street) = suggested(&app, &admin, &violent_report(&app, W2).await).await;
    assert_eq!(in_second_street, vec![second_street], "the street's own, the oldest serving it");
    let (_, in_the_east) = suggested(&app, &admin, &violent_report(&app, E1).await).await;
    assert_eq!(in_the_east, vec![east]);
    let (s, nowhere) = suggested(&app, &admin, &violent_report(&app, NOWHERE).await).await;
    assert_eq!((s, nowhere), (StatusCode::OK, vec![]), "no department serves a place outside every area");
    let everywhere = department_in(&app, "市公安局巡警", "police_station", None).await;
    let (_, nowhere) = suggested(&app, &admin, &violent_report(&app, NOWHERE).await).await;
    assert_eq!(nowhere, vec![everywhere], "one without an area serves everywhere");
}

async fn operators_see_and_call_in_only_the_departments_of_their_scope(backend: Backend) {
    let app = spawn_app_with(backend, no_limits).await;
    two_districts(&app).await;
    let west = department_in(&app, "西区派出所", "police_station", Some("w")).await;
    let second_street = department_in(&app, "二街司法所", "justice_office", Some("w-s2")).await;
    let east = department_in(&app, "东区派出所", "police_station", Some("e")).await;
    let court = department_in(&app, "中级法院", "court", None).await;
    let (district_op, street_op, east_op) = (
        operator_in(&app, "西区指挥", "w").await,
        operator_in(&app, "一街指挥", "w-s1").await,
        operator_in(&app, "东区指挥", "e").await,
    );

    // Who sees which: a district's operator its own and its streets'; a street's operator its
    // district's (which covers it) but not a neighbouring street's; district-wide ones all.
    for (token, want) in [
        (district_op.token.clone(), vec![&west, &second_street, &court]),
        (street_op.token.clone(), vec![&west, &court]),
        (east_op.token.clone(), vec![&east, &court]),
        (app.admin_token(), vec![&west, &second_street, &east, &court]),
    ] {
        let (s, list) = app.get("/api/v1/command/departments", Some(&token)).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(ids(&list, "id"), want.into_iter().cloned().collect::<Vec<_>>(), "{list}");
    }

    let id = violent_report(&app, W1).await;
    let path = format!("/api/v1/command/incidents/{id}/call-ins");
    let call = |token: String, department: &String| {
        let (app, path, body) = (&app, path.clone(), json!({ "departments": [department], "note": "请到场" }));
        async move { app.post(&path, Some(&token), body).await }
    };
    // Another district's department: as unknown as one that does not exist.
    let (s, e) = call(district_op.token.clone(), &east).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().starts_with("departments: unknown department"), "{e}");
    // In scope, but not serving the incident's street.
    let (s, e) = call(district_op.token.clone(), &second_street).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("does not serve"), "{e}");
    // Another district's operator does not see the incident at all.
    let (s, _) = call(east_op.token.clone(), &court).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = suggested(&app, &east_op.token, &id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&format!("/api/v1/command/incidents/{id}/call-ins"), Some(&east_op.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing refused was kept; the street's operator calls in the district's police.
    let (s, made) = call(street_op.token.clone(), &west).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let (s, made) = call(district_op.token.clone(), &court).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let (_, listed) = app.get(&format!("/api/v1/command/incidents/{id}/call-ins"), Some(&district_op.token)).await;
    let called: Vec<String> = listed["call_ins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["department_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(called, vec![west, court], "{listed}");
}

async fn a_mediator_is_offered_only_the_departments_serving_the_incident_or_their_area(backend: Backend) {
    let app = spawn_app_with(backend, no_limits).await;
    two_districts(&app).await;
    // A mediator's home is a community: one filling each of two streets.
    upload(&app, "w-s1-c", "community", Some("w-s1"), rect(101.60, 36.60, 101.64, 36.64)).await;
    upload(&app, "e-s1-c", "community", Some("e-s1"), rect(101.68, 36.60, 101.76, 36.64)).await;
    let west = department_in(&app, "西区派出所", "police_station", Some("w")).await;
    let second_street = department_in(&app, "二街司法所", "justice_office", Some("w-s2")).await;
    let east = department_in(&app, "东区派出所", "police_station", Some("e")).await;
    let court = department_in(&app, "中级法院", "court", None).await;
    let holder = app.mediator("一街调解员", &[]).await;
    let other = app.mediator("东区调解员", &[]).await;
    for (m, area) in [(&holder, "w-s1-c"), (&other, "e-s1-c")] {
        let path = format!("/api/v1/admin/mediators/{}", m.id);
        let (s, b) =
            app.call(reqwest::Method::PATCH, &path, Some(&app.admin_token()), Some(json!({ "area": area }))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    app.on_duty_at(&holder, LAT + 0.001, W1).await;
    let id = violent_report(&app, W1).await;
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&holder.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let listed = |token: String, query: String| {
        let app = &app;
        async move {
            let (s, list) = app.get(&format!("/api/v1/mediator/departments{query}"), Some(&token)).await;
            (s, ids(&list, "id"))
        }
    };
    // For the incident in the first street: its district's and the district-wide ones, what a
    // call-in there accepts (not the second street's, nor the east's).
    let (s, for_incident) = listed(holder.token.clone(), format!("?incident_id={id}")).await;
    assert!(!for_incident.contains(&second_street), "{for_incident:?}");
    assert_eq!((s, for_incident), (StatusCode::OK, vec![west.clone(), court.clone()]));
    // Without an incident: those serving some place in the mediator's own area.
    assert_eq!(listed(holder.token.clone(), String::new()).await.1, vec![west, court.clone()]);
    assert_eq!(listed(other.token.clone(), String::new()).await.1, vec![east, court]);
    // Not the holder's incident, or none: 404, as for calling in.
    assert_eq!(listed(other.token.clone(), format!("?incident_id={id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(listed(holder.token.clone(), "?incident_id=nope".into()).await.0, StatusCode::NOT_FOUND);
}
