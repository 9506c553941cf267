//! Every party gets their copy (issue #20 point 4): when the agreement takes effect each party
//! but the reporter gets their own read-only link, texted to their phone through the SMS
//! gateway; it opens only their copy, stops working when replaced or expired, and the holder
//! sees each link with its QR code and whether the text went out.

use crate::casefile::{add_party, case_path, fetch_pdf, held_case, pdftotext, sign};
use crate::field::Gateway;
use crate::helpers::{Backend, TestApp, eventually, spawn_app_on_clock};
use crate::on_both_stores;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

on_both_stores!(each_party_but_the_reporter_gets_their_own_expiring_link_by_text_that_opens_only_their_copy,);

const DAY: Duration = Duration::from_secs(24 * 3600);
const PHONE_A: &str = "13900005555";
const PHONE_B: &str = "13700006666";

/// The texts the gateway took for `phone`.
fn texts_to(gateway: &Gateway, phone: &str) -> Vec<String> {
    gateway
        .sent()
        .iter()
        .filter(|(_, body)| body["phone"] == phone)
        .map(|(_, body)| body["text"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The token of the `/p/…` link in a text.
fn token_in(text: &str) -> String {
    let at = text.find("/p/").expect("a party link in the text");
    text[at + 3..].split_whitespace().next().unwrap().to_owned()
}

async fn links(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    app.get(&format!("{}/links", case_path(id)), Some(token)).await
}

async fn each_party_but_the_reporter_gets_their_own_expiring_link_by_text_that_opens_only_their_copy(backend: Backend) {
    let gateway = Gateway::default();
    let url = gateway.start().await;
    let app = spawn_app_on_clock(backend, |s| {
        s.sms.url = url;
        s.sms.per_report = 3;
        s.casefile.party_link_valid_for = 10 * DAY;
    })
    .await;
    let (m, id) = held_case(&app).await;
    let reporter = app.post(&format!("{}/parties/reporter", case_path(&id)), Some(&m.token), json!({})).await.1;
    let a = add_party(&app, &m, &id, json!({ "role": "applicant", "name": "张三", "phone": PHONE_A })).await;
    let b = add_party(&app, &m, &id, json!({ "role": "respondent", "name": "李四", "phone": PHONE_B })).await;
    let draft = json!({ "terms": ["李四赔偿张三伍佰元。"], "performance_due": "2099-01-15" });
    let (s, v) = app.call(Method::PUT, &format!("{}/agreement", case_path(&id)), Some(&m.token), Some(draft)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, none) = links(&app, &m.token, &id).await;
    assert_eq!((s, none), (StatusCode::OK, json!([])), "no links before the agreement takes effect");
    let hash = v["text_sha256"].as_str().unwrap();
    for (n, party) in [&reporter, &a, &b].into_iter().enumerate() {
        let (s, r) =
            sign(&app, &m, &id, "agreement", json!({ "type": "party", "party_id": party["id"] }), hash, n as u32).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    assert!(gateway.sent().is_empty(), "nothing is texted before the agreement takes effect");
    let (s, r) = sign(&app, &m, &id, "agreement", json!({ "type": "mediator" }), hash, 9).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    // Each party but the reporter is texted their own link, once; the holder sees it sent.
    let listed = eventually("both texts recorded as sent", || async {
        let (_, l) = links(&app, &m.token, &id).await;
        let all = l.as_array()?;
        (all.len() == 2 && all.iter().all(|x| x["texted_at"].is_string())).then(|| l.clone())
    })
    .await;
    assert_eq!(gateway.sent().len(), 2, "the reporter is not texted: {:?}", gateway.sent());
    let (text_a, text_b) = (texts_to(&gateway, PHONE_A), texts_to(&gateway, PHONE_B));
    assert_eq!((text_a.len(), text_b.len()), (1, 1));
    assert!(text_a[0].starts_with("张三：") && text_a[0].contains("调解协议已生效"), "{}", text_a[0]);
    let (token_a, token_b) = (token_in(&text_a[0]), token_in(&text_b[0]));
    assert_ne!(token_a, token_b);
    let shown_a = listed.as_array().unwrap().iter().find(|l| l["party_id"] == a["id"]).unwrap();
    assert!(shown_a["url"].as_str().unwrap().ends_with(&format!("/p/{token_a}")), "{shown_a}");
    assert!(shown_a["qr_svg"].as_str().unwrap().contains("<svg"), "a QR code to show on the phone");

    // The link opens the party's copy: their name, the dates, the PDF.
    let (s, copy) = app.get(&format!("/api/v1/party/{token_a}"), None).await;
    assert_eq!(s, StatusCode::OK, "{copy}");
    assert_eq!((copy["name"].as_str(), copy["role_label"].as_str()), (Some("张三"), Some("申请人")));
    assert_eq!(copy["performance_due"], "2099-01-15");
    assert!(copy["confirmation_apply_by"].is_string(), "{copy}");
    let pdf = fetch_pdf(&app, "", &format!("/api/v1/party/{token_a}/agreement.pdf")).await;
    let text = pdftotext(&pdf, &format!("casefile-party-copy-{backend:?}").to_lowercase());
    assert!(text.contains("张三") && text.contains("李四") && text.contains("伍佰元"), "{text}");

    // Only that party's: another party's id with this secret, a changed secret, garbage: 404.
    let (incident, rest) = token_a.split_once('.').unwrap();
    let secret_a = rest.split_once('.').unwrap().1;
    let b_id = b["id"].as_str().unwrap();
    let not_found = [
        format!("{incident}.{b_id}.{secret_a}"),
        format!("{incident}.{}.{}x", a["id"].as_str().unwrap(), &secret_a[..secret_a.len() - 1]),
        "not-a-token".to_owned(),
        format!("{incident}.{}.{secret_a}", reporter["id"].as_str().unwrap()),
    ];
    for token in &not_found {
        let (s, _) = app.get(&format!("/api/v1/party/{token}/agreement.pdf"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{token}");
        let (s, _) = app.get(&format!("/api/v1/party/{token}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{token}");
    }
    let other = app.mediator("别的调解员", &[]).await;
    assert_eq!(links(&app, &other.token, &id).await.0, StatusCode::NOT_FOUND, "only the holder lists links");

    // Re-issuing replaces the link (the old one stops working) and texts the new one.
    let reissue = |p: &Value| format!("{}/parties/{}/link", case_path(&id), p["id"].as_str().unwrap());
    let (s, body) = app.post(&reissue(&reporter), Some(&m.token), json!({})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
        "{body}"
    );
    let (s, new_a) = app.post(&reissue(&a), Some(&m.token), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{new_a}");
    assert!(new_a["texted_at"].is_string(), "{new_a}");
    let new_token = token_in(&texts_to(&gateway, PHONE_A)[1]);
    assert!(new_a["url"].as_str().unwrap().ends_with(&new_token));
    assert_eq!(app.get(&format!("/api/v1/party/{token_a}"), None).await.0, StatusCode::NOT_FOUND, "replaced");
    assert_eq!(app.get(&format!("/api/v1/party/{new_token}"), None).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/party/{token_b}"), None).await.0, StatusCode::OK, "B's link is B's own");

    // At most `sms.per_report` texts per party a day: past it the link is issued, not texted.
    let (s, third) = app.post(&reissue(&b), Some(&m.token), json!({})).await;
    assert_eq!((s, third["texted_at"].is_string()), (StatusCode::CREATED, true), "{third}");
    let (s, fourth) = app.post(&reissue(&b), Some(&m.token), json!({})).await;
    assert_eq!((s, fourth["texted_at"].is_string()), (StatusCode::CREATED, true), "{fourth}");
    let (s, over) = app.post(&reissue(&b), Some(&m.token), json!({})).await;
    assert_eq!((s, over["texted_at"].clone()), (StatusCode::CREATED, Value::Null), "{over}");
    assert_eq!(texts_to(&gateway, PHONE_B).len(), 3, "the limit is 3 a day");
    let token_b = token_in(over["url"].as_str().unwrap());

    // Expired after `casefile.party_link_valid_for`.
    app.advance(11 * DAY).await;
    assert_eq!(app.get(&format!("/api/v1/party/{new_token}"), None).await.0, StatusCode::NOT_FOUND, "expired");
    let (s, _) = app.get(&format!("/api/v1/party/{token_b}/agreement.pdf"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "expired");
    assert_eq!(gateway.sent().len(), 5, "one text per link issued, within the limit");
}
