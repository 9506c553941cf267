//! The console's and the command center's side of joint handling (issue 21): departments made
//! in the console, called in from the incident panel, and the department board kept live. Part
//! of `tests/browser.rs` (`mod departments`).

use super::helpers::{self, Backend, TestApp, spawn_app_with};
use super::{LAT, LNG, run_scenario};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// How long a department has to report in on an urgent call-in here: time for the scenario to
/// have one of the two report in, short enough to watch the other go overdue.
const ACK_WITHIN: Duration = Duration::from_secs(10);

async fn department(app: &TestApp, name: &str, kind: &str) -> String {
    let body = json!({ "name": name, "kind": kind, "duty_phone": "0971-8123456" });
    let (s, d) = app.post("/api/v1/admin/departments", Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    d["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_made_department_is_suggested_and_called_in_and_the_board_shows_one_report_in_and_one_go_overdue_live()
 {
    let app = spawn_app_with(Backend::Memory, |s| s.departments.urgent.ack_within = ACK_WITHIN).await;
    let operator = app.operator("值班员").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    department(&app, "城中区人民法院", "court").await;
    let description = "老板三个月没发工资，二十多名工人聚集讨薪";
    let body = json!({
        "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" },
        "category": "wages", "description": description, "phone": "13812345678",
    });
    let (s, report) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    let incident = report["id"].as_str().expect("id").to_owned();
    let note = "请派员到场核实欠薪情况，稳控现场";
    let typed = json!([
        note,
        "已派两名监察员前往",
        "城中区劳动监察大队",
        description,
        "南滩派出所",
        "城中区人民法院",
        "监察员",
        "值班员",
        "调解协议申请司法确认"
    ]);
    let phone = helpers::phone();

    let out = run_scenario(
        "command_departments.mjs",
        &[&app.base, &app.admin_token(), &operator.token, &incident, &police, &phone, &typed.to_string()],
    )
    .await;

    for step in [
        "the console created a department and its account, changed it and reset the password",
        "the routing table's suggestion is ticked",
        "two departments called in from the panel",
        "the board shows both waiting",
        "the report-in shows live",
        "the overdue call-in turned red live and is counted",
        "a line opens its incident with the call-ins and their deadlines",
        "the lead handed over to a department from the panel",
        "English on the board and in the panel",
        "1366×768 in both languages",
    ] {
        assert!(out.contains(&format!("ok: {step}")), "{step}: {out}");
    }
    let (_, listed) = app.get(&format!("/api/v1/command/incidents/{incident}/call-ins"), Some(&operator.token)).await;
    let of = |d: &str| listed["call_ins"].as_array().expect("list").iter().find(|c| c["department_id"] == d).cloned();
    let (_, all) = app.get("/api/v1/admin/departments", Some(&app.admin_token())).await;
    let labour =
        all.as_array().expect("list").iter().find(|d| d["kind"] == "labour_inspection").expect("made in the console");
    let labour = labour["id"].as_str().expect("id");
    let (reported, late) = (of(labour).expect("labour"), of(police.as_str()).expect("police"));
    assert_eq!((reported["state"].as_str(), reported["ack_overdue"].as_bool()), (Some("acknowledged"), Some(false)));
    assert_eq!((late["state"].as_str(), late["ack_overdue"].as_bool()), (Some("called"), Some(true)), "{late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_routing_rule_in_the_console_and_the_operator_sees_its_department_pre_ticked() {
    let app = spawn_app_with(Backend::Memory, |_| {}).await;
    let operator = app.operator("值班员").await;
    let housing = department(&app, "城中区住建局", "housing").await;
    let court = department(&app, "城中区人民法院", "court").await;
    let keyword = "噪音扰民";
    let body = json!({
        "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" },
        "category": "neighbor", "description": "楼上装修噪音扰民，半夜还在施工", "phone": "13812345678",
    });
    let (s, report) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    let incident = report["id"].as_str().expect("id").to_owned();

    let out = run_scenario(
        "routing_rules.mjs",
        &[&app.base, &app.admin_token(), &operator.token, &incident, &housing, &court, keyword],
    )
    .await;
    for step in [
        "the admin added a keyword → department kind rule and saved it",
        "the routing section in English at 1366×768",
        "a save over someone else's is refused and the table reloaded",
        "the operator sees the department the new rule suggests ticked",
    ] {
        assert!(out.contains(&format!("ok: {step}")), "{step}: {out}");
    }
    let path = format!("/api/v1/command/incidents/{incident}/department-suggestions");
    let (_, suggested) = app.get(&path, Some(&operator.token)).await;
    assert_eq!(suggested[0]["reason"], format!("keyword:{keyword}"), "{suggested}");
}
