//! Socket limits: close codes for bad client messages, caps on command-center screens, and
//! screens that stop reading are dropped by the write timeout (memory freed, others unslowed).

use crate::helpers::{Backend, TestApp, eventually, spawn_app, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

on_both_stores!(
    a_message_over_16_kib_closes_with_1009_and_text_that_is_not_utf8_with_1007,
    command_center_screens_are_capped_per_account_and_in_total,
);

/// On the memory store only: the write timeout concerns sockets, not the store, and the test is
/// heavy (it must outgrow the kernel's socket buffers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_that_stop_reading_are_dropped_by_the_write_timeout_while_the_others_keep_up() {
    stalled_screens(Backend::Memory).await;
}

/// On the memory store only: pings concern sockets, not the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_keeps_talking_is_not_pinged_and_a_quiet_one_is() {
    let interval = Duration::from_millis(300);
    let app = spawn_app_with(Backend::Memory, |s| s.push.ping_interval = interval).await;
    let m = app.mediator("说话的", &[]).await;
    let pings_over = |talk: bool| {
        let (app, token) = (&app, m.token.clone());
        async move {
            let mut phone = app.socket("/api/v1/mediator/ws", &token).await;
            phone.wait_for("duty", |_| true).await;
            let (mut pings, until) = (0, tokio::time::Instant::now() + interval * 6);
            while tokio::time::Instant::now() < until {
                if talk {
                    phone.send_json(&serde_json::json!({ "type": "ping" })).await;
                }
                // Reading answers the server's pings (the client library sends the pong).
                if let Some(Message::Ping(_)) = phone.next_frame_within(interval / 6).await {
                    pings += 1;
                }
            }
            pings
        }
    };
    // Talking six times an interval: heard every interval, so never pinged (one stall of
    // this loaded test machine may cost one ping; pinging every interval would be six).
    let talking = pings_over(true).await;
    assert!(talking <= 1, "a phone heard from every interval was pinged {talking} times in 6 intervals");
    // Silent: pinged (every other interval, as its pong counts as hearing from it), and kept.
    let quiet = pings_over(false).await;
    assert!(quiet >= 2, "a quiet phone was pinged {quiet} times in 6 intervals");
}

async fn a_message_over_16_kib_closes_with_1009_and_text_that_is_not_utf8_with_1007(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("边界", &[]).await;

    let mut phone = app.socket("/api/v1/mediator/ws", &m.token).await;
    phone.wait_for("duty", |_| true).await;
    assert!(phone.try_send(Message::Text("x".repeat(17 * 1024).into())).await);
    assert_eq!(phone.closed().await.0, Some(1009), "message too big");

    let mut phone = app.socket("/api/v1/mediator/ws", &m.token).await;
    phone.wait_for("duty", |_| true).await;
    let not_utf8 = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    assert!(phone.try_send(Message::Frame(not_utf8)).await);
    assert_eq!(phone.closed().await.0, Some(1007), "invalid payload");

    let op = app.operator("大屏").await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    screen.wait_for("snapshot", |_| true).await;
    assert!(screen.try_send(Message::Text("y".repeat(64 * 1024).into())).await);
    assert_eq!(screen.closed().await.0, Some(1009));
}

/// The status an upgrade of `/api/v1/command/live` gets.
async fn screen_upgrade(app: &TestApp, token: &str) -> Result<(), StatusCode> {
    let url = format!("{}/api/v1/command/live?access_token={token}", app.base.replacen("http", "ws", 1));
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status()),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

async fn command_center_screens_are_capped_per_account_and_in_total(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.push.screens_per_account = 2;
        s.push.screens_total = 3;
    })
    .await;
    let (op, colleague) = (app.operator("大屏").await, app.operator("同事").await);
    let _first = app.socket("/api/v1/command/live", &op.token).await;
    let mut second = app.socket("/api/v1/command/live", &op.token).await;
    second.wait_for("snapshot", |_| true).await;
    assert_eq!(screen_upgrade(&app, &op.token).await, Err(StatusCode::TOO_MANY_REQUESTS), "a third for one account");
    let _third = app.socket("/api/v1/command/live", &colleague.token).await;
    assert_eq!(screen_upgrade(&app, &colleague.token).await, Err(StatusCode::TOO_MANY_REQUESTS), "a fourth in all");

    // A closed screen frees its place.
    drop(second);
    eventually("a freed place", || async { app.app().hub().socket_counts().1.eq(&2).then_some(()) }).await;
    let _again = app.socket("/api/v1/command/live", &colleague.token).await;
}

/// This process's resident memory, KiB (the server runs in it).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// File a report with a long description (~6 KB on a screen); its id.
async fn long_report(app: &TestApp, i: usize) -> String {
    let body = serde_json::json!({
        "location": { "lat": 36.6, "lng": 101.7, "coord": "wgs84" },
        "category": "other",
        "description": format!("{i:04}{}", "很长的描述".repeat(399)),
    });
    let (s, created) = app.post("/api/v1/reports", None, body).await;
    assert_eq!(s, StatusCode::CREATED);
    created["id"].as_str().unwrap().to_owned()
}

async fn stalled_screens(backend: Backend) {
    const STALLED: usize = 8;
    const OPEN_REPORTS: usize = 600;
    let write_timeout = Duration::from_secs(1);
    let app = spawn_app_with(backend, |s| {
        // The hub's queue never fills here: only the write timeout can end a stalled screen.
        s.push.socket_queue = 100_000;
        s.push.write_timeout = write_timeout;
        s.push.screens_per_account = STALLED + 1;
        s.report_limits.per_ip = 0;
    })
    .await;
    let op = app.operator("大屏").await;
    let mut healthy = app.socket("/api/v1/command/live", &op.token).await;
    healthy.wait_for("snapshot", |_| true).await;
    // Open reports with long descriptions: a new screen's snapshot comes to about 4 MB.
    for i in 0..OPEN_REPORTS {
        let id = long_report(&app, i).await;
        healthy.wait_for("incident", |m| m["incident"]["id"] == id.as_str()).await;
    }
    let rss_before = rss_kib();

    // Screens that never read: a tiny receive window, and nobody polls them. Each is sent that
    // snapshot, which cannot get through.
    let addr = app.base.trim_start_matches("http://").parse::<std::net::SocketAddr>().unwrap();
    let stall = || async {
        let mut stalled = vec![];
        for _ in 0..STALLED {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let stream = socket.connect(addr).await.unwrap();
            let url = format!("ws://{addr}/api/v1/command/live?access_token={}", op.token);
            stalled.push(tokio_tungstenite::client_async(url, stream).await.unwrap().0);
        }
        stalled
    };
    let stalled = stall().await;
    let last_opened = std::time::Instant::now();
    let rss_stalled = rss_kib();

    // The reading screen keeps getting updates meanwhile.
    let app = std::sync::Arc::new(app);
    let reporter = {
        let app = app.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                let id = long_report(&app, OPEN_REPORTS + i).await;
                healthy.wait_for("incident", |m| m["incident"]["id"] == id.as_str()).await;
            }
            healthy
        })
    };
    // The stalled screens are gone from this instance (their tasks ended, buffers freed),
    // within the write timeout of their stalled write.
    eventually("stalled screens dropped", || async { (app.app().hub().socket_counts().1 == 1).then_some(()) }).await;
    let dropped_after = last_opened.elapsed();
    assert!(dropped_after < write_timeout + Duration::from_secs(2), "dropped after {dropped_after:?}");
    let rss_after = rss_kib();
    let healthy = reporter.await.expect("the reading screen got every update");
    // Freed, not pinned: as many again stall and are dropped in the memory the first let go.
    // Reports keep coming meanwhile (a snapshot alone may fit in the kernel's buffers).
    let again = stall().await;
    let mut next = OPEN_REPORTS + 20;
    eventually("stalled again and dropped", || {
        next += 1;
        let (app, i) = (app.clone(), next);
        async move {
            long_report(&app, i).await;
            (app.app().hub().socket_counts().1 == 1).then_some(())
        }
    })
    .await;
    let rss_again = rss_kib();
    eprintln!(
        "RSS (test process, server in it) with {STALLED} screens stalled on a ~4 MB snapshot: before {} MiB, \
         while stalled {} MiB, after they were dropped ({dropped_after:?} after the last opened) {} MiB, \
         after {STALLED} more stalled and were dropped {} MiB",
        rss_before / 1024,
        rss_stalled / 1024,
        rss_after / 1024,
        rss_again / 1024,
    );
    assert!(rss_again < rss_after + 24 * 1024, "the second round reused the first's memory");
    drop(again);
    drop(stalled);
    drop(healthy);
}
