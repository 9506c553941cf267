//! Issue #20 on the phone after the agreement: the performance follow-up falls due (the shared
//! timer runner, on the test's clock) while the phone's page is open, which says so and links
//! the case; the case page at 360 px shows it first and records "performed"; the reporter's
//! tracking page shows the 司法确认 reminder with its last day.

use crate::helpers::{Backend, spawn_app_on_clock};
use crate::{LAT, LNG, run_scenario};
use grid_dispatch::clock::Clock;
use grid_dispatch::domain::ids::AccountId;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_follow_up_is_recorded_as_performed_on_the_phone_and_the_reporter_sees_the_confirmation_reminder() {
    let app = spawn_app_on_clock(Backend::Memory, |_| {}).await;
    let m = app.mediator("王调解", &[]).await;
    app.on_duty_at(&m, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let (id, token) =
        (report["id"].as_str().expect("id").to_owned(), report["tracking_token"].as_str().expect("token").to_owned());
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let case = format!("/api/v1/mediator/incidents/{id}/case");
    let (s, r) = app.post(&format!("{case}/parties/reporter"), Some(&m.token), json!({ "name": "张三" })).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, r) =
        app.post(&format!("{case}/parties"), Some(&m.token), json!({ "role": "respondent", "name": "李四" })).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let today = app.clock().now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date();
    let due = today.checked_add(jiff::Span::new().days(5)).expect("a day");
    let draft = json!({ "terms": ["李四赔偿张三伍佰元。"], "performance_due": due.to_string() });
    let (s, v) = app.call(Method::PUT, &format!("{case}/agreement"), Some(&m.token), Some(draft)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    crate::sign_all(&app, &m.token, &case, &v).await;
    // The phone's page is open when the deadlines fall due (the scenario opens it first).
    let args = [app.base.clone(), m.token.clone(), id.clone(), token.clone()];
    let scenario = tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_scenario("casefile_due.mjs", &args).await
    });
    let mediator = AccountId::parse(&m.id).expect("an account id");
    let connected = async {
        while !app.app().hub().has_mediator(&mediator) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), connected).await.expect("the phone page connects its socket");
    // Past the performance day and the 司法确认 reminder (a week after taking effect).
    app.advance(Duration::from_secs(8 * 24 * 3600)).await;
    let out = scenario.await.expect("the scenario ran");
    assert!(out.contains("ok: casefile-due"), "{out}");
    let (_, c) = app.get(&case, Some(&m.token)).await;
    assert_eq!(c["follow_ups"][0]["performance"], "performed", "{c}");
    assert_eq!(c["follow_up_due"], false);
}
