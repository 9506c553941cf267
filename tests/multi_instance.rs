//! Many instances, one truth: three instances on one Redis behave as one service.
//!
//! - In-process instances (`App::start`, like `tests/api`): a report received by one reaches a
//!   mediator whose socket is on another within milliseconds; every instance's command-center
//!   feed shows every mediator and every incident change; accepts through different instances
//!   have exactly one winner; a mediator filled up through one is skipped by the others; a
//!   duplicate is found whichever instance (even one started later) took the first; silent
//!   phones are forgotten by every instance and by Redis.
//! - Child processes of the built binary (so one can be killed with SIGKILL): escalations fire
//!   exactly once with three instances polling, one of them killed mid-way.
//!
//! Needs `redis-server` on PATH (see README).

#[allow(dead_code, reason = "these tests use part of the API harness")]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/redis_server.rs"]
mod redis_server;

use grid_dispatch::auth::JwtKeys;
use grid_dispatch::domain::account::Role;
use grid_dispatch::domain::ids::AccountId;
use grid_dispatch::store::PresenceStore;
use grid_dispatch::store::redis::{RedisConfig, RedisStore};
use helpers::{Socket, Staff, TEST_SECRET, TestApp, start, test_settings};
use redis_server::{RedisServer, unique_prefix};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;
/// Generous bound for "within milliseconds" on a loaded 2-core test machine; the measured
/// figure is printed.
const CROSS_INSTANCE_DELIVERY: Duration = Duration::from_secs(1);

/// Three in-process instances sharing `server` under one prefix.
async fn three_instances(server: &RedisServer, tweak: impl Fn(&mut grid_dispatch::config::Settings)) -> Vec<TestApp> {
    let mut settings = test_settings();
    settings.redis.url = server.url();
    settings.redis.prefix = unique_prefix();
    tweak(&mut settings);
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(start(settings.clone(), None).await);
    }
    apps
}

/// Settings where each report offers one mediator, with no per-address report limit.
fn one_offer_per_report(s: &mut grid_dispatch::config::Settings) {
    s.dispatch.offer_count = 1;
    s.report_limits.per_ip = 0;
}

/// Two mediators made and put on duty through `via`, 111 m and 333 m from the report point,
/// with their sockets on `socket_on`.
async fn nearest_and_next(via: &TestApp, socket_on: &TestApp) -> ((Staff, Socket), (Staff, Socket)) {
    let mut out = vec![];
    for (name, dlat) in [("最近", 0.001), ("次近", 0.003)] {
        let m = via.mediator(name, &[]).await;
        via.on_duty_at(&m, LAT + dlat, LNG).await;
        let ws = socket_on.socket("/api/v1/mediator/ws", &m.token).await;
        out.push((m, ws));
    }
    let next = out.pop().expect("two");
    (out.pop().expect("two"), next)
}

/// Read a live feed until `want` is satisfied by the ids it has seen in position batches or
/// snapshots.
async fn feed_shows_mediators(live: &mut Socket, want: &BTreeSet<String>) {
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + helpers::PROMPTLY;
    while !want.is_subset(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = live.next_json_within(left).await.unwrap_or_else(|| panic!("feed saw only {seen:?} of {want:?}"));
        let list = match msg["type"].as_str() {
            Some("positions") => msg["updates"].clone(),
            Some("snapshot") => msg["mediators"].clone(),
            _ => continue,
        };
        seen.extend(list.as_array().into_iter().flatten().filter_map(|p| p["id"].as_str().map(str::to_owned)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_offers_live_feeds_and_a_single_winner() {
    let server = RedisServer::start();
    let apps = three_instances(&server, |_| {}).await;
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);
    let op = a.operator("指挥员").await;
    let mut feeds = Vec::new();
    for app in &apps {
        let mut live = app.socket("/api/v1/command/live", &op.token).await;
        live.wait_for("snapshot", |_| true).await;
        feeds.push(live);
    }

    // Three mediators, each reporting through one instance and holding a socket on another.
    let mut mediators: Vec<(Staff, Socket)> = Vec::new();
    for (i, (via, socket_on)) in [(a, b), (b, c), (c, a)].into_iter().enumerate() {
        let m = via.mediator(&format!("调解员{i}"), &[]).await;
        via.on_duty_at(&m, LAT + 0.001 * (i as f64 + 1.0), LNG).await;
        let mut ws = socket_on.socket("/api/v1/mediator/ws", &m.token).await;
        ws.wait_for("duty", |d| d["on"] == true).await;
        mediators.push((m, ws));
    }
    let ids: BTreeSet<String> = mediators.iter().map(|(m, _)| m.id.clone()).collect();
    for live in &mut feeds {
        feed_shows_mediators(live, &ids).await;
    }

    // A report received by A reaches the mediator whose socket is on B, within milliseconds.
    let reported_at = Instant::now();
    let report = a.report_at(LAT, LNG).await;
    let id = report["id"].as_str().expect("id").to_owned();
    mediators[0].1.wait_for("offer", |o| o["incident"]["id"] == id.as_str()).await;
    let delivery = reported_at.elapsed();
    eprintln!("report on A → offer on a socket of B: {delivery:?} (including the report's own round trip)");
    assert!(delivery < CROSS_INSTANCE_DELIVERY, "{delivery:?}");
    for (_, ws) in &mut mediators[1..] {
        ws.wait_for("offer", |o| o["incident"]["id"] == id.as_str()).await;
    }
    for live in &mut feeds {
        live.wait_for("incident", |m| m["event"]["type"] == "reported" && m["incident"]["id"] == id.as_str()).await;
    }

    // Each mediator accepts through a different instance at the same moment: one winner.
    let path = format!("/api/v1/mediator/incidents/{id}/accept");
    let accepts = mediators.iter().zip([c, a, b]).map(|((m, _), app)| app.post(&path, Some(&m.token), json!({})));
    let results: Vec<(StatusCode, Value)> = futures_util::future::join_all(accepts).await;
    let winners: Vec<&Value> = results.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{results:?}");
    let winner = winners[0]["claimed_by"].as_str().expect("claimed_by").to_owned();
    for live in &mut feeds {
        let claimed =
            live.wait_for("incident", |m| m["event"]["type"] == "claimed" && m["incident"]["id"] == id.as_str()).await;
        assert_eq!(claimed["incident"]["claimed_by"], winner.as_str(), "every feed names the same winner");
    }

    for app in apps {
        app.stop().await;
    }
}

/// Instances keep mediators' ranking profiles in memory: an admin's change through one must
/// reach the others' offers at once (announced on the bus), not when their copies age out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_disabled_through_one_instance_gets_no_more_offers_from_the_others() {
    let server = RedisServer::start();
    let apps = three_instances(&server, one_offer_per_report).await;
    let (a, b) = (&apps[0], &apps[1]);
    let ((nearest, mut nearest_ws), (_, mut next_ws)) = nearest_and_next(a, b).await;
    // B ranks (and keeps a copy of) the nearest mediator for its first report.
    let first = b.report_at(LAT, LNG).await;
    nearest_ws.wait_for("offer", |o| o["incident"]["id"] == first["id"]).await;

    let (status, _) = a
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/mediators/{}", nearest.id),
            Some(&a.admin_token()),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The announcement travels A → Redis → B; reports filed on B go to the next mediator as
    // soon as it has arrived (well before B's copy would age out).
    let deadline = Instant::now() + CROSS_INSTANCE_DELIVERY;
    'reports: loop {
        assert!(Instant::now() < deadline, "B still offers to the disabled mediator");
        let report = b.report_at(LAT, LNG).await;
        let wait_until = Instant::now() + Duration::from_millis(200);
        while let Some(m) = next_ws.next_json_within(wait_until.saturating_duration_since(Instant::now())).await {
            if m["type"] == "offer" && m["incident"]["id"] == report["id"] {
                break 'reports;
            }
        }
    }
    for app in apps {
        app.stop().await;
    }
}

/// Revocation crosses instances: disabling accounts through A closes their sockets on B and C
/// within a second or two (4403), and the disabled mediator leaves the screens on every instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_accounts_through_one_instance_closes_their_sockets_on_the_others() {
    let server = RedisServer::start();
    let apps = three_instances(&server, |_| {}).await;
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);
    let m = a.mediator("停用", &[]).await;
    a.on_duty_at(&m, LAT, LNG).await;
    let mut phone = b.socket("/api/v1/mediator/ws", &m.token).await;
    phone.wait_for("duty", |d| d["on"] == true).await;
    let (op, watcher) = (a.operator("停用值班员").await, a.operator("值班员").await);
    let mut screen = c.socket("/api/v1/command/live", &op.token).await;
    screen.wait_for("snapshot", |_| true).await;
    let mut feed = b.socket("/api/v1/command/live", &watcher.token).await;
    feed_shows_mediators(&mut feed, &BTreeSet::from([m.id.clone()])).await;

    let started = Instant::now();
    for (kind, id) in [("mediators", &m.id), ("operators", &op.id)] {
        let path = format!("/api/v1/admin/{kind}/{id}");
        let (status, _) =
            a.call(reqwest::Method::PATCH, &path, Some(&a.admin_token()), Some(json!({ "enabled": false }))).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(phone.closed().await.0, Some(4403), "the phone on B");
    assert_eq!(screen.closed().await.0, Some(4403), "the screen on C");
    let took = started.elapsed();
    println!("sockets on other instances closed {took:?} after disabling");
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    feed.wait_for("positions", |p| p["off_duty"].as_array().is_some_and(|o| o.contains(&json!(m.id)))).await;
    for app in apps {
        app.stop().await;
    }
}

/// Instances keep mediators' holds in memory too, set from what the store announces with each
/// write: a mediator who fills up through one instance is skipped by the others' next reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_who_fills_up_through_one_instance_is_skipped_by_the_others() {
    let server = RedisServer::start();
    let apps = three_instances(&server, one_offer_per_report).await;
    let (a, b) = (&apps[0], &apps[1]);
    let ((nearest, mut nearest_ws), (_, mut next_ws)) = nearest_and_next(a, b).await;
    let (status, _) = a
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/mediators/{}", nearest.id),
            Some(&a.admin_token()),
            Some(json!({ "capacity": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let op = a.operator("指挥员").await;
    let mut b_feed = b.socket("/api/v1/command/live", &op.token).await;
    b_feed.wait_for("snapshot", |_| true).await;
    // B ranks (and keeps the workload of) the nearest mediator for its first report.
    let first = b.report_at(LAT, LNG).await;
    let id = first["id"].as_str().expect("id").to_owned();
    nearest_ws.wait_for("offer", |o| o["incident"]["id"] == id.as_str()).await;

    let (status, _) = a.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&nearest.token), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // The store announces the new workload ahead of the claim itself, so once B's screen shows
    // the claim, B knows the nearest mediator is full.
    b_feed.wait_for("incident", |m| m["event"]["type"] == "claimed" && m["incident"]["id"] == id.as_str()).await;
    let second = b.report_at(LAT, LNG).await;
    let offer = next_ws.wait_for("offer", |o| o["incident"]["id"] == second["id"]).await;
    assert_eq!(offer["incident"]["id"], second["id"], "the full mediator is skipped");
    let (_, offers) = b.get("/api/v1/mediator/offers", Some(&nearest.token)).await;
    assert!(offers.as_array().expect("list").iter().all(|o| o["id"] != second["id"]), "{offers}");
    for app in apps {
        app.stop().await;
    }
}

/// Wait until `feed` shows `event` for `report`.
async fn shown(feed: &mut Socket, event: &str, report: &Value) {
    let id = report["id"].as_str().expect("id");
    feed.wait_for("incident", |m| m["event"]["type"] == event && m["incident"]["id"] == id).await;
}

/// A report's `duplicate_of` and `recurring`, as the command center reads them through `app`.
async fn flags(app: &TestApp, token: &str, report: &Value) -> (Value, Value) {
    let path = format!("/api/v1/command/incidents/{}", report["id"].as_str().expect("id"));
    let (status, detail) = app.get(&path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    (detail["incident"]["duplicate_of"].clone(), detail["incident"]["recurring"].clone())
}

/// Instances keep recent reports by area too, from the bus and, at start, from Redis: a report
/// is flagged as a duplicate of an open one filed through any instance, including one filed
/// before the instance started, and not of one withdrawn since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_found_across_instances_and_by_an_instance_started_later() {
    let server = RedisServer::start();
    let apps = three_instances(&server, |s| s.report_limits.per_ip = 0).await;
    let (a, b) = (&apps[0], &apps[1]);
    let op = a.operator("研判").await;
    let mut b_feed = b.socket("/api/v1/command/live", &op.token).await;
    b_feed.wait_for("snapshot", |_| true).await;
    // Filed through A; B shows it, so B knows it (the note travels ahead of the screen update).
    let first = a.report_at(LAT, LNG).await;
    shown(&mut b_feed, "reported", &first).await;
    let second = b.report_at(LAT + 0.0003, LNG).await; // ~33 m
    assert_eq!(flags(b, &op.token, &second).await.0, first["id"], "a duplicate of the report filed through A");

    // Withdrawn through A: B's next report beside it points at the open one instead.
    let token = first["tracking_token"].as_str().expect("token");
    let (status, _) = a.post(&format!("/api/v1/track/{token}/cancel"), None, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    shown(&mut b_feed, "cancelled", &first).await;
    let third = b.report_at(LAT - 0.0003, LNG).await; // ~33 m from the first, ~66 m from the second
    assert_eq!(flags(b, &op.token, &third).await.0, second["id"], "the nearest open one");

    // An instance started now loads what was filed before it from Redis.
    let late = start(a.settings.clone(), None).await;
    let fourth = late.report_at(LAT + 0.0004, LNG).await; // ~11 m from the second
    assert_eq!(
        flags(&late, &op.token, &fourth).await,
        (second["id"].clone(), json!(true)),
        "duplicate, and a recurring area"
    );
    late.stop().await;
    for app in apps {
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_phone_is_forgotten_by_every_instance_and_by_redis() {
    use grid_dispatch::clock::ManualClock;
    use std::sync::Arc;

    // On a clock the test moves: Redis files a position by its minute (rounded up) and so
    // forgets it up to a minute after the instances do.
    let server = RedisServer::start();
    let mut settings = test_settings();
    settings.redis.url = server.url();
    settings.redis.prefix = unique_prefix();
    settings.dispatch.stale_after = Duration::from_millis(300);
    settings.dispatch.forget_positions_after = Duration::from_millis(600);
    let clock = Arc::new(ManualClock::starting_now());
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(helpers::start_on_clock(settings.clone(), None, clock.clone()).await);
    }
    let m = apps[0].mediator("静默", &[]).await;
    apps[0].on_duty_at(&m, LAT, LNG).await;
    let id = AccountId::parse(&m.id).expect("id");
    for app in &apps {
        helpers::eventually("every index holds the fix", || async {
            app.app().dispatcher().index().get(&id).and_then(|(_, fix)| fix).map(|_| ())
        })
        .await;
    }

    // The phone goes quiet past its minute: every instance's sweep drops it, and so does Redis.
    clock.advance(Duration::from_secs(61));
    for app in &apps {
        helpers::eventually("every index forgets the fix", || async {
            app.app().dispatcher().index().get(&id).is_some_and(|(on, fix)| on && fix.is_none()).then_some(())
        })
        .await;
    }
    let cfg = RedisConfig {
        url: server.url(),
        prefix: settings.redis.prefix.clone(),
        command_timeout: Duration::from_secs(1),
        cluster_nodes: vec![],
    };
    let store = RedisStore::connect(&cfg).await.expect("connect");
    helpers::eventually("Redis forgets the fix and keeps the duty flag", || async {
        let presence = store.all_presence().await.expect("presence");
        let mine = presence.iter().find(|p| p.mediator_id == id).expect("the duty flag stays");
        (mine.on_duty && mine.fix.is_none()).then_some(())
    })
    .await;

    // A new fix brings the mediator back everywhere.
    apps[1].move_to(&m, LAT, LNG).await;
    for app in &apps {
        helpers::eventually("every index has the new fix", || async {
            app.app().dispatcher().index().get(&id).and_then(|(_, fix)| fix).map(|_| ())
        })
        .await;
    }
    for app in apps {
        app.stop().await;
    }
}

/// One instance as a child process of the built binary.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn spawn(redis_url: &str, prefix: &str, log_dir: &std::path::Path, n: usize) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let log = std::fs::File::create(log_dir.join(format!("instance-{n}.log"))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_grid-dispatch"))
            .current_dir(log_dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GD_ENV", "test")
            .env("GD_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("GD_REDIS__URL", redis_url)
            .env("GD_REDIS__PREFIX", prefix)
            .env("GD_AUTH__JWT_SECRET", TEST_SECRET)
            .env("GD_DISPATCH__ESCALATE_AFTER", "1500ms")
            .env("GD_TIMERS__POLL_INTERVAL", "50ms")
            .env("GD_TIMERS__LEASE", "1s")
            .env("GD_PUSH__LIVE_BATCH_INTERVAL", "50ms")
            .env("GD_REPORT_LIMITS__PER_IP", "0")
            .env("GD_LOG__LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("the grid-dispatch binary starts");
        Self { child, base: format!("http://127.0.0.1:{port}") }
    }

    /// SIGKILL, by PID: no graceful shutdown, claimed leases are left behind.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill9();
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} never became healthy");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_fire_exactly_once_with_three_instances_and_one_killed_mid_way() {
    const REPORTS: usize = 24;
    let server = RedisServer::start();
    let prefix = unique_prefix();
    let logs = tempfile::tempdir().expect("temp dir");
    let mut instances: Vec<Instance> =
        (0..3).map(|n| Instance::spawn(&server.url(), &prefix, logs.path(), n)).collect();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    for i in &instances {
        wait_healthy(&http, &i.base).await;
    }
    let keys = JwtKeys::hmac(&SecretString::from(TEST_SECRET), "grid-dispatch", "grid-dispatch");
    let admin =
        keys.issue("ops-admin", Role::Admin, Duration::from_secs(600), jiff::Timestamp::now()).expect("token").0;
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();

    // One mediator in range, who never answers: every report waits for its escalation deadline.
    let phone = helpers::phone();
    let body = json!({ "name": "不接单", "phone": phone, "password": "s3cret-pass", "capacity": 3 });
    let (s, _) = post(&http, format!("{}/api/v1/admin/mediators", bases[0]), Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, login) = post(
        &http,
        format!("{}/api/v1/auth/login", bases[1]),
        None,
        json!({ "phone": phone, "password": "s3cret-pass" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let token = login["access_token"].as_str().expect("token").to_owned();
    let (s, _) = post(&http, format!("{}/api/v1/mediator/duty", bases[1]), Some(&token), json!({ "on": true })).await;
    assert_eq!(s, StatusCode::OK);
    let at = json!({ "lat": LAT + 0.001, "lng": LNG, "coord": "wgs84" });
    let (s, _) = post(&http, format!("{}/api/v1/mediator/position", bases[2]), Some(&token), at).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Command centers on the two instances that survive.
    let mut feeds = Vec::new();
    for base in &bases[..2] {
        let url = format!("{}/api/v1/command/live?access_token={admin}", base.replacen("http", "ws", 1));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("live feed opens");
        feeds.push(ws);
    }

    // Reports through all three instances, spread over about a second, so their deadlines
    // fall due over a second as well.
    let mut ids = BTreeSet::new();
    for n in 0..REPORTS {
        let report = json!({
            "location": { "lat": LAT, "lng": LNG, "coord": "wgs84" },
            "category": "neighbor",
            "description": "多实例升级测试",
        });
        let (s, created) = post(&http, format!("{}/api/v1/reports", bases[n % 3]), None, report).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        ids.insert(created["id"].as_str().expect("id").to_owned());
        tokio::time::sleep(Duration::from_millis(40)).await; // pacing the load, not synchronising
    }

    // As soon as escalations start, kill the third instance (SIGKILL by PID), mid-way.
    let mut escalated: BTreeMap<String, usize> = BTreeMap::new();
    let first = next_escalation(&mut feeds[0], Duration::from_secs(10)).await.expect("a first escalation");
    instances[2].kill9();
    *escalated.entry(first).or_default() += 1;

    // Every incident escalates (the dead instance's leases come back after 1 s), once.
    let deadline = Instant::now() + Duration::from_secs(15);
    while escalated.len() < ids.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let id = next_escalation(&mut feeds[0], left)
            .await
            .unwrap_or_else(|| panic!("only {} of {} escalated on A", escalated.len(), ids.len()));
        *escalated.entry(id).or_default() += 1;
    }
    assert_eq!(escalated.keys().cloned().collect::<BTreeSet<_>>(), ids);
    // The durable record: exactly one escalation in every timeline, read through B.
    for id in &ids {
        let detail: Value = http
            .get(format!("{}/api/v1/command/incidents/{id}", bases[1]))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("detail")
            .json()
            .await
            .expect("json");
        let timeline = detail["timeline"].as_array().expect("timeline");
        let count = timeline.iter().filter(|e| e["event"]["type"] == "escalated").count();
        assert_eq!(count, 1, "incident {id}: {timeline:?}");
    }
    // B's feed saw each of them too, and no escalation twice on A.
    let mut on_b = BTreeSet::new();
    while on_b.len() < ids.len() {
        let id = next_escalation(&mut feeds[1], Duration::from_secs(5)).await.expect("B's feed shows every escalation");
        on_b.insert(id);
    }
    assert!(escalated.values().all(|n| *n == 1), "{escalated:?}");
}

/// The id of the next `escalated` incident event on a live feed, or None after `within`.
async fn next_escalation(
    feed: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    within: Duration,
) -> Option<String> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, feed.next()).await.ok()??.ok()?;
        let tokio_tungstenite::tungstenite::Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(&text).ok()?;
        if v["type"] == "incident" && v["event"]["type"] == "escalated" {
            return v["incident"]["id"].as_str().map(str::to_owned);
        }
    }
}

/// Login throttling is shared: guesses spread over the instances add up to one lockout, and a
/// success through any instance forgets the count everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_through_every_instance_count_toward_one_lockout() {
    let server = RedisServer::start();
    let apps = three_instances(&server, |s| s.auth.login_max_failures = 5).await;
    let login = |app: &TestApp, phone: &str, password: &str| {
        let (http, url) = (app.http().clone(), format!("{}/api/v1/auth/login", app.base));
        let body = json!({ "phone": phone, "password": password });
        async move { http.post(url).json(&body).send().await.expect("login answered") }
    };

    // A success through one instance clears what the others counted.
    let careless = apps[0].mediator("手滑", &[]).await;
    for app in [&apps[0], &apps[1], &apps[2], &apps[1]] {
        assert_eq!(login(app, &careless.phone, "wrong-guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&apps[2], &careless.phone, "s3cret-pass").await.status(), StatusCode::OK);
    for app in [&apps[1], &apps[0], &apps[2], &apps[0]] {
        assert_eq!(login(app, &careless.phone, "wrong-guess").await.status(), StatusCode::UNAUTHORIZED);
    }

    // Five guesses spread over three instances lock the phone on all of them.
    let target = apps[0].mediator("被猜", &[]).await;
    for app in [&apps[0], &apps[1], &apps[2], &apps[1], &apps[2]] {
        assert_eq!(login(app, &target.phone, "wrong-guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    for app in &apps {
        let resp = login(app, &target.phone, "s3cret-pass").await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "locked on {} too, right password or not", app.base);
        let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=15 * 60 + 1).contains(&retry), "Retry-After {retry}");
    }
    for app in apps {
        app.stop().await;
    }
}

/// A department made through `app`, with one logged-in account; returns (department id, token).
async fn department_with_account(app: &TestApp, name: &str, kind: &str) -> (String, String) {
    let admin = app.admin_token();
    let body = json!({ "name": name, "kind": kind, "duty_phone": "0971-8123456" });
    let (s, d) = app.post("/api/v1/admin/departments", Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().expect("id").to_owned();
    let phone = helpers::phone();
    let body = json!({ "name": "值班员", "phone": phone, "password": "s3cret-pass" });
    let (s, a) = app.post(&format!("/api/v1/admin/departments/{id}/accounts"), Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, login) = app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": "s3cret-pass" })).await;
    assert_eq!(s, StatusCode::OK, "{login}");
    (id, login["access_token"].as_str().expect("token").to_owned())
}

/// The `joint` timeline lines of an incident as `"<call-in id> <step>"`.
async fn joint_steps(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let (_, detail) = app.get(&format!("/api/v1/command/incidents/{id}"), Some(token)).await;
    detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["event"]["type"] == "joint")
        .map(|e| {
            format!("{} {}", e["event"]["call_in_id"].as_str().unwrap_or(""), e["event"]["step"].as_str().unwrap_or(""))
        })
        .collect()
}

/// Issue #21's "done": two departments called in through one instance, one acknowledging
/// through another in time, the other late; every runner wakes for the deadline, and the
/// overdue mark and its urging happen once: one timeline line, one message on each screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_deadline_urges_once_with_three_instances() {
    use grid_dispatch::clock::ManualClock;
    use grid_dispatch::domain::ids::IncidentId;
    use grid_dispatch::store::{IncidentStore, TimerKey, TimerKind};
    use std::sync::Arc;

    let server = RedisServer::start();
    let mut settings = test_settings();
    settings.redis.url = server.url();
    settings.redis.prefix = unique_prefix();
    let clock = Arc::new(ManualClock::starting_now());
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(helpers::start_on_clock(settings.clone(), None, clock.clone()).await);
    }
    let d = settings.departments.clone();
    let op = apps[0].operator("指挥").await;
    let mut screens = Vec::new();
    for app in &apps {
        let mut live = app.socket("/api/v1/command/live", &op.token).await;
        live.wait_for("snapshot", |_| true).await;
        screens.push(live);
    }
    let (police, police_token) = department_with_account(&apps[1], "南滩派出所", "police_station").await;
    let (labour, _) = department_with_account(&apps[2], "劳动监察大队", "labour_inspection").await;
    let report = apps[0].report_at(LAT, LNG).await;
    let id = report["id"].as_str().expect("id").to_owned();
    let body = json!({ "departments": [police, labour], "note": "请到场" });
    let (s, made) = apps[1].post(&format!("/api/v1/command/incidents/{id}/call-ins"), Some(&op.token), body).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let (a, b) = (made[0]["id"].as_str().expect("id").to_owned(), made[1]["id"].as_str().expect("id").to_owned());

    clock.advance(d.normal.ack_within - d.remind_before + Duration::from_secs(1));
    helpers::eventually("both reminders", || async {
        let s = joint_steps(&apps[2], &op.token, &id).await;
        (s.iter().filter(|l| l.ends_with(" reminded_ack")).count() == 2).then_some(())
    })
    .await;
    let (s, acked) =
        apps[2].post(&format!("/api/v1/department/call-ins/{a}/acknowledge"), Some(&police_token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{acked}");

    clock.advance(d.remind_before);
    for screen in &mut screens {
        let urged = screen.wait_for("call_in", |m| m["step"] == "ack_overdue").await;
        assert_eq!(urged["call_in"]["id"], json!(b));
    }
    // Once the deadline is finished in Redis no runner can fire it again.
    let store = RedisStore::connect(&RedisConfig {
        url: server.url(),
        prefix: settings.redis.prefix.clone(),
        command_timeout: Duration::from_secs(2),
        cluster_nodes: vec![],
    })
    .await
    .expect("connect");
    let key = TimerKey::with_sub(TimerKind::CallInAckDue, IncidentId::parse(&id).expect("id"), b.clone());
    helpers::eventually("the deadline finished", || async {
        store.timer_due(&key).await.ok().flatten().is_none().then_some(())
    })
    .await;
    // Past any lease: a deadline left behind would come back now.
    clock.advance(settings.timers.lease + Duration::from_secs(1));
    tokio::time::timeout(helpers::PROMPTLY, clock.idle()).await.expect("the runners settle");
    // A marker after it: every screen has had every message about the deadline by then.
    let (s, _) = apps[0]
        .post(
            &format!("/api/v1/command/incidents/{id}/call-ins/{b}/supervise"),
            Some(&op.token),
            json!({ "note": "督办" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for screen in &mut screens {
        let mut again = 0;
        loop {
            let m = screen.next_json_within(helpers::PROMPTLY).await.expect("the marker arrives");
            if m["type"] == "call_in" && m["step"] == "supervised" {
                break;
            }
            again += usize::from(m["type"] == "call_in" && m["step"] == "ack_overdue");
        }
        assert_eq!(again, 0, "urged once on every screen");
    }
    let lines = joint_steps(&apps[0], &op.token, &id).await;
    assert_eq!(lines.iter().filter(|l| **l == format!("{b} ack_overdue")).count(), 1, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| **l == format!("{a} ack_overdue")).count(), 0, "{lines:?}");
}
