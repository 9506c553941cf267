//! Slow, idle and too many connections, and a stop with stuck clients, against the binary with
//! raw TCP clients (issue #16, points 5 and 11): what a slowloris, an idle keep-alive, a flood of
//! sockets or a client that never reads can hold, and for how long. Also where `/metrics` is
//! served and who may read it.

#[path = "support/service.rs"]
mod service;

use grid_dispatch::domain::account::Role;
use reqwest::StatusCode;
use service::{ServiceProcess, token};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(svc: &ServiceProcess) -> String {
    svc.base.trim_start_matches("http://").to_owned()
}

/// Read until the server closes the connection (or `within` passes); what it sent, and whether
/// it closed.
async fn read_until_closed(tcp: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// One keep-alive `GET /healthz` on a raw connection; the response head.
async fn healthz_on(tcp: &mut TcpStream) -> String {
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).ends_with("ok") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await.expect("answered").unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Slowloris: a client that sends its headers a line at a time, or nothing at all, is cut off
/// once `http.header_read_timeout` has passed since it connected, while others are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let svc = ServiceProcess::start("svc", dir.path(), &[("GD_HTTP__HEADER_READ_TIMEOUT", "1s".into())]).await;
    let mut silent = TcpStream::connect(addr(&svc)).await.unwrap();
    let mut dripping = TcpStream::connect(addr(&svc)).await.unwrap();
    let started = Instant::now();
    dripping.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n").await.unwrap();
    let drip = async {
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if dripping.write_all(format!("X-Drip-{i}: 1\r\n").as_bytes()).await.is_err() {
                return started.elapsed();
            }
        }
        panic!("a header every 200 ms kept the connection for 8 s");
    };
    let cut_after = drip.await;
    assert!(cut_after < Duration::from_secs(3), "cut off near the 1 s deadline, not {cut_after:?}");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(2)).await;
    assert!(closed, "a connection that sends nothing is closed too");
    let mut fine = TcpStream::connect(addr(&svc)).await.unwrap();
    assert!(healthz_on(&mut fine).await.starts_with("HTTP/1.1 200"), "others are served");
}

/// A kept-alive connection is reused while requests keep coming, and closed once it has been
/// idle for `http.keep_alive_idle_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let svc = ServiceProcess::start("svc", dir.path(), &[("GD_HTTP__KEEP_ALIVE_IDLE_TIMEOUT", "1s".into())]).await;
    let mut tcp = TcpStream::connect(addr(&svc)).await.unwrap();
    for _ in 0..3 {
        assert!(healthz_on(&mut tcp).await.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let idle_from = Instant::now();
    let (_, closed) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(closed, "an idle connection is not kept for ever");
    let idled = idle_from.elapsed();
    assert!(idled > Duration::from_millis(500) && idled < Duration::from_secs(3), "closed after ~1 s idle: {idled:?}");
}

/// Beyond `http.max_connections` a new connection is answered 503 at once and closed; when
/// one closes, a new one is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let svc = ServiceProcess::start("svc", dir.path(), &[("GD_HTTP__MAX_CONNECTIONS", "4".into())]).await;
    let mut held = vec![];
    while held.len() < 4 {
        let mut tcp = TcpStream::connect(addr(&svc)).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
        let mut head = [0u8; 12];
        tcp.read_exact(&mut head).await.unwrap();
        if &head == b"HTTP/1.1 200" {
            let mut rest = [0u8; 512];
            let _ = tcp.read(&mut rest).await;
            held.push(tcp);
        } else {
            // The start-up probe's connection may not be reaped yet.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut extra = TcpStream::connect(addr(&svc)).await.unwrap();
    let started = Instant::now();
    let (said, closed) = read_until_closed(&mut extra, Duration::from_secs(3)).await;
    assert!(said.starts_with("HTTP/1.1 503") && said.contains("retry-after: 1"), "{said:?}");
    assert!(closed && started.elapsed() < Duration::from_secs(1), "refused at once");
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut tcp = TcpStream::connect(addr(&svc)).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.unwrap();
        let (said, _) = read_until_closed(&mut tcp, Duration::from_secs(3)).await;
        if said.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "a freed slot is never reused: {said:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM stops the process within `http.drain_timeout` (plus a little) even while a client
/// never finishes its headers, a phone's WebSocket stops reading, and a slow request is in
/// progress; the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_in_bounded_time_despite_stuck_clients() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = ServiceProcess::start("svc", dir.path(), &[("GD_HTTP__DRAIN_TIMEOUT", "2s".into())]).await;
    let http = reqwest::Client::new();
    let created = svc.create_mediator(&http, "不读", "13700007777").await;
    let mediator = token(&created, Role::Mediator);
    let ws_url = svc.mediator_socket_url(&mediator);
    let (phone, _) = tokio_tungstenite::connect_async(ws_url).await.expect("socket opens");
    let mut half = TcpStream::connect(addr(&svc)).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Never-Ends: ").await.unwrap();
    let mut upload = TcpStream::connect(addr(&svc)).await.unwrap();
    upload.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await; // let the server take them all in

    svc.sigterm();
    let status = svc.exited_within(Duration::from_secs(6)).await;
    let status = status.expect("still running 6 s after SIGTERM with a 2 s drain deadline");
    assert!(status.success(), "a clean exit: {status:?}");
    drop((phone, half, upload));
}

/// `/metrics` can require a bearer token (`GD_METRICS__TOKEN`), and can move to its own
/// address (`metrics.addr`), leaving the public listener answering 404 for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_token_and_live_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let scrape = "scrape-token-0123456789";
    let svc = ServiceProcess::start("svc", dir.path(), &[("GD_METRICS__TOKEN", scrape.into())]).await;
    let url = format!("{}/metrics", svc.base);
    assert_eq!(http.get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(http.get(&url).bearer_auth("wrong").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let ok = http.get(&url).bearer_auth(scrape).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("gd_http_requests_total"));
    drop(svc);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = [("GD_METRICS__ADDR", format!("127.0.0.1:{port}")), ("GD_METRICS__TOKEN", scrape.into())];
    let svc = ServiceProcess::start("separate", dir.path(), &env).await;
    let public = http.get(format!("{}/metrics", svc.base)).bearer_auth(scrape).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND, "not on the public listener");
    let internal = format!("http://127.0.0.1:{port}");
    let ok = http.get(format!("{internal}/metrics")).bearer_auth(scrape).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("gd_"));
    assert_eq!(http.get(format!("{internal}/metrics")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let api = http.get(format!("{internal}/api/v1/admin/mediators")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND, "only /metrics there");
}
