//! Accounts, login and who may call what.

use crate::helpers::{Backend, TEST_SECRET, phone, spawn_app};
use crate::on_both_stores;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_stores!(
    an_admin_creates_staff_who_log_in_with_their_phone,
    a_disabled_mediator_is_locked_out_at_once,
    roles_are_enforced_and_tokens_checked,
    repeated_failed_logins_lock_a_phone_out,
);

async fn an_admin_creates_staff_who_log_in_with_their_phone(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token();
    let p = phone();
    let body = json!({ "name": "陈调解", "phone": format!("+86 {p}"), "password": "longenough", "specialties": ["family", "wages", "family"], "capacity": 2 });
    let (s, created) = app.post("/api/v1/admin/mediators", Some(&admin), body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["phone"], p.as_str(), "normalised");
    assert_eq!(created["specialties"], json!(["family", "wages"]));
    assert!(created.get("password_hash").is_none() && created.get("password").is_none());
    let (s, err) = app.post("/api/v1/admin/mediators", Some(&admin), body).await;
    assert_eq!((s, err["error"]["code"].clone()), (StatusCode::CONFLICT, json!("phone_taken")));

    let (s, login) = app.post("/api/v1/auth/login", None, json!({ "phone": p, "password": "longenough" })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(login["role"], "mediator");
    assert_eq!(login["account_id"], created["id"]);
    let (s, _) = app.get("/api/v1/mediator/offers", Some(login["access_token"].as_str().unwrap())).await;
    assert_eq!(s, StatusCode::OK);
    let (s, err) = app.post("/api/v1/auth/login", None, json!({ "phone": p, "password": "wrong-password" })).await;
    assert_eq!((s, err["error"]["code"].clone()), (StatusCode::UNAUTHORIZED, json!("unauthorized")));
    let (s, _) = app.post("/api/v1/auth/login", None, json!({ "phone": phone(), "password": "longenough" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "unknown phone: same answer");

    let op = app.operator("值班").await;
    let (_, list) = app.get("/api/v1/admin/operators", Some(&admin)).await;
    assert!(list.as_array().unwrap().iter().any(|o| o["id"] == op.id.as_str()));
    let (_, list) = app.get("/api/v1/admin/mediators", Some(&admin)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, _) = app.get("/api/v1/command/incidents", Some(&op.token)).await;
    assert_eq!(s, StatusCode::OK);
}

async fn a_disabled_mediator_is_locked_out_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("停用", &[]).await;
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&m.token)).await;
    assert_eq!(s, StatusCode::OK);
    let path = format!("/api/v1/admin/mediators/{}", m.id);
    let (s, updated) =
        app.call(Method::PATCH, &path, Some(&app.admin_token()), Some(json!({ "enabled": false }))).await;
    assert_eq!((s, updated["enabled"].clone()), (StatusCode::OK, json!(false)));
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&m.token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the still-unexpired token stops working");
    let (s, _) = app.post("/api/v1/auth/login", None, json!({ "phone": m.phone, "password": "s3cret-pass" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) =
        app.call(Method::PATCH, "/api/v1/admin/mediators/not-an-id", Some(&app.admin_token()), Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn roles_are_enforced_and_tokens_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("甲", &[]).await;
    let op = app.operator("乙").await;
    let cases = [
        ("/api/v1/admin/mediators", Some(m.token.as_str()), StatusCode::FORBIDDEN),
        ("/api/v1/admin/mediators", Some(op.token.as_str()), StatusCode::FORBIDDEN),
        ("/api/v1/admin/mediators", None, StatusCode::UNAUTHORIZED),
        ("/api/v1/command/incidents", Some(m.token.as_str()), StatusCode::FORBIDDEN),
        ("/api/v1/mediator/offers", Some(op.token.as_str()), StatusCode::FORBIDDEN),
        ("/api/v1/mediator/offers", Some("not.a.jwt"), StatusCode::UNAUTHORIZED),
        ("/api/v1/mediator/offers", None, StatusCode::UNAUTHORIZED),
    ];
    for (path, token, want) in cases {
        let (s, body) = app.get(path, token).await;
        assert_eq!(s, want, "{path} with {token:?}: {body}");
        assert!(body["error"]["code"].is_string(), "error body: {body}");
    }
    // A token signed with another key, and one without exp, are refused.
    let other = grid_dispatch::auth::JwtKeys::hmac(
        &secrecy::SecretString::from("x".repeat(40)),
        "grid-dispatch",
        "grid-dispatch",
    );
    let (forged, _) = other
        .issue(
            &m.id,
            grid_dispatch::domain::account::Role::Mediator,
            std::time::Duration::from_secs(60),
            jiff::Timestamp::now(),
        )
        .unwrap();
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&forged)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let no_exp = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": m.id, "role": "mediator", "iat": 1, "iss": "grid-dispatch", "aud": "grid-dispatch" }),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&no_exp)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A mediator token naming an operator's account is refused.
    let (confused, _) = app
        .app()
        .keys()
        .issue(
            &op.id,
            grid_dispatch::domain::account::Role::Mediator,
            std::time::Duration::from_secs(60),
            jiff::Timestamp::now(),
        )
        .unwrap();
    let (s, _) = app.get("/api/v1/mediator/offers", Some(&confused)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Sockets: no token, or a foreign Origin, are refused before the upgrade.
    let url = format!("{}/api/v1/mediator/ws", app.base.replacen("http", "ws", 1));
    let err = tokio_tungstenite::connect_async(url.clone()).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "{url}?access_token={}",
        m.token
    ))
    .unwrap();
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

async fn repeated_failed_logins_lock_a_phone_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("锁定", &[]).await;
    for _ in 0..5 {
        let (s, _) =
            app.post("/api/v1/auth/login", None, json!({ "phone": m.phone, "password": "bad-password" })).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let resp = app
        .http()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "phone": m.phone, "password": "s3cret-pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");
    assert!(resp.headers().get("retry-after").is_some());
}
