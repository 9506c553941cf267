//! Names people give (mediators, operators, scenes, areas) are plain text: markup and control
//! characters are refused at the API with 422 `invalid_field`, and nothing is stored.

use crate::helpers::{Backend, TestApp, phone, spawn_app};
use crate::on_both_stores;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_stores!(names_with_markup_or_control_characters_are_refused_and_nothing_is_stored);

/// Names a page must never read as markup, or that hide or reorder what a screen shows.
const HOSTILE: &[&str] = &[
    "<meta http-equiv=refresh content=\"0;url=https://evil.example/\">",
    "<img src=x onerror=alert(1)>王调解",
    "王调解</span><b>",
    "王>李",
    "王调解\n李调解",
    "王\u{0}调解",
    "王\u{1b}[2J调解",
    "\u{202E}解调王",
];

fn square() -> Value {
    let (w, s, e, n) = (101.70, 36.60, 101.80, 36.70);
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

fn bodies(name: &str) -> [(&'static str, Value); 4] {
    [
        ("mediators", json!({ "name": name, "phone": phone(), "password": "s3cret-pass" })),
        ("operators", json!({ "name": name, "phone": phone(), "password": "s3cret-pass" })),
        ("scenes", json!({ "name": name, "location": { "lat": 36.62, "lng": 101.78 } })),
        ("areas", json!({ "code": "D", "name": name, "level": "district", "geometry": square() })),
    ]
}

async fn names_listed(app: &TestApp, kind: &str) -> Vec<String> {
    let (status, list) = app.get(&format!("/api/v1/admin/{kind}"), Some(&app.admin_token())).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().expect("a list").iter().map(|v| v["name"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn names_with_markup_or_control_characters_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token();
    let kept = app.mediator("王调解", &[]).await;

    for name in HOSTILE {
        for (kind, body) in bodies(name) {
            let (status, err) = app.post(&format!("/api/v1/admin/{kind}"), Some(&admin), body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{kind} {name:?}: {err}");
            assert_eq!(err["error"]["code"], "invalid_field", "{kind} {name:?}: {err}");
            assert!(err["error"]["message"].as_str().is_some_and(|m| m.starts_with("name:")), "{err}");
        }
        let path = format!("/api/v1/admin/mediators/{}", kept.id);
        let (status, err) = app.call(Method::PATCH, &path, Some(&admin), Some(json!({ "name": name }))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
    }

    assert_eq!(names_listed(&app, "mediators").await, ["王调解"], "the refused rename changed nothing");
    for kind in ["operators", "scenes", "areas"] {
        assert!(names_listed(&app, kind).await.is_empty(), "{kind}: nothing refused was stored");
    }
    // Ampersands, quotes and full-width brackets are ordinary text in a name.
    let fine = "南关街道“幸福”小区 & 3号楼＜东＞";
    for (kind, body) in bodies(fine) {
        let (status, created) = app.post(&format!("/api/v1/admin/{kind}"), Some(&admin), body).await;
        assert_eq!((status, created["name"].as_str()), (StatusCode::CREATED, Some(fine)), "{kind}: {created}");
    }
}
