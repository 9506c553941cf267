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
