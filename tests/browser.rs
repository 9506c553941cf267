//! Browser tests: the real service in-process on 127.0.0.1:0 (the `tests/api` harness), driven
//! through Debian's headless Chromium by the playwright-core scripts in `tests/browser/`, one per
//! scenario. Each saves screenshots under `tests/artifacts/` (no pixel comparisons).
//!
//! Needs `/usr/bin/chromium`, `fonts-noto-cjk` and `tests/browser/node_modules`
//! (`./scripts/test.sh` installs all three). A missing prerequisite fails the test; it is never
//! skipped.

#[path = "support/redis_server.rs"]
mod redis_server;

#[allow(dead_code, unused_macros, reason = "the browser tests use a subset of the API harness")]
#[path = "api/helpers.rs"]
mod helpers;

#[path = "browser/casefile_due.rs"]
mod casefile_due;

#[path = "browser/casefile_links.rs"]
mod casefile_links;

#[path = "browser/command_screen.rs"]
mod command_screen;

#[path = "browser/departments.rs"]
mod departments;

#[path = "support/turn_server.rs"]
mod turn_server;

#[path = "browser/video.rs"]
mod video;

use helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A report site in Xining (西宁市城中区).
const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;
/// A scenario's own waits are ≤ 20 s each; this bounds the whole script.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

/// One Chromium at a time: the machines have two cores.
static ONE_BROWSER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("GD_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Run `tests/browser/<script>` with `args`; panic with its output unless it exits 0.
async fn run_scenario(script: &str, args: &[&str]) -> String {
    let root = root();
    let modules = root.join("tests/browser/node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "{} is missing: run `npm ci --prefix tests/browser` (scripts/test.sh does)",
        modules.display()
    );
    let browser = chromium();
    assert!(
        browser.is_file(),
        "{} is missing: `apt-get install chromium fonts-noto-cjk` (scripts/test.sh does)",
        browser.display()
    );
    let artifacts = root.join("tests/artifacts");
    std::fs::create_dir_all(&artifacts).expect("tests/artifacts is writable");

    let _one = ONE_BROWSER_AT_A_TIME.lock().await;
    let run = tokio::process::Command::new("node")
        .arg(Path::new("tests/browser").join(script))
        .args(args)
        .current_dir(&root)
        .env("GD_ARTIFACTS", &artifacts)
        .env("GD_CHROMIUM", &browser)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SCENARIO_LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {SCENARIO_LIMIT:?}"))
        .expect("node runs (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout
}

async fn create_scene(app: &TestApp, name: &str) -> String {
    let body = json!({ "name": name, "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" } });
    let (status, scene) = app.post("/api/v1/admin/scenes", Some(&app.admin_token()), body).await;
    assert_eq!(status, StatusCode::CREATED, "{scene}");
    scene["id"].as_str().expect("scene id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_a_mediator_appear_and_move_on_the_big_screen() {
    let app = spawn_app(Backend::Memory).await;
    let operator = app.operator("值班员").await;
    let mediator = app.mediator("王调解", &[]).await;
    let (lat, lng) = (LAT.to_string(), LNG.to_string());

    let out = run_scenario(
        "command_center_live.mjs",
        &[&app.base, &operator.token, &mediator.id, &mediator.token, &lat, &lng],
    )
    .await;

    assert!(out.contains("ok: the marker appeared"), "{out}");
    assert!(out.contains("ok: the marker moved"), "{out}");
    assert!(out.contains("ok: the red report flashes first"), "{out}");
    assert!(out.contains("ok: the timeline is translated"), "{out}");
    assert!(out.contains("ok: command-center-live"), "{out}");
}

/// Issue #16: an account disabled while its page is open is at the sign-in within 3 s, told why
/// (4403 closes its socket; the page does not retry first), on the phone and the wall screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_is_sent_to_the_sign_in_at_once_with_the_reason() {
    let app = spawn_app(Backend::Memory).await;
    let mediator = app.mediator("王调解", &[]).await;
    let operator = app.operator("值班员").await;
    let admin = app.admin_token();

    let out = run_scenario(
        "revoked_sockets.mjs",
        &[&app.base, &admin, &mediator.id, &mediator.token, &operator.id, &operator.token],
    )
    .await;

    assert!(out.contains("ok: the mediator's phone signs out"), "{out}");
    assert!(out.contains("ok: the command center signs out"), "{out}");
    assert!(out.contains("ok: revoked-sockets"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_files_a_mediator_accepts_and_the_tracking_page_follows_without_reload() {
    let app = spawn_app(Backend::Memory).await;
    let scene_name = "幸福小区3号楼";
    let scene = create_scene(&app, scene_name).await;
    let mediator = app.mediator("王调解", &["neighbor"]).await;
    let operator = app.operator("值班员").await;
    let (lat, lng) = (LAT.to_string(), LNG.to_string());

    let out = run_scenario(
        "resident_to_claim.mjs",
        &[&app.base, &scene, scene_name, &mediator.phone, "s3cret-pass", "王调解", &lat, &lng, &operator.token],
    )
    .await;

    assert!(out.contains("ok: resident-to-claim"), "{out}");
    assert!(out.contains("ok: the resident rated it"), "{out}");
    assert!(out.contains("ok: the command center panel shows the rating"), "{out}");
    let (_, filed) = app.get("/api/v1/command/incidents", Some(&app.admin_token())).await;
    let filed = filed.as_array().expect("a list");
    assert_eq!(filed.len(), 1, "a double tap files once: {filed:?}");
    assert_eq!(filed[0]["scene_id"], scene.as_str());
    assert_eq!(filed[0]["status"], "resolved");
    assert_eq!(filed[0]["claimed_by"], mediator.id.as_str());
    assert_eq!(filed[0]["feedback"]["rating"], 4, "{filed:?}");
    assert_eq!(filed[0]["feedback"]["resolved"], true, "{filed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_appears_in_the_operator_queue_and_is_assigned_from_the_panel() {
    let app = spawn_app_with(Backend::Memory, |s| s.dispatch.escalate_after = Duration::from_secs(3)).await;
    let operator = app.operator("值班员").await;
    let mediator = app.mediator("李调解", &[]).await;
    app.on_duty_at(&mediator, LAT + 0.003, LNG).await;
    let (lat, lng) = (LAT.to_string(), LNG.to_string());

    let out = run_scenario("escalation_queue.mjs", &[&app.base, &operator.token, "李调解", &lat, &lng]).await;

    assert!(out.contains("ok: the escalated report is in the queue"), "{out}");
    let (_, list) = app.get("/api/v1/command/incidents", Some(&operator.token)).await;
    assert_eq!(list[0]["status"], "claimed", "{list}");
    assert_eq!(list[0]["claimed_by"], mediator.id.as_str());
    assert!(list[0]["escalated_at"].is_string(), "{list}");
}

/// A district around the report site: two streets side by side, each split into a southern and
/// a northern community, and three grids in the first community (made here, WGS-84 rectangles).
const WEST: f64 = 101.74;
const SOUTH: f64 = 36.60;

fn rect(w: f64, s: f64, e: f64, n: f64) -> serde_json::Value {
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

async fn upload_area(
    app: &TestApp,
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    geometry: serde_json::Value,
) {
    let body = json!({ "code": code, "name": name, "level": level, "parent": parent, "geometry": geometry });
    let (status, created) = app.post("/api/v1/admin/areas", Some(&app.admin_token()), body).await;
    assert_eq!(status, StatusCode::CREATED, "{code}: {created}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_operator_drills_into_a_street_and_moves_an_incident_on_the_ladder() {
    let app = spawn_app_with(Backend::Memory, |s| s.report_limits.per_ip = 0).await;
    upload_area(&app, "D", "城中区", "district", None, rect(WEST, SOUTH, WEST + 0.08, SOUTH + 0.04)).await;
    let streets = [
        ("S1", "南关街道", WEST, ["南滩社区", "南关社区"]),
        ("S2", "人民街街道", WEST + 0.04, ["水井巷社区", "人民街社区"]),
    ];
    for (code, name, w, communities) in streets {
        upload_area(&app, code, name, "street", Some("D"), rect(w, SOUTH, w + 0.04, SOUTH + 0.04)).await;
        for (k, community) in communities.iter().enumerate() {
            let south = SOUTH + 0.02 * k as f64;
            let c = format!("{code}-C{}", k + 1);
            upload_area(&app, &c, community, "community", Some(code), rect(w, south, w + 0.04, south + 0.02)).await;
        }
    }
    for (g, name) in ["南滩第一网格", "南滩第二网格", "南滩第三网格"].iter().enumerate() {
        let gw = WEST + 0.04 / 3.0 * g as f64;
        upload_area(
            &app,
            &format!("S1-C1-G{g}"),
            name,
            "grid",
            Some("S1-C1"),
            rect(gw, SOUTH, gw + 0.04 / 3.0, SOUTH + 0.02),
        )
        .await;
    }

    let phone = helpers::phone();
    let body = json!({ "name": "区指挥中心值班员", "phone": phone, "password": "s3cret-pass", "area": "D" });
    let (status, created) = app.post("/api/v1/admin/operators", Some(&app.admin_token()), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, login) = app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": "s3cret-pass" })).await;
    let token = login["access_token"].as_str().expect("operator token").to_owned();

    let setup = json!({
        "features": 10,
        "D": { "name": "城中区" },
        // A point in street 1 away from every report, to click on.
        "S1": { "name": "南关街道", "lat": SOUTH + 0.025, "lng": WEST + 0.03 },
        "S2": { "name": "人民街街道" },
        "S1-C1": { "name": "南滩社区" },
        "S2-C2": { "name": "人民街社区" },
        // The first report lies in the first grid of 南滩社区: its most specific area before the transfer.
        "from": "南滩第一网格",
        "reports": [[SOUTH + 0.007, WEST + 0.008], [SOUTH + 0.032, WEST + 0.012], [SOUTH + 0.01, WEST + 0.06]],
    });
    let out = run_scenario("areas_ladder.mjs", &[&app.base, &token, &setup.to_string()]).await;

    assert!(out.contains("ok: areas-ladder"), "{out}");
    assert!(out.contains("ok: drilled into 南关街道"), "{out}");
    let (_, list) = app.get("/api/v1/command/incidents", Some(&token)).await;
    let moved =
        list.as_array().expect("a list").iter().find(|i| i["area"]["community"] == "S2-C2").expect("transferred");
    assert_eq!(moved["ladder"], "district", "{moved}");
    assert_eq!(moved["area"], json!({ "district": "D", "street": "S2", "community": "S2-C2" }));
}

/// Strings a page must show as text: markup that would navigate (a meta refresh) or run script
/// (an inline handler, refused by the CSP and so reported as a page error) if read as HTML.
fn hostile(label: &str) -> String {
    format!(
        "{label}<meta http-equiv=\"refresh\" content=\"0;url=/evil-{label}\"><img src=x onerror=\"location='/evil-img'\">"
    )
}

/// Give an account a name the API refuses, straight in the store (as data written before the
/// rule, or by another tool, would be); every instance forgets the old one.
async fn rename_in_store(app: &TestApp, id: &str, name: &str) {
    use grid_dispatch::domain::ids::AccountId;
    let dispatcher = app.app().dispatcher();
    let id = AccountId::parse(id).expect("account id");
    let mut account = app.app().ports().directory.get_account(&id).await.expect("store").expect("account");
    let version = account.version;
    account.name = name.to_owned();
    account.version += 1;
    assert!(app.app().ports().directory.update_account(&account, version).await.expect("store"), "renamed");
    dispatcher.account_changed(&account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_and_texts_show_as_text_and_never_navigate_a_page() {
    use grid_dispatch::dispatch::NewArea;
    use grid_dispatch::domain::area::AreaLevel;
    use grid_dispatch::domain::location::{CoordSystem, GeoPoint};
    use grid_dispatch::domain::{ids::SceneId, scene::Scene};
    let app = spawn_app(Backend::Memory).await;
    // Names the API refuses, placed where older data or another tool could have put them.
    let (district, street, scene_name, mediator_name) =
        (hostile("district"), hostile("street"), hostile("scene"), hostile("mediator"));
    for (code, name, level, parent, (w, s, e, n)) in [
        ("D", &district, AreaLevel::District, None, (WEST, SOUTH, WEST + 0.08, SOUTH + 0.04)),
        ("S1", &street, AreaLevel::Street, Some("D"), (WEST, SOUTH, WEST + 0.08, SOUTH + 0.04)),
    ] {
        let area = NewArea {
            code: code.into(),
            name: name.clone(),
            level,
            parent: parent.map(Into::into),
            geometry: json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] }),
            coord: CoordSystem::Wgs84,
        };
        app.app().areas().put(area).await.expect("area stored");
    }
    let scene = Scene {
        id: SceneId::generate(),
        name: scene_name.clone(),
        location: GeoPoint::new(LAT, LNG).expect("a place"),
        grid: None,
        created_at: jiff::Timestamp::now(),
    };
    app.app().ports().directory.insert_scene(&scene).await.expect("scene stored");
    let mediator = app.mediator("王调解", &[]).await;
    rename_in_store(&app, &mediator.id, &mediator_name).await;
    app.on_duty_at(&mediator, LAT + 0.003, LNG).await;
    let operator = app.operator("值班员").await;

    let setup = json!({
        "scene": { "id": scene.id.to_string(), "name": scene_name },
        "district": district,
        "street": street,
        "mediator": { "id": mediator.id, "token": mediator.token, "name": mediator_name },
        "operator": operator.token,
        // Free text the API accepts as it is: it may hold `<`.
        "description": hostile("description"),
        "note": hostile("note"),
        "comment": hostile("comment"),
    });
    let out = run_scenario("names_are_text.mjs", &[&app.base, &setup.to_string()]).await;

    for page in ["resident form", "mediator offer", "command center", "tracking page", "mediator job", "incident panel"]
    {
        assert!(out.contains(&format!("ok: literal text on the {page}")), "{page}: {out}");
    }
    assert!(out.contains("ok: names-are-text"), "{out}");
}

fn feature(
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    geometry: serde_json::Value,
) -> serde_json::Value {
    json!({ "type": "Feature", "properties": { "code": code, "name": name, "level": level, "parent": parent }, "geometry": geometry })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_a_district_from_the_console() {
    let app = spawn_app(Backend::Memory).await;
    let areas = json!({ "type": "FeatureCollection", "features": [
        feature("S1", "南关街道", "street", Some("D"), rect(WEST, SOUTH, WEST + 0.04, SOUTH + 0.04)),
        feature("S-BAD", "重叠街道", "street", Some("D"), rect(WEST + 0.03, SOUTH, WEST + 0.06, SOUTH + 0.04)),
        feature("D", "城中区", "district", None, rect(WEST, SOUTH, WEST + 0.08, SOUTH + 0.04)),
        feature("S2", "人民街街道", "street", Some("D"), rect(WEST + 0.04, SOUTH, WEST + 0.08, SOUTH + 0.04)),
    ]});
    let first_phone = 13_600_000_000_u64 + u64::from(std::process::id() % 9_000) * 1_000;
    let new_phone = helpers::phone();
    let setup = json!({ "areas": areas, "first_phone": first_phone, "new_phone": new_phone, "click": [LAT, LNG] });

    let out = run_scenario("admin_console.mjs", &[&app.base, &app.admin_token(), &setup.to_string()]).await;

    assert!(out.contains("ok: admin-console"), "{out}");
    let admin = app.admin_token();
    let (_, created) = app.get(&format!("/api/v1/admin/mediators?q={new_phone}"), Some(&admin)).await;
    assert_eq!(created[0]["name"], "陈新调解", "{created}");
    assert_eq!((created[0]["specialties"].clone(), created[0]["capacity"].clone()), (json!(["family"]), json!(4)));
    let (status, login) =
        app.post("/api/v1/auth/login", None, json!({ "phone": new_phone, "password": "wrong-password" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{login}");
    let (_, mediators) = app.get("/api/v1/admin/mediators", Some(&admin)).await;
    assert_eq!(mediators.as_array().map(Vec::len), Some(198), "1 by hand + 197 imported, nothing of the strict file");
    let (_, scenes) = app.get("/api/v1/admin/scenes", Some(&admin)).await;
    let scenes = scenes.as_array().expect("scenes");
    assert_eq!(scenes.len(), 2);
    let typed = scenes.iter().find(|s| s["name"] == "南关街道办事处门口").expect("typed scene");
    let (lat, lng) = (typed["location"]["lat"].as_f64().expect("lat"), typed["location"]["lng"].as_f64().expect("lng"));
    let shift_m = ((lat - (LAT + 0.003)) * 111_000.0).hypot((lng - (LNG + 0.005)) * 89_000.0);
    assert!(shift_m > 100.0, "GCJ-02 was converted to WGS-84 (moved {shift_m:.0} m): {typed}");
    let (_, areas) = app.get("/api/v1/admin/areas", Some(&admin)).await;
    assert_eq!(areas.as_array().map(Vec::len), Some(3), "{areas}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_on_a_half_dead_link_sees_the_red_bar_gets_the_missed_offer_and_a_risk_change() {
    let app = spawn_app(Backend::Memory).await;
    let scene_name = "幸福小区3号楼";
    let scene = create_scene(&app, scene_name).await;
    let mediator = app.mediator("王调解", &[]).await;
    let operator = app.operator("值班员").await;
    let (lat, lng) = (LAT.to_string(), LNG.to_string());

    let out = run_scenario(
        "phone_half_dead_link.mjs",
        &[&app.base, &mediator.phone, "s3cret-pass", &lat, &lng, &scene, scene_name, &operator.token],
    )
    .await;

    for line in [
        "ok: the red bar shows",
        "ok: the missed offer appeared",
        "ok: the offer rang",
        "ok: the offer names its place",
        "ok: the job navigates with AMap, Tencent and Baidu web links",
        "ok: the holder sees red and the new arrival deadline",
        "ok: phone-half-dead-link",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
}

/// A local SMS gateway for the browser tests: answers 200 and keeps the texts.
async fn sms_gateway() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let texts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = texts.clone();
    let router = axum::Router::new().route(
        "/send",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let kept = kept.clone();
            async move { kept.lock().expect("lock").push(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/send"), texts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_without_a_valid_scene_or_location_files_by_pin_and_by_typed_place_and_sees_the_centers_phone() {
    let (gateway, texts) = sms_gateway().await;
    let center_phone = "0971-8123456";
    let app = spawn_app_with(Backend::Memory, |s| {
        s.resident.center_phone = center_phone.into();
        s.resident.home_lat = LAT;
        s.resident.home_lng = LNG;
        s.sms.url = gateway;
    })
    .await;
    upload_area(&app, "D", "城中区", "district", None, rect(WEST, SOUTH, WEST + 0.08, SOUTH + 0.04)).await;
    let unknown_scene = "0193a7c2-5d1e-7a00-8000-000000000000";

    let out = run_scenario("resident_without_scene.mjs", &[&app.base, unknown_scene, center_phone]).await;

    assert!(out.contains("ok: filed where the pin was dropped"), "{out}");
    assert!(out.contains("ok: filed by a typed place"), "{out}");
    assert!(out.contains("ok: resident-without-scene"), "{out}");
    let (_, filed) = app.get("/api/v1/command/incidents", Some(&app.admin_token())).await;
    let filed = filed.as_array().expect("a list");
    assert_eq!(filed.len(), 2, "{filed:?}");
    let typed = filed.iter().find(|i| i["approximate"] == true).expect("the typed one");
    assert_eq!(typed["address"], "人民街菜市场东门");
    assert!(typed["place_name"].is_null(), "the district's centre names nothing: {typed}");
    let pinned = filed.iter().find(|i| i["approximate"] == false).expect("the pinned one");
    assert!(pinned["address"].is_null());
    let texts = texts.lock().expect("lock").clone();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0]["text"].as_str().is_some_and(|t| t.contains("/t/")), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phone_page_is_fully_english_on_toggle_and_fits_360_px_in_both_languages() {
    let app = spawn_app_with(Backend::Memory, |s| {
        s.resident.center_phone = "0971-8123456".into();
        s.report_limits.per_ip = 0;
    })
    .await;
    let scene_name = "幸福小区3号楼";
    let scene = create_scene(&app, scene_name).await;
    let mediator = app.mediator("王调解", &["neighbor"]).await;
    app.on_duty_at(&mediator, LAT + 0.003, LNG).await;
    let file = |description: &'static str, extra: serde_json::Value| {
        let app = &app;
        async move {
            let mut body = json!({ "category": "neighbor", "description": description, "phone": "13812345678" });
            body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            let (status, filed) = app.post("/api/v1/reports", None, body).await;
            assert_eq!(status, StatusCode::CREATED, "{filed}");
            filed
        }
    };
    let act = |id: String, what: &'static str, body: serde_json::Value| {
        let (app, token) = (&app, mediator.token.clone());
        async move {
            let (status, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/{what}"), Some(&token), body).await;
            assert_eq!(status, StatusCode::OK, "{what}: {b}");
        }
    };
    let near = json!({ "location": { "lat": LAT + 0.001, "lng": LNG, "coord": "wgs84" } });
    let resolved = file("邻居家的狗每天夜里叫", near.clone()).await;
    let id = resolved["id"].as_str().expect("id").to_owned();
    act(id.clone(), "accept", json!({})).await;
    act(id.clone(), "arrive", json!({})).await;
    act(id, "resolve", json!({ "outcome": "mediated", "note": "双方同意晚上把狗关在屋里" })).await;
    let job = file("楼上漏水，邻居不理", json!({ "scene": scene, "address": "2单元501门口" })).await;
    let id = job["id"].as_str().expect("id").to_owned();
    act(id.clone(), "accept", json!({})).await;
    act(id, "arrive", json!({})).await;
    file("楼道里堆满杂物，两家吵起来了", near).await;
    let escalated = file("菜市场门口有人推搡", json!({ "address": "人民街菜市场东门" })).await;

    let setup = json!({
        "scene": scene,
        "unknown_scene": "0193a7c2-5d1e-7a00-8000-000000000000",
        "resolved_token": resolved["tracking_token"],
        "escalated_token": escalated["tracking_token"],
        "mediator_token": mediator.token,
        // What people typed stays as typed.
        "typed": [scene_name, "王调解", "邻居家的狗每天夜里叫", "楼上漏水，邻居不理", "2单元501门口", "楼道里堆满杂物，两家吵起来了",
            "菜市场门口有人推搡", "人民街菜市场东门", "双方同意晚上把狗关在屋里"],
    });
    let out = run_scenario("english_360.mjs", &[&app.base, &setup.to_string()]).await;

    for page in ["report-form", "report-form-unknown-scene", "tracking-rating", "tracking-escalated", "mediator"] {
        assert!(out.contains(&format!("ok: {page} in English")), "{page}: {out}");
    }
    assert!(out.contains("ok: english-360"), "{out}");
}

/// Issue #21: a department's page on a phone and a desktop, in Chinese and English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_acknowledges_a_call_in_on_its_phone_and_answers_on_a_desktop() {
    let app = spawn_app(Backend::Memory).await;
    let operator = app.operator("值班员").await;
    let admin = app.admin_token();
    let body = json!({ "name": "南滩派出所", "kind": "police_station", "duty_phone": "0971-8123456" });
    let (s, dept) = app.post("/api/v1/admin/departments", Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{dept}");
    let dept = dept["id"].as_str().expect("id").to_owned();
    let phone = helpers::phone();
    let body = json!({ "name": "值班民警", "phone": phone, "password": "s3cret-pass" });
    let (s, account) = app.post(&format!("/api/v1/admin/departments/{dept}/accounts"), Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{account}");
    let report = app.report_at(LAT, LNG).await;
    let incident = report["id"].as_str().expect("id").to_owned();
    let typed = json!([
        "请派民警到场协助",
        "民警已出发",
        "民警已到场劝离",
        "楼上装修噪音，沟通无果",
        "南滩派出所",
        "移交派出所"
    ])
    .to_string();
    // A second report handed over to the department, which took it: its tracking page says so.
    let handed = app.report_at(LAT + 0.01, LNG).await;
    let body = json!({ "departments": [dept], "note": "移交派出所", "purpose": "handover" });
    let path = format!("/api/v1/command/incidents/{}/call-ins", handed["id"].as_str().expect("id"));
    let (s, made) = app.post(&path, Some(&operator.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let (_, login) = app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": "s3cret-pass" })).await;
    let respond = format!("/api/v1/department/call-ins/{}/respond", made[0]["id"].as_str().expect("id"));
    let (s, _) = app.post(&respond, login["access_token"].as_str(), json!({ "response": "took_over" })).await;
    assert_eq!(s, StatusCode::OK);
    let tracking = handed["tracking_token"].as_str().expect("token").to_owned();

    let out = run_scenario(
        "dept_page.mjs",
        &[&app.base, &phone, "s3cret-pass", &operator.token, &incident, &dept, &typed, &tracking],
    )
    .await;

    assert!(out.contains("ok: the call-in arrived live"), "{out}");
    assert!(out.contains("ok: acknowledged from the phone"), "{out}");
    assert!(out.contains("ok: English, within 360 px"), "{out}");
    assert!(out.contains("ok: answered from the desktop, the phone followed"), "{out}");
    assert!(out.contains("ok: the resident sees who has it now"), "{out}");
    let (_, listed) = app.get(&format!("/api/v1/command/incidents/{incident}/call-ins"), Some(&operator.token)).await;
    assert_eq!(listed["call_ins"][0]["response"], "arrived", "{listed}");
    assert_eq!(listed["call_ins"][0]["response_note"], "民警已到场劝离");
}

/// An app with a mediator (王调解) holding a fresh report: the app, the mediator, the incident id.
async fn held_case() -> (TestApp, helpers::Staff, String) {
    held_case_on(spawn_app(Backend::Memory).await).await
}

/// [`held_case`] on `app`.
async fn held_case_on(app: TestApp) -> (TestApp, helpers::Staff, String) {
    let mediator = app.mediator("王调解", &[]).await;
    app.on_duty_at(&mediator, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().expect("id").to_owned();
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&mediator.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (app, mediator, id)
}

/// Issue #20's "done means": on a 360 px phone the holder adds two parties, records two entries,
/// drafts from a template, both parties and the mediator sign on the canvas, the agreement takes
/// effect; its PDF reads back (pdftotext) with the names, terms and date, and renders (pdftoppm)
/// to `tests/artifacts/casefile-agreement-phone-1.png`; a change after signing is version 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_takes_an_agreement_to_effect_on_the_phone_and_its_pdf_reads_back() {
    let (app, mediator, id) = held_case().await;
    let pdf = root().join("tests/artifacts/casefile-agreement-phone.pdf");
    let _ = std::fs::remove_file(&pdf);

    let out = run_scenario("casefile_phone.mjs", &[&app.base, &mediator.token, &id, &pdf.to_string_lossy()]).await;
    assert!(out.contains("ok: casefile-phone"), "{out}");

    let text = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(text.status.success());
    let text: String = String::from_utf8_lossy(&text.stdout).chars().filter(|c| !c.is_whitespace()).collect();
    for needle in ["人民调解协议书", "张三", "李四", "李四一次性赔偿张三损失伍佰元", "2027年01月15日", "王调解"]
    {
        assert!(text.contains(needle), "{needle} missing from the agreement PDF: {text}");
    }
    let png = root().join("tests/artifacts/casefile-agreement-phone");
    let rendered = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "70", "-f", "1", "-l", "2"])
        .arg(&pdf)
        .arg(&png)
        .status();
    assert!(rendered.expect("pdftoppm (poppler-utils)").success());
}

/// Issue #20 point 6 on a 360 px phone: three parties suggest 一般 with the reason, the amount in
/// dispute raises it, one tap decides the grade (screenshot `tests/artifacts/casefile-phone-grade.png`),
/// and the decision is audited on the incident's timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_grades_a_case_in_one_tap_on_the_phone() {
    let (app, mediator, id) = held_case().await;
    for (role, name) in [("applicant", "张三"), ("respondent", "李四"), ("third_party", "王五")] {
        let path = format!("/api/v1/mediator/incidents/{id}/case/parties");
        let (s, b) = app.post(&path, Some(&mediator.token), json!({ "role": role, "name": name })).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    let out = run_scenario("casefile_grade.mjs", &[&app.base, &mediator.token, &id]).await;
    assert!(out.contains("ok: casefile-grade"), "{out}");

    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(&app.admin_token())).await;
    let graded: Vec<&serde_json::Value> =
        detail["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "case_graded").collect();
    assert_eq!(graded.len(), 1, "{detail}");
    assert_eq!(
        (graded[0]["actor_role"].as_str(), graded[0]["event"]["to"].as_str()),
        (Some("mediator"), Some("general"))
    );
}

/// Every signer the agreement `version` awaits (as `PUT …/agreement` answered) signs it on
/// `case` (`…/case`), the mediator last: it takes effect.
async fn sign_all(app: &TestApp, token: &str, case: &str, version: &serde_json::Value) {
    use base64::Engine as _;
    let signers = version["awaiting"].as_array().expect("who signs, the mediator last");
    for (n, signer) in signers.iter().enumerate() {
        let image = base64::engine::general_purpose::STANDARD.encode(helpers::signature_png(n as u32));
        let body =
            json!({ "signer": signer, "mark": "signature", "image": image, "text_sha256": version["text_sha256"] });
        let (s, r) = app.post(&format!("{case}/agreement/signatures"), Some(token), body).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
}
