//! The black-box harness: start the real service in-process on 127.0.0.1:0 over the memory
//! store or a real `redis-server`, and talk to it with real HTTP and WebSocket clients.

use crate::redis_server::{RedisServer, unique_prefix};
use futures_util::{SinkExt, StreamExt};
use grid_dispatch::app::App;
use grid_dispatch::clock::ManualClock;
use grid_dispatch::config::Settings;
use grid_dispatch::domain::account::Role;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The signing key every test app uses, so tests can mint tokens.
pub(crate) const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";
/// How long a test waits for something that should happen "at once".
pub(crate) const PROMPTLY: Duration = Duration::from_secs(5);

/// Which store the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The embedded memory store.
    Memory,
    /// A real redis-server started for this test.
    Redis,
}

/// A running service and the clients to talk to it.
pub(crate) struct TestApp {
    app: Option<App>,
    /// The clock it reads, when the test holds it (see [`spawn_app_on_clock`]).
    clock: Option<Arc<ManualClock>>,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The settings it started with.
    pub settings: Settings,
    /// The Redis server, when on Redis (kept alive with the app).
    pub redis: Option<RedisServer>,
    http: reqwest::Client,
}

/// Test defaults: port 0, fixed key, fast timers, quiet logs unless `TEST_LOG` is set.
pub(crate) fn test_settings() -> Settings {
    let mut s = Settings::defaults();
    s.http.addr = "127.0.0.1:0".parse().expect("valid addr");
    s.auth.jwt_secret = Some(SecretString::from(TEST_SECRET));
    s.timers.poll_interval = Duration::from_millis(50);
    s.push.live_batch_interval = Duration::from_millis(50);
    s.log.format = "pretty".into();
    if std::env::var_os("TEST_LOG").is_some() {
        grid_dispatch::telemetry::init_tracing(&s.log);
    }
    s
}

/// Test settings on `backend` (starting its Redis server), changed by `tweak`.
pub(crate) fn settings_on(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> (Settings, Option<RedisServer>) {
    let mut settings = test_settings();
    let redis = match backend {
        Backend::Memory => None,
        Backend::Redis => {
            let server = RedisServer::start();
            settings.redis.url = server.url();
            settings.redis.prefix = unique_prefix();
            Some(server)
        }
    };
    tweak(&mut settings);
    (settings, redis)
}

/// Start an app on `backend` with test settings changed by `tweak`.
pub(crate) async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (settings, redis) = settings_on(backend, tweak);
    start(settings, redis).await
}

/// Start an app with these exact settings (keeping `redis` alive alongside).
pub(crate) async fn start(settings: Settings, redis: Option<RedisServer>) -> TestApp {
    let app = App::start(settings.clone()).await.expect("the app starts");
    TestApp::new(app, None, settings, redis)
}

/// Start an app with these exact settings on a clock the test holds.
pub(crate) async fn start_on_clock(settings: Settings, redis: Option<RedisServer>, clock: Arc<ManualClock>) -> TestApp {
    let app = App::start_with(settings.clone(), clock.clone()).await.expect("the app starts");
    TestApp::new(app, Some(clock), settings, redis)
}

/// Start an app on `backend` with test settings changed by `tweak`, on a clock that stands
/// still (at the wall clock's time) until the test moves it: durations stay as configured.
pub(crate) async fn spawn_app_on_clock(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (settings, redis) = settings_on(backend, tweak);
    start_on_clock(settings, redis, Arc::new(ManualClock::starting_now())).await
}

/// Start an app on `backend` with test settings.
pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// A unique mainland mobile number.
pub(crate) fn phone() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("139{:08}", (u64::from(std::process::id()) * 1000 + N.fetch_add(1, Ordering::Relaxed)) % 100_000_000)
}

/// A staff member the tests act as.
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    /// Account id.
    pub id: String,
    /// Bearer token.
    pub token: String,
    /// Phone.
    pub phone: String,
}

impl TestApp {
    fn new(app: App, clock: Option<Arc<ManualClock>>, settings: Settings, redis: Option<RedisServer>) -> Self {
        let base = format!("http://{}", app.addr());
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Self { app: Some(app), clock, base, settings, redis, http }
    }

    /// The clock the test holds.
    pub(crate) fn clock(&self) -> &Arc<ManualClock> {
        self.clock.as_ref().expect("started with spawn_app_on_clock")
    }

    /// Move the app's clock on by `by`, then wait until its timer runner has fired whatever
    /// fell due (it sleeps again, until a later deadline).
    pub(crate) async fn advance(&self, by: Duration) {
        self.clock().advance(by);
        tokio::time::timeout(PROMPTLY, self.clock().idle()).await.expect("the timer runner settles in time");
    }

    /// The running app.
    pub(crate) fn app(&self) -> &App {
        self.app.as_ref().expect("running")
    }

    /// Stop gracefully (the Redis server, if any, keeps running).
    pub(crate) async fn stop(mut self) -> (Settings, Option<RedisServer>) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        (self.settings.clone(), self.redis.take())
    }

    /// An operations admin token.
    pub(crate) fn admin_token(&self) -> String {
        self.app()
            .keys()
            .issue("ops-admin", Role::Admin, Duration::from_secs(600), jiff::Timestamp::now())
            .expect("token")
            .0
    }

    /// Send a request; `token` as a bearer, `body` as JSON.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// GET.
    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// POST JSON.
    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// The raw client, for requests the helpers above cannot express.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Create a mediator through the admin API and log them in.
    pub(crate) async fn mediator(&self, name: &str, specialties: &[&str]) -> Staff {
        self.staff("mediators", name, json!({ "specialties": specialties, "capacity": 3 })).await
    }

    /// Create an operator through the admin API and log them in.
    pub(crate) async fn operator(&self, name: &str) -> Staff {
        self.staff("operators", name, json!({})).await
    }

    async fn staff(&self, kind: &str, name: &str, extra: Value) -> Staff {
        let phone = phone();
        let mut body = json!({ "name": name, "phone": phone, "password": "s3cret-pass" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, created) = self.post(&format!("/api/v1/admin/{kind}"), Some(&self.admin_token()), body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (status, login) =
            self.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": "s3cret-pass" })).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        Staff {
            id: created["id"].as_str().expect("id").to_owned(),
            token: login["access_token"].as_str().expect("token").to_owned(),
            phone,
        }
    }

    /// Put a mediator on duty at a WGS-84 point over HTTP.
    pub(crate) async fn on_duty_at(&self, mediator: &Staff, lat: f64, lng: f64) {
        let (s, b) = self.post("/api/v1/mediator/duty", Some(&mediator.token), json!({ "on": true })).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        self.move_to(mediator, lat, lng).await;
    }

    /// Report a mediator's position (WGS-84) over HTTP.
    pub(crate) async fn move_to(&self, mediator: &Staff, lat: f64, lng: f64) {
        let (s, b) = self
            .post(
                "/api/v1/mediator/position",
                Some(&mediator.token),
                json!({ "lat": lat, "lng": lng, "coord": "wgs84" }),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }

    /// File a report at a WGS-84 point; returns the response body.
    pub(crate) async fn report_at(&self, lat: f64, lng: f64) -> Value {
        let body = json!({
            "location": { "lat": lat, "lng": lng, "coord": "wgs84" },
            "category": "neighbor",
            "description": "楼上装修噪音，沟通无果",
            "phone": "13812345678",
        });
        let (status, created) = self.post("/api/v1/reports", None, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    /// Open a socket at `path` with `?access_token=`.
    pub(crate) async fn socket(&self, path: &str, token: &str) -> Socket {
        let url = format!("{}{path}?access_token={token}", self.base.replacen("http", "ws", 1));
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("socket opens");
        Socket { ws }
    }

    /// Open a socket at `path_and_query` as given: the socket, or the HTTP status that
    /// refused the upgrade.
    pub(crate) async fn try_socket(&self, path_and_query: &str) -> Result<Socket, StatusCode> {
        let url = format!("{}{path_and_query}", self.base.replacen("http", "ws", 1));
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => Ok(Socket { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status()),
            Err(e) => panic!("socket failed without an HTTP answer: {e}"),
        }
    }
}

/// A client WebSocket that reads JSON messages.
pub(crate) struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// The next JSON text message within `limit`, or None (pings are skipped).
    pub(crate) async fn next_json_within(&mut self, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()??.ok()?;
            match msg {
                Message::Text(t) => return Some(serde_json::from_str(&t).expect("JSON message")),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next frame of any kind (pings included) within `limit`, or None.
    pub(crate) async fn next_frame_within(&mut self, limit: Duration) -> Option<Message> {
        tokio::time::timeout(limit, self.ws.next()).await.ok()??.ok()
    }

    /// Wait for the first message of `kind` matching `pred`, skipping others.
    pub(crate) async fn wait_for(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PROMPTLY;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self.next_json_within(left).await.unwrap_or_else(|| panic!("no `{kind}` message in time"));
            if msg["type"] == kind && pred(&msg) {
                return msg;
            }
        }
    }

    /// Send a JSON text message.
    pub(crate) async fn send_json(&mut self, v: &Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.expect("sent");
    }

    /// Send a raw message; false if the socket is already gone.
    pub(crate) async fn try_send(&mut self, message: Message) -> bool {
        self.ws.send(message).await.is_ok()
    }

    /// Read until the server closes the socket (within `PROMPTLY`); its close code, and the
    /// JSON messages received before it. Panics if it stays open.
    pub(crate) async fn closed(&mut self) -> (Option<u16>, Vec<Value>) {
        let mut before = vec![];
        let read = tokio::time::timeout(PROMPTLY, async {
            while let Some(msg) = self.ws.next().await {
                match msg {
                    Ok(Message::Text(t)) => before.push(serde_json::from_str(&t).expect("JSON message")),
                    Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            None
        })
        .await;
        (read.expect("the server closed the socket in time"), before)
    }
}

/// Reads Server-Sent Events `update` payloads from a streaming response.
pub(crate) struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Events from this (200, `text/event-stream`) response.
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Self { response, buffer: String::new() }
    }

    /// The next `update` payload (within `PROMPTLY`).
    pub(crate) async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + PROMPTLY;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) {
                    assert!(block.contains("event: update"), "{block}");
                    return serde_json::from_str(data.trim()).expect("JSON event");
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("readable")
                .expect("open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Poll `check` until it returns Some or `PROMPTLY` passes (for state visible only by asking).
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PROMPTLY;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Define `memory` and `redis` variants of behaviour tests taking a `Backend`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$name($crate::helpers::Backend::Memory).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn redis() {
                    super::$name($crate::helpers::Backend::Redis).await;
                }
            }
        )*
    };
}

/// A signature-like PNG: a dark stroke on transparency, different per `seed`.
pub(crate) fn signature_png(seed: u32) -> Vec<u8> {
    let (w, h) = (240u32, 90u32);
    let mut pixels = vec![0u8; (w * h * 4) as usize];
    for x in 10..230 {
        let y = 45.0 + 25.0 * ((x as f32 + seed as f32 * 7.0) / 18.0).sin();
        for dy in 0..4 {
            let yy = (y as u32 + dy).min(h - 1);
            let i = ((yy * w + x) * 4) as usize;
            pixels[i..i + 4].copy_from_slice(&[20, 20, 60, 255]);
        }
    }
    let mut out = vec![];
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&pixels).unwrap();
    out
}
