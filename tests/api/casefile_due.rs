//! The case file after the agreement (issue #20): its deadlines on the shared timer runner fire
//! once however many instances run, and reach people — the holder's phone (a `case_due`
//! message, the case page's due follow-up), the command center's screens, the resident's
//! tracking page — and the timeline; party removal until signing; the agreement PDF keeps its
//! dates whole on one line.

use crate::casefile::{LAT, LNG, add_party, case, case_path, held_case, pdf_lines, sign};
use crate::helpers::Backend;
use crate::helpers::{
    PROMPTLY, Socket, Staff, TestApp, eventually, settings_on, spawn_app, spawn_app_on_clock, start_on_clock,
};
use crate::on_both_stores;
use grid_dispatch::clock::{Clock, ManualClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

on_both_stores!(
    a_due_follow_up_reaches_the_holders_phone_and_urging_brings_it_back_until_the_advice_to_sue,
    a_party_is_removed_with_an_audit_until_the_agreement_carries_a_signature,
    the_agreement_pdf_never_breaks_the_performance_date_across_lines,
    a_claimed_case_nobody_opens_gets_its_mediation_deadline_from_the_claim_once,
);

const DAY: Duration = Duration::from_secs(24 * 3600);

fn today(app: &TestApp) -> jiff::civil::Date {
    app.clock().now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date()
}

/// Two parties, an agreement with `draft` (terms added), signed by both and the mediator.
async fn agreed(app: &TestApp, m: &Staff, id: &str, mut draft: Value) -> Value {
    let a = add_party(app, m, id, json!({ "role": "applicant", "name": "张三" })).await;
    let b = add_party(app, m, id, json!({ "role": "respondent", "name": "李四" })).await;
    draft["terms"] = json!(["李四赔偿张三伍佰元。"]);
    let (s, v) = app.call(Method::PUT, &format!("{}/agreement", case_path(id)), Some(&m.token), Some(draft)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hash = v["text_sha256"].as_str().unwrap().to_owned();
    let signers = [
        json!({ "type": "party", "party_id": a["id"] }),
        json!({ "type": "party", "party_id": b["id"] }),
        json!({ "type": "mediator" }),
    ];
    for (n, signer) in signers.into_iter().enumerate() {
        let (s, r) = sign(app, m, id, "agreement", signer, &hash, n as u32).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    v
}

/// The incident's `case_file` timeline lines as `"<step> <date or detail>"`.
async fn case_lines(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let (s, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(token)).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["event"]["type"] == "case_file")
        .map(|e| {
            let ev = &e["event"];
            let more = ev["date"].as_str().or(ev["detail"].as_str()).unwrap_or("");
            format!("{} {more}", ev["step"].as_str().unwrap_or(""))
        })
        .collect()
}

/// `case_due` messages on `socket` until the `supervised` marker for `marker_id`.
async fn case_dues_until_marker(socket: &mut Socket, marker_id: &str) -> Vec<Value> {
    let mut dues = vec![];
    loop {
        let m = socket.next_json_within(PROMPTLY).await.expect("the marker arrives");
        if m["type"] == "supervised" && m["incident_id"] == marker_id {
            return dues;
        }
        if m["type"] == "case_due" {
            dues.push(m);
        }
    }
}

async fn a_due_follow_up_reaches_the_holders_phone_and_urging_brings_it_back_until_the_advice_to_sue(
    backend: crate::helpers::Backend,
) {
    let app = spawn_app_on_clock(backend, |s| s.casefile.urge_recheck_after = Duration::from_secs(3 * 24 * 3600)).await;
    let op = app.operator("指挥").await;
    let (m, id) = held_case(&app).await;
    let mut phone = app.socket("/api/v1/mediator/ws", &m.token).await;
    let due = today(&app).checked_add(jiff::Span::new().days(2)).unwrap();
    agreed(&app, &m, &id, json!({ "performance_due": due.to_string() })).await;
    assert_eq!(case(&app, &m, &id).await["follow_up_due"], false, "not before the day");

    // 09:00 Beijing time on the agreed day: the phone hears it once, the page asks for it.
    app.advance(3 * DAY).await;
    let heard = phone.wait_for("case_due", |m| m["kind"] == "performance").await;
    assert_eq!(
        (heard["incident_id"].as_str(), heard["date"].as_str()),
        (Some(id.as_str()), Some(due.to_string().as_str()))
    );
    assert_eq!(case(&app, &m, &id).await["follow_up_due"], true);
    assert_eq!(case_lines(&app, &op.token, &id).await, [format!("performance_due {due}")]);

    // Not performed: urged, and the follow-up comes due again after `urge_recheck_after`.
    let path = format!("{}/follow-ups", case_path(&id));
    let (s, f) =
        app.post(&path, Some(&m.token), json!({ "performance": "not_performed", "note": "李四称下周付" })).await;
    assert_eq!((s, f["action"].clone()), (StatusCode::CREATED, json!("urged")), "{f}");
    assert_eq!(case(&app, &m, &id).await["follow_up_due"], false);
    app.advance(3 * DAY).await;
    phone.wait_for("case_due", |m| m["kind"] == "performance").await;
    assert_eq!(case(&app, &m, &id).await["follow_up_due"], true, "due again after urging");
    let (_, f) = app.post(&path, Some(&m.token), json!({ "performance": "not_performed" })).await;
    assert_eq!(f["action"], "advised_to_sue");
    app.advance(8 * DAY).await;

    // A marker after everything: the phone heard each firing once, and nothing after the advice.
    let (s, _) = app
        .post(&format!("/api/v1/command/incidents/{id}/supervise"), Some(&op.token), json!({ "note": "请跟进" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let dues = case_dues_until_marker(&mut phone, &id).await;
    assert!(dues.iter().all(|d| d["kind"] != "performance"), "no third follow-up after the advice to sue: {dues:?}");
    let lines = case_lines(&app, &op.token, &id).await;
    let expected = [
        format!("performance_due {due}"),
        "followed_up not_performed urged".to_owned(),
        format!("performance_due {due}"),
        "followed_up not_performed advised_to_sue".to_owned(),
    ];
    assert_eq!(lines.iter().filter(|l| !l.starts_with("confirmation_due")).cloned().collect::<Vec<_>>(), expected);
    assert_eq!(lines.iter().filter(|l| l.starts_with("confirmation_due")).count(), 1, "{lines:?}");
}

async fn a_party_is_removed_with_an_audit_until_the_agreement_carries_a_signature(backend: crate::helpers::Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let (m, id) = held_case(&app).await;
    let a = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三" })).await;
    let wrong = add_party(&app, &m, &id, json!({ "role": "third_party", "name": "王五错录" })).await;
    let b = add_party(&app, &m, &id, json!({ "role": "respondent", "name": "李四" })).await;
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("{}/agreement", case_path(&id)),
            Some(&m.token),
            Some(json!({ "terms": ["互不打扰。"] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["parties"].as_array().unwrap().len(), 3);

    let party = |p: &Value| format!("{}/parties/{}", case_path(&id), p["id"].as_str().unwrap());
    let other = app.mediator("别的调解员", &[]).await;
    let (s, _) = app.call(Method::DELETE, &party(&wrong), Some(&other.token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "only the holder removes");
    let (s, body) = app.call(Method::DELETE, &party(&wrong), Some(&m.token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, _) = app.call(Method::DELETE, &party(&wrong), Some(&m.token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "already gone");
    let c = case(&app, &m, &id).await;
    let names: Vec<&str> = c["parties"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["张三", "李四"]);
    assert_eq!(c["agreement"]["parties"].as_array().unwrap().len(), 2, "gone from the unsigned draft");
    assert!(c["audit"].as_array().unwrap().iter().any(|a| a["action"].as_str().unwrap().contains("王五错录")), "{c}");
    assert_eq!(case_lines(&app, &op.token, &id).await, ["party_removed 第三人 王五错录"]);

    // Once anyone signed, parties stay.
    let hash = c["agreement"]["text_sha256"].as_str().unwrap();
    let (s, r) = sign(&app, &m, &id, "agreement", json!({ "type": "party", "party_id": a["id"] }), hash, 1).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, body) = app.call(Method::DELETE, &party(&b), Some(&m.token), None).await;
    assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("party_signed")), "{body}");
    assert_eq!(case(&app, &m, &id).await["parties"].as_array().unwrap().len(), 2, "nothing removed");
}

async fn the_agreement_pdf_never_breaks_the_performance_date_across_lines(backend: crate::helpers::Backend) {
    let app = spawn_app(backend).await;
    let (m, id) = held_case(&app).await;
    add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三" })).await;
    let date = "2026年12月09日";
    // The method grows one character at a time, so the date meets the line's end at every
    // offset within a line's reach.
    for n in 0..10 {
        let draft = json!({
            "terms": ["互不打扰。"],
            "performance_method": format!("当面{}付清", "现".repeat(n)),
            "performance_place": "南关街社区调解室",
            "performance_due": "2026-12-09",
        });
        let (s, v) = app.call(Method::PUT, &format!("{}/agreement", case_path(&id)), Some(&m.token), Some(draft)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let pdf =
            crate::casefile::fetch_pdf(&app, &m.token, &format!("{}/documents/agreement.pdf", case_path(&id))).await;
        let lines = pdf_lines(&pdf, &format!("casefile-date-line-{backend:?}").to_lowercase());
        assert!(lines.iter().any(|l| l.contains(date)), "the date stays on one line with {n} more: {lines:?}");
    }
}

async fn a_claimed_case_nobody_opens_gets_its_mediation_deadline_from_the_claim_once(backend: Backend) {
    let app = spawn_app_on_clock(backend, |s| s.casefile.mediation_deadline = Duration::from_secs(2 * 3600)).await;
    let op = app.operator("指挥").await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    screen.wait_for("snapshot", |_| true).await;
    let (m, id) = held_case(&app).await;
    let mut phone = app.socket("/api/v1/mediator/ws", &m.token).await;
    let deadline_day = app.clock().now().checked_add(jiff::SignedDuration::from_hours(2)).unwrap();
    let deadline_day = deadline_day.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date();
    assert!(case_lines(&app, &op.token, &id).await.is_empty(), "nothing written to the case file");

    app.advance(Duration::from_secs(3 * 3600)).await;
    let heard = phone.wait_for("case_due", |m| m["kind"] == "deadline").await;
    assert_eq!(heard["incident_id"], json!(id));
    let shown = screen.wait_for("case_due", |m| m["kind"] == "deadline").await;
    assert_eq!(shown["incident_id"], json!(id), "the big screen hears it");
    // Past any lease: a deadline left behind would come back.
    app.advance(2 * DAY).await;
    let (s, _) = app
        .post(&format!("/api/v1/command/incidents/{id}/supervise"), Some(&op.token), json!({ "note": "请跟进" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let dues = case_dues_until_marker(&mut phone, &id).await;
    assert!(dues.is_empty(), "fired once: {dues:?}");
    assert_eq!(case_lines(&app, &op.token, &id).await, [format!("deadline_due {deadline_day}")]);
}

/// Issue #20's "done" on three instances sharing one Redis, with shortened durations: the
/// follow-up, the 司法确认 reminder and the mediation deadline each fire once — one timeline
/// line, one message on the holder's phone — and the deadline reaches every screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_file_deadlines_fire_once_with_three_instances() {
    let (settings, redis) = settings_on(Backend::Redis, |s| {
        s.casefile.confirmation_remind_after = Duration::from_secs(3600);
        s.casefile.mediation_deadline = Duration::from_secs(2 * 3600);
    });
    let clock = Arc::new(ManualClock::starting_now());
    let mut apps = vec![start_on_clock(settings.clone(), redis, clock.clone()).await];
    for _ in 0..2 {
        apps.push(start_on_clock(settings.clone(), None, clock.clone()).await);
    }
    let op = apps[0].operator("指挥").await;
    let mut screens = vec![];
    for app in &apps {
        let mut live = app.socket("/api/v1/command/live", &op.token).await;
        live.wait_for("snapshot", |_| true).await;
        screens.push(live);
    }
    let (m, agreed_id) = held_case(&apps[0]).await;
    let mut phone = apps[2].socket("/api/v1/mediator/ws", &m.token).await;
    let due = today(&apps[0]).checked_add(jiff::Span::new().days(1)).unwrap();
    agreed(&apps[1], &m, &agreed_id, json!({ "performance_due": due.to_string() })).await;
    // A second case of the same mediator with no agreement: its deadline runs out.
    let report = apps[1].report_at(LAT, LNG).await;
    let open_id = report["id"].as_str().unwrap().to_owned();
    let (s, b) = apps[2].post(&format!("/api/v1/mediator/incidents/{open_id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    add_party(&apps[2], &m, &open_id, json!({ "role": "applicant", "name": "王五" })).await;

    clock.advance(2 * DAY);
    tokio::time::timeout(PROMPTLY, clock.idle()).await.expect("the runners settle");
    for screen in &mut screens {
        let shown = screen.wait_for("case_due", |m| m["kind"] == "deadline").await;
        assert_eq!(shown["incident_id"], json!(open_id));
    }
    eventually("every deadline to fire", || async {
        let lines = case_lines(&apps[0], &op.token, &agreed_id).await;
        (lines.len() == 2).then_some(())
    })
    .await;
    // Past any lease: a deadline left behind would come back now.
    clock.advance(settings.timers.lease + Duration::from_secs(1));
    tokio::time::timeout(PROMPTLY, clock.idle()).await.expect("the runners settle");

    let (s, _) = apps[0]
        .post(&format!("/api/v1/command/incidents/{open_id}/supervise"), Some(&op.token), json!({ "note": "请跟进" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut heard: Vec<String> = case_dues_until_marker(&mut phone, &open_id)
        .await
        .iter()
        .map(|d| format!("{} {}", d["incident_id"].as_str().unwrap_or(""), d["kind"].as_str().unwrap_or("")))
        .collect();
    heard.sort();
    let mut expected =
        vec![format!("{agreed_id} performance"), format!("{agreed_id} confirmation"), format!("{open_id} deadline")];
    expected.sort();
    assert_eq!(heard, expected, "each once on the phone");
    let lines = case_lines(&apps[1], &op.token, &agreed_id).await;
    assert_eq!(lines.iter().filter(|l| l.starts_with("performance_due")).count(), 1, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("confirmation_due")).count(), 1, "{lines:?}");
    assert_eq!(
        case_lines(&apps[2], &op.token, &open_id).await.iter().filter(|l| l.starts_with("deadline_due")).count(),
        1
    );
    for app in apps {
        app.stop().await;
    }
}
