//! A stalled reader is disconnected without slowing anyone else; memory stays bounded.

use crate::helpers::{Backend, PROMPTLY, spawn_app_with};
use crate::on_both_stores;
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

on_both_stores!(a_stalled_operator_socket_is_dropped_while_the_others_keep_up);

async fn a_stalled_operator_socket_is_dropped_while_the_others_keep_up(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.push.socket_queue = 16;
        s.report_limits.per_ip = 0;
    })
    .await;
    let op = app.operator("大屏").await;
    let mut healthy = app.socket("/api/v1/command/live", &op.token).await;
    healthy.wait_for("snapshot", |_| true).await;

    // A screen that stops reading: a tiny receive window, and nobody polls the socket.
    let addr = app.base.trim_start_matches("http://").parse::<std::net::SocketAddr>().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/api/v1/command/live?access_token={}", op.token);
    let (mut stalled, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();

    const REPORTS: usize = 450;
    // The healthy screen reads as messages come.
    let reader = tokio::spawn(async move {
        let mut seen = vec![];
        while seen.len() < REPORTS {
            let m = healthy.wait_for("incident", |m| m["event"]["type"] == "reported").await;
            seen.push(m["incident"]["id"].as_str().unwrap().to_owned());
        }
        seen
    });
    // Enough bytes to overflow the kernel's socket buffers (a few MB on loopback), our 256 KiB
    // write buffer and the 16-message queue.
    let mut ids = vec![];
    for i in 0..REPORTS {
        // The longest descriptions allowed make each message ~6 KB.
        let body = serde_json::json!({
            "location": { "lat": 36.6, "lng": 101.7, "coord": "wgs84" },
            "category": "other",
            "description": format!("{i:04}{}", "很长的描述".repeat(399)),
        });
        let (s, created) = app.post("/api/v1/reports", None, body).await;
        assert_eq!(s, reqwest::StatusCode::CREATED);
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    // The healthy screen heard about every report, in order.
    assert_eq!(reader.await.unwrap(), ids);

    // The stalled one was cut off: reading now yields what was buffered, then the end, and far
    // fewer messages than were sent.
    let mut got = 0;
    let mut closed_by_server = false;
    let drained = tokio::time::timeout(PROMPTLY, async {
        while let Some(msg) = stalled.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "incident" {
                        got += 1;
                    }
                }
                Ok(Message::Close(frame)) => {
                    closed_by_server = frame.is_some_and(|f| u16::from(f.code) == 1013);
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the stalled socket was closed, not left hanging");
    assert!(got < REPORTS * 2, "the stalled reader did not get everything ({got})");
    assert!(closed_by_server, "closed with 1013 (try again later)");
    let (_, metrics) = app.get("/metrics", None).await;
    assert!(metrics.as_str().unwrap().contains("gd_ws_slow_consumer_dropped_total"), "the drop is counted");
}
