//! The command center under an operator's hand (issue 17): the demo link, clicks on a changing
//! queue, the connection-lost overlay, thousands of mediators clustered with the frame time
//! measured. Part of `tests/browser.rs` (`mod command_screen`).

use super::helpers::{self, Backend, TestApp, spawn_app, spawn_app_with};
use super::{LAT, LNG, run_scenario};
use grid_dispatch::domain::account::{Account, Fix};
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::domain::location::GeoPoint;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// An operator account whose stored area is `area` (as data from before areas were checked).
async fn operator_in(app: &TestApp, name: &str, area: &str) -> helpers::Staff {
    let staff = app.operator(name).await;
    let store = app.app().ports().directory.clone();
    let id = AccountId::parse(&staff.id).expect("id");
    let mut account = store.get_account(&id).await.expect("store").expect("account");
    let version = account.version;
    account.area = Some(area.into());
    account.version += 1;
    assert!(store.update_account(&account, version).await.expect("store"));
    app.app().dispatcher().account_changed(&account).await;
    staff
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_link_shows_the_live_district_within_five_seconds_and_an_unknown_area_is_said() {
    use grid_dispatch::demo::{DemoOptions, start};
    let app = spawn_app(Backend::Memory).await;
    let cancel = CancellationToken::new();
    let options = DemoOptions {
        mediators: 80,
        report_every: Duration::from_millis(300),
        position_every: Duration::from_secs(2),
        ..DemoOptions::default()
    };
    start(app.app(), options, cancel.clone()).await.expect("demo starts");
    // The printed link: the demo operator's own login.
    let (_, login) =
        app.post("/api/v1/auth/login", None, json!({ "phone": "13900000000", "password": "demo-operator" })).await;
    let token = login["access_token"].as_str().expect("demo operator token").to_owned();
    let lost = operator_in(&app, "旧账号值班员", "城中区").await;
    helpers::eventually("a few demo reports", || async {
        let (_, list) = app.get("/api/v1/command/incidents", Some(&token)).await;
        (list.as_array().is_some_and(|l| l.len() >= 3)).then_some(())
    })
    .await;

    let out = run_scenario("demo_link.mjs", &[&app.base, &token, &lost.token]).await;
    cancel.cancel();

    assert!(out.contains("ok: the demo link shows"), "{out}");
    assert!(out.contains("ok: an unknown area is said"), "{out}");
    assert!(out.contains("ok: demo-link"), "{out}");
}

/// Mediators near the report site on duty, moving every `every` until `cancel`.
fn keep_moving(app: &TestApp, ids: Vec<AccountId>, every: Duration, cancel: CancellationToken) {
    let d = app.app().dispatcher().clone();
    tokio::spawn(async move {
        for step in 0u32.. {
            for (k, id) in ids.iter().enumerate() {
                let wobble = f64::from((step + k as u32) % 20) * 0.0001;
                let point = GeoPoint::new(LAT + 0.01 + wobble, LNG + (k % 100) as f64 * 0.0003).expect("a place");
                d.record_position_in_background(id, Fix { point, at: jiff::Timestamp::now(), accuracy_m: None })
                    .expect("a fresh position is taken");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    });
}

/// `n` mediator accounts straight into the store (thousands of password hashes through the
/// admin API would test argon2), on duty with a position, through the phones' own calls.
async fn mediators_on_duty(app: &TestApp, n: usize, place: impl Fn(usize) -> GeoPoint) -> Vec<AccountId> {
    let d = app.app().dispatcher().clone();
    let now = jiff::Timestamp::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let account: Account = serde_json::from_value(json!({
            "id": AccountId::generate(), "role": "mediator", "name": format!("调解员{i}"), "phone": format!("136{i:08}"),
            "password_hash": "-", "enabled": true, "created_at": now,
        }))
        .expect("an account");
        assert!(app.app().ports().directory.insert_account(&account).await.expect("store"));
        d.set_duty(&account.id, true).await.expect("on duty");
        d.record_position(&account.id, Fix { point: place(i), at: jiff::Timestamp::now(), accuracy_m: None })
            .await
            .expect("a position");
        ids.push(account.id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_of_twenty_slow_clicks_land_on_a_changing_queue() {
    let app = spawn_app_with(Backend::Memory, |s| s.report_limits.per_ip = 0).await;
    let operator = app.operator("值班员").await;
    // Twelve escalated reports far from anyone (nobody in range: they escalate at once).
    let far = |k: usize| {
        json!({ "location": { "lat": LAT - 0.2, "lng": LNG + k as f64 * 0.001, "coord": "wgs84" },
        "category": "neighbor", "description": format!("无人接单的纠纷 {k}"), "risk": "yellow" })
    };
    let mut escalated = vec![];
    for k in 0..12 {
        let (_, r) = app.post("/api/v1/reports", None, far(k)).await;
        escalated.push(r["id"].as_str().expect("id").to_owned());
    }
    // While the clicks go on: 60 mediators stream positions, reports keep arriving near them,
    // and the escalated items change (supervision notes).
    let cancel = CancellationToken::new();
    let movers =
        mediators_on_duty(&app, 60, |k| GeoPoint::new(LAT + 0.01, LNG + k as f64 * 0.0003).expect("a place")).await;
    keep_moving(&app, movers, Duration::from_millis(100), cancel.clone());
    let (base, token, stop) = (app.base.clone(), operator.token.clone(), cancel.clone());
    let http = app.http().clone();
    tokio::spawn(async move {
        for k in 0usize.. {
            let near = json!({ "location": { "lat": LAT + 0.01, "lng": LNG, "coord": "wgs84" },
                "category": "property", "description": format!("新上报 {k}"), "risk": "blue" });
            let _ = http.post(format!("{base}/api/v1/reports")).json(&near).send().await;
            let id = &escalated[k % escalated.len()];
            let note = json!({ "note": format!("第 {k} 次督办") });
            let _ = http
                .post(format!("{base}/api/v1/command/incidents/{id}/supervise"))
                .bearer_auth(&token)
                .json(&note)
                .send()
                .await;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(400)) => {}
            }
        }
    });

    let out = run_scenario("queue_clicks.mjs", &[&app.base, &operator.token]).await;
    cancel.cancel();

    assert!(out.contains("ok: 20 of 20 clicks landed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_covers_the_screen_stops_countdowns_and_greys_counters_until_it_is_back() {
    let app = spawn_app(Backend::Memory).await;
    let operator = app.operator("值班员").await;

    let out = run_scenario("connection_lost.mjs", &[&app.base, &operator.token]).await;

    assert!(out.contains("ok: connection lost: the overlay covers the page"), "{out}");
    assert!(out.contains("ok: back online"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_moving_mediators_cluster_when_zoomed_out_within_the_frame_budget() {
    const MEDIATORS: usize = 5_000;
    let app = spawn_app(Backend::Memory).await;
    let operator = app.operator("值班员").await;
    // A county-sized spread: 100 × 50 points 150 m apart around the report site.
    let place = |i: usize| {
        GeoPoint::new(LAT - 0.035 + (i / 100) as f64 * 0.0014, LNG - 0.08 + (i % 100) as f64 * 0.0017).expect("a place")
    };
    let ids = mediators_on_duty(&app, MEDIATORS, place).await;
    // Everyone moves every two seconds (2,500 positions a second).
    let cancel = CancellationToken::new();
    let d = app.app().dispatcher().clone();
    let stop = cancel.clone();
    tokio::spawn(async move {
        for step in 0u32.. {
            for (i, id) in ids.iter().enumerate() {
                let p = place(i);
                let wobble = f64::from((step + i as u32) % 7) * 0.00005;
                let point = GeoPoint::new(p.lat() + wobble, p.lng() - wobble).expect("a place");
                d.record_position_in_background(id, Fix { point, at: jiff::Timestamp::now(), accuracy_m: None })
                    .expect("a fresh position is taken");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    });

    let out = run_scenario("clusters.mjs", &[&app.base, &operator.token, &MEDIATORS.to_string()]).await;
    cancel.cancel();

    assert!(out.contains("ok: zoomed out"), "{out}");
    assert!(out.contains("ok: a click on a cluster zooms in"), "{out}");
    assert!(out.contains("ok: frame-time p95="), "{out}");
}
