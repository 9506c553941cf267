//! Joint handling (issue #21): departments and their accounts, call-ins on the clock with
//! reminders, overdue marks and urging, supervision, hand-over of the lead with its result.

use crate::helpers::{Backend, Socket, Staff, TestApp, phone, spawn_app, spawn_app_on_clock};
use crate::on_both_stores;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const LAT: f64 = 36.6171;
pub(crate) const LNG: f64 = 101.7782;

on_both_stores!(
    department_accounts_see_only_what_their_department_was_called_to,
    a_call_in_to_two_departments_reminds_both_and_urges_only_the_late_one_once,
    the_lead_is_handed_over_and_the_result_closes_the_loop,
    bad_call_ins_are_refused_and_lose_nothing,
    the_holding_mediator_calls_in_and_nobody_else_does,
    the_assessment_matches_a_scripted_history,
    routing_suggests_departments_and_the_police_first_for_violence_on_red,
    an_admin_changes_a_department_and_a_bad_change_changes_nothing,
    an_admin_lists_a_departments_accounts_and_resets_one_through_its_own_department_only,
);

/// Create a department of the whole district through the admin API; returns its id.
pub(crate) async fn department(app: &TestApp, name: &str, kind: &str) -> String {
    department_in(app, name, kind, None).await
}

/// Create a department serving `area` (None: the whole district); returns its id.
pub(crate) async fn department_in(app: &TestApp, name: &str, kind: &str, area: Option<&str>) -> String {
    let body = json!({ "name": name, "kind": kind, "duty_phone": "0971-8123456", "area": area });
    let (s, d) = app.post("/api/v1/admin/departments", Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    d["id"].as_str().unwrap().to_owned()
}

/// Create an account of department `id` and log it in.
pub(crate) async fn department_account(app: &TestApp, id: &str, name: &str) -> Staff {
    department_account_with(app, id, name, None).await
}

/// Create an account of department `id` whose WeChat notices go to `openid`, and log it in.
pub(crate) async fn department_account_with(app: &TestApp, id: &str, name: &str, openid: Option<&str>) -> Staff {
    let phone = phone();
    let body = json!({ "name": name, "phone": phone, "password": "s3cret-pass", "wechat_openid": openid });
    let (s, created) =
        app.post(&format!("/api/v1/admin/departments/{id}/accounts"), Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["role"], "department");
    let (s, login) = app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": "s3cret-pass" })).await;
    assert_eq!(s, StatusCode::OK, "{login}");
    Staff {
        id: created["id"].as_str().unwrap().to_owned(),
        token: login["access_token"].as_str().unwrap().to_owned(),
        phone,
    }
}

/// Call `departments` in to incident `id` as `op`; returns the call-ins.
pub(crate) async fn call_in(app: &TestApp, op: &Staff, id: &str, departments: &[&str], purpose: &str) -> Vec<Value> {
    let body = json!({ "departments": departments, "note": "请派员到场协助", "purpose": purpose });
    let (s, made) = app.post(&format!("/api/v1/command/incidents/{id}/call-ins"), Some(&op.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    made.as_array().unwrap().clone()
}

/// The `Joint` lines of an incident's timeline as (call-in id, step).
async fn joint_steps(app: &TestApp, op: &Staff, id: &str) -> Vec<(String, String)> {
    let (s, d) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "joint")
        .map(|e| {
            (e["event"]["call_in_id"].as_str().unwrap().to_owned(), e["event"]["step"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn count(steps: &[(String, String)], call_in: &str, step: &str) -> usize {
    steps.iter().filter(|(c, s)| c == call_in && s == step).count()
}

async fn live(app: &TestApp, op: &Staff) -> Socket {
    let mut live = app.socket("/api/v1/command/live", &op.token).await;
    live.wait_for("snapshot", |_| true).await;
    live
}

async fn department_accounts_see_only_what_their_department_was_called_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    let justice = department(&app, "南川司法所", "justice_office").await;
    let (p, j) =
        (department_account(&app, &police, "值班民警").await, department_account(&app, &justice, "司法助理").await);
    let (_, list) = app.get("/api/v1/command/departments", Some(&op.token)).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let (s, _) = app.post("/api/v1/admin/departments", Some(&op.token), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "operators do not manage departments");

    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let made = call_in(&app, &op, id, &[&police], "assist").await;
    let call_in_id = made[0]["id"].as_str().unwrap();

    let (s, queue) = app.get("/api/v1/department/call-ins", Some(&p.token)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(queue[0]["call_in"]["id"], call_in_id);
    assert_eq!(queue[0]["incident"]["id"], id);
    assert_eq!(queue[0]["incident"]["resident_phone"], "138****5678", "masked for departments");
    let (s, seen) = app.get(&format!("/api/v1/department/incidents/{id}"), Some(&p.token)).await;
    assert_eq!(s, StatusCode::OK, "{seen}");

    let (_, other_queue) = app.get("/api/v1/department/call-ins", Some(&j.token)).await;
    assert_eq!(other_queue, json!([]));
    let (s, _) = app.get(&format!("/api/v1/department/incidents/{id}"), Some(&j.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not called: not seen");
    let (s, _) =
        app.post(&format!("/api/v1/department/call-ins/{call_in_id}/acknowledge"), Some(&j.token), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another department's call-in");
    let (s, _) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&p.token)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "department accounts are not operators");
    let (s, _) = app.get("/api/v1/department/call-ins", Some(&op.token)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, me) = app.get("/api/v1/department/me", Some(&p.token)).await;
    assert_eq!((s, me["name"].clone()), (StatusCode::OK, json!("南滩派出所")));
}

async fn a_call_in_to_two_departments_reminds_both_and_urges_only_the_late_one_once(backend: Backend) {
    let app = spawn_app_on_clock(backend, |_| {}).await;
    let d = app.settings.departments.clone();
    let (ack_within, remind_before) = (d.normal.ack_within, d.remind_before);
    let op = app.operator("指挥").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    let labour = department(&app, "劳动监察大队", "labour_inspection").await;
    let on_time = department_account(&app, &police, "值班民警").await;
    let mut screen = live(&app, &op).await;
    let mut late_ws =
        app.socket("/api/v1/department/ws", &department_account(&app, &labour, "监察员").await.token).await;
    late_ws.wait_for("queue", |_| true).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();

    let made = call_in(&app, &op, id, &[&police, &labour], "assist").await;
    let (a, b) = (made[0]["id"].as_str().unwrap().to_owned(), made[1]["id"].as_str().unwrap().to_owned());
    late_ws.wait_for("call_in", |m| m["step"] == "called_in" && m["call_in"]["id"] == b).await;

    app.advance(ack_within - remind_before + Duration::from_secs(1)).await;
    late_ws.wait_for("call_in", |m| m["step"] == "reminded_ack" && m["call_in"]["id"] == b).await;
    let (s, acked) = app
        .post(
            &format!("/api/v1/department/call-ins/{a}/acknowledge"),
            Some(&on_time.token),
            json!({ "note": "民警已出发" }),
        )
        .await;
    assert_eq!((s, acked["state"].clone()), (StatusCode::OK, json!("acknowledged")), "{acked}");

    app.advance(remind_before).await;
    let urged = screen.wait_for("call_in", |m| m["step"] == "ack_overdue").await;
    assert_eq!(urged["call_in"]["id"], b);
    assert_eq!(urged["urging"], true);
    assert_eq!(urged["call_in"]["ack_overdue"], true);
    app.advance(Duration::from_secs(60)).await;

    let steps = joint_steps(&app, &op, id).await;
    assert_eq!(count(&steps, &a, "reminded_ack"), 1, "{steps:?}");
    assert_eq!(count(&steps, &b, "reminded_ack"), 1, "{steps:?}");
    assert_eq!(count(&steps, &a, "acknowledged"), 1, "{steps:?}");
    assert_eq!(count(&steps, &a, "ack_overdue"), 0, "acknowledged in time: {steps:?}");
    assert_eq!(count(&steps, &b, "ack_overdue"), 1, "urged once: {steps:?}");

    // 督办: the department is told on its socket, and the timeline says so.
    let (s, supervised) = app
        .post(
            &format!("/api/v1/command/incidents/{id}/call-ins/{b}/supervise"),
            Some(&op.token),
            json!({ "note": "请立即报到" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{supervised}");
    late_ws.wait_for("call_in", |m| m["step"] == "supervised" && m["call_in"]["supervised"][0] == "请立即报到").await;
    let (_, listed) = app.get(&format!("/api/v1/command/incidents/{id}/call-ins"), Some(&op.token)).await;
    let states: Vec<_> = listed["call_ins"].as_array().unwrap().iter().map(|c| c["state"].clone()).collect();
    assert_eq!(states, vec![json!("acknowledged"), json!("called")]);
}

async fn the_lead_is_handed_over_and_the_result_closes_the_loop(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let labour = department(&app, "劳动监察大队", "labour_inspection").await;
    let inspector = department_account(&app, &labour, "监察员").await;
    let report = app.report_at(LAT, LNG).await;
    let (id, token) = (report["id"].as_str().unwrap(), report["tracking_token"].as_str().unwrap());
    let (s, lead) = app.get(&format!("/api/v1/track/{token}/lead"), None).await;
    assert_eq!((s, lead["lead"].clone()), (StatusCode::OK, json!("not_handed_over")), "{lead}");

    let made = call_in(&app, &op, id, &[&labour], "handover").await;
    let c = made[0]["id"].as_str().unwrap();
    let (s, _) = app
        .post(&format!("/api/v1/department/call-ins/{c}/result"), Some(&inspector.token), json!({ "note": "x" }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "no result before it took the case over");
    let (s, taken) = app
        .post(
            &format!("/api/v1/department/call-ins/{c}/respond"),
            Some(&inspector.token),
            json!({ "response": "took_over", "note": "已立案" }),
        )
        .await;
    assert_eq!((s, taken["state"].clone()), (StatusCode::OK, json!("leading")), "{taken}");
    let (_, lead) = app.get(&format!("/api/v1/track/{token}/lead"), None).await;
    assert_eq!(lead, json!({ "lead": "department", "department": "劳动监察大队" }));

    let (s, closed) = app
        .post(
            &format!("/api/v1/department/call-ins/{c}/result"),
            Some(&inspector.token),
            json!({ "note": "已责令支付工资 3 万元" }),
        )
        .await;
    assert_eq!((s, closed["state"].clone()), (StatusCode::OK, json!("closed")), "{closed}");
    let (_, lead) = app.get(&format!("/api/v1/track/{token}/lead"), None).await;
    assert_eq!(lead, json!({ "lead": "closed", "department": "劳动监察大队" }));
    let steps: Vec<String> = joint_steps(&app, &op, id).await.into_iter().map(|(_, s)| s).collect();
    assert_eq!(steps, vec!["called_in", "acknowledged", "accepted", "result"]);
    let (s, _) = app
        .post(&format!("/api/v1/department/call-ins/{c}/result"), Some(&inspector.token), json!({ "note": "y" }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "the result is recorded once");
}

async fn bad_call_ins_are_refused_and_lose_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let admin = app.admin_token();
    for (body, field) in [
        (json!({ "name": "", "kind": "court", "duty_phone": "0971-8123456" }), "name"),
        (json!({ "name": "法院", "kind": "court", "duty_phone": "12<3>" }), "duty_phone"),
        (json!({ "name": "法院", "kind": "court", "duty_phone": "0971-8123456", "area": "nowhere" }), "area"),
    ] {
        let (s, e) = app.post("/api/v1/admin/departments", Some(&admin), body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().starts_with(field), "{e}");
    }
    let (s, _) = app
        .post("/api/v1/admin/departments", Some(&admin), json!({ "name": "x", "kind": "bank", "duty_phone": "12345" }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "unknown kind");
    let police = department(&app, "南滩派出所", "police_station").await;
    let p = department_account(&app, &police, "值班民警").await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let path = format!("/api/v1/command/incidents/{id}/call-ins");
    let long = "长".repeat(app.settings.limits.note_max_chars + 1);
    let max = app.settings.departments.max_per_call;
    let too_many: Vec<String> = (0..=max).map(|_| police.clone()).collect();
    for (body, status) in [
        (json!({ "departments": [], "note": "n" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "departments": too_many, "note": "n" }), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({ "departments": ["0190e0c0-0000-7000-8000-000000000000"], "note": "n" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({ "departments": [police], "note": "  " }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "departments": [police], "note": long }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "departments": [police], "note": "n", "urgency": "whenever" }), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, e) = app.post(&path, Some(&op.token), body).await;
        assert_eq!(s, status, "{e}");
    }
    let (s, _) = app
        .post(
            "/api/v1/command/incidents/not-an-id/call-ins",
            Some(&op.token),
            json!({ "departments": [police], "note": "n" }),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let made = call_in(&app, &op, id, &[&police], "assist").await;
    let c = made[0]["id"].as_str().unwrap();
    let (s, e) = app.post(&path, Some(&op.token), json!({ "departments": [police], "note": "again" })).await;
    assert_eq!((s, e["error"]["code"].clone()), (StatusCode::CONFLICT, json!("already_called")), "{e}");
    let (s, e) = app
        .post(&format!("/api/v1/department/call-ins/{c}/respond"), Some(&p.token), json!({ "response": "declined" }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "declining needs a reason: {e}");
    let (s, e) = app
        .post(&format!("/api/v1/department/call-ins/{c}/respond"), Some(&p.token), json!({ "response": "maybe" }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app
        .post(&format!("/api/v1/department/call-ins/{c}/acknowledge"), Some(&p.token), json!({ "note": long }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing refused was kept: the one call-in is still waiting, untouched.
    let (_, listed) = app.get(&format!("/api/v1/command/incidents/{id}/call-ins"), Some(&op.token)).await;
    assert_eq!(listed["call_ins"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["call_ins"][0]["state"], "called");
    let (s, declined) = app
        .post(
            &format!("/api/v1/department/call-ins/{c}/respond"),
            Some(&p.token),
            json!({ "response": "declined", "note": "不属本所辖区" }),
        )
        .await;
    assert_eq!((s, declined["response"].clone()), (StatusCode::OK, json!("declined")));
    let (s, _) = app.post(&format!("/api/v1/department/call-ins/{c}/acknowledge"), Some(&p.token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "answered already");
    // Answered: the department may be called in again.
    call_in(&app, &op, id, &[&police], "assist").await;
    let (s, _) = app.call(Method::GET, "/api/v1/department/call-ins", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn the_holding_mediator_calls_in_and_nobody_else_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.mediator("调解员甲", &[]).await;
    let other = app.mediator("调解员乙", &[]).await;
    app.on_duty_at(&holder, LAT + 0.001, LNG).await;
    let court = department(&app, "城中区法院", "court").await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap();
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&holder.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let body = json!({ "departments": [court], "note": "协议申请司法确认", "purpose": "handover" });
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/call-ins"), Some(&other.token), body.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not theirs");
    let (s, made) = app.post(&format!("/api/v1/mediator/incidents/{id}/call-ins"), Some(&holder.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    assert_eq!(made[0]["purpose"], "handover");
}

/// (department, report, at, ack after, answer after and kind, hand-over, result): seconds.
type PlannedCallIn = (usize, usize, i64, Option<i64>, Option<(i64, &'static str)>, bool, bool);

/// One scripted call-in: when (seconds from the start) it was made, acknowledged, answered.
struct Scripted {
    department: usize,
    report: usize,
    at: i64,
    ack: Option<i64>,
    answer: Option<(i64, &'static str)>,
    handover: bool,
    result: bool,
    ack_within: i64,
    respond_within: i64,
}

async fn the_assessment_matches_a_scripted_history(backend: Backend) {
    use grid_dispatch::clock::Clock;
    let app = spawn_app_on_clock(backend, |_| {}).await;
    let op = app.operator("指挥").await;
    let names = ["南滩派出所", "劳动监察大队", "城中区法院"];
    let mut depts = vec![];
    for (name, kind) in names.iter().zip(["police_station", "labour_inspection", "court"]) {
        let id = department(&app, name, kind).await;
        let account = department_account(&app, &id, "值班").await;
        depts.push((id, account));
    }
    let reports =
        [app.report_at(LAT, LNG).await, app.report_at(LAT + 0.01, LNG).await, app.report_at(LAT + 0.02, LNG).await];
    let start = app.clock().now();
    // (department, report, at, ack, answer, hand-over, result)
    let plan: Vec<PlannedCallIn> = vec![
        (0, 0, 0, Some(600), Some((7200, "opinion")), false, false),
        (1, 0, 0, Some(2400), Some((2400, "declined")), false, false),
        (0, 1, 0, None, Some((1200, "took_over")), true, true),
        (0, 2, 7200, None, None, false, false),
        // The court is handed reports 0 and 2 (it leads them; the police only assisted on 0).
        (2, 0, 3600, None, Some((600, "took_over")), true, false),
        (2, 2, 3600, Some(60), Some((120, "took_over")), true, true),
    ];
    // The residents' follow-up ratings, once every report is resolved at the end.
    let rated: [(usize, u8); 3] = [(0, 5), (1, 4), (2, 2)];
    // Play the script in time order: every action at its second, the clock moved to it.
    let mut actions: Vec<(i64, usize, &str)> = vec![];
    for (i, p) in plan.iter().enumerate() {
        actions.push((p.2, i, "call"));
        if let Some(a) = p.3 {
            actions.push((p.2 + a, i, "ack"));
        }
        if let Some((a, _)) = p.4 {
            actions.push((p.2 + a, i, "answer"));
            if p.6 {
                actions.push((p.2 + a + 1800, i, "result"));
            }
        }
    }
    actions.sort_by_key(|(t, i, what)| (*t, *i, ["call", "ack", "answer", "result"].iter().position(|w| w == what)));
    let mut ids: Vec<String> = vec![String::new(); plan.len()];
    let mut scripted: Vec<Scripted> = vec![];
    let mut now = 0;
    for (t, i, what) in actions {
        if t > now {
            app.advance(std::time::Duration::from_secs((t - now) as u64)).await;
            now = t;
        }
        let (d, r, at, ack, answer, handover, result) = plan[i];
        let (dept, account) = &depts[d];
        let c = &ids[i];
        match what {
            "call" => {
                let purpose = if handover { "handover" } else { "assist" };
                let made = call_in(&app, &op, reports[r]["id"].as_str().unwrap(), &[dept], purpose).await;
                let due = |k: &str| made[0][k].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
                let called = made[0]["called_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
                ids[i] = made[0]["id"].as_str().unwrap().to_owned();
                scripted.push(Scripted {
                    department: d,
                    report: r,
                    at,
                    ack,
                    answer,
                    handover,
                    result,
                    ack_within: due("ack_due").duration_since(called).as_secs(),
                    respond_within: due("respond_due").duration_since(called).as_secs(),
                });
                // Keep `scripted` in plan order.
                scripted.sort_by_key(|s| (s.at, s.department));
            }
            "ack" => {
                let (s, b) = app
                    .post(&format!("/api/v1/department/call-ins/{c}/acknowledge"), Some(&account.token), json!({}))
                    .await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
            "answer" => {
                let (_, kind) = answer.unwrap();
                let body = json!({ "response": kind, "note": "说明" });
                let (s, b) =
                    app.post(&format!("/api/v1/department/call-ins/{c}/respond"), Some(&account.token), body).await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
            _ => {
                let (s, b) = app
                    .post(
                        &format!("/api/v1/department/call-ins/{c}/result"),
                        Some(&account.token),
                        json!({ "note": "结案" }),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
        }
    }
    assert!(app.clock().now() > start);
    // Every report resolved by a mediator the command center sends, then rated by its resident.
    let mediator = app.mediator("回访调解员", &[]).await;
    for (r, rating) in rated {
        let id = reports[r]["id"].as_str().unwrap();
        let body = json!({ "mediator_id": mediator.id });
        let (s, b) = app.post(&format!("/api/v1/command/incidents/{id}/assign"), Some(&op.token), body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let body = json!({ "outcome": "mediated" });
        let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/resolve"), Some(&mediator.token), body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let token = reports[r]["tracking_token"].as_str().unwrap();
        let (s, b) = app.post(&format!("/api/v1/track/{token}/feedback"), None, json!({ "rating": rating })).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    // The figures, computed here from the script alone.
    let median = |mut v: Vec<i64>| -> Value {
        v.sort_unstable();
        if v.is_empty() { Value::Null } else { json!(v[v.len().div_ceil(2) - 1]) }
    };
    let expected: Vec<Value> = (0..names.len())
        .map(|d| {
            let mine: Vec<&Scripted> = scripted.iter().filter(|s| s.department == d).collect();
            // Answering without acknowledging first acknowledges at that moment.
            let acked = |s: &Scripted| s.ack.or(s.answer.map(|a| a.0));
            let n = |f: &dyn Fn(&Scripted) -> bool| mine.iter().filter(|s| f(s)).count();
            let taken = |s: &Scripted| s.handover && s.answer.is_some_and(|a| a.1 == "took_over");
            // The ratings of the reports it led, each report once.
            let mut led: Vec<usize> = mine.iter().filter(|s| taken(s)).map(|s| s.report).collect();
            led.sort_unstable();
            led.dedup();
            let ratings: Vec<u8> =
                led.iter().filter_map(|r| rated.iter().find(|(x, _)| x == r).map(|(_, v)| *v)).collect();
            let mean = (!ratings.is_empty())
                .then(|| ratings.iter().map(|v| f64::from(*v)).sum::<f64>() / ratings.len() as f64);
            json!({
                "department_id": depts[d].0,
                "name": names[d],
                "call_ins": mine.len(),
                "acknowledged_on_time": n(&|s| acked(s).is_some_and(|a| a <= s.ack_within)),
                "responded_on_time": n(&|s| s.answer.is_some_and(|a| a.0 <= s.respond_within)),
                "declined": n(&|s| s.answer.is_some_and(|a| a.1 == "declined")),
                "median_ack_s": median(mine.iter().filter_map(|s| acked(s)).collect()),
                "median_respond_s": median(mine.iter().filter_map(|s| s.answer.map(|a| a.0)).collect()),
                "taken_over": n(&taken),
                "closed": n(&|s| taken(s) && s.result),
                "open": n(&|s| s.answer.is_none()),
                "ratings": ratings.len(),
                "mean_rating": mean,
            })
        })
        .collect();
    let today = grid_dispatch::dispatch::stats::today(app.clock().now());
    let (from, to) = (today.yesterday().unwrap(), today.tomorrow().unwrap());
    let (s, figures) =
        app.get(&format!("/api/v1/command/departments/assessment?from={from}&to={to}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{figures}");
    assert_eq!(figures, json!(expected));
    // The police station: 3 call-ins, 2 acknowledged in time, medians 600 s and 1,200 s.
    assert_eq!((figures[0]["call_ins"].clone(), figures[0]["median_ack_s"].clone()), (json!(3), json!(600)));

    let resp = app
        .http()
        .get(format!("{}/api/v1/command/departments/assessment.csv?from={from}&to={to}", app.base))
        .bearer_auth(&op.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 1 + names.len());
    let f = &expected[1];
    assert_eq!(
        rows[2],
        format!(
            "{},劳动监察大队,1,{},{},{},{},{},0,0,0,0,",
            depts[1].0,
            f["acknowledged_on_time"],
            f["responded_on_time"],
            f["declined"],
            f["median_ack_s"],
            f["median_respond_s"]
        )
    );
    // The police led report 1 (rated 4); the court led reports 0 and 2 (rated 5 and 2).
    assert_eq!((figures[0]["ratings"].clone(), figures[0]["mean_rating"].clone()), (json!(1), json!(4.0)));
    assert_eq!((figures[2]["ratings"].clone(), figures[2]["mean_rating"].clone()), (json!(2), json!(3.5)));
    assert!(rows[3].ends_with(",2,3.50"), "{}", rows[3]);
    let before = today.checked_sub(jiff::Span::new().days(3)).unwrap();
    let (_, none) =
        app.get(&format!("/api/v1/command/departments/assessment?from={before}&to={before}"), Some(&op.token)).await;
    assert!(none.as_array().unwrap().iter().all(|f| f["call_ins"] == 0 && f["ratings"] == 0), "{none}");
    let (s, _) = app.get(&format!("/api/v1/command/departments/assessment?from={to}&to={from}"), Some(&op.token)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "from after to");
}

async fn routing_suggests_departments_and_the_police_first_for_violence_on_red(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let police = department(&app, "南滩派出所", "police_station").await;
    let labour = department(&app, "劳动监察大队", "labour_inspection").await;
    let women = department(&app, "区妇联", "womens_federation").await;
    let file = |description: &'static str, category: &'static str| {
        let app = &app;
        async move {
            let body = json!({
                "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" },
                "category": category, "description": description,
            });
            let (s, r) = app.post("/api/v1/reports", None, body).await;
            assert_eq!(s, StatusCode::CREATED, "{r}");
            r["id"].as_str().unwrap().to_owned()
        }
    };
    let suggested = |id: String| {
        let (app, op) = (&app, &op);
        async move {
            let (s, list) =
                app.get(&format!("/api/v1/command/incidents/{id}/department-suggestions"), Some(&op.token)).await;
            assert_eq!(s, StatusCode::OK, "{list}");
            list.as_array()
                .unwrap()
                .iter()
                .map(|x| (x["department_id"].as_str().unwrap().to_owned(), x["reason"].as_str().unwrap().to_owned()))
                .collect::<Vec<_>>()
        }
    };
    let wages = suggested(file("老板三个月没发工资", "wages").await).await;
    assert_eq!(wages, vec![(labour.clone(), "category".to_owned())], "no arbitration committee exists: skipped");
    let violent = suggested(file("丈夫拿着刀，家暴", "family").await).await;
    assert_eq!(violent[0], (police.clone(), "violence_on_red:刀".to_owned()), "{violent:?}");
    assert_eq!(violent[1], (women, "keyword:家暴".to_owned()), "{violent:?}");
    assert_eq!(violent.len(), 2, "the police station once: {violent:?}");
    let quiet = suggested(file("楼上漏水", "neighbor").await).await;
    assert_eq!(quiet, vec![]);
}

async fn an_admin_changes_a_department_and_a_bad_change_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let op = app.operator("指挥").await;
    let id = department(&app, "城中区法院", "court").await;
    let path = format!("/api/v1/admin/departments/{id}");
    let admin = app.admin_token();

    // Renamed and re-kinded: what the routing table suggests follows the kind at once.
    let body = json!({ "name": "城中区劳动监察大队", "kind": "labour_inspection", "duty_phone": "0971-8234567" });
    let (s, changed) = app.call(Method::PATCH, &path, Some(&admin), Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["name"].as_str(), changed["kind_label"].as_str()),
        (Some("城中区劳动监察大队"), Some("劳动监察"))
    );
    let body = json!({
        "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" }, "category": "wages", "description": "欠薪三个月",
    });
    let (_, report) = app.post("/api/v1/reports", None, body).await;
    let path_s = format!("/api/v1/command/incidents/{}/department-suggestions", report["id"].as_str().unwrap());
    let (_, suggested) = app.get(&path_s, Some(&op.token)).await;
    assert_eq!(suggested[0]["department_id"], id.as_str(), "{suggested}");
    assert_eq!(suggested[0]["name"], "城中区劳动监察大队");

    // Bad changes: refused, naming the field; nothing changes.
    for (body, field) in [
        (json!({ "duty_phone": "110" }), "duty_phone"),
        (json!({ "name": "<b>部门</b>", "duty_phone": "0971-1111111" }), "name"),
        (json!({ "area": "nowhere", "duty_phone": "0971-1111111" }), "area"),
    ] {
        let (s, b) = app.call(Method::PATCH, &path, Some(&admin), Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["error"]["code"], "invalid_field", "{b}");
        assert!(b["error"]["message"].as_str().unwrap().starts_with(field), "{field}: {b}");
    }
    let (s, b) = app.call(Method::PATCH, &path, Some(&admin), Some(json!({ "colour": "red" }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused: {b}");
    let (_, all) = app.get("/api/v1/admin/departments", Some(&admin)).await;
    let now = all.as_array().unwrap().iter().find(|d| d["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(now, changed, "nothing changed");
    let unknown = "/api/v1/admin/departments/0190e0c0-0000-7000-8000-000000000001";
    let (s, _) = app.call(Method::PATCH, unknown, Some(&admin), Some(json!({ "duty_phone": "0971-1111111" }))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn an_admin_lists_a_departments_accounts_and_resets_one_through_its_own_department_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token();
    let police = department(&app, "南滩派出所", "police_station").await;
    let court = department(&app, "城中区法院", "court").await;
    let officer = department_account(&app, &police, "值班民警").await;
    let (s, listed) = app.get(&format!("/api/v1/admin/departments/{police}/accounts"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{listed}");
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![officer.id.as_str()]);
    assert_eq!(listed[0]["phone"], officer.phone.as_str(), "admins see the phone in full");
    let (_, none) = app.get(&format!("/api/v1/admin/departments/{court}/accounts"), Some(&admin)).await;
    assert_eq!(none, json!([]));

    // Through another department, or moved elsewhere: refused, nothing changes.
    let other = format!("/api/v1/admin/departments/{court}/accounts/{}", officer.id);
    let (s, _) = app.call(Method::PATCH, &other, Some(&admin), Some(json!({ "password": "n3w-secret-pass" }))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let own = format!("/api/v1/admin/departments/{police}/accounts/{}", officer.id);
    let (s, b) = app.call(Method::PATCH, &own, Some(&admin), Some(json!({ "area": "elsewhere" }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "it stays with its department: {b}");
    let (s, b) = app.call(Method::PATCH, &own, Some(&admin), Some(json!({ "password": "short" }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let login = |password: &'static str| {
        let (app, phone) = (&app, officer.phone.clone());
        async move { app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": password })).await.0 }
    };
    assert_eq!(login("s3cret-pass").await, StatusCode::OK, "the bad changes left the password");

    // The reset: the old password and the old token stop working, the new one logs in.
    let (s, b) = app.call(Method::PATCH, &own, Some(&admin), Some(json!({ "password": "n3w-secret-pass" }))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["area"], police.as_str());
    assert_eq!(login("s3cret-pass").await, StatusCode::UNAUTHORIZED);
    assert_eq!(login("n3w-secret-pass").await, StatusCode::OK);
    let (s, _) = app.get("/api/v1/department/call-ins", Some(&officer.token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old token stops working");
}
