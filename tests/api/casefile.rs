//! The case file (issue #20): parties sealed at rest and revealed only through an audited
//! action, the record, agreement versions and signatures (the mediator last, frozen once
//! signed), the PDFs read back with poppler's `pdftotext`, limits and who may see what.

use crate::helpers::{
    Backend, Staff, TestApp, eventually, signature_png, spawn_app, spawn_app_on_clock, spawn_app_with, start,
};
use crate::on_both_stores;
use base64::Engine;
use grid_dispatch::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const LAT: f64 = 36.6171;
pub(crate) const LNG: f64 = 101.7782;
/// A valid resident ID number (checksum digit X) and phones nobody else in these tests uses.
const ID_NUMBER: &str = "11010519491231002X";
const PHONE_A: &str = "13900001111";
const PHONE_B: &str = "13700002222";

on_both_stores!(
    the_holder_records_parties_masked_and_reveals_are_audited,
    only_the_holder_and_operators_see_a_case_file,
    an_agreement_takes_effect_on_the_mediators_signature_and_an_edit_needs_new_signatures,
    the_record_is_edited_until_the_mediator_signs_it,
    case_file_inputs_are_held_to_their_limits,
    the_follow_up_and_the_confirmation_reminder_fire_once_and_the_deadline_waits_for_consent,
    the_reporter_gets_the_agreement_in_effect_through_the_tracking_link,
);

mod redis_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_plain_phone_or_id_number_is_stored_in_redis() {
        super::no_plain_phone_or_id_number_is_stored_in_redis().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sealed_fields_still_open_after_a_new_key_is_added() {
        super::sealed_fields_still_open_after_a_new_key_is_added().await;
    }
}

/// A mediator holding a fresh report (the resident's phone is 13812345678).
pub(crate) async fn held_case(app: &TestApp) -> (Staff, String) {
    let m = app.mediator("李调解", &[]).await;
    app.on_duty_at(&m, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().unwrap().to_owned();
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (m, id)
}

pub(crate) fn case_path(id: &str) -> String {
    format!("/api/v1/mediator/incidents/{id}/case")
}

pub(crate) async fn add_party(app: &TestApp, m: &Staff, id: &str, body: Value) -> Value {
    let (s, b) = app.post(&format!("{}/parties", case_path(id)), Some(&m.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

pub(crate) async fn case(app: &TestApp, m: &Staff, id: &str) -> Value {
    let (s, b) = app.get(&case_path(id), Some(&m.token)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) async fn sign(
    app: &TestApp,
    m: &Staff,
    id: &str,
    doc: &str,
    signer: Value,
    hash: &str,
    seed: u32,
) -> (StatusCode, Value) {
    let body =
        json!({ "signer": signer, "mark": "signature", "image": b64(&signature_png(seed)), "text_sha256": hash });
    app.post(&format!("{}/{doc}/signatures", case_path(id)), Some(&m.token), body).await
}

async fn the_holder_records_parties_masked_and_reveals_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, id) = held_case(&app).await;
    let op = app.operator("指挥").await;

    let a = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三", "phone": PHONE_A, "id_number": ID_NUMBER, "address": "城中区南大街1号" })).await;
    assert_eq!(a["phone_masked"], "139****1111");
    assert_eq!(a["id_number_masked"], "110105********002X");
    let (s, r) = app
        .post(
            &format!("{}/parties/reporter", case_path(&id)),
            Some(&m.token),
            json!({ "role": "respondent", "name": "王五" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["phone_masked"], "138****5678", "the reporter's phone comes from the report");
    assert_eq!(r["from_reporter"], true);

    let listed = case(&app, &m, &id).await;
    let text = listed.to_string();
    assert!(!text.contains(PHONE_A) && !text.contains(ID_NUMBER), "lists show masked values only: {text}");
    assert!(listed["audit"].as_array().unwrap().is_empty());

    let party = a["id"].as_str().unwrap();
    let (s, full) = app.post(&format!("{}/parties/{party}/reveal", case_path(&id)), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{full}");
    assert_eq!(full, json!({ "phone": PHONE_A, "id_number": ID_NUMBER }));
    let command = format!("/api/v1/command/incidents/{id}/case");
    let (s, full) = app.post(&format!("{command}/parties/{party}/reveal"), Some(&op.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{full}");
    assert_eq!(full["phone"], PHONE_A);

    let (s, seen) = app.get(&command, Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    let audit: Vec<(String, String)> = seen["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor_role"].as_str().unwrap().to_owned(), e["actor_id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(audit, vec![("mediator".to_owned(), m.id.clone()), ("operator".to_owned(), op.id.clone())]);
    assert!(!seen.to_string().contains(PHONE_A), "the audit never holds the value");
}

async fn only_the_holder_and_operators_see_a_case_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, id) = held_case(&app).await;
    let other = app.mediator("别人", &[]).await;
    let op = app.operator("指挥").await;
    let party = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三", "phone": PHONE_A })).await;
    let party = party["id"].as_str().unwrap();

    let base = case_path(&id);
    for (method, path, body) in [
        (Method::GET, base.clone(), None),
        (Method::POST, format!("{base}/parties"), Some(json!({ "role": "applicant", "name": "李四" }))),
        (Method::POST, format!("{base}/parties/{party}/reveal"), Some(json!({}))),
        (Method::POST, format!("{base}/record"), Some(json!({ "text": "记录" }))),
        (Method::PUT, format!("{base}/agreement"), Some(json!({ "terms": ["条款"] }))),
        (Method::GET, format!("{base}/documents/record.pdf"), None),
    ] {
        let (s, b) = app.call(method.clone(), &path, Some(&other.token), body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "another mediator: {method} {path}: {b}");
        let (s, _) = app.call(method.clone(), &path, Some(&op.token), body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "operators use the command routes: {method} {path}");
    }
    let (s, b) = app.get(&base, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let unknown = format!("/api/v1/command/incidents/{}/case", "0190d1b2-0000-7000-8000-000000000000");
    let (s, _) = app.get(&unknown, Some(&op.token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing the others tried was kept.
    assert_eq!(case(&app, &m, &id).await["parties"].as_array().unwrap().len(), 1);
}

pub(crate) fn pdftotext(pdf: &[u8], name: &str) -> String {
    let dir = artifacts();
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "2"])
        .arg(&path)
        .arg(dir.join(name))
        .status()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(png.success());
    String::from_utf8(out.stdout).unwrap().chars().filter(|c| !c.is_whitespace()).collect()
}

/// The PDF's text as drawn, line by line (`pdftotext -raw`), each without its spaces; the
/// PDF is kept under tests/artifacts as `<name>.pdf`.
pub(crate) fn pdf_lines(pdf: &[u8], name: &str) -> Vec<String> {
    let path = artifacts().join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-raw")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.chars().filter(|c| !c.is_whitespace()).collect()).collect()
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn fetch_pdf(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let resp = app.http().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    let status = resp.status();
    let content_type = resp.headers().get("content-type").cloned();
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type.unwrap(), "application/pdf");
    assert!(bytes.starts_with(b"%PDF-"));
    bytes
}

async fn an_agreement_takes_effect_on_the_mediators_signature_and_an_edit_needs_new_signatures(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, id) = held_case(&app).await;
    let a = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三", "phone": PHONE_A })).await;
    let b = add_party(&app, &m, &id, json!({ "role": "respondent", "name": "李四", "phone": PHONE_B })).await;
    let (pa, pb) = (json!({ "type": "party", "party_id": a["id"] }), json!({ "type": "party", "party_id": b["id"] }));

    let (s, template) = app.get("/api/v1/mediator/agreement-templates/neighbor", Some(&m.token)).await;
    assert_eq!(s, StatusCode::OK, "{template}");
    let clause = template["clauses"][2].as_str().unwrap().to_owned();
    let draft = json!({
        "template": "neighbor",
        "facts": "双方系上下楼邻居，因楼上卫生间漏水发生纠纷。",
        "issues": "漏水损失由谁承担。",
        "responsibility": "李四对漏水负主要责任。",
        "terms": ["李四一次性赔偿张三损失伍佰元。", clause],
        "performance_method": "微信转账",
        "performance_place": "城中区南大街1号",
        "performance_due": "2027-01-15",
    });
    let (s, v1) =
        app.call(Method::PUT, &format!("{}/agreement", case_path(&id)), Some(&m.token), Some(draft.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(v1["number"], 1);
    let hash = v1["text_sha256"].as_str().unwrap().to_owned();

    let (s, e) = sign(&app, &m, &id, "agreement", json!({ "type": "mediator" }), &hash, 9).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("parties_sign_first")));
    let (s, e) = sign(&app, &m, &id, "agreement", pa.clone(), &"0".repeat(64), 1).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("text_changed")));
    let (s, r) = sign(&app, &m, &id, "agreement", pa.clone(), &hash, 1).await;
    assert_eq!((s, r["took_effect"].as_bool()), (StatusCode::CREATED, Some(false)), "{r}");
    let (s, e) = sign(&app, &m, &id, "agreement", pa.clone(), &hash, 1).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("already_signed")));
    let (s, _) = sign(&app, &m, &id, "agreement", pb.clone(), &hash, 2).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = sign(&app, &m, &id, "agreement", json!({ "type": "mediator" }), &hash, 3).await;
    assert_eq!((s, r["took_effect"].as_bool()), (StatusCode::CREATED, Some(true)), "{r}");

    let now = case(&app, &m, &id).await;
    assert_eq!(now["in_effect_version"], 1);
    assert!(now["agreement"]["effective_at"].is_string());
    assert_eq!(now["agreement"]["awaiting"], json!([]));
    let sig = now["agreement"]["signatures"][0]["image_sha256"].as_str().unwrap();
    let (s, _) = app.get(&format!("{}/images/{sig}", case_path(&id)), Some(&m.token)).await;
    assert_eq!(s, StatusCode::OK);

    let pdf = fetch_pdf(&app, &m.token, &format!("{}/documents/agreement.pdf", case_path(&id))).await;
    let text = pdftotext(&pdf, &format!("casefile-agreement-{backend:?}").to_lowercase());
    for needle in
        ["人民调解协议书", "张三", "李四", "李四一次性赔偿张三损失伍佰元", "2027年01月15日", "本协议自各方当事人签名"]
    {
        assert!(text.contains(needle), "{needle} missing from the agreement PDF: {text}");
    }
    assert!(!text.contains(PHONE_A), "the PDF shows phones masked");
    let op = app.operator("指挥").await;
    let file = fetch_pdf(&app, &op.token, &format!("/api/v1/command/incidents/{id}/case/documents/case.pdf")).await;
    let text = pdftotext(&file, &format!("casefile-case-{backend:?}").to_lowercase());
    for needle in ["人民调解卷宗", "卷内目录", "受理登记", "人民调解笔录", "人民调解协议书", "回访记录"]
    {
        assert!(text.contains(needle), "{needle} missing from the case file PDF");
    }

    // A change after signing: the signed version stays in effect, the change is version 2.
    let mut changed = draft.clone();
    changed["terms"][0] = json!("李四一次性赔偿张三损失陆佰元。");
    let (s, v2) = app.call(Method::PUT, &format!("{}/agreement", case_path(&id)), Some(&m.token), Some(changed)).await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["signatures"], json!([]));
    assert_eq!(v2["awaiting"].as_array().unwrap().len(), 3, "both parties and the mediator sign again");
    let (s, e) = sign(&app, &m, &id, "agreement", pa, &hash, 1).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("text_changed")),
        "old signatures do not carry over"
    );
    let now = case(&app, &m, &id).await;
    assert_eq!((now["in_effect_version"].clone(), now["versions"].clone()), (json!(1), json!(2)));
}

async fn the_record_is_edited_until_the_mediator_signs_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, id) = held_case(&app).await;
    let a = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三" })).await;
    let record = format!("{}/record", case_path(&id));
    let (s, e1) = app.post(&record, Some(&m.token), json!({ "text": "问：漏水从何时开始？" })).await;
    assert_eq!(s, StatusCode::CREATED, "{e1}");
    let (s, _) = app.post(&record, Some(&m.token), json!({ "text": "答：上个月初。", "session": 1 })).await;
    assert_eq!(s, StatusCode::CREATED);
    let entry = e1["id"].as_str().unwrap();
    let (s, edited) = app
        .call(
            Method::PUT,
            &format!("{record}/{entry}"),
            Some(&m.token),
            Some(json!({ "text": "问：漏水是从什么时候开始的？" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{edited}");
    assert!(edited["edited_at"].is_string());

    let hash = case(&app, &m, &id).await["record_text_sha256"].as_str().unwrap().to_owned();
    let (s, _) = sign(&app, &m, &id, "record", json!({ "type": "party", "party_id": a["id"] }), &hash, 4).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = sign(&app, &m, &id, "record", json!({ "type": "mediator" }), &hash, 5).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = app.post(&record, Some(&m.token), json!({ "text": "补充" })).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("record_signed")));
    let (s, _) =
        app.call(Method::PUT, &format!("{record}/{entry}"), Some(&m.token), Some(json!({ "text": "改" }))).await;
    assert_eq!(s, StatusCode::CONFLICT);

    let pdf = fetch_pdf(&app, &m.token, &format!("{}/documents/record.pdf", case_path(&id))).await;
    let text = pdftotext(&pdf, &format!("casefile-record-{backend:?}").to_lowercase());
    for needle in ["人民调解笔录", "问：漏水是从什么时候开始的？", "答：上个月初。", "张三", "李调解"]
    {
        assert!(text.contains(needle), "{needle} missing from the record PDF: {text}");
    }
}

async fn case_file_inputs_are_held_to_their_limits(backend: Backend) {
    let app = spawn_app(backend).await;
    let (m, id) = held_case(&app).await;
    let parties = format!("{}/parties", case_path(&id));
    let code = |b: &Value| b["error"]["code"].as_str().unwrap_or_default().to_owned();
    for bad in [
        json!({ "role": "applicant", "name": "" }),
        json!({ "role": "applicant", "name": "名".repeat(51) }),
        json!({ "role": "applicant", "name": "张三", "phone": "12" }),
        json!({ "role": "applicant", "name": "张三", "id_number": "110105194912310021" }),
        json!({ "role": "applicant", "name": "张三", "address": "址".repeat(201) }),
        json!({ "role": "chief", "name": "张三" }),
    ] {
        let (s, b) = app.post(&parties, Some(&m.token), bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {b}");
    }
    let mut first = None;
    for n in 0..10 {
        let p = add_party(&app, &m, &id, json!({ "role": "applicant", "name": format!("当事人{n}") })).await;
        first.get_or_insert(p["id"].clone());
    }
    let (s, b) = app.post(&parties, Some(&m.token), json!({ "role": "applicant", "name": "第十一人" })).await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "limit_reached".to_owned()), "{b}");

    let record = format!("{}/record", case_path(&id));
    let (s, _) = app.post(&record, Some(&m.token), json!({ "text": "字".repeat(5001) })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.post(&record, Some(&m.token), json!({ "text": "字".repeat(5000) })).await;
    assert_eq!(s, StatusCode::CREATED, "5000 characters is within the limit");

    let agreement = format!("{}/agreement", case_path(&id));
    for bad in [
        json!({ "terms": [] }),
        json!({ "terms": vec!["条"; 31] }),
        json!({ "terms": ["条".repeat(1001)] }),
        json!({ "terms": ["条"], "facts": "事".repeat(5001) }),
        json!({ "terms": ["条"], "performance_due": "明天" }),
    ] {
        let (s, b) = app.call(Method::PUT, &agreement, Some(&m.token), Some(bad.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    }
    let (s, v) = app.call(Method::PUT, &agreement, Some(&m.token), Some(json!({ "terms": ["条"] }))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hash = v["text_sha256"].as_str().unwrap();
    let signer = json!({ "type": "party", "party_id": first });
    let signatures = format!("{agreement}/signatures");
    let body = |image: String| json!({ "signer": signer, "mark": "thumb_print", "image": image, "text_sha256": hash });
    let (s, b) = app.post(&signatures, Some(&m.token), body(b64(b"not an image at all"))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = app.post(&signatures, Some(&m.token), body("%%%".into())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.resize(256 * 1024 + 1, 0);
    let (s, b) = app.post(&signatures, Some(&m.token), body(b64(&jpeg))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an image over 256 KiB: {b}");
    jpeg.resize(400 * 1024, 0);
    let (s, b) = app.post(&signatures, Some(&m.token), body(b64(&jpeg))).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "a body over the upload limit: {b}");
    // None of it was kept.
    let now = case(&app, &m, &id).await;
    assert_eq!(now["agreement"]["signatures"], json!([]));
    assert_eq!(now["parties"].as_array().unwrap().len(), 10);
    assert_eq!(now["record"].as_array().unwrap().len(), 1);
}

/// Every string, hash field, list item, set member and zset member under the app's prefix.
async fn dump_redis(app: &TestApp) -> String {
    let url = app.redis.as_ref().unwrap().url();
    let mut conn = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    let mut all = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap()],
            "hash" => redis::cmd("HGETALL").arg(&key).query_async(&mut conn).await.unwrap(),
            "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query_async(&mut conn).await.unwrap(),
            "set" => redis::cmd("SMEMBERS").arg(&key).query_async(&mut conn).await.unwrap(),
            "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query_async(&mut conn).await.unwrap(),
            _ => vec![],
        };
        all.push_str(&key);
        for v in values {
            all.push_str(&String::from_utf8_lossy(&v));
            all.push('\n');
        }
    }
    all
}

async fn no_plain_phone_or_id_number_is_stored_in_redis() {
    let app = spawn_app(Backend::Redis).await;
    let (m, id) = held_case(&app).await;
    add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三", "phone": PHONE_A, "id_number": ID_NUMBER }))
        .await;
    add_party(&app, &m, &id, json!({ "role": "respondent", "name": "李四", "phone": PHONE_B })).await;
    let dump = dump_redis(&app).await;
    assert!(dump.contains("张三") && dump.contains("139****1111"), "the case file is there");
    for plain in [PHONE_A, PHONE_B, ID_NUMBER, "1101051949123"] {
        assert!(!dump.contains(plain), "{plain} is readable in Redis");
    }
}

async fn sealed_fields_still_open_after_a_new_key_is_added() {
    const K1: &str = "k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const K2: &str = "k2=HxwdHh8bGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE";
    let app = spawn_app_with(Backend::Redis, |s| s.casefile.keys = Some(K1.to_owned().into())).await;
    let (m, id) = held_case(&app).await;
    let old = add_party(
        &app,
        &m,
        &id,
        json!({ "role": "applicant", "name": "张三", "phone": PHONE_A, "id_number": ID_NUMBER }),
    )
    .await;
    let (mut settings, redis) = app.stop().await;

    settings.casefile.keys = Some(format!("{K2},{K1}").into());
    let app = start(settings, redis).await;
    let new = add_party(&app, &m, &id, json!({ "role": "respondent", "name": "李四", "phone": PHONE_B })).await;
    for (party, phone) in [(&old, PHONE_A), (&new, PHONE_B)] {
        let path = format!("{}/parties/{}/reveal", case_path(&id), party["id"].as_str().unwrap());
        let (s, full) = app.post(&path, Some(&m.token), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{full}");
        assert_eq!(full["phone"], phone);
    }
    let dump = dump_redis(&app).await;
    assert!(dump.contains("\"k1.") && dump.contains("\"k2."), "old values stay under k1, new ones use k2");
}

const DAY: Duration = Duration::from_secs(24 * 3600);

fn deadline<'a>(case: &'a Value, kind: &str) -> Vec<&'a Value> {
    case["deadlines"].as_array().unwrap().iter().filter(|d| d["kind"] == kind).collect()
}

async fn fired(app: &TestApp, m: &Staff, id: &str, kind: &str) -> Value {
    let what = format!("the {kind} deadline to fire");
    eventually(&what, || async {
        let c = case(app, m, id).await;
        let ds = deadline(&c, kind);
        (ds.len() == 1 && ds[0]["fired_at"].is_string()).then(|| ds[0].clone())
    })
    .await
}

async fn the_follow_up_and_the_confirmation_reminder_fire_once_and_the_deadline_waits_for_consent(backend: Backend) {
    let app = spawn_app_on_clock(backend, |_| {}).await;
    let (m, id) = held_case(&app).await;
    let a = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三" })).await;
    let b = add_party(&app, &m, &id, json!({ "role": "respondent", "name": "李四" })).await;
    let today = app.clock().now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date();
    let due = today.checked_add(jiff::Span::new().days(3)).unwrap();
    let draft = json!({ "terms": ["李四赔偿张三伍佰元。"], "performance_due": due.to_string() });
    let (s, v) = app.call(Method::PUT, &format!("{}/agreement", case_path(&id)), Some(&m.token), Some(draft)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let hash = v["text_sha256"].as_str().unwrap().to_owned();
    for (n, signer) in [
        json!({ "type": "party", "party_id": a["id"] }),
        json!({ "type": "party", "party_id": b["id"] }),
        json!({ "type": "mediator" }),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, r) = sign(&app, &m, &id, "agreement", signer, &hash, n as u32).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    let c = case(&app, &m, &id).await;
    assert!(deadline(&c, "performance")[0]["fired_at"].is_null());
    assert!(deadline(&c, "confirmation")[0]["fired_at"].is_null());

    // Past the performance day (09:00 Beijing time, 3 days on): the follow-up is due, once.
    app.advance(4 * DAY).await;
    let performance = fired(&app, &m, &id, "performance").await;
    assert!(
        deadline(&case(&app, &m, &id).await, "confirmation")[0]["fired_at"].is_null(),
        "the reminder waits for its day"
    );
    // Past the 司法确认 reminder (7 days after taking effect), inside the 30-day window.
    app.advance(4 * DAY).await;
    let confirmation = fired(&app, &m, &id, "confirmation").await;
    app.advance(DAY).await;
    let c = case(&app, &m, &id).await;
    assert_eq!(deadline(&c, "performance"), vec![&performance], "fired exactly once");
    assert_eq!(deadline(&c, "confirmation"), vec![&confirmation], "fired exactly once");

    // The follow-up: not performed is urged, then advised to sue; the application is recorded.
    let path = format!("{}/follow-ups", case_path(&id));
    let (s, f) =
        app.post(&path, Some(&m.token), json!({ "performance": "not_performed", "note": "李四称下月付" })).await;
    assert_eq!((s, f["action"].clone()), (StatusCode::CREATED, json!("urged")), "{f}");
    let (_, f) = app.post(&path, Some(&m.token), json!({ "performance": "not_performed" })).await;
    assert_eq!(f["action"], "advised_to_sue");
    let body = json!({ "court": "西宁市城中区人民法院", "applied_on": today.to_string() });
    let (s, r) = app.call(Method::PUT, &format!("{}/confirmation", case_path(&id)), Some(&m.token), Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    // Another case with no agreement: the one-month deadline moves only on every party's consent.
    let (m2, id2) = held_case(&app).await;
    let c = add_party(&app, &m2, &id2, json!({ "role": "applicant", "name": "王五" })).await;
    let d = add_party(&app, &m2, &id2, json!({ "role": "respondent", "name": "赵六" })).await;
    let extension = format!("{}/extension", case_path(&id2));
    let (s, e) = app.post(&extension, Some(&m2.token), json!({ "consents": [c["id"]] })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "one party's consent is not enough: {e}");
    let (s, e) = app.post(&extension, Some(&m2.token), json!({ "consents": [c["id"], d["id"]] })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    app.advance(31 * DAY).await;
    // The first case's deadline is moot (agreed in time): dropped, never fired.
    eventually("the first case's moot deadline to be dropped", || async {
        deadline(&case(&app, &m, &id).await, "deadline").is_empty().then_some(())
    })
    .await;
    assert!(deadline(&case(&app, &m2, &id2).await, "deadline")[0]["fired_at"].is_null(), "extended by consent");
    app.advance(30 * DAY).await;
    let fired_once = fired(&app, &m2, &id2, "deadline").await;
    app.advance(DAY).await;
    assert_eq!(deadline(&case(&app, &m2, &id2).await, "deadline"), vec![&fired_once]);
}

async fn the_reporter_gets_the_agreement_in_effect_through_the_tracking_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("李调解", &[]).await;
    app.on_duty_at(&m, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let (id, token) =
        (report["id"].as_str().unwrap().to_owned(), report["tracking_token"].as_str().unwrap().to_owned());
    let (s, _) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let copy = format!("/api/v1/track/{token}/agreement.pdf");
    let r =
        app.post(&format!("{}/parties/reporter", case_path(&id)), Some(&m.token), json!({ "name": "张三" })).await.1;
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("{}/agreement", case_path(&id)),
            Some(&m.token),
            Some(json!({ "terms": ["互不打扰。"] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app.get(&copy, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no copy before the agreement takes effect");
    let hash = v["text_sha256"].as_str().unwrap();
    sign(&app, &m, &id, "agreement", json!({ "type": "party", "party_id": r["id"] }), hash, 1).await;
    let (s, b) = sign(&app, &m, &id, "agreement", json!({ "type": "mediator" }), hash, 2).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let pdf = fetch_pdf(&app, "", &copy).await;
    let text = pdftotext(&pdf, &format!("casefile-resident-copy-{backend:?}").to_lowercase());
    assert!(text.contains("互不打扰") && text.contains("张三"), "{text}");
    let (s, _) = app.get(&format!("/api/v1/track/{}/agreement.pdf", "x".repeat(43)), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
