//! The stalled-screens test measures this process's resident memory, so it runs in a process of
//! its own (the `stalled_screens` test target), not beside the api suite's other tests, whose
//! allocations (a CJK font for the case file's PDFs, thousands of sockets) would blur it.

use crate::helpers::{Backend, TestApp, eventually, spawn_app_with};
use reqwest::StatusCode;
use std::time::Duration;

/// On the memory store only: the write timeout concerns sockets, not the store, and the test is
/// heavy (it must outgrow the kernel's socket buffers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_that_stop_reading_are_dropped_by_the_write_timeout_while_the_others_keep_up() {
    stalled_screens(Backend::Memory).await;
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
