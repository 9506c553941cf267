//! Issue #20 point 4 on phones: once the agreement takes effect, the holder's case page at 360 px
//! shows each party's own link with its QR code and "texted"; the party opens their link at
//! 360 px — their copy (PDF) and the dates ahead in plain Chinese, English on the toggle — and a
//! replaced or made-up link says plainly that it does not open.

use crate::helpers::{Backend, spawn_app_with};
use crate::{held_case_on, run_scenario, sign_all, sms_gateway};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_opens_their_own_link_on_a_360_px_phone_and_the_holder_sees_it_texted_with_its_qr_code() {
    let (gateway, texts) = sms_gateway().await;
    let (app, m, id) = held_case_on(spawn_app_with(Backend::Memory, |s| s.sms.url = gateway).await).await;
    let case = format!("/api/v1/mediator/incidents/{id}/case");
    for (role, name, phone) in [("applicant", "张三", "13900007777"), ("respondent", "李四", "13700008888")] {
        let body = json!({ "role": role, "name": name, "phone": phone });
        let (s, p) = app.post(&format!("{case}/parties"), Some(&m.token), body).await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
    }
    let draft = json!({
        "terms": ["李四赔偿张三伍佰元。"],
        "performance_due": "2099-01-15",
        "performance_method": "当面付清现金",
        "performance_place": "南关街社区调解室",
    });
    let (s, v) = app.call(Method::PUT, &format!("{case}/agreement"), Some(&m.token), Some(draft)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sign_all(&app, &m.token, &case, &v).await;
    let link = crate::helpers::eventually("张三's link is texted", || async {
        let texts = texts.lock().expect("lock").clone();
        let text = texts.iter().find(|t| t["phone"] == "13900007777")?["text"].as_str()?.to_owned();
        Some(text[text.find("/p/")? + 3..].to_owned())
    })
    .await;
    let out = run_scenario("casefile_links.mjs", &[&app.base, &m.token, &id, &link]).await;
    for line in
        ["ok: the holder sees both links texted", "ok: the party copy at 360 px", "ok: english", "ok: a bad link"]
    {
        assert!(out.contains(line), "{line}\n{out}");
    }
}
