//! Faults injected for real: service processes and redis-server killed with SIGKILL by PID,
//! Redis blackholed behind a test-owned TCP proxy. What was acknowledged must survive, exactly
//! once; what cannot be done must be answered 503 quickly, never a false success.

#[path = "support/redis_server.rs"]
mod redis_server;
#[path = "support/service.rs"]
mod service;

use futures_util::{SinkExt, StreamExt};
use grid_dispatch::domain::account::Role;
use redis_server::{RedisServer, unique_prefix};
use reqwest::StatusCode;
use serde_json::{Value, json};
use service::{ServiceProcess, token};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn redis_env(server: &RedisServer, prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GD_REDIS__URL", server.url()),
        ("GD_REDIS__PREFIX", prefix.to_owned()),
        ("GD_REDIS__COMMAND_TIMEOUT", "500ms".into()),
        ("GD_REPORT_LIMITS__PER_IP", "0".into()),
    ]
}

fn report_body(marker: &str) -> Value {
    json!({ "location": { "lat": 36.6, "lng": 101.7, "coord": "wgs84" }, "category": "other", "description": marker })
}

/// Every incident visible to an operator, by description.
async fn incidents_by_description(base: &str) -> BTreeMap<String, Vec<String>> {
    let admin = token("ops", Role::Admin);
    let from = "2000-01-01T00:00:00Z";
    let list: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/command/incidents?from={from}"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in list.as_array().unwrap() {
        by.entry(i["description"].as_str().unwrap().to_owned()).or_default().push(i["id"].as_str().unwrap().to_owned());
    }
    by
}

/// T01: kill -9 one of two instances while reports are posted with Idempotency-Keys; retry every
/// unanswered one through the survivor. Every 2xx exists afterwards exactly once, and a retry
/// never creates a second report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_reports_survive_a_killed_instance_and_retries_never_duplicate() {
    let redis = RedisServer::start_durable();
    let prefix = unique_prefix();
    let dir = tempfile::tempdir().unwrap();
    let mut a = ServiceProcess::start("a", dir.path(), &redis_env(&redis, &prefix)).await;
    let b = ServiceProcess::start("b", dir.path(), &redis_env(&redis, &prefix)).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();

    const CLIENTS: u64 = 4;
    const PER_CLIENT: u64 = 30;
    let sent = Arc::new(AtomicUsize::new(0));
    let kill_after = 40;
    let killed = Arc::new(tokio::sync::Notify::new());
    let seq = Arc::new(AtomicU64::new(0));
    let mut tasks = vec![];
    for c in 0..CLIENTS {
        let (http, a_base, b_base, sent, killed, seq) =
            (http.clone(), a.base.clone(), b.base.clone(), sent.clone(), killed.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = vec![];
            for i in 0..PER_CLIENT {
                let key = format!("c{c}-r{i}");
                let base = if seq.fetch_add(1, Ordering::Relaxed) % 2 == 0 { &a_base } else { &b_base };
                let resp = http
                    .post(format!("{base}/api/v1/reports"))
                    .header("idempotency-key", &key)
                    .json(&report_body(&key))
                    .send()
                    .await;
                let acked = match resp {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        Some(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned())
                    }
                    _ => None,
                };
                outcomes.push((key, acked));
                if sent.fetch_add(1, Ordering::SeqCst) + 1 == kill_after {
                    killed.notify_one();
                }
            }
            outcomes
        }));
    }
    killed.notified().await;
    a.kill9();
    let mut outcomes = vec![];
    for t in tasks {
        outcomes.extend(t.await.unwrap());
    }
    let acked: BTreeMap<String, String> =
        outcomes.iter().filter_map(|(k, id)| id.clone().map(|id| (k.clone(), id))).collect();
    let unanswered: Vec<String> = outcomes.iter().filter(|(_, id)| id.is_none()).map(|(k, _)| k.clone()).collect();
    assert!(!unanswered.is_empty(), "the kill happened while requests were going to it");
    assert!(acked.len() >= kill_after / 2, "most early requests were acknowledged");

    // Retry everything through the survivor, the acknowledged ones too: same key, same answer.
    for (key, _) in &outcomes {
        let r = http
            .post(format!("{}/api/v1/reports", b.base))
            .header("idempotency-key", key)
            .json(&report_body(key))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "retry of {key}");
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        if let Some(first) = acked.get(key) {
            assert_eq!(&id, first, "a retry of an acknowledged report returns it, not a new one");
        }
    }
    let stored = incidents_by_description(&b.base).await;
    for (key, _) in &outcomes {
        let ids = stored.get(key).unwrap_or_else(|| panic!("{key} is missing"));
        assert_eq!(ids.len(), 1, "{key} stored {} times", ids.len());
        if let Some(id) = acked.get(key) {
            assert_eq!(&ids[0], id);
        }
    }
    assert_eq!(stored.values().map(Vec::len).sum::<usize>(), outcomes.len());
}

/// T02/T15: kill -9 redis-server and restart it on the same AOF. While it is down the service
/// answers 503 fast (never a false success); it recovers by itself; every acknowledged report
/// and claim is there; an escalation that fell due during the outage fires after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_crash_loses_nothing_acknowledged_and_overdue_escalations_fire_after() {
    let mut redis = RedisServer::start_durable();
    let dir = tempfile::tempdir().unwrap();
    let mut env = redis_env(&redis, &unique_prefix());
    env.push(("GD_DISPATCH__ESCALATE_AFTER", "1500ms".into()));
    let svc = ServiceProcess::start("svc", dir.path(), &env).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let admin = token("ops", Role::Admin);
    let created = svc.create_mediator(&http, "韧性", "13700009999").await;
    let mediator = token(&created, Role::Mediator);
    let post = |path: &str, tok: Option<&str>, body: Value| {
        let mut req = http.post(format!("{}{path}", svc.base)).json(&body);
        if let Some(t) = tok {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    post("/api/v1/mediator/duty", Some(&mediator), json!({ "on": true })).await.unwrap();
    post("/api/v1/mediator/position", Some(&mediator), json!({ "lat": 36.6, "lng": 101.7, "coord": "wgs84" }))
        .await
        .unwrap();
    let claimed: Value =
        post("/api/v1/reports", None, report_body("claimed-before-crash")).await.unwrap().json().await.unwrap();
    let claimed_id = claimed["id"].as_str().unwrap().to_owned();
    let r = post(&format!("/api/v1/mediator/incidents/{claimed_id}/accept"), Some(&mediator), json!({})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pending: Value =
        post("/api/v1/reports", None, report_body("pending-escalation")).await.unwrap().json().await.unwrap();
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    let due_at = Instant::now() + Duration::from_millis(1500);
    // The mediator's phone holds a socket through the outage.
    let ws_url = svc.mediator_socket_url(&mediator);
    let (mut phone, _) = tokio_tungstenite::connect_async(ws_url).await.expect("socket opens");

    redis.kill9();
    // A position sent on the socket is not answered (the next message must not wait on the
    // store), but when its batch cannot be stored the phone is told, not left to believe it.
    let position = json!({ "type": "position", "lat": 36.62, "lng": 101.72, "coord": "wgs84" });
    phone.send(Message::Text(position.to_string().into())).await.unwrap();
    let told = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = phone.next().await {
            if let Message::Text(text) = msg {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "error" {
                    return v;
                }
            }
        }
        panic!("the socket closed before the phone was told");
    })
    .await
    .expect("the phone is told its position was not stored");
    assert_eq!(told["code"], "store_unavailable", "{told}");
    // Down: fast 503s with Retry-After until well past the escalation deadline.
    let mut answered = 0;
    while Instant::now() < due_at + Duration::from_millis(500) || answered < 3 {
        let started = Instant::now();
        let r = post("/api/v1/reports", None, report_body("during-outage")).await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "never a false success");
        assert!(r.headers().contains_key("retry-after"));
        let position = json!({ "lat": 36.61, "lng": 101.71, "coord": "wgs84" });
        let r = post("/api/v1/mediator/position", Some(&mediator), position).await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "a position is not acknowledged unstored");
        assert!(started.elapsed() < Duration::from_secs(3), "failed fast, not hung: {:?}", started.elapsed());
        let ready = http.get(format!("{}/readyz", svc.base)).send().await.unwrap().status();
        assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE);
        answered += 1;
    }
    redis.restart();

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = http.get(format!("{}/readyz", svc.base)).send().await.unwrap().status();
        if ready == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the service never recovered without a restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let detail = |id: String| {
        let (http, base, admin) = (http.clone(), svc.base.clone(), admin.clone());
        async move {
            http.get(format!("{base}/api/v1/command/incidents/{id}"))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(detail(claimed_id.clone()).await["incident"]["status"], "claimed", "the acknowledged claim survived");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = detail(pending_id.clone()).await;
        if d["incident"]["status"] == "escalated" {
            let escalations =
                d["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "escalated").count();
            assert_eq!(escalations, 1);
            break;
        }
        assert!(Instant::now() < deadline, "the overdue escalation never fired after recovery: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = incidents_by_description(&svc.base).await;
    assert!(!stored.contains_key("during-outage"), "nothing answered 503 was stored");
    let r = post("/api/v1/reports", None, report_body("after-recovery")).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// A TCP proxy in front of Redis's unix socket that can blackhole traffic (T18).
struct Proxy {
    port: u16,
    blackhole: Arc<std::sync::atomic::AtomicBool>,
    generation: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(socket: std::path::PathBuf) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let blackhole = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let generation = Arc::new(AtomicU64::new(0));
        let (bh, gen_) = (blackhole.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = tokio::net::UnixStream::connect(&socket).await else { continue };
                let (bh, gen_) = (bh.clone(), gen_.clone());
                tokio::spawn(async move {
                    let born = gen_.load(Ordering::SeqCst);
                    let (mut cr, mut cw) = client.into_split();
                    let (mut ur, mut uw) = upstream.into_split();
                    let mut cbuf = vec![0u8; 16 * 1024];
                    let mut ubuf = vec![0u8; 16 * 1024];
                    let mut tick = tokio::time::interval(Duration::from_millis(20));
                    loop {
                        if gen_.load(Ordering::SeqCst) != born {
                            return; // healed: drop connections opened before (and what they held)
                        }
                        tokio::select! {
                            n = cr.read(&mut cbuf) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(_) if bh.load(Ordering::SeqCst) => {} // swallowed
                                Ok(n) => if uw.write_all(&cbuf[..n]).await.is_err() { return },
                            },
                            n = ur.read(&mut ubuf) => match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) => if !bh.load(Ordering::SeqCst) && cw.write_all(&ubuf[..n]).await.is_err() { return },
                            },
                            _ = tick.tick() => {}
                        }
                    }
                });
            }
        });
        Self { port, blackhole, generation }
    }

    fn stall(&self) {
        self.blackhole.store(true, Ordering::SeqCst);
    }

    fn heal(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.blackhole.store(false, Ordering::SeqCst);
    }
}

/// T18: Redis stops answering (a blackholed link). Requests fail with 503 within a bounded time
/// instead of hanging, nothing half-written appears, and service returns when the link heals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_fails_requests_fast_and_nothing_half_written_appears() {
    let redis = RedisServer::start();
    let proxy = Proxy::start(redis.socket().to_path_buf()).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("GD_REDIS__URL", format!("redis://127.0.0.1:{}", proxy.port)),
        ("GD_REDIS__PREFIX", unique_prefix()),
        ("GD_REDIS__COMMAND_TIMEOUT", "500ms".into()),
        ("GD_REPORT_LIMITS__PER_IP", "0".into()),
    ];
    let svc = ServiceProcess::start("svc", dir.path(), &env).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let post = |marker: &str| http.post(format!("{}/api/v1/reports", svc.base)).json(&report_body(marker)).send();
    assert_eq!(post("before").await.unwrap().status(), StatusCode::CREATED);

    proxy.stall();
    for i in 0..3 {
        let started = Instant::now();
        let r = post(&format!("stalled-{i}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_millis(2500), "bounded: {:?}", started.elapsed());
        let started = Instant::now();
        assert_eq!(
            http.get(format!("{}/readyz", svc.base)).send().await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(started.elapsed() < Duration::from_millis(2500));
        assert_eq!(
            http.get(format!("{}/healthz", svc.base)).send().await.unwrap().status(),
            StatusCode::OK,
            "liveness is not readiness"
        );
    }
    proxy.heal();
    let deadline = Instant::now() + Duration::from_secs(15);
    while http.get(format!("{}/readyz", svc.base)).send().await.unwrap().status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "never recovered after the link healed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post("after").await.unwrap().status(), StatusCode::CREATED);
    let stored = incidents_by_description(&svc.base).await;
    let names: BTreeSet<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["after", "before"]), "writes that got 503 left nothing behind");
    assert!(stored.values().all(|ids| ids.len() == 1));
}

/// Overload: beyond `http.max_in_flight` requests the server answers 503 with Retry-After at
/// once instead of queueing, while health probes still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_limit_are_shed_at_once() {
    let redis = RedisServer::start();
    let proxy = Proxy::start(redis.socket().to_path_buf()).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("GD_REDIS__URL", format!("redis://127.0.0.1:{}", proxy.port)),
        ("GD_REDIS__PREFIX", unique_prefix()),
        ("GD_REDIS__COMMAND_TIMEOUT", "1500ms".into()),
        ("GD_HTTP__MAX_IN_FLIGHT", "1".into()),
        ("GD_REPORT_LIMITS__PER_IP", "0".into()),
    ];
    let svc = ServiceProcess::start("svc", dir.path(), &env).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    proxy.stall();
    // Two reports at once: whichever takes the only slot waits on the stalled Redis; the other
    // must be answered while that one still waits (which does not depend on which came first).
    let send = |name: &'static str| {
        let (http, url) = (http.clone(), format!("{}/api/v1/reports", svc.base));
        tokio::spawn(async move {
            let answer = http.post(url).json(&report_body(name)).send().await.unwrap();
            let (status, retry_after) = (answer.status(), answer.headers().contains_key("retry-after"));
            (status, retry_after, answer.json::<Value>().await.unwrap()["error"]["code"].clone())
        })
    };
    let (mut one, mut two) = (send("one"), send("two"));
    let (shed, mut waiting) = tokio::select! {
        answer = &mut one => (answer.unwrap(), two),
        answer = &mut two => (answer.unwrap(), one),
    };
    // Queued behind the stalled one, it would be answered only after that one's deadline.
    assert!(!waiting.is_finished(), "shed at once, not queued");
    assert_eq!(shed, (StatusCode::SERVICE_UNAVAILABLE, true, Value::from("overloaded")));
    assert_eq!(http.get(format!("{}/healthz", svc.base)).send().await.unwrap().status(), StatusCode::OK);
    let (status, _, code) = (&mut waiting).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "the waiting one fails at its deadline");
    assert_ne!(code, "overloaded", "it held the slot");
    proxy.heal();
}

/// T04: with `redis.durability = "always"` on a Redis that could lose acknowledged writes
/// (Debian's defaults: no AOF), the instance stays unready and says why, and its API
/// acknowledges nothing; fixing the settings at run time brings it up, and spoiling them again
/// takes it down, each within the check interval. Nothing accepted meanwhile is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_redis_settings_keep_the_instance_unready_and_refusing_until_fixed() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("GD_REDIS__URL", redis.url()),
        ("GD_REDIS__PREFIX", unique_prefix()),
        ("GD_REDIS__DURABILITY", "always".into()),
        ("GD_REDIS__DURABILITY_CHECK_EVERY", "100ms".into()),
        ("GD_REPORT_LIMITS__PER_IP", "0".into()),
    ];
    let svc = ServiceProcess::start("svc", dir.path(), &env).await;
    let (http, base) = (&reqwest::Client::new(), svc.base.as_str());
    let ready = || async move { http.get(format!("{base}/readyz")).send().await.unwrap() };
    let post = |name: &'static str| async move {
        http.post(format!("{base}/api/v1/reports")).json(&report_body(name)).send().await.unwrap()
    };
    let refusal = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key("retry-after"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "store_unsafe", "{body}");
        body["error"]["message"].as_str().unwrap().to_owned()
    };
    // Unsafe from the start: the reason names each setting and its fix.
    let why = refusal(ready().await).await;
    assert!(why.contains("set appendonly yes") && why.contains("set appendfsync always"), "{why}");
    assert!(!why.contains("maxmemory-policy"), "Redis's default policy is noeviction: {why}");
    let why = refusal(post("refused").await).await;
    assert!(why.contains("appendonly"), "{why}");
    let page = http.get(format!("{base}/m")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "pages still load, and show their try-again state");
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);

    let mut admin = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let set = |name: &'static str, value: &'static str| {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("SET").arg(name).arg(value);
        cmd
    };
    let () = set("appendonly", "yes").query_async(&mut admin).await.unwrap();
    let () = set("appendfsync", "always").query_async(&mut admin).await.unwrap();
    let wait_for = |want: StatusCode| async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = ready().await;
            if r.status() == want {
                return r;
            }
            assert!(Instant::now() < deadline, "readiness never turned {want}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    wait_for(StatusCode::OK).await;
    assert_eq!(post("accepted").await.status(), StatusCode::CREATED);

    // Spoiled at run time: eviction could delete deadlines and idempotency claims.
    let () = set("maxmemory-policy", "allkeys-lru").query_async(&mut admin).await.unwrap();
    let why = refusal(wait_for(StatusCode::SERVICE_UNAVAILABLE).await).await;
    assert!(why.contains("set maxmemory-policy noeviction") && !why.contains("appendonly"), "{why}");
    refusal(post("refused again").await).await;

    let () = set("maxmemory-policy", "noeviction").query_async(&mut admin).await.unwrap();
    wait_for(StatusCode::OK).await;
    let stored = incidents_by_description(base).await;
    assert_eq!(stored.keys().map(String::as_str).collect::<Vec<_>>(), ["accepted"], "refused ones left nothing");
}

/// The service's peak resident memory so far (`VmHWM`), KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the service's /proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmHWM in kB")
}

/// A login flood cannot be turned into a weapon: 128 logins at once (a known phone and unknown
/// ones, each from its own address, so no limit refuses them and every one is checked) hold
/// at most `auth.password_hash_concurrency` argon2 blocks of 19 MiB at a time. The service's
/// peak memory grows by tens of MiB, not by one block per request (GiB), and health probes and
/// a resident's tracking read stay fast meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_leaves_memory_flat_and_other_requests_fast() {
    const FLOOD: usize = 128;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = redis_env(&redis, &unique_prefix());
    env.push(("GD_AUTH__PASSWORD_HASH_CONCURRENCY", "2".into()));
    // Every login must be checked, however slow the shared machine is today.
    env.push(("GD_HTTP__REQUEST_TIMEOUT", "120s".into()));
    let svc = ServiceProcess::start("flood", dir.path(), &env).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let known = "13911112222";
    let body = json!({ "name": "洪水", "phone": known, "password": "s3cret-pass" });
    let created = http
        .post(format!("{}/api/v1/admin/mediators", svc.base))
        .bearer_auth(token("ops-admin", Role::Admin))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let login_ok = json!({ "phone": known, "password": "s3cret-pass" });
    let resp = http.post(format!("{}/api/v1/auth/login", svc.base)).json(&login_ok).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "warm: one check has run before the baseline");
    let filed: Value = http
        .post(format!("{}/api/v1/reports", svc.base))
        .json(&report_body("flood"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let track = format!("{}/api/v1/track/{}", svc.base, filed["tracking_token"].as_str().unwrap());
    let before_kib = peak_rss_kib(svc.pid());

    let started = Instant::now();
    let flood: Vec<_> = (0..FLOOD)
        .map(|i| {
            let ip =
                std::net::Ipv4Addr::new(127, 3, u8::try_from(i / 200).unwrap(), u8::try_from(i % 200 + 1).unwrap());
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::V4(ip))
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap();
            let phone = if i % 2 == 0 { known.to_owned() } else { format!("137{:08}", 40_000_000 + i) };
            let url = format!("{}/api/v1/auth/login", svc.base);
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({ "phone": phone, "password": "wrong-password" }))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut probes = vec![];
    while flood.iter().any(|f| !f.is_finished()) {
        for url in [format!("{}/healthz", svc.base), track.clone()] {
            let t = Instant::now();
            assert_eq!(http.get(&url).send().await.unwrap().status(), StatusCode::OK);
            probes.push(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let flood_took = started.elapsed();
    for f in flood {
        assert_eq!(f.await.unwrap(), StatusCode::UNAUTHORIZED, "every login of the flood was checked and refused");
    }
    let grew_mib = peak_rss_kib(svc.pid()).saturating_sub(before_kib) / 1024;
    probes.sort();
    let (p50, p90, max) = (probes[probes.len() / 2], probes[probes.len() * 9 / 10], probes[probes.len() - 1]);
    eprintln!(
        "login flood of {FLOOD}: {flood_took:?}; peak RSS grew {grew_mib} MiB; probes p50 {p50:?} p90 {p90:?} max {max:?} of {}",
        probes.len()
    );
    assert!(grew_mib <= 64, "peak memory grew {grew_mib} MiB during the flood (2 checks × 19 MiB allowed)");
    assert!(probes.len() >= 4, "the flood lasted long enough to probe");
    // Without the permits, probes took 350 ms at the median (the checks took every core).
    let fast = p50 < Duration::from_millis(100) && p90 < Duration::from_millis(250) && max < Duration::from_secs(2);
    assert!(fast, "probes p50 {p50:?}, p90 {p90:?}, max {max:?}");
}

/// `CONFIG SET name value` on `redis`.
async fn config_set(redis: &RedisServer, name: &str, value: &str) {
    let mut admin = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query_async(&mut admin).await.unwrap();
}

/// Poll `/readyz` until it answers `want` (bounded).
async fn wait_ready(base: &str, want: StatusCode) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if http.get(format!("{base}/readyz")).send().await.unwrap().status() == want {
            return;
        }
        assert!(Instant::now() < deadline, "readiness never turned {want}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const WECHAT_TOKEN: &str = "faults-wechat-token";
const WECHAT_ACCOUNT: &str = "gh_faults0000001";

/// A plaintext WeChat delivery from `openid`, signed as WeChat signs it; returns the reply's text.
async fn wechat_says(base: &str, openid: &str, inner: &str) -> String {
    use grid_dispatch::wechat::crypto::signature;
    let (ts, nonce) = (jiff::Timestamp::now().as_second().to_string(), unique_prefix());
    let url =
        format!("{base}/wechat?signature={}&timestamp={ts}&nonce={nonce}", signature(&[WECHAT_TOKEN, &ts, &nonce]));
    let body = format!(
        "<xml><ToUserName><![CDATA[{WECHAT_ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{ts}</CreateTime>{inner}</xml>"
    );
    let r = reqwest::Client::new().post(url).header("content-type", "text/xml").body(body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "WeChat is always answered");
    let xml = r.text().await.unwrap();
    let fields = grid_dispatch::wechat::message::parse_fields(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    fields.get("Content").unwrap_or_else(|| panic!("a text reply: {xml}")).to_owned()
}

/// #16.2: every door is behind the durability guard, not only `/api/`. While Redis's settings
/// could lose acknowledged writes, a resident's WeChat text files nothing and is told to send
/// it again (its retry too), and a phone's open socket gets its duty change refused; once the
/// settings are fixed, the resident's next text is filed, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_could_lose_writes_no_door_acknowledges_anything() {
    let redis = RedisServer::start();
    config_set(&redis, "appendonly", "yes").await;
    config_set(&redis, "appendfsync", "always").await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = redis_env(&redis, &unique_prefix());
    env.extend([
        ("GD_REDIS__DURABILITY", "always".to_owned()),
        ("GD_REDIS__DURABILITY_CHECK_EVERY", "100ms".to_owned()),
        ("GD_WECHAT__TOKEN", WECHAT_TOKEN.to_owned()),
        ("GD_WECHAT__ORIGINAL_ID", WECHAT_ACCOUNT.to_owned()),
    ]);
    let svc = ServiceProcess::start("svc", dir.path(), &env).await;
    wait_ready(&svc.base, StatusCode::OK).await;
    let http = reqwest::Client::new();
    let admin = token("ops", Role::Admin);
    let scene: Value = http
        .post(format!("{}/api/v1/admin/scenes", svc.base))
        .bearer_auth(&admin)
        .json(&json!({ "name": "幸福里", "location": { "lat": 36.6, "lng": 101.7 } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scan = format!(
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[{}]]></EventKey>",
        scene["id"].as_str().unwrap()
    );
    let resident = "oFaultsResident1";
    assert!(wechat_says(&svc.base, resident, &scan).await.contains("/r/"), "the scan binds the resident");
    let created = svc.create_mediator(&http, "守门", "13700008888").await;
    let mediator = token(&created, Role::Mediator);
    let ws_url = svc.mediator_socket_url(&mediator);
    let (mut phone, _) = tokio_tungstenite::connect_async(ws_url).await.expect("socket opens");

    config_set(&redis, "appendonly", "no").await;
    wait_ready(&svc.base, StatusCode::SERVICE_UNAVAILABLE).await;
    let text = |id: u64| {
        format!(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[楼上漏水，邻居吵起来了]]></Content><MsgId>{id}</MsgId>"
        )
    };
    for _ in 0..2 {
        // The same message twice: WeChat's retry gets the same answer and files nothing either.
        let reply = wechat_says(&svc.base, resident, &text(7001)).await;
        assert!(reply.contains("暂未受理") && reply.contains("再发送"), "told to send it again: {reply}");
        assert!(!reply.contains("已收到") && !reply.contains("/t/"), "nothing acknowledged: {reply}");
    }
    phone.send(Message::Text(json!({ "type": "duty", "on": true }).to_string().into())).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let Some(Ok(Message::Text(t))) = phone.next().await else { panic!("the socket closed") };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "error" || (v["type"] == "duty" && v["on"] == true) {
                return v;
            }
        }
    })
    .await
    .expect("the phone is answered");
    assert_eq!(answer["code"], "store_unsafe", "a duty change on an open socket is refused: {answer}");

    config_set(&redis, "appendonly", "yes").await;
    wait_ready(&svc.base, StatusCode::OK).await;
    assert!(incidents_by_description(&svc.base).await.is_empty(), "nothing was filed while unsafe");
    let reply = wechat_says(&svc.base, resident, &text(7002)).await;
    assert!(reply.contains("已收到") && reply.contains("/t/"), "{reply}");
    let stored = incidents_by_description(&svc.base).await;
    assert_eq!(stored.values().map(Vec::len).sum::<usize>(), 1, "{stored:?}");
}
