//! Property tests of every parser that takes outside bytes, through the real server: report
//! bodies, mediator socket messages, query strings and ids. Whatever arrives, the answer is a
//! 2xx or a 4xx with the error body, never a 5xx or a dropped connection, and nothing is
//! stored unless the answer was 201.

use crate::helpers::{Backend, TestApp, spawn_app};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// JSON values biased towards what the report body looks like, with hostile leaves.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(91.0), Just(-180.5), Just(1e300), Just(-0.0), Just(36.6), Just(101.7)].prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        prop_oneof![Just("neighbor"), Just("wgs84"), Just("gcj02"), Just("red"), Just("{gd}:inc:x"), Just("\u{0}")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("location".to_owned()),
                    Just("lat".to_owned()),
                    Just("lng".to_owned()),
                    Just("coord".to_owned()),
                    Just("category".to_owned()),
                    Just("description".to_owned()),
                    Just("phone".to_owned()),
                    Just("scene".to_owned()),
                    Just("risk".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

async fn incident_count(app: &TestApp, admin: &str) -> usize {
    let (_, all) = app.get("/api/v1/command/incidents?from=2000-01-01T00:00:00Z", Some(admin)).await;
    all.as_array().map_or(0, Vec::len)
}

#[test]
fn no_report_body_gets_a_5xx_and_only_201s_are_stored() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(spawn_app(Backend::Memory));
    let admin = app.admin_token();
    let url = format!("{}/api/v1/reports", app.base);
    let created = std::cell::Cell::new(0);
    let check = |bytes: Vec<u8>| -> Result<(), TestCaseError> {
        let (status, body) = rt.block_on(async {
            let resp = app
                .http()
                .post(&url)
                .header("content-type", "application/json")
                .body(bytes.clone())
                .send()
                .await
                .expect("answered");
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        });
        prop_assert!(
            status == StatusCode::CREATED || status.is_client_error(),
            "{status} for {:?}",
            String::from_utf8_lossy(&bytes)
        );
        if status == StatusCode::CREATED {
            created.set(created.get() + 1);
        } else {
            prop_assert!(body["error"]["code"].is_string(), "error body for {status}: {body}");
        }
        let stored = rt.block_on(incident_count(&app, &admin));
        prop_assert_eq!(stored, created.get(), "only 201s are stored");
        Ok(())
    };
    runner(200).run(&json_value(), |v| check(serde_json::to_vec(&v).unwrap())).unwrap();
    runner(100).run(&prop::collection::vec(any::<u8>(), 0..300), check).unwrap();
    // A valid body with one field replaced by a hostile value.
    let base = json!({ "location": { "lat": 36.6, "lng": 101.7 }, "category": "neighbor", "description": "噪音" });
    let fields = prop_oneof![
        Just("location"),
        Just("category"),
        Just("description"),
        Just("phone"),
        Just("risk"),
        Just("scene")
    ];
    runner(150)
        .run(&(fields, json_value()), |(field, value)| {
            let mut body = base.clone();
            body[field] = value;
            check(serde_json::to_vec(&body).unwrap())
        })
        .unwrap();
}

#[test]
fn socket_messages_and_query_strings_never_break_the_server() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = rt.block_on(spawn_app(Backend::Memory));
    let m = rt.block_on(app.mediator("模糊", &[]));
    let op = rt.block_on(app.operator("模糊"));
    let ws = std::cell::RefCell::new(rt.block_on(app.socket("/api/v1/mediator/ws", &m.token)));
    rt.block_on(ws.borrow_mut().wait_for("duty", |_| true));
    runner(200)
        .run(&json_value(), |v| {
            let mut ws = ws.borrow_mut();
            rt.block_on(async {
                ws.send_json(&v).await;
                // Anything but a valid duty/position message gets an `error` reply; the socket lives.
                ws.send_json(&json!({ "type": "duty", "on": true })).await;
                ws.wait_for("duty", |d| d["on"] == true).await;
            });
            Ok(())
        })
        .unwrap();
    let query = prop::collection::vec(("[a-z_]{1,8}", "\\PC{0,12}"), 0..4);
    runner(200)
        .run(&query, |pairs| {
            let qs: String = pairs.iter().map(|(k, v)| format!("{k}={}&", urlencode(v))).collect();
            for path in ["/api/v1/command/incidents", "/api/v1/command/mediators", "/api/v1/command/stats"] {
                let (status, _) = rt.block_on(app.get(&format!("{path}?{qs}"), Some(&op.token)));
                prop_assert!(
                    status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{status} for {path}?{qs}"
                );
            }
            Ok(())
        })
        .unwrap();
    runner(200)
        .run(&"\\PC{0,80}", |id| {
            let path = format!("/api/v1/command/incidents/{}", urlencode(&id));
            let (status, _) = rt.block_on(app.get(&path, Some(&op.token)));
            prop_assert!(status == StatusCode::NOT_FOUND, "{status} for {path}");
            let (status, _) = rt.block_on(app.get(&format!("/api/v1/track/{}", urlencode(&id)), None));
            prop_assert!(status == StatusCode::NOT_FOUND, "{status} for a random tracking token");
            Ok(())
        })
        .unwrap();
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
