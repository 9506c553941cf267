//! Operations endpoints and the OpenAPI document.

use crate::helpers::{Backend, spawn_app};
use crate::on_both_stores;
use reqwest::StatusCode;

on_both_stores!(health_metrics_and_openapi_answer);

async fn health_metrics_and_openapi_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let (s, _) = app.get("/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get("/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    app.report_at(36.6, 101.7).await;
    let resp = app.http().get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert!(resp.headers().get("x-request-id").is_some(), "every response carries a request id");
    let text = resp.text().await.unwrap();
    assert!(text.contains("gd_reports_total"), "{text}");
    assert!(text.contains("gd_http_requests_total"));

    let (s, doc) = app.get("/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/reports",
        "/api/v1/track/{tracking_token}",
        "/api/v1/mediator/ws",
        "/api/v1/mediator/position",
        "/api/v1/mediator/duty",
        "/api/v1/mediator/offers",
        "/api/v1/mediator/incidents",
        "/api/v1/mediator/incidents/{id}/accept",
        "/api/v1/mediator/incidents/{id}/decline",
        "/api/v1/mediator/incidents/{id}/arrive",
        "/api/v1/mediator/incidents/{id}/resolve",
        "/api/v1/command/live",
        "/api/v1/command/mediators",
        "/api/v1/command/incidents",
        "/api/v1/command/incidents/{id}",
        "/api/v1/command/incidents/{id}/assign",
        "/api/v1/admin/mediators",
        "/api/v1/admin/operators",
        "/api/v1/admin/scenes",
        "/api/v1/auth/login",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "openapi.json lacks {p}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("mediator") && schemes.contains_key("operator") && schemes.contains_key("admin"));
}

/// Readiness follows Redis: 503 while it is down, 200 again when it is back, no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_redis_and_writes_fail_with_503_while_it_is_down() {
    let mut app = crate::helpers::spawn_app(Backend::Redis).await;
    let (s, _) = app.get("/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    app.redis.as_mut().unwrap().kill9();
    let (s, err) = app.get("/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{err}");
    let resp = app
        .http()
        .post(format!("{}/api/v1/reports", app.base))
        .json(
            &serde_json::json!({ "location": { "lat": 36.6, "lng": 101.7 }, "category": "other", "description": "x" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "never a false success");
    assert!(resp.headers().get("retry-after").is_some());
    app.redis.as_mut().unwrap().restart();
    crate::helpers::eventually("readiness after Redis returns", || async {
        (app.get("/readyz", None).await.0 == StatusCode::OK).then_some(())
    })
    .await;
}

/// #16.9: readiness tells the truth. A Redis that answers `PING` but refuses writes is not
/// ready: out of memory under `maxmemory` with `noeviction`, a read-only replica, and `MISCONF`
/// after a failed RDB save with `stop-writes-on-bgsave-error yes`. Each makes `/readyz` 503 with
/// Redis's own reason, and readiness returns by itself once Redis takes writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_redis_answers_but_refuses_writes() {
    let app = crate::helpers::spawn_app(Backend::Redis).await;
    let redis = app.redis.as_ref().unwrap();
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let mut run = async |args: &[&str]| {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query_async::<redis::Value>(&mut conn).await.unwrap()
    };
    let refused_with = async |word: &str| {
        crate::helpers::eventually(&format!("readiness to fail with {word}"), || async {
            let (s, body) = app.get("/readyz", None).await;
            (s == StatusCode::SERVICE_UNAVAILABLE).then_some(body)
        })
        .await
    };
    let ready_again = async || {
        crate::helpers::eventually("readiness to return", || async {
            (app.get("/readyz", None).await.0 == StatusCode::OK).then_some(())
        })
        .await;
    };
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);

    let check = |body: serde_json::Value, word: &str| {
        assert_eq!(body["error"]["code"], "store_refuses_writes", "{body}");
        let message = body["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(word), "the reason is Redis's own: {message}");
    };
    run(&["CONFIG", "SET", "maxmemory", "1"]).await;
    check(refused_with("OOM").await, "OOM");
    run(&["CONFIG", "SET", "maxmemory", "0"]).await;
    ready_again().await;

    // A replica of a master that is not there: read-only, though it answers everything else.
    run(&["REPLICAOF", "127.0.0.1", "1"]).await;
    check(refused_with("READONLY").await, "READONLY");
    run(&["REPLICAOF", "NO", "ONE"]).await;
    ready_again().await;

    // An RDB save that fails (its child killed) with stop-writes-on-bgsave-error yes.
    run(&["CONFIG", "SET", "save", "3600 1"]).await;
    run(&["CONFIG", "SET", "rdb-key-save-delay", "100000000"]).await;
    run(&["BGSAVE"]).await;
    let pid = redis.pid();
    let child = crate::helpers::eventually("the RDB child", || async {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        children.split_whitespace().next().map(str::to_owned)
    })
    .await;
    assert!(std::process::Command::new("kill").args(["-9", &child]).status().unwrap().success());
    check(refused_with("MISCONF").await, "MISCONF");
    run(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]).await;
    ready_again().await;
}

/// Every capability (incidents, case files, departments, video, the bus's publishes) shares the
/// instance's one command connection; the bus's subscriber holds the only other, so Redis's
/// `maxclients` counts two per instance, however many capabilities it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_holds_two_redis_connections_for_all_its_capabilities() {
    let app = spawn_app(Backend::Redis).await;
    app.report_at(36.6, 101.7).await;
    let redis = app.redis.as_ref().unwrap();
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let mine: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut conn).await.unwrap();
    let instance: Vec<&str> = list.lines().filter(|l| !l.starts_with(&format!("id={mine} "))).collect();
    assert_eq!(instance.len(), 2, "the instance's connections: {instance:#?}");
    assert_eq!(
        instance.iter().filter(|l| l.contains(" sub=1 ")).count(),
        1,
        "one is the bus's subscriber: {instance:#?}"
    );
}

/// `grid-dispatch demo`: the simulated district fills the command center by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_city_moves_mediators_and_files_reports() {
    use grid_dispatch::demo::{DemoOptions, start};
    let app = crate::helpers::spawn_app(Backend::Memory).await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let options = DemoOptions {
        mediators: 30,
        report_every: std::time::Duration::from_millis(200),
        position_every: std::time::Duration::from_secs(1),
        accept_share: 1.0,
        ..DemoOptions::default()
    };
    let accounts = start(app.app(), options, cancel.clone()).await.expect("demo starts");
    let admin = app.admin_token();
    // Every simulated mediator goes on duty and reports a position within its first period.
    crate::helpers::eventually("30 demo mediators on the map", || async {
        let (_, on_duty) = app.get("/api/v1/command/mediators", Some(&admin)).await;
        (on_duty.as_array().unwrap().len() == 30).then_some(())
    })
    .await;
    crate::helpers::eventually("several demo reports", || async {
        let (_, list) = app.get("/api/v1/command/incidents", Some(&admin)).await;
        (list.as_array().unwrap().len() >= 3).then_some(())
    })
    .await;
    // The printed operator belongs to the demo district, which exists: their screen shows the
    // same mediators and reports, with the district's streets (12-digit codes, Chinese names).
    let (s, login) = app
        .post("/api/v1/auth/login", None, serde_json::json!({ "phone": "13900000000", "password": "demo-operator" }))
        .await;
    assert_eq!(s, StatusCode::OK, "the printed operator login works");
    let operator = login["access_token"].as_str().unwrap().to_owned();
    let (s, me) = app.get("/api/v1/command/me", Some(&operator)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!((me["area"].as_str(), me["area_status"].as_str()), (Some("630103000000"), Some("known")), "{me}");
    assert_eq!(me["area_name"], "城中区");
    let (_, areas) = app.get("/api/v1/command/areas", Some(&operator)).await;
    let features = areas["features"].as_array().unwrap();
    assert!(features.len() >= 5, "{areas}");
    assert!(features.iter().all(|f| f["properties"]["code"].as_str().unwrap().len() == 12), "{areas}");
    let (_, mine) = app.get("/api/v1/command/incidents", Some(&operator)).await;
    assert!(mine.as_array().unwrap().len() >= 3, "the operator sees the reports: {mine}");
    let (_, on_map) = app.get("/api/v1/command/mediators", Some(&operator)).await;
    assert_eq!(on_map.as_array().unwrap().len(), 30, "the operator sees the mediators");
    let (_, roster) = app.get("/api/v1/command/roster", Some(&operator)).await;
    let roster = roster.as_array().unwrap();
    assert_eq!(roster.len(), 31, "30 walkers and the demo mediator");
    assert!(roster.iter().all(|m| m["area"].as_str().is_some_and(|a| a.starts_with("630103") && a.len() == 12)));
    let (s, scene) = app.get(&format!("/api/v1/admin/scenes/{}", accounts.scene), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{scene}");
    let (s, _) = app
        .post("/api/v1/auth/login", None, serde_json::json!({ "phone": "13900000001", "password": "demo-mediator" }))
        .await;
    assert_eq!(s, StatusCode::OK, "the printed mediator login works");
    cancel.cancel();
}

/// The `[map]` base map, when configured, is named to every page (the command center, the
/// phones' pages, the resident's form and tracking page) and allowed by their CSP, with its
/// datum; without one the pages load nothing from outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_base_map_reaches_every_page_and_its_csp() {
    use grid_dispatch::config::MapSource;
    use grid_dispatch::domain::location::CoordSystem;
    const PAGES: [&str; 4] = ["/", "/m", "/r/nope", "/t/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"];
    let plain = crate::helpers::spawn_app(Backend::Memory).await;
    for page in PAGES {
        let resp = plain.http().get(format!("{}{page}", plain.base)).send().await.unwrap();
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("img-src 'self' data: blob:;"), "{page}: {csp}");
        assert!(!resp.text().await.unwrap().contains("gd-map"), "{page}");
    }

    // An AMap/Tencent-style source in GCJ-02: the pages are told to shift markers onto it.
    let app = crate::helpers::spawn_app_with(Backend::Memory, |s| {
        s.map.source = MapSource::Custom;
        s.map.tile_url = "https://t{s}.tiles.example.gov.cn/{z}/{x}/{y}.png".into();
        s.map.datum = CoordSystem::Gcj02;
        s.map.attribution = "© 某图 审图号：GS(2026)0001号".into();
    })
    .await;
    for page in PAGES {
        let resp = app.http().get(format!("{}{page}", app.base)).send().await.unwrap();
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("img-src 'self' https://*.tiles.example.gov.cn"), "{page}: {csp}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(r#"data-tiles="https://t{s}.tiles.example.gov.cn/{z}/{x}/{y}.png""#), "{page}");
        assert!(html.contains(r#"data-datum="gcj02""#) && html.contains("审图号：GS(2026)0001号"), "{page}");
    }

    // 天地图: its vector tiles and labels with the key, in WGS-84 (CGCS2000).
    let mut tianditu = crate::helpers::test_settings();
    tianditu.map.source = MapSource::Tianditu;
    assert!(tianditu.validate().unwrap_err().to_string().contains("map.tianditu_key"), "a key is required");
    tianditu.map.tianditu_key = "0123abcd".into();
    tianditu.validate().unwrap();
    let base = tianditu.map.base_map().unwrap();
    assert_eq!(base.layers.len(), 2);
    assert!(base.layers[0].contains("vec_w") && base.layers[1].contains("cva_w"), "{base:?}");
    assert!(base.layers.iter().all(|l| l.ends_with("tk=0123abcd") && l.starts_with("https://t{s}.tianditu.gov.cn/")));
    assert_eq!((base.datum, base.subdomains.as_str()), (CoordSystem::Wgs84, "01234567"));

    let mut bad = crate::helpers::test_settings();
    bad.map.source = MapSource::Custom;
    bad.map.tile_url = "javascript:alert(1)".into();
    assert!(bad.validate().unwrap_err().to_string().contains("map.tile_url"));
    bad.map.tile_url = "https://tiles.example/{z}/{x}/{y}.png".into();
    bad.map.label_url = "https://tiles.example/labels.png".into();
    assert!(bad.validate().unwrap_err().to_string().contains("map.label_url"));
    let mut old = crate::helpers::test_settings();
    old.pages = Some([("tile_url".to_owned(), serde_json::json!("https://tiles.example/{z}/{x}/{y}.png"))].into());
    assert!(old.validate().unwrap_err().to_string().contains("moved to [map]"), "the old keys are refused");
}
