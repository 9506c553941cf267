//! Video mediation (issue #22): sessions on an incident, one-time invitations, seats, the
//! signaling socket, the timeline. Every behaviour on both stores.

use crate::helpers::{Backend, Socket, Staff, TestApp, spawn_app, spawn_app_on_clock};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const LAT: f64 = 36.6171;
const LNG: f64 = 101.7782;

/// A report claimed by a mediator: (incident id, tracking token, holder).
async fn held_incident(app: &TestApp) -> (String, String, Staff) {
    let holder = app.mediator("王调解", &[]).await;
    app.on_duty_at(&holder, LAT, LNG).await;
    let report = app.report_at(LAT, LNG).await;
    let id = report["id"].as_str().expect("incident id").to_owned();
    let tracking = report["tracking_token"].as_str().expect("tracking token").to_owned();
    let (s, b) = app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&holder.token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    (id, tracking, holder)
}

async fn start(app: &TestApp, incident: &str, token: &str) -> Value {
    let (s, seat) = app.post("/api/v1/video/sessions", Some(token), json!({ "incident_id": incident })).await;
    assert_eq!(s, StatusCode::CREATED, "{seat}");
    seat
}

async fn invite(app: &TestApp, session: &str, token: &str, kind: &str) -> String {
    let path = format!("/api/v1/video/sessions/{session}/invitations");
    let (s, inv) = app.post(&path, Some(token), json!({ "kind": kind })).await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["link"], format!("/v/{}", inv["token"].as_str().expect("token")));
    inv["token"].as_str().expect("token").to_owned()
}

async fn join(app: &TestApp, invitation: &str) -> (StatusCode, Value) {
    app.post("/api/v1/video/join", None, json!({ "invitation": invitation })).await
}

async fn open(app: &TestApp, seat: &Value) -> Socket {
    let token = seat["seat_token"].as_str().expect("seat token");
    app.try_socket(&format!("/api/v1/video/ws?seat={token}")).await.expect("the seat opens the room")
}

async fn timeline_types(app: &TestApp, incident: &str) -> Vec<Value> {
    let (s, detail) = app.get(&format!("/api/v1/command/incidents/{incident}"), Some(&app.admin_token())).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| e["event"].clone())
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("video_")))
        .collect()
}

async fn an_invitation_admits_once_and_the_tracking_page_offers_it_until_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let (incident, tracking, holder) = held_incident(&app).await;
    let host = start(&app, &incident, &holder.token).await;
    assert_eq!(host["kind"], "host");
    let session = host["session_id"].as_str().expect("session").to_owned();

    let token = invite(&app, &session, &holder.token, "party").await;
    let (_, offered) = app.get(&format!("/api/v1/video/track/{tracking}"), None).await;
    assert_eq!(offered["link"], format!("/v/{token}"), "the tracking page offers the room");

    let (s, seat) = join(&app, &token).await;
    assert_eq!(s, StatusCode::CREATED, "{seat}");
    assert_eq!(seat["kind"], "party");
    assert_eq!(seat["session_id"], session.as_str());
    let (s, again) = join(&app, &token).await;
    assert_eq!(s, StatusCode::GONE, "a used invitation is refused: {again}");
    assert_eq!(again["error"]["code"], "invitation_used");
    let (_, offered) = app.get(&format!("/api/v1/video/track/{tracking}"), None).await;
    assert_eq!(offered["link"], Value::Null, "a used invitation leaves the tracking page");

    // One live session per incident: starting again gives the host a fresh seat in it.
    let again = start(&app, &incident, &holder.token).await;
    assert_eq!(again["session_id"], session.as_str(), "one live session per incident");
    assert_ne!(again["seat_token"], host["seat_token"]);
    let old = app.try_socket(&format!("/api/v1/video/ws?seat={}", host["seat_token"].as_str().expect("t"))).await.err();
    assert_eq!(old, Some(StatusCode::FORBIDDEN), "the host's earlier seat stops working");
}

async fn an_expired_invitation_is_refused(backend: Backend) {
    let app = spawn_app_on_clock(backend, |s| s.video.invitation_ttl = Duration::from_secs(600)).await;
    let (incident, _, holder) = held_incident(&app).await;
    let session = start(&app, &incident, &holder.token).await["session_id"].as_str().expect("id").to_owned();
    let token = invite(&app, &session, &holder.token, "department").await;
    app.clock().advance(Duration::from_secs(601));
    let (s, refused) = join(&app, &token).await;
    assert_eq!(s, StatusCode::GONE, "{refused}");
    assert_eq!(refused["error"]["code"], "invitation_expired");
}

async fn an_uninvited_page_cannot_open_the_room_or_get_turn_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let (incident, _, holder) = held_incident(&app).await;
    let host = start(&app, &incident, &holder.token).await;
    let session = host["session_id"].as_str().expect("id");
    for forged in [format!("{session}.not-a-real-seat"), "nonsense".to_owned(), String::new()] {
        let refused = app.try_socket(&format!("/api/v1/video/ws?seat={forged}")).await.err();
        assert_eq!(refused, Some(StatusCode::FORBIDDEN), "seat {forged:?}");
        let (s, body) = app.post("/api/v1/video/ice", None, json!({ "seat_token": forged })).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "not_invited");
    }
    let (s, _) = join(&app, "made-up-invitation").await;
    assert_eq!(s, StatusCode::GONE);
    let stranger = app.mediator("李调解", &[]).await;
    let (s, _) = app.post("/api/v1/video/sessions", Some(&stranger.token), json!({ "incident_id": incident })).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the holder (or an operator) starts one");
    let path = format!("/api/v1/video/sessions/{session}/invitations");
    let (s, _) = app.post(&path, Some(&stranger.token), json!({ "kind": "party" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "nor invites");
    let (s, _) = app
        .post(
            &path,
            Some(&holder.token),
            json!({ "kind": "party", "label": "一二三四五六七八九十一二三四五六七八九十一" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "labels are at most 20 characters");
}

async fn a_session_seats_at_most_six_senders_and_two_observers(backend: Backend) {
    let app = spawn_app(backend).await;
    let (incident, _, holder) = held_incident(&app).await;
    let session = start(&app, &incident, &holder.token).await["session_id"].as_str().expect("id").to_owned();
    for _ in 0..5 {
        let t = invite(&app, &session, &holder.token, "department").await;
        assert_eq!(join(&app, &t).await.0, StatusCode::CREATED);
    }
    let seventh = invite(&app, &session, &holder.token, "party").await;
    let (s, full) = join(&app, &seventh).await;
    assert_eq!(s, StatusCode::CONFLICT, "{full}");
    assert_eq!(full["error"]["code"], "session_full");
    let operator = app.operator("值班员").await;
    let observe = format!("/api/v1/video/sessions/{session}/observe");
    for _ in 0..2 {
        assert_eq!(app.post(&observe, Some(&operator.token), json!({})).await.0, StatusCode::CREATED);
    }
    assert_eq!(app.post(&observe, Some(&operator.token), json!({})).await.0, StatusCode::CONFLICT);
    assert_eq!(app.post(&observe, Some(&holder.token), json!({})).await.0, StatusCode::FORBIDDEN, "operators only");
}

async fn signaling_stays_in_the_session_and_the_timeline_records_the_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let (incident, _, holder) = held_incident(&app).await;
    let host = start(&app, &incident, &holder.token).await;
    let session = host["session_id"].as_str().expect("id").to_owned();
    let party = join(&app, &invite(&app, &session, &holder.token, "party").await).await.1;
    let expert = join(&app, &invite(&app, &session, &holder.token, "department").await).await.1;

    let mut h = open(&app, &host).await;
    let welcome = h.wait_for("welcome", |_| true).await;
    assert_eq!(welcome["you"]["kind"], "host");
    assert_eq!(welcome["runs_room"], true);
    let mut p = open(&app, &party).await;
    let welcome = p.wait_for("welcome", |_| true).await;
    assert_eq!(welcome["peers"][0]["id"], host["seat_id"], "the newcomer learns who is in: {welcome}");
    h.wait_for("joined", |m| m["peer"]["id"] == party["seat_id"]).await;

    // The server fills in `from`: a page cannot speak for another seat.
    let offer = json!({ "type": "signal", "to": host["seat_id"], "from": "forged", "description": { "type": "offer", "sdp": "v=0" } });
    p.send_json(&offer).await;
    let got = h.wait_for("signal", |_| true).await;
    assert_eq!(got["from"], party["seat_id"]);
    assert_eq!(got["description"]["sdp"], "v=0");
    // A seat not in the room (another session's, or not connected) is never reached.
    p.send_json(&json!({ "type": "signal", "to": expert["seat_id"], "candidate": {} })).await;
    assert_eq!(p.wait_for("error", |_| true).await["code"], "not_here");
    // Only the host runs the room: removes, invites.
    p.send_json(&json!({ "type": "remove", "id": host["seat_id"] })).await;
    assert_eq!(p.wait_for("error", |_| true).await["code"], "forbidden");
    p.send_json(&json!({ "type": "invite", "kind": "party" })).await;
    assert_eq!(p.wait_for("error", |_| true).await["code"], "forbidden");
    h.send_json(&json!({ "type": "invite", "kind": "operator", "label": "区矛调中心" })).await;
    let invited = h.wait_for("invited", |_| true).await;
    let link = invited["link"].as_str().expect("link");
    let (s, seat) = join(&app, link.trim_start_matches("/v/")).await;
    assert_eq!((s, seat["kind"].as_str()), (StatusCode::CREATED, Some("operator")), "{seat}");

    let mut e = open(&app, &expert).await;
    e.wait_for("welcome", |_| true).await;
    h.send_json(&json!({ "type": "remove", "id": expert["seat_id"] })).await;
    assert_eq!(e.closed().await.0, Some(4410), "the removed page is closed with 4410");
    h.wait_for("left", |m| m["id"] == expert["seat_id"]).await;
    let refused =
        app.try_socket(&format!("/api/v1/video/ws?seat={}", expert["seat_token"].as_str().expect("t"))).await.err();
    assert_eq!(refused, Some(StatusCode::FORBIDDEN), "a removed seat cannot come back");

    let (s, _) = app.post(&format!("/api/v1/video/sessions/{session}/end"), Some(&holder.token), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(h.closed().await.0, Some(4411));
    assert_eq!(p.closed().await.0, Some(4411));

    let events = crate::helpers::eventually("the video lines on the timeline", || {
        let app = &app;
        let incident = incident.clone();
        async move {
            let events = timeline_types(app, &incident).await;
            (events.iter().filter(|e| e["type"] == "video_left").count() == 3).then_some(events)
        }
    })
    .await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "video_started").count(), 1, "{events:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "video_joined").count(), 3, "{events:?}");
    let removed = events.iter().find(|e| e["type"] == "video_left" && e["removed"] == true);
    assert_eq!(removed.map(|e| e["label"].clone()), Some(json!("部门专家")), "{events:?}");
    let ended = events.iter().find(|e| e["type"] == "video_ended").expect("an end line");
    assert_eq!(ended["participants"], json!(["调解员", "当事人", "部门专家"]), "{ended}");
    let party_token = party["seat_token"].as_str().expect("t");
    let (s, _) = app.post("/api/v1/video/ice", None, json!({ "seat_token": party_token })).await;
    assert_eq!(s, StatusCode::GONE, "an ended session mints nothing");
}

async fn the_command_center_lists_live_sessions_and_mints_turn_credentials_for_seats(backend: Backend) {
    let app = spawn_app_with_turn(backend).await;
    let (incident, _, holder) = held_incident(&app).await;
    let operator = app.operator("值班员").await;
    let host = start(&app, &incident, &holder.token).await;
    let (s, live) = app.get("/api/v1/video/sessions", Some(&operator.token)).await;
    assert_eq!(s, StatusCode::OK, "{live}");
    assert_eq!(live[0]["incident_id"], incident.as_str());
    assert_eq!(live[0]["participants"][0]["kind"], "host");
    assert_eq!(app.get("/api/v1/video/sessions", Some(&holder.token)).await.0, StatusCode::FORBIDDEN);

    let (s, ice) = app.post("/api/v1/video/ice", None, json!({ "seat_token": host["seat_token"] })).await;
    assert_eq!(s, StatusCode::OK, "{ice}");
    assert_eq!(ice["ice_transport_policy"], "relay");
    let server = &ice["ice_servers"][0];
    assert_eq!(server["urls"], json!(["turn:127.0.0.1:3478"]));
    let username = server["username"].as_str().expect("username");
    let (expiry, user) = username.split_once(':').expect("expiry:user");
    let expiry: i64 = expiry.parse().expect("unix seconds");
    let now = jiff::Timestamp::now().as_second();
    assert!((now + 3500..=now + 3700).contains(&expiry), "credential_ttl 1 h: {username}");
    assert!(user.ends_with(host["seat_id"].as_str().expect("seat")), "names the seat, not the person: {user}");
    let expected = grid_dispatch::video::turn::credential(b"test-turn-secret", user, expiry);
    assert_eq!(server["credential"], expected.password.as_str());
}

async fn spawn_app_with_turn(backend: Backend) -> TestApp {
    crate::helpers::spawn_app_with(backend, |s| {
        s.video.turn_urls = vec!["turn:127.0.0.1:3478".into()];
        s.video.turn_secret = Some(secrecy::SecretString::from("test-turn-secret"));
        s.video.credential_ttl = Duration::from_secs(3600);
        s.video.relay_only = true;
    })
    .await
}

/// An SDP with one audio and one video section in `direction`.
fn sdp(direction: &str) -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na={direction}\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na={direction}\r\n"
    )
}

async fn an_observer_receives_only_and_its_sending_descriptions_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (incident, _, holder) = held_incident(&app).await;
    let host = start(&app, &incident, &holder.token).await;
    let session = host["session_id"].as_str().expect("id").to_owned();
    let operator = app.operator("值班员").await;
    let (s, watcher) =
        app.post(&format!("/api/v1/video/sessions/{session}/observe"), Some(&operator.token), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{watcher}");
    let mut h = open(&app, &host).await;
    h.wait_for("welcome", |_| true).await;
    let mut o = open(&app, &watcher).await;
    o.wait_for("welcome", |_| true).await;

    for (kind, direction) in [("offer", "sendrecv"), ("offer", "sendonly"), ("answer", "sendrecv")] {
        let description = json!({ "type": kind, "sdp": sdp(direction) });
        o.send_json(&json!({ "type": "signal", "to": host["seat_id"], "description": description })).await;
        let refused = o.wait_for("error", |_| true).await;
        assert_eq!(refused["code"], "observer_sends_media", "{kind} {direction}: {refused}");
        assert!(refused["message"].as_str().is_some_and(|m| m.contains("receives only")), "{refused}");
    }
    o.send_json(&json!({ "type": "signal", "to": host["seat_id"], "description": { "type": "offer" } })).await;
    assert_eq!(o.wait_for("error", |_| true).await["code"], "observer_sends_media", "a description without SDP");
    // Receive-only passes, and is the first description the host sees: nothing refused got through.
    let listening = json!({ "type": "offer", "sdp": sdp("recvonly") });
    o.send_json(&json!({ "type": "signal", "to": host["seat_id"], "description": listening })).await;
    let got = h.wait_for("signal", |_| true).await;
    assert_eq!(got["from"], watcher["seat_id"]);
    assert_eq!(got["description"], listening, "{got}");
    // Candidates carry no media direction: they pass.
    o.send_json(&json!({ "type": "signal", "to": host["seat_id"], "candidate": { "candidate": "" } })).await;
    assert_eq!(h.wait_for("signal", |_| true).await["candidate"], json!({ "candidate": "" }));
    // A sender's descriptions are theirs to choose.
    h.send_json(&json!({ "type": "signal", "to": watcher["seat_id"], "description": { "type": "answer", "sdp": sdp("sendonly") } })).await;
    assert_eq!(o.wait_for("signal", |_| true).await["from"], host["seat_id"]);
}

on_both_stores!(
    an_observer_receives_only_and_its_sending_descriptions_are_refused,
    an_invitation_admits_once_and_the_tracking_page_offers_it_until_used,
    an_expired_invitation_is_refused,
    an_uninvited_page_cannot_open_the_room_or_get_turn_credentials,
    a_session_seats_at_most_six_senders_and_two_observers,
    signaling_stays_in_the_session_and_the_timeline_records_the_call,
    the_command_center_lists_live_sessions_and_mints_turn_credentials_for_seats,
);

/// Two instances on one Redis: the session is seen by both, and of many joins with one
/// invitation spread over both, exactly one gets a seat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_admits_exactly_once_across_instances() {
    let app = spawn_app(Backend::Redis).await;
    let other = grid_dispatch::app::App::start(app.settings.clone()).await.expect("a second instance");
    let other_base = format!("http://{}", other.addr());
    let (incident, _, holder) = held_incident(&app).await;
    let session = start(&app, &incident, &holder.token).await["session_id"].as_str().expect("id").to_owned();
    let operator = app.operator("值班员").await;
    let listed = app
        .http()
        .get(format!("{other_base}/api/v1/video/sessions"))
        .bearer_auth(&operator.token)
        .send()
        .await
        .expect("list");
    let listed: Value = listed.json().await.expect("json");
    assert_eq!(listed[0]["id"], session.as_str(), "the other instance sees the session: {listed}");

    let token = invite(&app, &session, &holder.token, "party").await;
    let joins = (0..12).map(|n| {
        let base = if n % 2 == 0 { app.base.clone() } else { other_base.clone() };
        let (http, token) = (app.http().clone(), token.clone());
        tokio::spawn(async move {
            let r = http.post(format!("{base}/api/v1/video/join")).json(&json!({ "invitation": token })).send().await;
            r.expect("join answers").status()
        })
    });
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(joins).await.into_iter().map(|r| r.expect("task")).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::GONE), "{statuses:?}");
    other.stop().await;
}

/// The next `signal` messages `socket` receives, `n` of them, in order.
async fn signals(socket: &mut Socket, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    while got.len() < n {
        got.push(socket.wait_for("signal", |_| true).await);
    }
    got
}

/// Two instances on one Redis, the participants' sockets spread over both: signaling reaches
/// exactly the addressed seat wherever its socket is, in the order its sender sent it; state,
/// joins, leaves, removal, a seat reopened on the other instance and the end reach every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signaling_reaches_participants_on_other_instances_in_order_and_only_the_addressed_one() {
    let a = spawn_app(Backend::Redis).await;
    let b = crate::helpers::start(a.settings.clone(), None).await;
    let (incident, _, holder) = held_incident(&a).await;
    let host = start(&a, &incident, &holder.token).await;
    let session = host["session_id"].as_str().expect("id").to_owned();
    let party = join(&b, &invite(&a, &session, &holder.token, "party").await).await.1;
    let expert = join(&a, &invite(&a, &session, &holder.token, "department").await).await.1;

    // The host and the expert on A, the party on B.
    let mut h = open(&a, &host).await;
    h.wait_for("welcome", |_| true).await;
    let mut e = open(&a, &expert).await;
    e.wait_for("welcome", |_| true).await;
    let mut p = open(&b, &party).await;
    let welcome = p.wait_for("welcome", |_| true).await;
    let peers: Vec<&Value> = welcome["peers"].as_array().expect("peers").iter().map(|p| &p["id"]).collect();
    assert!(
        peers.contains(&&host["seat_id"]) && peers.contains(&&expert["seat_id"]),
        "B knows who is in on A: {welcome}"
    );
    h.wait_for("joined", |m| m["peer"]["id"] == party["seat_id"]).await;
    e.wait_for("joined", |m| m["peer"]["id"] == party["seat_id"]).await;

    // B → A: an offer and its candidates, in the order sent, to the host only.
    p.send_json(&json!({ "type": "signal", "to": host["seat_id"], "description": { "type": "offer", "sdp": "v=0" } }))
        .await;
    for n in 0..30 {
        p.send_json(&json!({ "type": "signal", "to": host["seat_id"], "candidate": { "n": n } })).await;
    }
    let got = signals(&mut h, 31).await;
    assert_eq!(got[0]["description"]["type"], "offer");
    let order: Vec<i64> = got[1..].iter().map(|g| g["candidate"]["n"].as_i64().expect("n")).collect();
    assert_eq!(order, (0..30).collect::<Vec<_>>(), "one sender's signals keep their order across instances");
    assert!(got.iter().all(|g| g["from"] == party["seat_id"]), "from is the sender's seat");
    // The expert (on the host's instance) got none of it: the first signal it sees is this one.
    h.send_json(&json!({ "type": "signal", "to": expert["seat_id"], "candidate": { "marker": true } })).await;
    let first = e.wait_for("signal", |_| true).await;
    assert_eq!(
        (first["from"].clone(), first["candidate"].clone()),
        (host["seat_id"].clone(), json!({ "marker": true }))
    );

    // A → B: the answer, and the host's state.
    h.send_json(
        &json!({ "type": "signal", "to": party["seat_id"], "description": { "type": "answer", "sdp": "v=0" } }),
    )
    .await;
    let answer = p.wait_for("signal", |_| true).await;
    assert_eq!(
        (answer["from"].clone(), answer["description"]["type"].clone()),
        (host["seat_id"].clone(), json!("answer"))
    );
    h.send_json(&json!({ "type": "state", "muted": true })).await;
    assert_eq!(p.wait_for("state", |_| true).await["from"], host["seat_id"]);

    // The host's seat reopened on B: its socket on A closes (4409), the others hear it joined
    // (not left), and signals to it reach the new socket on B.
    let mut h2 = open(&b, &host).await;
    h2.wait_for("welcome", |_| true).await;
    assert_eq!(h.closed().await.0, Some(4409), "the older socket on A is replaced");
    e.wait_for("joined", |m| m["peer"]["id"] == host["seat_id"]).await;
    e.send_json(&json!({ "type": "signal", "to": host["seat_id"], "candidate": { "n": "after" } })).await;
    assert_eq!(h2.wait_for("signal", |_| true).await["candidate"]["n"], "after");
    let (s, live) = b.get("/api/v1/video/sessions", Some(&b.operator("值班员").await.token)).await;
    assert_eq!(s, StatusCode::OK, "{live}");
    let in_room = |id: &Value| {
        live[0]["participants"].as_array().expect("seats").iter().any(|s| &s["id"] == id && s["in_room"] == true)
    };
    assert!(in_room(&host["seat_id"]), "the replaced socket closing did not take the host out of the room: {live}");

    // The host (now on B) removes the expert on A; then ends the session through A.
    h2.send_json(&json!({ "type": "remove", "id": expert["seat_id"] })).await;
    assert_eq!(e.closed().await.0, Some(4410));
    p.wait_for("left", |m| m["id"] == expert["seat_id"]).await;
    let (s, _) = a.post(&format!("/api/v1/video/sessions/{session}/end"), Some(&holder.token), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(h2.closed().await.0, Some(4411));
    assert_eq!(p.closed().await.0, Some(4411));
    b.stop().await;
}
