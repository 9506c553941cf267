//! Who may call what: every route of `/openapi.json` × every kind of caller gets exactly the
//! access the document declares (its security scheme names are the roles allowed), plus the
//! JWT attacks a careless verifier lets through.

use crate::helpers::{Backend, TEST_SECRET, TestApp, spawn_app};
use crate::on_both_stores;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

on_both_stores!(every_route_grants_exactly_the_declared_roles, forged_and_stale_tokens_are_refused);

/// A caller: a name and the bearer token it sends (if any).
struct Caller {
    name: &'static str,
    role: Option<&'static str>,
    token: Option<String>,
}

async fn callers(app: &TestApp) -> Vec<Caller> {
    let m = app.mediator("矩阵调解员", &[]).await;
    let op = app.operator("矩阵操作员").await;
    let report = app.report_at(36.6, 101.7).await;
    let dept = crate::departments::department(app, "矩阵派出所", "police_station").await;
    let dept = crate::departments::department_account(app, &dept, "矩阵民警").await;
    vec![
        Caller { name: "nobody", role: None, token: None },
        Caller {
            name: "resident tracking token",
            role: None,
            token: Some(report["tracking_token"].as_str().unwrap().to_owned()),
        },
        Caller { name: "mediator", role: Some("mediator"), token: Some(m.token) },
        Caller { name: "operator", role: Some("operator"), token: Some(op.token) },
        Caller { name: "admin", role: Some("admin"), token: Some(app.admin_token()) },
        Caller { name: "department", role: Some("department"), token: Some(dept.token) },
    ]
}

fn concrete(path: &str) -> String {
    // Well-formed ids that name nothing: allowed callers get 404/422, never 401/403.
    path.replace("{id}", "0190e0c0-0000-7000-8000-000000000001")
        .replace("{tracking_token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .replace("{scene}", "0190e0c0-0000-7000-8000-000000000002")
        .replace("{call_in}", "0190e0c0-0000-7000-8000-000000000003")
}

async fn every_route_grants_exactly_the_declared_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let callers = callers(&app).await;
    let (_, doc) = app.get("/openapi.json", None).await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let allowed: BTreeSet<String> = op["security"]
                .as_array()
                .map(|reqs| reqs.iter().flat_map(|r| r.as_object().unwrap().keys().cloned()).collect())
                .unwrap_or_default();
            let public = allowed.is_empty();
            for caller in &callers {
                let url = format!("{}{}", app.base, concrete(path));
                let mut req = app.http().request(method.clone(), url);
                if let Some(t) = &caller.token {
                    req = req.bearer_auth(t);
                }
                if method == Method::POST || method == Method::PATCH {
                    req = req.json(&json!({}));
                }
                let status = req.send().await.unwrap().status();
                let may = public || caller.role.is_some_and(|r| allowed.contains(r));
                let denied = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
                if path == "/wechat" {
                    // WeChat's own signature, not bearer tokens, guards the webhook.
                    continue;
                }
                if may {
                    assert!(!denied, "{} {method} {path} must admit {}: got {status}", "route", caller.name);
                } else if caller.token.is_none() || caller.role.is_none() {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} as {}", caller.name);
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {}", caller.name);
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} route × caller pairs checked");
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// HMAC-SHA256 (RFC 2104), written out so tokens can carry any header.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let sig = hmac_sha256(key, signing_input.as_bytes());
    format!("{signing_input}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig))
}

async fn forged_and_stale_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("攻击目标", &[]).await;
    let now = jiff::Timestamp::now().as_second();
    let good = json!({ "sub": m.id, "role": "mediator", "iat": now, "exp": now + 600, "iss": "grid-dispatch", "aud": "grid-dispatch" });
    let with = |patch: Value| {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let hs = json!({ "alg": "HS256", "typ": "JWT" });
    let key = TEST_SECRET.as_bytes();
    // The control: a correctly made token works, so every refusal below is the attack's doing.
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&hs256(&hs, &good, key))).await;
    assert_eq!(s, StatusCode::OK);
    let attacks = vec![
        ("alg none", format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&good))),
        ("alg none with signature", format!("{}.{}.AAAA", b64(&json!({ "alg": "none" })), b64(&good))),
        ("RS256 header on an HMAC signature", hs256(&json!({ "alg": "RS256" }), &good, key)),
        ("HS512", hs256(&json!({ "alg": "HS512" }), &good, key)),
        ("wrong key", hs256(&hs, &good, b"another-secret-another-secret-xx")),
        ("empty key", hs256(&hs, &good, b"")),
        ("expired", hs256(&hs, &with(json!({ "exp": now - 3600 })), key)),
        ("not yet valid", hs256(&hs, &with(json!({ "nbf": now + 3600 })), key)),
        ("no exp", hs256(&hs, &with(json!({ "exp": null })), key)),
        ("exp as a string", hs256(&hs, &with(json!({ "exp": "99999999999" })), key)),
        ("wrong iss", hs256(&hs, &with(json!({ "iss": "evil" })), key)),
        ("no iss", hs256(&hs, &with(json!({ "iss": null })), key)),
        ("wrong aud", hs256(&hs, &with(json!({ "aud": "other-app" })), key)),
        ("no aud", hs256(&hs, &with(json!({ "aud": null })), key)),
        ("no sub", hs256(&hs, &with(json!({ "sub": null })), key)),
        ("unknown role", hs256(&hs, &with(json!({ "role": "superuser" })), key)),
        ("unknown account", hs256(&hs, &with(json!({ "sub": "0190e0c0-0000-7000-8000-000000000009" })), key)),
        // A `kid` cannot pick another key (we never look keys up by it).
        ("kid naming a file", hs256(&json!({ "alg": "HS256", "kid": "../../etc/passwd" }), &good, b"")),
        ("garbage", "a.b.c".to_owned()),
    ];
    for (name, token) in attacks {
        let (s, body) = app.get("/api/v1/mediator/offers", Some(&token)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
    }
    // A mediator token cannot be promoted by editing its payload.
    let promoted = hs256(&hs, &with(json!({ "role": "admin" })), b"not-the-key-not-the-key-not-the-key");
    let (s, _) = app.get("/api/v1/admin/mediators", Some(&promoted)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
