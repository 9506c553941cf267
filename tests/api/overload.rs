//! A stalled reader is disconnected without slowing anyone else; memory stays bounded.

use crate::helpers::{Backend, PROMPTLY, spawn_app_with};
use crate::on_both_stores;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

on_both_stores!(
    a_stalled_operator_socket_is_dropped_while_the_others_keep_up,
    a_county_of_mediators_on_duty_reaches_a_new_screen_and_keeps_moving_on_it,
);

async fn a_stalled_operator_socket_is_dropped_while_the_others_keep_up(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.push.socket_queue = 16;
        s.report_limits.per_ip = 0;
        // Only the full queue may close the stalled screen here, whatever the machine's speed.
        // The two drops that go by the clock would race it on a loaded machine, where the
        // reports below take longer than either: the write timeout (10 s; its own test is in
        // tests/stalled_screens.rs) ends the socket without the close frame it cannot write,
        // and unanswered pings (2-3 × 8 s; tests/api/sockets.rs) close it with 1001.
        s.push.write_timeout = Duration::from_secs(3600);
        s.push.ping_interval = Duration::from_secs(3600);
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
    // Enough bytes to overflow the kernel's socket buffers (a few MB on loopback), the one
    // message the socket's task waits on, and the 16-message queue. The healthy screen reads
    // each report before the next is filed, so however busy the machine, only the stalled
    // screen can fall behind.
    for i in 0..REPORTS {
        // The longest descriptions allowed make each message ~6 KB.
        let body = serde_json::json!({
            "location": { "lat": 36.6, "lng": 101.7, "coord": "wgs84" },
            "category": "other",
            "description": format!("{i:04}{}", "很长的描述".repeat(399)),
        });
        let (s, created) = app.post("/api/v1/reports", None, body).await;
        assert_eq!(s, reqwest::StatusCode::CREATED);
        let id = created["id"].as_str().unwrap().to_owned();
        // The healthy screen hears about every report, in order.
        let m = healthy.wait_for("incident", |m| m["event"]["type"] == "reported").await;
        assert_eq!(m["incident"]["id"].as_str(), Some(id.as_str()), "report {i} reached the healthy screen in order");
    }

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

/// Bytes a screen's snapshot may spend per mediator, name included (on main before issue #16
/// it was 120 without a name: full-precision coordinates and a timestamp each; now about 100).
const SCREEN_MEDIATOR_BUDGET: usize = 105;

/// A county has about 3,000 mediators: a screen that opens while they are all on duty gets
/// every one of them in its snapshot, compact and named (3,000 in under 315 KB), then sees
/// them move.
async fn a_county_of_mediators_on_duty_reaches_a_new_screen_and_keeps_moving_on_it(backend: Backend) {
    use grid_dispatch::domain::account::{Account, Fix};
    use grid_dispatch::domain::location::GeoPoint;
    const COUNTY: usize = 3_000;
    let app = spawn_app_with(backend, |_| {}).await;
    let d = app.app().dispatcher().clone();
    // Accounts straight into the store: 3,000 password hashes through the admin API would
    // test argon2. Duty and positions go through the same calls the phones' requests make.
    let now = jiff::Timestamp::now();
    // Phones report full-precision coordinates.
    let place = |i: usize| {
        GeoPoint::new(36.55 + (i % 60) as f64 * 0.002_013_7, 101.70 + (i / 60) as f64 * 0.002_031_9).unwrap()
    };
    let mut ids = std::collections::BTreeSet::new();
    let mut on_duty = Vec::new();
    for i in 0..COUNTY {
        let account: Account = serde_json::from_value(serde_json::json!({
            "id": grid_dispatch::domain::ids::AccountId::generate(),
            "role": "mediator", "name": format!("调解员{i}"), "phone": format!("135{i:08}"),
            "password_hash": "-", "enabled": true, "created_at": now,
        }))
        .unwrap();
        assert!(app.app().ports().directory.insert_account(&account).await.unwrap());
        ids.insert(account.id.to_string());
        let (d, id) = (d.clone(), account.id);
        on_duty.push(async move {
            d.set_duty(&id, true).await.unwrap();
            d.record_position(&id, Fix { point: place(i), at: jiff::Timestamp::now(), accuracy_m: None })
                .await
                .unwrap();
            id
        });
    }
    let accounts = futures_util::future::join_all(on_duty).await;

    let op = app.operator("大屏").await;
    let mut screen = app.socket("/api/v1/command/live", &op.token).await;
    let snapshot = screen.wait_for("snapshot", |_| true).await;
    let shown: std::collections::BTreeSet<String> =
        snapshot["mediators"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(shown, ids, "every mediator on duty is on the new screen");
    let bytes = serde_json::to_string(&snapshot["mediators"]).unwrap().len();
    println!("snapshot: {bytes} bytes for {COUNTY} mediators ({} per mediator)", bytes / COUNTY);
    assert!(bytes < COUNTY * SCREEN_MEDIATOR_BUDGET, "{bytes} bytes for {COUNTY} mediators");
    let named = snapshot["mediators"].as_array().unwrap().iter().filter(|m| m["name"].is_string()).count();
    assert_eq!(named, COUNTY, "each comes with their name, so the screen asks for no names");

    // Everyone moves at once: the screen gets every move.
    let moves = accounts.iter().enumerate().map(|(i, id)| {
        let d = d.clone();
        async move {
            let fix = Fix { point: place(i + 1), at: jiff::Timestamp::now(), accuracy_m: None };
            d.record_position(id, fix).await.unwrap();
        }
    });
    futures_util::future::join_all(moves).await;
    let mut moved = std::collections::BTreeSet::new();
    while moved.len() < COUNTY {
        let batch = screen.wait_for("positions", |_| true).await;
        moved.extend(batch["updates"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(moved, ids);
}
