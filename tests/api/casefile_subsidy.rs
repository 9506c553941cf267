//! 以案定补 (issue #20, points 6 and 7): the grade is suggested, decided in one tap by the holder
//! or an operator and audited; the monthly subsidy report per mediator and committee matches
//! figures this file computes from its own script of cases (JSON, CSV parsed back, PDF read
//! with `pdftotext`), keeps to the operator's district and refuses bad ranges; the district
//! statistics count agreements performed and 司法确认.

use crate::areas::{operator_in, rect, upload};
use crate::casefile::{add_party, case, case_path, pdftotext, sign};
use crate::helpers::{Backend, Staff, TestApp, spawn_app, spawn_app_on_clock};
use crate::on_both_stores;
use grid_dispatch::casefile::Committee;
use grid_dispatch::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

on_both_stores!(
    the_grade_is_suggested_decided_in_one_tap_and_every_change_is_audited,
    the_monthly_subsidy_report_matches_the_cases_closed_in_its_range,
);

const LAT: f64 = 36.62;
/// The west district spans lng 101.60–101.68, the east one 101.68–101.76 (7 km apart here).
const WEST_LNG: f64 = 101.62;
const EAST_LNG: f64 = 101.70;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The rates these tests configure (not the defaults, so the report must read them).
const SIMPLE: u64 = 120;
const GENERAL: u64 = 350;
const MAJOR: u64 = 900;
const BONUS: u64 = 150;

async fn report(app: &TestApp, lng: f64) -> String {
    let body = json!({ "location": { "lat": LAT, "lng": lng, "coord": "wgs84" }, "category": "neighbor", "description": "以案定补测试", "phone": "13812345678" });
    let (s, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn accept(app: &TestApp, m: &Staff, id: &str) {
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

async fn the_grade_is_suggested_decided_in_one_tap_and_every_change_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("李调解", &[]).await;
    app.on_duty_at(&m, LAT, WEST_LNG).await;
    let id = report(&app, WEST_LNG).await;
    accept(&app, &m, &id).await;
    let op = app.operator("指挥").await;
    let grade = format!("{}/grade", case_path(&id));

    let (s, g) = app.get(&grade, Some(&m.token)).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(
        (g["grade"].clone(), g["suggested"].clone(), g["reasons"].clone()),
        (json!(null), json!("simple"), json!([]))
    );
    for (role, name) in [("applicant", "张三"), ("respondent", "李四"), ("third_party", "王五"), ("agent", "赵律师")]
    {
        add_party(&app, &m, &id, json!({ "role": role, "name": name })).await;
    }
    let (_, g) = app.get(&grade, Some(&m.token)).await;
    assert_eq!(g["parties"], 3, "an agent speaks for a party and is not counted");
    assert_eq!(
        (g["suggested"].clone(), g["reasons"].clone()),
        (json!("general"), json!([{ "why": "parties", "grade": "general" }]))
    );
    let amount = format!("{}/amount", case_path(&id));
    let (s, g) = put(&app, &m.token, &amount, json!({ "amount_in_dispute_yuan": 150_000 })).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["suggested"], "major_difficult");
    assert_eq!(g["reasons"][1], json!({ "why": "amount", "grade": "major_difficult" }));

    let (s, e) = put(&app, &m.token, &amount, json!({ "amount_in_dispute_yuan": 100_000_000_001u64 })).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{e}");
    let (s, _) = put(&app, &m.token, &grade, json!({ "grade": "hard" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let other = app.mediator("别人", &[]).await;
    let (s, _) = put(&app, &other.token, &grade, json!({ "grade": "simple" })).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "only the holder grades from a phone");

    let (s, g) = put(&app, &m.token, &grade, json!({ "grade": "general" })).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!((g["grade"].clone(), g["decided_by_role"].clone()), (json!("general"), json!("mediator")));
    let (_, again) = put(&app, &m.token, &grade, json!({ "grade": "general" })).await;
    assert_eq!(again["decided_at"], g["decided_at"], "the same grade again changes nothing");
    let command = format!("/api/v1/command/incidents/{id}");
    let (s, g) = put(&app, &op.token, &format!("{command}/case/grade"), json!({ "grade": "major_difficult" })).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!((g["grade"].clone(), g["decided_by_role"].clone()), (json!("major_difficult"), json!("operator")));

    let (_, detail) = app.get(&command, Some(&op.token)).await;
    let graded: Vec<Value> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "case_graded")
        .map(|e| json!([e["actor_role"], e["actor_id"], e["event"]["from"], e["event"]["to"]]))
        .collect();
    assert_eq!(
        graded,
        vec![json!(["mediator", m.id, null, "general"]), json!(["operator", op.id, "general", "major_difficult"])],
        "the timeline says who graded, from what to what"
    );
    let audit: Vec<String> = case(&app, &m, &id).await["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(audit, vec!["grade 未定级 → 一般", "grade 一般 → 重大疑难"]);
}

/// One case of the script: who holds it, what happens to it.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// 0 and 1 in the west district, 2 in the east.
    mediator: usize,
    parties: usize,
    /// Decided by the mediator.
    grade: Option<&'static str>,
    /// Then changed by an operator.
    regrade: Option<&'static str>,
    agreement: bool,
    follow_up: Option<&'static str>,
    confirmation: Option<&'static str>,
    /// Resolved: today, the next day, or not at all.
    resolved: Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolved {
    Today,
    NextDay,
    Open,
}

impl Plan {
    fn final_grade(&self) -> Option<&'static str> {
        self.regrade.or(self.grade)
    }

    /// What the district pays for this case, worked out here from the rates above.
    fn subsidy(&self) -> u64 {
        let rate = match self.final_grade() {
            Some("simple") => SIMPLE,
            Some("general") => GENERAL,
            Some("major_difficult") => MAJOR,
            _ => 0,
        };
        (if self.agreement { rate } else { 0 }) + if self.confirmation == Some("confirmed") { BONUS } else { 0 }
    }
}

const fn plan(mediator: usize, grade: Option<&'static str>, agreement: bool) -> Plan {
    Plan {
        mediator,
        parties: 2,
        grade,
        regrade: None,
        agreement,
        follow_up: None,
        confirmation: None,
        resolved: Resolved::Today,
    }
}

fn script() -> Vec<Plan> {
    vec![
        Plan { follow_up: Some("performed"), confirmation: Some("confirmed"), ..plan(0, Some("simple"), true) },
        Plan { parties: 3, follow_up: Some("not_performed"), ..plan(0, Some("general"), true) },
        plan(0, None, true),
        Plan {
            regrade: Some("major_difficult"),
            follow_up: Some("performed"),
            confirmation: Some("rejected"),
            ..plan(1, None, true)
        },
        plan(1, Some("general"), false),
        Plan { regrade: Some("general"), confirmation: Some("confirmed"), ..plan(2, Some("simple"), true) },
        Plan { resolved: Resolved::Open, ..plan(2, Some("simple"), true) },
        Plan { resolved: Resolved::NextDay, ..plan(2, Some("simple"), false) },
    ]
}

/// The figures of `plans`, as the report's `figures` object.
fn figures(plans: &[&Plan]) -> Value {
    let count = |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(|&&p| f(p)).count();
    json!({
        "cases": plans.len(),
        "simple": count(&|p| p.final_grade() == Some("simple")),
        "general": count(&|p| p.final_grade() == Some("general")),
        "major_difficult": count(&|p| p.final_grade() == Some("major_difficult")),
        "ungraded": count(&|p| p.final_grade().is_none()),
        "agreements": count(&|p| p.agreement),
        "performed": count(&|p| p.follow_up == Some("performed")),
        "confirmed": count(&|p| p.confirmation == Some("confirmed")),
        "subsidy_yuan": plans.iter().map(|p| p.subsidy()).sum::<u64>(),
    })
}

/// Play one case of the script (its district's operator regrades); returns its incident id.
async fn play(app: &TestApp, p: &Plan, mediators: &[Staff], operators: [&Staff; 2], today: &str) -> String {
    let (m, op) = (&mediators[p.mediator], operators[usize::from(p.mediator == 2)]);
    let id = report(app, if p.mediator < 2 { WEST_LNG } else { EAST_LNG }).await;
    accept(app, m, &id).await;
    let mut signers = vec![];
    for n in 0..p.parties {
        let role = if n == 0 { "applicant" } else { "respondent" };
        let party = add_party(app, m, &id, json!({ "role": role, "name": format!("当事人{n}") })).await;
        signers.push(json!({ "type": "party", "party_id": party["id"] }));
    }
    if let Some(g) = p.grade {
        let (s, b) = put(app, &m.token, &format!("{}/grade", case_path(&id)), json!({ "grade": g })).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    if let Some(g) = p.regrade {
        let path = format!("/api/v1/command/incidents/{id}/case/grade");
        let (s, b) = put(app, &op.token, &path, json!({ "grade": g })).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    if p.agreement {
        let (s, v) =
            put(app, &m.token, &format!("{}/agreement", case_path(&id)), json!({ "terms": ["互谅互让。"] })).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let hash = v["text_sha256"].as_str().unwrap().to_owned();
        signers.push(json!({ "type": "mediator" }));
        for (n, signer) in signers.into_iter().enumerate() {
            let (s, b) = sign(app, m, &id, "agreement", signer, &hash, n as u32).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
    }
    if let Some(f) = p.follow_up {
        let (s, b) =
            app.post(&format!("{}/follow-ups", case_path(&id)), Some(&m.token), json!({ "performance": f })).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    if let Some(result) = p.confirmation {
        let body = json!({ "court": "西宁市城中区人民法院", "applied_on": today, "result": result });
        let (s, b) = put(app, &m.token, &format!("{}/confirmation", case_path(&id)), body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    if p.resolved == Resolved::Today {
        resolve(app, m, &id).await;
    }
    id
}

async fn resolve(app: &TestApp, m: &Staff, id: &str) {
    let path = format!("/api/v1/mediator/incidents/{id}/resolve");
    let (s, b) = app.post(&path, Some(&m.token), json!({ "outcome": "mediated" })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn row<'a>(rows: &'a Value, key: &str, value: &str) -> &'a Value {
    rows.as_array().unwrap().iter().find(|r| r[key] == value).unwrap_or_else(|| panic!("no {key} {value} in {rows}"))
}

async fn the_monthly_subsidy_report_matches_the_cases_closed_in_its_range(backend: Backend) {
    let app = spawn_app_on_clock(backend, |s| {
        s.report_limits.per_ip = 0;
        s.casefile.committees = vec![
            Committee { area: "w".into(), name: "西区人民调解委员会".into(), seal_png: None },
            Committee { area: "e".into(), name: "东区人民调解委员会".into(), seal_png: None },
        ];
        let rates = &mut s.casefile.subsidy;
        (rates.simple_yuan, rates.general_yuan, rates.major_difficult_yuan, rates.confirmed_bonus_yuan) =
            (SIMPLE, GENERAL, MAJOR, BONUS);
    })
    .await;
    upload(&app, "w", "district", None, rect(101.60, 36.60, 101.68, 36.64)).await;
    upload(&app, "e", "district", None, rect(101.68, 36.60, 101.76, 36.64)).await;
    let mut mediators = vec![];
    for (name, lng) in [("张调解", WEST_LNG), ("李调解", WEST_LNG), ("王调解", EAST_LNG)] {
        let m = app.mediator(name, &[]).await;
        app.on_duty_at(&m, LAT, lng).await;
        mediators.push(m);
    }
    let (admin, west, east) =
        (app.admin_token(), operator_in(&app, "西区值班", "w").await, operator_in(&app, "东区值班", "e").await);
    let today = app.clock().now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date();
    let tomorrow = today.tomorrow().unwrap();
    let plans = script();
    let mut ids = vec![];
    for p in &plans {
        ids.push(play(&app, p, &mediators, [&west, &east], &today.to_string()).await);
    }
    // The last case closes the next day, out of a report of today alone.
    app.advance(DAY).await;
    let (late, late_id) = plans.iter().zip(&ids).find(|(p, _)| p.resolved == Resolved::NextDay).unwrap();
    resolve(&app, &mediators[late.mediator], late_id).await;

    let closed_today: Vec<&Plan> = plans.iter().filter(|p| p.resolved == Resolved::Today).collect();
    let range = format!("from={today}&to={today}");
    let (s, r) = app.get(&format!("/api/v1/command/subsidy?{range}"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["total"], figures(&closed_today), "{r}");
    assert_eq!(r["currency"], "CNY");
    for (n, m) in mediators.iter().enumerate() {
        let theirs: Vec<&Plan> = closed_today.iter().copied().filter(|p| p.mediator == n).collect();
        assert_eq!(row(&r["mediators"], "mediator_id", &m.id)["figures"], figures(&theirs), "mediator {n}");
    }
    let west_cases: Vec<&Plan> = closed_today.iter().copied().filter(|p| p.mediator < 2).collect();
    let east_cases: Vec<&Plan> = closed_today.iter().copied().filter(|p| p.mediator == 2).collect();
    assert_eq!(row(&r["committees"], "area", "w")["figures"], figures(&west_cases));
    assert_eq!(row(&r["committees"], "area", "e")["figures"], figures(&east_cases));
    assert_eq!(row(&r["committees"], "area", "w")["committee"], "西区人民调解委员会");
    let total: u64 = closed_today.iter().map(|p| p.subsidy()).sum();
    assert_eq!(total, SIMPLE + BONUS + GENERAL + MAJOR + GENERAL + BONUS, "the script's own sum, spelled out");

    let (_, two_days) = app.get(&format!("/api/v1/command/subsidy?from={today}&to={tomorrow}"), Some(&admin)).await;
    assert_eq!(two_days["total"]["cases"], closed_today.len() + 1, "the late case counts in the day it closed");

    // One committee; an operator sees their own district only.
    let (_, only_east) = app.get(&format!("/api/v1/command/subsidy?{range}&committee=e"), Some(&admin)).await;
    assert_eq!(
        (only_east["committee"].clone(), only_east["total"].clone()),
        (json!("东区人民调解委员会"), figures(&east_cases))
    );
    let (_, seen) = app.get(&format!("/api/v1/command/subsidy?{range}"), Some(&west.token)).await;
    assert_eq!(seen["total"], figures(&west_cases), "a west operator sees the west only");
    let (_, seen) = app.get(&format!("/api/v1/command/subsidy?{range}"), Some(&east.token)).await;
    assert_eq!(seen["total"], figures(&east_cases));

    // CSV for Excel, parsed back.
    let resp = app
        .http()
        .get(format!("{}/api/v1/command/subsidy.csv?{range}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    let body = csv.strip_prefix('\u{feff}').expect("a UTF-8 BOM for Excel");
    assert!(body.ends_with("\r\n") && !body.replace("\r\n", "").contains('\n'), "CRLF line ends only");
    let lines: Vec<Vec<&str>> = body.split("\r\n").filter(|l| !l.is_empty()).map(|l| l.split(',').collect()).collect();
    assert!(lines.iter().all(|l| l.len() == 12), "every line has its 12 columns");
    let subsidy_of = |kind: &str, name: &str| -> u64 {
        let line =
            lines.iter().find(|l| l[0] == kind && l[1] == name).unwrap_or_else(|| panic!("{kind} {name}: {csv}"));
        line[11].parse().unwrap()
    };
    for (n, name) in ["张调解", "李调解", "王调解"].into_iter().enumerate() {
        let theirs: u64 = closed_today.iter().filter(|p| p.mediator == n).map(|p| p.subsidy()).sum();
        assert_eq!(subsidy_of("mediator", name), theirs, "{name}");
    }
    assert_eq!(subsidy_of("total", "合计"), total);
    assert_eq!(lines.iter().filter(|l| l[0] == "case").count(), closed_today.len());

    // The A4 PDF, read back.
    let resp = app
        .http()
        .get(format!("{}/api/v1/command/subsidy.pdf?{range}", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdftotext(&pdf, &format!("casefile-subsidy-{backend:?}").to_lowercase());
    for needle in
        ["人民调解以案定补个案补助统计表", "西区人民调解委员会", "东区人民调解委员会", "张调解", "李调解", "王调解"]
    {
        assert!(text.contains(needle), "{needle} missing from the report PDF: {text}");
    }
    assert!(text.contains(&format!("补助合计：{total}元")), "the total is in the PDF: {text}");

    // Bad input: 400 with a code; mediators may not read it.
    for (query, code) in [
        (format!("from={tomorrow}&to={today}"), "bad_range"),
        ("from=2025-01-01&to=2026-03-01".to_owned(), "range_too_long"),
        (format!("{range}&committee=nowhere"), "unknown_committee"),
        ("from=2026-13-01".to_owned(), "bad_date"),
    ] {
        for path in ["subsidy", "subsidy.csv", "subsidy.pdf"] {
            let (s, e) = app.get(&format!("/api/v1/command/{path}?{query}"), Some(&admin)).await;
            assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{path}?{query}: {e}");
        }
    }
    let (s, _) = app.get(&format!("/api/v1/command/subsidy?{range}"), Some(&mediators[0].token)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, doc) = app.get("/openapi.json", None).await;
    for path in [
        "/api/v1/command/subsidy",
        "/api/v1/command/subsidy.csv",
        "/api/v1/command/subsidy.pdf",
        "/api/v1/mediator/incidents/{id}/case/grade",
        "/api/v1/mediator/incidents/{id}/case/amount",
        "/api/v1/command/incidents/{id}/case/grade",
        "/api/v1/command/incidents/{id}/case/amount",
    ] {
        assert!(doc["paths"][path].is_object(), "openapi.json lacks {path}");
    }

    // The district statistics of today's reports: agreements, performance rate, 司法确认.
    let (s, stats) = app.get(&format!("/api/v1/command/stats?{range}"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    let agreements: Vec<&Plan> = plans.iter().filter(|p| p.agreement).collect();
    let followed = agreements.iter().filter(|p| p.follow_up.is_some()).count();
    let performed = agreements.iter().filter(|p| p.follow_up == Some("performed")).count();
    let confirmed = agreements.iter().filter(|p| p.confirmation == Some("confirmed")).count();
    assert_eq!(
        [
            &stats["agreements"],
            &stats["agreements_followed_up"],
            &stats["agreements_performed"],
            &stats["judicially_confirmed"]
        ],
        [&json!(agreements.len()), &json!(followed), &json!(performed), &json!(confirmed)]
    );
    assert!((stats["performance_rate"].as_f64().unwrap() - performed as f64 / followed as f64).abs() < 1e-9);
}
