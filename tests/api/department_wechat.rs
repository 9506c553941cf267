//! WeChat notices to departments (issue #21): an account of a department with a bound openid
//! is told through the same notifier as mediators when its department is called in, handed
//! the lead or urged; an account without one is sent nothing; the timeline records each
//! delivery with the openid masked.

use crate::departments::{LAT, LNG, department, department_account_with};
use crate::helpers::{Backend, eventually, spawn_app_on_clock};
use crate::on_both_stores;
use crate::wechat::{FakeWechat, openid, with_api};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

on_both_stores!(department_accounts_with_an_openid_hear_of_call_ins_hand_overs_and_urging_by_wechat);

async fn department_accounts_with_an_openid_hear_of_call_ins_hand_overs_and_urging_by_wechat(backend: Backend) {
    let mut fake = FakeWechat::start().await;
    let app = spawn_app_on_clock(backend, |s| with_api(s, &fake)).await;
    let op = app.operator("指挥").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    let labour = department(&app, "劳动监察大队", "labour_inspection").await;
    let court = department(&app, "城中区法院", "court").await;
    let (police_openid, labour_openid) = (openid(), openid());
    department_account_with(&app, &police, "值班民警", Some(&police_openid)).await;
    department_account_with(&app, &labour, "监察员", Some(&labour_openid)).await;
    department_account_with(&app, &court, "立案庭", None).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let path = format!("/api/v1/command/incidents/{id}/call-ins");

    // The court first: its account has no openid, so nothing goes out for it.
    let body = json!({ "departments": [court, police], "note": "请派员到场" });
    let (s, made) = app.post(&path, Some(&op.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let called = fake.next_sent().await;
    assert_eq!(
        (called["touser"].as_str(), called["template_id"].as_str()),
        (Some(&*police_openid), Some("TPL_CALL_IN"))
    );
    assert_eq!(called["data"]["thing1"]["value"], "指挥中心吹哨，请按时报到");
    assert!(called["url"].as_str().unwrap().ends_with("/d"), "{called}");

    let body = json!({ "departments": [labour], "note": "欠薪移交劳动监察", "purpose": "handover" });
    let (s, handed) = app.post(&path, Some(&op.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{handed}");
    let handed_over = fake.next_sent().await;
    assert_eq!(handed_over["touser"].as_str(), Some(&*labour_openid));
    assert_eq!(handed_over["data"]["thing1"]["value"], "指挥中心移交案件，请确认接手");

    // Reminders are for the page; a missed deadline urges: the two with an openid are told.
    let ack_within = app.settings.departments.normal.ack_within;
    app.advance(ack_within + Duration::from_secs(1)).await;
    let mut urged: Vec<String> = vec![];
    for _ in 0..2 {
        let m = fake.next_sent().await;
        assert_eq!(m["data"]["thing1"]["value"], "联调事项已超时或被督办，请尽快处理", "{m}");
        urged.push(m["touser"].as_str().unwrap().to_owned());
    }
    urged.sort();
    let mut want = vec![police_openid.clone(), labour_openid.clone()];
    want.sort();
    assert_eq!(urged, want);

    // Every delivery is on the timeline, to a masked openid; none for the court's account.
    let timeline = eventually("four deliveries recorded", || async {
        let (_, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
        let sent: Vec<Value> = d["timeline"]
            .as_array()?
            .iter()
            .filter(|e| e["event"]["type"] == "notified")
            .filter(|e| e["event"]["outcome"].as_str().is_some_and(|o| o.starts_with("sent")))
            .map(|e| e["event"].clone())
            .collect();
        (sent.len() >= 4).then_some(sent)
    })
    .await;
    let notices: Vec<&str> = timeline.iter().map(|e| e["notice"].as_str().unwrap()).collect();
    assert_eq!(notices.iter().filter(|n| **n == "urged").count(), 2, "{notices:?}");
    assert!(notices.contains(&"called_in") && notices.contains(&"handed_over"), "{notices:?}");
    for e in &timeline {
        let to = e["to"].as_str().unwrap();
        assert!(to != police_openid && to != labour_openid, "masked: {to}");
    }
    assert_eq!(fake.already_sent(), Vec::<Value>::new(), "nothing more, nothing for the court");
}
