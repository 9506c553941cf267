//! Video mediation in real browsers through a real coturn (issue #22). Part of
//! `tests/browser.rs` (`mod video`).

use super::helpers::{Backend, Staff, TestApp, spawn_app_with};
use super::turn_server::TurnServer;
use super::{LAT, LNG, run_scenario};
use grid_dispatch::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Pages relayed only through `turn`, with its minted credentials.
fn relayed_through(turn: &TurnServer) -> impl FnOnce(&mut Settings) + use<> {
    let (urls, secret) = (turn.urls(), turn.secret.clone());
    move |s| {
        s.video.turn_urls = urls;
        s.video.turn_secret = Some(secrecy::SecretString::from(secret));
        s.video.relay_only = true;
    }
}

/// A report a mediator accepted, with a video session started on it: (incident id, tracking
/// token, the host's seat, the holder).
async fn session_on_a_held_incident(app: &TestApp) -> (String, String, Value, Staff) {
    let holder = app.mediator("王调解", &[]).await;
    app.on_duty_at(&holder, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let incident = report["id"].as_str().expect("id").to_owned();
    let tracking = report["tracking_token"].as_str().expect("tracking token").to_owned();
    let path = format!("/api/v1/mediator/incidents/{incident}/accept");
    assert_eq!(app.post(&path, Some(&holder.token), json!({})).await.0, StatusCode::OK);
    let (s, host) = app.post("/api/v1/video/sessions", Some(&holder.token), json!({ "incident_id": incident })).await;
    assert_eq!(s, StatusCode::CREATED, "{host}");
    (incident, tracking, host, holder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pages_talk_over_turn_relay_and_the_timeline_records_the_session() {
    let turn = TurnServer::start();
    let relayed = relayed_through(&turn);
    let app = spawn_app_with(Backend::Memory, move |s| {
        relayed(s);
        s.video.fallback_phone = "0971-1234567".into();
    })
    .await;
    let (incident, _, host, holder) = session_on_a_held_incident(&app).await;
    let session = host["session_id"].as_str().expect("session");
    let invite = |kind: &'static str| {
        let (app, path) = (&app, format!("/api/v1/video/sessions/{session}/invitations"));
        let token = holder.token.clone();
        async move {
            let (s, inv) = app.post(&path, Some(&token), json!({ "kind": kind })).await;
            assert_eq!(s, StatusCode::CREATED, "{inv}");
            inv["token"].as_str().expect("token").to_owned()
        }
    };
    let (party, expert, no_rtc) = (invite("party").await, invite("department").await, invite("party").await);
    let page = host["page"].as_str().expect("page");

    let operator = app.operator("值班员").await;
    let args = [app.base.as_str(), page, &party, &expert, &no_rtc, "0971-1234567", &operator.token];
    let out = run_scenario("video_call.mjs", &args).await;

    for line in [
        "ok: the host receives video from 2 peers over TURN relay",
        "ok: the party receives video from 2 peers over TURN relay",
        "ok: the expert receives video from 2 peers over TURN relay",
        "ok: the observer receives video from 3 peers over TURN relay",
        "ok: an uninvited page cannot join",
        "ok: the session ended for everyone",
        "ok: video-call",
    ] {
        assert!(out.contains(line), "missing {line:?}:\n{out}\n{}", turn.log());
    }
    // coturn really relayed: it logged allocations for the minted (expiry:seat) users.
    let log = turn.log();
    assert!(log.contains("ALLOCATE processed, success"), "coturn allocated nothing:\n{log}");
    // The page without WebRTC did not spend its invitation (the session is over now).
    let (_, refused) = app.post("/api/v1/video/join", None, json!({ "invitation": no_rtc })).await;
    assert_eq!(refused["error"]["code"], "session_ended", "{refused}");

    let timeline = super::helpers::eventually("the session's end on the timeline", || {
        let (app, incident) = (&app, incident.clone());
        async move {
            let (_, detail) = app.get(&format!("/api/v1/command/incidents/{incident}"), Some(&app.admin_token())).await;
            let events: Vec<Value> = detail["timeline"].as_array()?.iter().map(|e| e["event"].clone()).collect();
            events.iter().any(|e| e["type"] == "video_ended").then_some(events)
        }
    })
    .await;
    let ended = timeline.iter().find(|e| e["type"] == "video_ended").expect("ended");
    assert_eq!(ended["participants"], json!(["调解员", "当事人", "部门专家", "指挥中心（旁听）"]), "{ended}");
    let joins = timeline.iter().filter(|e| e["type"] == "video_joined").count();
    assert_eq!(joins, 4, "{timeline:?}");
    assert!(timeline.iter().any(|e| e["type"] == "video_left" && e["removed"] == true), "{timeline:?}");
}

/// Two instances on one Redis: the host's page on one, the party's (from its tracking page) on
/// the other; media flows over TURN, the room's controls react to the measured link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_on_two_instances_talk_and_a_weak_link_drops_to_audio_only() {
    let turn = TurnServer::start();
    let a = spawn_app_with(Backend::Redis, relayed_through(&turn)).await;
    let b = super::helpers::start(a.settings.clone(), None).await;
    let (incident, tracking, host, _) = session_on_a_held_incident(&a).await;
    let page = host["page"].as_str().expect("page");

    let out = run_scenario("video_instances.mjs", &[a.base.as_str(), page, b.base.as_str(), &tracking]).await;

    for line in [
        "ok: the tracking page shows the join button",
        "ok: the host on A receives video from 1 peers over TURN relay",
        "ok: the party on B receives video from 1 peers over TURN relay",
        "ok: with one camera the switch-camera button is hidden",
        "ok: a dropped connection shows reconnecting, then the call is rebuilt",
        "ok: a slow round trip shows a weak network",
        "ok: a weak link goes audio only and stops sending video",
        "ok: with two cameras the button switches camera and the host keeps seeing it",
        "ok: the session ended on both instances",
        "ok: video-instances",
    ] {
        assert!(out.contains(line), "missing {line:?}:\n{out}\n{}", turn.log());
    }
    let ended = super::helpers::eventually("the session's end on the timeline", || {
        let (a, incident) = (&a, incident.clone());
        async move {
            let (_, detail) = a.get(&format!("/api/v1/command/incidents/{incident}"), Some(&a.admin_token())).await;
            detail["timeline"].as_array()?.iter().map(|e| e["event"].clone()).find(|e| e["type"] == "video_ended")
        }
    })
    .await;
    assert_eq!(ended["participants"], json!(["调解员", "当事人", "部门专家"]), "{ended}");
    b.stop().await;
}
