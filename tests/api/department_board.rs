//! The big screen's department board (issue #21): every open call-in on the incidents an
//! operator sees, its state as the department answers, gone once answered.

use crate::areas::{operator_in, rect, upload};
use crate::departments::{call_in, department, department_account};
use crate::helpers::{Backend, Staff, TestApp, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(the_board_shows_open_call_ins_to_the_operators_who_see_their_incident_until_answered);

const LAT: f64 = 36.62;

async fn report(app: &TestApp, lng: f64) -> String {
    let body = json!({ "location": { "lat": LAT, "lng": lng, "coord": "wgs84" }, "category": "neighbor", "description": "楼道堆物" });
    let (s, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// The board as `op` sees it: (incident id, department id, state) per line, oldest first.
async fn board(app: &TestApp, op: &Staff) -> Vec<(String, String, String)> {
    let (s, lines) = app.get("/api/v1/command/call-ins", Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{lines}");
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(l["incident"]["id"], l["call_in"]["incident_id"], "each line carries its incident");
            (text(&l["incident"]["id"]), text(&l["call_in"]["department_id"]), text(&l["call_in"]["state"]))
        })
        .collect()
}

async fn the_board_shows_open_call_ins_to_the_operators_who_see_their_incident_until_answered(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.report_limits.per_ip = 0).await;
    upload(&app, "w", "district", None, rect(101.60, 36.60, 101.68, 36.64)).await;
    upload(&app, "e", "district", None, rect(101.68, 36.60, 101.76, 36.64)).await;
    let west = operator_in(&app, "西区指挥", "w").await;
    let east = operator_in(&app, "东区指挥", "e").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    let labour = department(&app, "劳动监察大队", "labour_inspection").await;
    let officer = department_account(&app, &police, "值班民警").await;
    let inspector = department_account(&app, &labour, "监察员").await;
    let w = report(&app, 101.64).await;
    let e = report(&app, 101.72).await;
    assert_eq!(board(&app, &west).await, vec![], "nothing called in yet");

    let made = call_in(&app, &west, &w, &[&police, &labour], "assist").await;
    call_in(&app, &east, &e, &[&police], "assist").await;

    let called = |dept: &str| (w.clone(), dept.to_owned(), "called".to_owned());
    assert_eq!(board(&app, &west).await, vec![called(&police), called(&labour)]);
    assert_eq!(
        board(&app, &east).await,
        vec![(e.clone(), police.clone(), "called".to_owned())],
        "its own district's only"
    );
    let (_, everything) = app.get("/api/v1/command/call-ins", Some(&app.admin_token())).await;
    assert_eq!(everything.as_array().unwrap().len(), 3, "the operations token sees every district");

    let id = |k: usize| made[k]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/department/call-ins/{}/acknowledge", id(0));
    let (s, b) = app.post(&path, Some(&officer.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let path = format!("/api/v1/department/call-ins/{}/respond", id(1));
    let (s, b) = app.post(&path, Some(&inspector.token), json!({ "response": "arrived" })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        board(&app, &west).await,
        vec![(w.clone(), police.clone(), "acknowledged".to_owned())],
        "acknowledged stays on the board, answered leaves it"
    );
}
