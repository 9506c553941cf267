//! Residents through WeChat (issue #3), black-box: deliveries built as the protocol documents
//! them, plaintext and safe mode, against the real server on both stores; hostile deliveries
//! leave nothing recorded; retries never file twice; QR posters render; notifications go out
//! through a local server that speaks WeChat's API (tokens, sends, forced token expiry).

use crate::helpers::{Backend, PROMPTLY, TestApp, eventually, spawn_app_on_clock, spawn_app_with};
use crate::on_both_stores;
use axum::Json;
use axum::extract::{Query, State};
use grid_dispatch::config::Settings;
use grid_dispatch::domain::ids::IncidentId;
use grid_dispatch::domain::incident::Event;
use grid_dispatch::wechat::crypto::{MsgCrypt, signature};
use grid_dispatch::wechat::message::parse_fields;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

const TOKEN: &str = "grid-dispatch-test-token";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx2c2769f8efd9abc2";
const ORIGINAL_ID: &str = "gh_10f6c3c3ac5a";
/// Xining centre (WGS-84).
const AT: (f64, f64) = (36.6171, 101.7782);

fn with_webhook(s: &mut Settings) {
    s.wechat.token = Some(SecretString::from(TOKEN));
    s.wechat.aes_key = Some(SecretString::from(AES_KEY));
    s.wechat.appid = APPID.into();
    s.wechat.original_id = ORIGINAL_ID.into();
}

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, with_webhook).await
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(1);
    u64::from(std::process::id()) * 1_000_000 + N.fetch_add(1, Ordering::Relaxed)
}

/// A fresh openid.
pub(crate) fn openid() -> String {
    format!("oTest{}", unique())
}

// --- deliveries as WeChat builds them ---------------------------------------------------------

fn head(from: &str, at: i64) -> String {
    format!(
        "<ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>{at}</CreateTime>"
    )
}

fn text_xml(from: &str, msg_id: u64, content: &str) -> String {
    format!(
        "<xml>{}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>",
        head(from, now())
    )
}

fn subscribe_xml(from: &str, scene: &str, at: i64) -> String {
    format!(
        "<xml>{}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_{scene}]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>",
        head(from, at)
    )
}

fn scan_xml(from: &str, scene: &str) -> String {
    format!(
        "<xml>{}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[{scene}]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>",
        head(from, now())
    )
}

fn location_xml(from: &str, msg_id: u64, lat: f64, lng: f64) -> String {
    format!(
        "<xml>{}<MsgType><![CDATA[location]]></MsgType><Location_X>{lat}</Location_X><Location_Y>{lng}</Location_Y><Scale>20</Scale><Label><![CDATA[城中区]]></Label><MsgId>{msg_id}</MsgId></xml>",
        head(from, now())
    )
}

fn event_xml(from: &str, event: &str, extra: &str) -> String {
    format!(
        "<xml>{}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}</xml>",
        head(from, now())
    )
}

/// A signed delivery URL (plaintext mode).
fn signed_url(app: &TestApp, ts: i64, nonce: &str) -> String {
    let ts = ts.to_string();
    format!("{}/wechat?signature={}&timestamp={ts}&nonce={nonce}", app.base, signature(&[TOKEN, &ts, nonce]))
}

async fn post_url(app: &TestApp, url: &str, body: String) -> (StatusCode, String) {
    let resp = app.http().post(url).header("content-type", "text/xml").body(body).send().await.expect("sent");
    (resp.status(), resp.text().await.expect("body"))
}

async fn post_plain(app: &TestApp, xml: String) -> (StatusCode, String) {
    let url = signed_url(app, now(), &unique().to_string());
    post_url(app, &url, xml).await
}

/// Wrap and sign as safe mode does; returns the URL and the body.
fn safe_delivery(app: &TestApp, xml: &str, appid: &str) -> (String, String) {
    signed_safe(app, &MsgCrypt::new(AES_KEY, appid).unwrap().encrypt(xml))
}

/// A safe-mode delivery of this exact `Encrypt` value, correctly signed.
fn signed_safe(app: &TestApp, encrypt: &str) -> (String, String) {
    let (at, nonce) = (now(), unique().to_string());
    let url = format!(
        "{}&encrypt_type=aes&msg_signature={}",
        signed_url(app, at, &nonce),
        signature(&[TOKEN, &at.to_string(), &nonce, encrypt])
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (url, body)
}

async fn post_safe(app: &TestApp, xml: &str) -> (StatusCode, String) {
    let (url, body) = safe_delivery(app, xml, APPID);
    post_url(app, &url, body).await
}

/// The text of a plaintext reply.
fn reply_text(body: &str) -> String {
    let fields = parse_fields(body).unwrap_or_else(|e| panic!("reply is not WeChat XML ({e}): {body}"));
    assert_eq!(fields.get("MsgType"), Some("text"), "{body}");
    assert_eq!(fields.get("FromUserName"), Some(ORIGINAL_ID), "{body}");
    fields.get("Content").expect("Content").to_owned()
}

/// The text of a safe-mode reply, after checking its signature and decrypting it.
fn safe_reply_text(body: &str) -> String {
    let fields = parse_fields(body).unwrap_or_else(|e| panic!("reply is not WeChat XML ({e}): {body}"));
    let encrypt = fields.get("Encrypt").expect("Encrypt");
    let (ts, nonce) = (fields.get("TimeStamp").expect("TimeStamp"), fields.get("Nonce").expect("Nonce"));
    assert_eq!(fields.get("MsgSignature"), Some(signature(&[TOKEN, ts, nonce, encrypt]).as_str()), "{body}");
    reply_text(&MsgCrypt::new(AES_KEY, APPID).unwrap().decrypt(encrypt).expect("our own reply decrypts"))
}

async fn scene(app: &TestApp, name: &str) -> String {
    let body = json!({ "name": name, "location": { "lat": AT.0, "lng": AT.1, "coord": "wgs84" } });
    let (status, created) = app.post("/api/v1/admin/scenes", Some(&app.admin_token()), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

async fn incident_count(app: &TestApp) -> usize {
    let store = &app.app().ports().incidents;
    let from = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(1)).unwrap();
    let to = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    store.list_incidents(from, to, 1000).await.expect("list").len()
}

fn tracking_token(reply: &str) -> String {
    let at = reply.find("/t/").unwrap_or_else(|| panic!("no tracking link in {reply:?}"));
    reply[at + 3..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect()
}

// --- the conversation -------------------------------------------------------------------------

async fn url_verification_echoes_only_with_a_valid_signature(backend: Backend) {
    let app = app(backend).await;
    let ts = now().to_string();
    let sig = signature(&[TOKEN, &ts, "n1"]);
    let ok = format!("{}/wechat?signature={sig}&timestamp={ts}&nonce=n1&echostr=shr5ch", app.base);
    let resp = app.http().get(&ok).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "shr5ch");
    for bad in [
        format!("{}/wechat?signature={}&timestamp={ts}&nonce=n1&echostr=x", app.base, sig.to_uppercase()),
        format!("{}/wechat?signature={sig}&timestamp={ts}&nonce=n2&echostr=x", app.base),
        format!("{}/wechat?timestamp={ts}&nonce=n1&echostr=x", app.base),
    ] {
        let resp = app.http().get(&bad).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
}

async fn scan_then_text_files_a_report_with_a_tracking_link(backend: Backend) {
    let app = app(backend).await;
    let scene = scene(&app, "幸福小区3号楼").await;
    let user = openid();

    let (status, body) = post_plain(&app, subscribe_xml(&user, &scene, now())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let invite = reply_text(&body);
    assert!(invite.contains("幸福小区3号楼") && invite.contains(&format!("/r/{scene}")), "{invite}");
    assert_eq!(incident_count(&app).await, 0, "a scan alone files nothing");

    let (status, body) = post_plain(&app, text_xml(&user, unique(), "楼上漏水，邻居不开门")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let filed = reply_text(&body);
    assert!(filed.contains("已收到"), "{filed}");
    let token = tracking_token(&filed);
    let (status, view) = app.get(&format!("/api/v1/track/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(incident_count(&app).await, 1);
    let from = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(1)).unwrap();
    let to = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    let stored = app.app().ports().incidents.list_incidents(from, to, 10).await.unwrap().remove(0);
    assert_eq!(stored.scene_id.map(|s| s.to_string()), Some(scene));
    assert!(stored.location.distance_m(grid_dispatch::domain::location::GeoPoint::new(AT.0, AT.1).unwrap()) < 1.0);
    assert_eq!(stored.category, grid_dispatch::domain::category::Category::Neighbor);

    // One scan, one report: the next text asks for a scan again.
    let (_, body) = post_plain(&app, text_xml(&user, unique(), "还有一件事")).await;
    assert!(reply_text(&body).contains("扫描"), "{body}");
    assert_eq!(incident_count(&app).await, 1);
}

async fn safe_mode_scan_location_and_text_are_answered_encrypted(backend: Backend) {
    let app = app(backend).await;
    let scene = scene(&app, "和平路社区").await;
    let user = openid();
    let (status, body) = post_safe(&app, &scan_xml(&user, &scene)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(safe_reply_text(&body).contains("和平路社区"), "{body}");

    // A location message corrects the place (GCJ-02, Location_X = latitude).
    let (g_lat, g_lng) = grid_dispatch::domain::location::wgs84_to_gcj02(36.63, 101.76);
    let (status, body) = post_safe(&app, &location_xml(&user, unique(), g_lat, g_lng)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(safe_reply_text(&body).contains("已记录您的位置"), "{body}");

    let (status, body) = post_safe(&app, &text_xml(&user, unique(), "老板拖欠工资")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = tracking_token(&safe_reply_text(&body));
    let id = app.app().dispatcher().tracked_incident(&token).await.expect("tracked").id;
    let stored = app.app().ports().incidents.get_incident(&id).await.unwrap().unwrap();
    let wanted = grid_dispatch::domain::location::GeoPoint::new(36.63, 101.76).unwrap();
    assert!(stored.location.distance_m(wanted) < 1.0, "GCJ-02 converted to WGS-84: {:?}", stored.location);
    assert_eq!(stored.category, grid_dispatch::domain::category::Category::Wages);
}

async fn other_message_types_get_polite_answers(backend: Backend) {
    let app = app(backend).await;
    let user = openid();
    let (status, body) = post_plain(&app, text_xml(&user, unique(), "你好")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(reply_text(&body).contains("请先扫描"), "a text with no scan asks for one: {body}");
    let location_event = "<Latitude>36.6171</Latitude><Longitude>101.7782</Longitude><Precision>65.0</Precision>";
    for (xml, expect) in [
        (event_xml(&user, "LOCATION", location_event), "success"),
        (event_xml(&user, "unsubscribe", ""), "success"),
        (event_xml(&user, "CLICK", "<EventKey><![CDATA[K]]></EventKey>"), "success"),
        (event_xml(&user, "TEMPLATESENDJOBFINISH", "<MsgID>1</MsgID><Status><![CDATA[success]]></Status>"), "success"),
    ] {
        let (status, body) = post_plain(&app, xml).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, expect));
    }
    let image = format!(
        "<xml>{}<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>{}</MsgId></xml>",
        head(&user, now()),
        unique()
    );
    let (_, body) = post_plain(&app, image).await;
    assert!(reply_text(&body).contains("文字和位置"), "{body}");
    // A plain follow (no scene) is welcomed; a scene that does not exist is explained.
    let (_, body) = post_plain(&app, event_xml(&user, "subscribe", "<EventKey><![CDATA[]]></EventKey>")).await;
    assert!(reply_text(&body).contains("欢迎"), "{body}");
    let (_, body) = post_plain(&app, scan_xml(&user, "no-such-scene")).await;
    assert!(reply_text(&body).contains("失效"), "{body}");
    assert_eq!(incident_count(&app).await, 0);
}

async fn retries_never_file_twice_and_get_the_same_answer(backend: Backend) {
    let app = app(backend).await;
    let scene = scene(&app, "重试小区").await;
    let user = openid();
    let at = now();
    let (_, first) = post_plain(&app, subscribe_xml(&user, &scene, at)).await;
    let (_, again) = post_plain(&app, subscribe_xml(&user, &scene, at)).await;
    assert_eq!(reply_text(&first), reply_text(&again), "an event retry gets the same answer");

    let msg_id = unique();
    let xml = text_xml(&user, msg_id, "楼道堆放杂物");
    // WeChat's retries (new URL each time) and two concurrent copies, as at two instances.
    let concurrent = futures_util::future::join_all((0..3).map(|_| post_plain(&app, xml.clone()))).await;
    let (_, later) = post_plain(&app, xml.clone()).await;
    let texts: Vec<String> = concurrent.iter().filter(|(_, b)| b != "success").map(|(_, b)| reply_text(b)).collect();
    assert!(concurrent.iter().all(|(s, _)| *s == StatusCode::OK), "{concurrent:?}");
    assert!(!texts.is_empty());
    assert!(texts.iter().all(|t| *t == reply_text(&later)), "{texts:?} vs {later}");
    assert_eq!(incident_count(&app).await, 1, "exactly one report");
    // The same signed URL and body again is a transport retry: answered, not refused.
    let url = signed_url(&app, now(), "same-nonce");
    let (s1, b1) = post_url(&app, &url, xml.clone()).await;
    let (s2, b2) = post_url(&app, &url, xml).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(b1, b2);
    assert_eq!(incident_count(&app).await, 1);
}

async fn hostile_deliveries_are_refused_and_record_nothing(backend: Backend) {
    let app = app(backend).await;
    let scene = scene(&app, "防御小区").await;
    let user = openid();
    let (status, _) = post_plain(&app, scan_xml(&user, &scene)).await;
    assert_eq!(status, StatusCode::OK);
    let text = |content: &str| text_xml(&user, unique(), content);
    let ts = now().to_string();

    let mut cases: Vec<(&str, String, String, StatusCode)> = vec![];
    let sig = signature(&[TOKEN, &ts, "n"]);
    cases.push((
        "wrong signature",
        format!("{}/wechat?signature={}&timestamp={ts}&nonce=n", app.base, "0".repeat(40)),
        text("a"),
        StatusCode::UNAUTHORIZED,
    ));
    cases.push((
        "uppercase signature",
        format!("{}/wechat?signature={}&timestamp={ts}&nonce=n", app.base, sig.to_uppercase()),
        text("a"),
        StatusCode::UNAUTHORIZED,
    ));
    cases.push((
        "missing nonce",
        format!("{}/wechat?signature={sig}&timestamp={ts}", app.base),
        text("a"),
        StatusCode::UNAUTHORIZED,
    ));
    cases.push(("stale timestamp", signed_url(&app, now() - 301, "n"), text("a"), StatusCode::FORBIDDEN));
    cases.push(("future timestamp", signed_url(&app, now() + 400, "n"), text("a"), StatusCode::FORBIDDEN));
    cases.push(("malformed XML", signed_url(&app, now(), "m1"), "<xml><Content>".into(), StatusCode::BAD_REQUEST));
    let doctype = format!("<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}", text("&x;"));
    cases.push(("DOCTYPE", signed_url(&app, now(), "m2"), doctype, StatusCode::BAD_REQUEST));
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol1 \"&lol;&lol;&lol;\">]><xml><Content>&lol1;</Content></xml>";
    cases.push(("entity bomb", signed_url(&app, now(), "m3"), bomb.into(), StatusCode::BAD_REQUEST));
    let wrong_to = text("a").replace(ORIGINAL_ID, "gh_someone_else");
    cases.push(("wrong ToUserName", signed_url(&app, now(), "m4"), wrong_to, StatusCode::BAD_REQUEST));
    let (url, body) = safe_delivery(&app, &text("a"), "wx0000000000000000");
    cases.push(("wrong AppID", url, body, StatusCode::BAD_REQUEST));
    // Tampered ciphertext, re-signed (as someone holding the Token but not the key could):
    // the last block garbles the padding.
    let crypt = MsgCrypt::new(AES_KEY, APPID).unwrap();
    let mut raw = base64_decode(&crypt.encrypt(&text("a")));
    let last = raw.len() - 1;
    raw[last] ^= 0x5a;
    let (url, body) = signed_safe(&app, &base64_encode(&raw));
    cases.push(("tampered ciphertext", url, body, StatusCode::BAD_REQUEST));
    // Tampered without re-signing: msg_signature no longer covers Encrypt.
    let (url, _) = safe_delivery(&app, &text("a"), APPID);
    let other = safe_delivery(&app, &text("b"), APPID).1;
    cases.push(("msg_signature of another Encrypt", url, other, StatusCode::UNAUTHORIZED));
    let (url, body) = signed_safe(&app, "!!!not-base64!!!");
    cases.push(("not base64", url, body, StatusCode::BAD_REQUEST));
    cases.push((
        "oversized",
        signed_url(&app, now(), "m5"),
        format!("<xml><Content>{}</Content></xml>", "x".repeat(70_000)),
        StatusCode::PAYLOAD_TOO_LARGE,
    ));

    for (name, url, body, expected) in cases {
        let (status, answer) = post_url(&app, &url, body).await;
        assert_eq!(status, expected, "{name}: {answer}");
        assert_eq!(incident_count(&app).await, 0, "{name} recorded something");
    }

    // A signed URL reused with a different body is a replay.
    let url = signed_url(&app, now(), "replayed");
    let (status, _) = post_url(&app, &url, event_xml(&user, "CLICK", "")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post_url(&app, &url, text("换了内容")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(incident_count(&app).await, 0);

    // The binding survived all of that: a genuine text still files.
    let (status, body) = post_plain(&app, text("真的有纠纷")).await;
    assert_eq!(status, StatusCode::OK);
    tracking_token(&reply_text(&body));
    assert_eq!(incident_count(&app).await, 1);
}

async fn report_rate_limits_answer_429_or_a_friendly_text(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        with_webhook(s);
        s.report_limits.per_openid = 1;
        s.report_limits.per_ip = 2;
    })
    .await;
    let scene = scene(&app, "限流小区").await;
    let user = openid();
    for attempt in 0..2 {
        // Distinct CreateTimes: the same second would be a retry of the first scan.
        post_plain(&app, subscribe_xml(&user, &scene, now() + attempt)).await;
        let (status, body) = post_plain(&app, text_xml(&user, unique(), "邻居吵架")).await;
        assert_eq!(status, StatusCode::OK);
        let reply = reply_text(&body);
        if attempt == 0 {
            tracking_token(&reply);
        } else {
            assert!(reply.contains("频繁"), "{reply}");
        }
    }
    assert_eq!(incident_count(&app).await, 1);

    let report = json!({ "scene": scene, "category": "neighbor", "description": "噪音扰民" });
    for _ in 0..2 {
        let (status, body) = app.post("/api/v1/reports", None, report.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let resp = app.http().post(format!("{}/api/v1/reports", app.base)).json(&report).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"].as_str().unwrap().contains("频繁"), "{body}");
    assert_eq!(incident_count(&app).await, 3);
}

/// WeChat's `MsgId` is only known to be unique per sender: a delivery is a retry only when the
/// sender and the `MsgId` both match, so one resident is never answered with another's
/// tracking link.
async fn two_residents_sending_the_same_msg_id_each_get_their_own_answer(backend: Backend) {
    let app = app(backend).await;
    let scene = scene(&app, "同号小区").await;
    let msg_id = unique();
    let mut tokens = vec![];
    for (user, words) in [(openid(), "楼上漏水"), (openid(), "邻居装修噪音")] {
        post_plain(&app, subscribe_xml(&user, &scene, now())).await;
        let (status, body) = post_plain(&app, text_xml(&user, msg_id, words)).await;
        assert_eq!(status, StatusCode::OK);
        tokens.push(tracking_token(&reply_text(&body)));
    }
    assert_ne!(tokens[0], tokens[1], "the second resident got the first one's tracking link");
    assert_eq!(incident_count(&app).await, 2);
    let (_, second) = app.get(&format!("/api/v1/track/{}", tokens[1]), None).await;
    assert_eq!(second["description"], "邻居装修噪音");
}

on_both_stores!(
    url_verification_echoes_only_with_a_valid_signature,
    scan_then_text_files_a_report_with_a_tracking_link,
    safe_mode_scan_location_and_text_are_answered_encrypted,
    other_message_types_get_polite_answers,
    retries_never_file_twice_and_get_the_same_answer,
    hostile_deliveries_are_refused_and_record_nothing,
    report_rate_limits_answer_429_or_a_friendly_text,
    two_residents_sending_the_same_msg_id_each_get_their_own_answer,
    qr_posters_render_as_svg_and_png,
    notifications_go_out_and_survive_a_token_expiry,
    a_tracking_link_too_late_for_the_passive_reply_still_reaches_the_resident_in_wechat,
    a_video_invitation_for_the_parties_reaches_the_resident_in_wechat,
    the_confirmation_reminder_reaches_the_reporter_in_wechat_and_on_the_tracking_page,
);

// --- a local server that speaks WeChat's API --------------------------------------------------

#[derive(Default)]
struct FakeState {
    generation: u64,
    token_calls: u64,
    refused_sends: u64,
    qr_calls: u64,
}

#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<FakeState>>,
    sent: mpsc::UnboundedSender<Value>,
}

impl Fake {
    fn token(&self) -> String {
        format!("fake-token-{}", self.state.lock().unwrap().generation)
    }
}

/// A local server that speaks WeChat's API (token, messages, QR codes).
pub(crate) struct FakeWechat {
    base: String,
    state: Arc<Mutex<FakeState>>,
    sent: mpsc::UnboundedReceiver<Value>,
}

impl FakeWechat {
    /// Start it on 127.0.0.1:0.
    pub(crate) async fn start() -> Self {
        use axum::routing::post;
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(FakeState { generation: 1, ..FakeState::default() }));
        let fake = Fake { state: state.clone(), sent: tx };
        async fn stable_token(State(f): State<Fake>, Json(body): Json<Value>) -> Json<Value> {
            assert_eq!(body["grant_type"], "client_credential");
            if body["appid"] != APPID || body["secret"] != "test-app-secret" {
                return Json(json!({ "errcode": 40125, "errmsg": "invalid appsecret" }));
            }
            f.state.lock().unwrap().token_calls += 1;
            Json(json!({ "access_token": f.token(), "expires_in": 7200 }))
        }
        async fn send(
            State(f): State<Fake>,
            Query(q): Query<HashMap<String, String>>,
            Json(body): Json<Value>,
        ) -> Json<Value> {
            if q.get("access_token") != Some(&f.token()) {
                f.state.lock().unwrap().refused_sends += 1;
                return Json(
                    json!({ "errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest" }),
                );
            }
            let _ = f.sent.send(body);
            Json(json!({ "errcode": 0, "errmsg": "ok", "msgid": 1 }))
        }
        async fn qrcode(
            State(f): State<Fake>,
            Query(q): Query<HashMap<String, String>>,
            Json(body): Json<Value>,
        ) -> Json<Value> {
            if q.get("access_token") != Some(&f.token()) {
                return Json(json!({ "errcode": 40001, "errmsg": "invalid credential" }));
            }
            assert_eq!(body["action_name"], "QR_LIMIT_STR_SCENE");
            f.state.lock().unwrap().qr_calls += 1;
            let scene = body["action_info"]["scene"]["scene_str"].as_str().unwrap_or("").to_owned();
            Json(json!({ "ticket": "T", "url": format!("http://weixin.qq.com/q/{scene}") }))
        }
        async fn expire(State(f): State<Fake>) -> Json<Value> {
            f.state.lock().unwrap().generation += 1;
            Json(json!({ "errcode": 0 }))
        }
        let router = axum::Router::new()
            .route("/cgi-bin/stable_token", post(stable_token))
            .route("/cgi-bin/message/template/send", post(send))
            .route("/cgi-bin/message/subscribe/bizsend", post(send))
            .route("/cgi-bin/message/custom/send", post(send))
            .route("/cgi-bin/qrcode/create", post(qrcode))
            .route("/_fake/expire_token", post(expire))
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, state, sent: rx }
    }

    /// The next message sent through it (template, subscription or customer service).
    pub(crate) async fn next_sent(&mut self) -> Value {
        tokio::time::timeout(PROMPTLY, self.sent.recv()).await.expect("a message in time").expect("fake running")
    }

    /// Messages sent and not yet taken, without waiting.
    pub(crate) fn already_sent(&mut self) -> Vec<Value> {
        std::iter::from_fn(|| self.sent.try_recv().ok()).collect()
    }

    async fn expire_token(&self) {
        reqwest::Client::new().post(format!("{}/_fake/expire_token", self.base)).send().await.unwrap();
    }
}

/// WeChat's API at `fake`, with a template id for every notice.
pub(crate) fn with_api(s: &mut Settings, fake: &FakeWechat) {
    with_webhook(s);
    s.wechat.api_base = fake.base.clone();
    s.wechat.appsecret = Some(SecretString::from("test-app-secret"));
    s.wechat.template_offer = "TPL_OFFER".into();
    s.wechat.template_claimed = "TPL_CLAIMED".into();
    s.wechat.template_arrived = "TPL_ARRIVED".into();
    s.wechat.template_resolved = "TPL_RESOLVED".into();
    s.wechat.template_call_in = "TPL_CALL_IN".into();
    s.wechat.notify_backoff = std::time::Duration::from_millis(20);
}

async fn qr_posters_render_as_svg_and_png(backend: Backend) {
    let fake = FakeWechat::start().await;
    let app = spawn_app_with(backend, |s| with_api(s, &fake)).await;
    let scene = scene(&app, "海报小区").await;
    let admin = app.admin_token();
    let get = |path: String, token: Option<String>| {
        let mut req = app.http().get(format!("{}{path}", app.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let svg = get(format!("/api/v1/admin/scenes/{scene}/qr.svg"), Some(admin.clone())).await.unwrap();
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.contains("<svg"), "{}", &svg[..svg.len().min(200)]);
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        if matches!(reader.read_event().expect("the SVG is well-formed XML"), quick_xml::events::Event::Eof) {
            break;
        }
    }
    let png = get(format!("/api/v1/admin/scenes/{scene}/qr.png"), Some(admin.clone())).await.unwrap();
    assert_eq!(png.status(), StatusCode::OK);
    let png = png.bytes().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (side, pixels) = decode_grayscale(&png);
    assert!(side >= 600, "{side} px");
    let at = |x: usize, y: usize| pixels[y * side + x];
    // The top-left finder pattern starts after a light quiet zone of four modules, and its
    // top edge is seven modules dark: whole pixels per module, a valid QR size (21 + 4k).
    let corner = (0..side).find(|&d| at(d, d) == 0).expect("a dark module on the diagonal");
    assert_eq!(corner % 4, 0, "quiet zone {corner} px");
    let module = corner / 4;
    assert!(module > 0 && side % module == 0, "{side} px in modules of {module} px");
    assert_eq!((side / module - 8 - 21) % 4, 0, "{} modules", side / module - 8);
    assert!((corner..corner + 7 * module).all(|x| at(x, corner) == 0), "finder pattern's top edge");
    assert_eq!(at(corner + 7 * module, corner), 255, "separator after the finder pattern");
    let forbidden = get(format!("/api/v1/admin/scenes/{scene}/qr.png"), None).await.unwrap();
    assert!(matches!(forbidden.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN));
    let missing =
        get(format!("/api/v1/admin/scenes/{}/qr.svg", IncidentId::generate()), Some(admin.clone())).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The permanent WeChat code: created once, then served from the cache.
    for _ in 0..2 {
        let resp = get(format!("/api/v1/admin/scenes/{scene}/qr.png?kind=wechat"), Some(admin.clone())).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(decode_grayscale(&resp.bytes().await.unwrap()).0 >= 600);
    }
    assert_eq!(fake.state.lock().unwrap().qr_calls, 1, "the ticket is cached");
}

/// Side and pixels of a square 8-bit grayscale PNG.
fn decode_grayscale(png: &[u8]) -> (usize, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().expect("the PNG decodes");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let frame = reader.next_frame(&mut pixels).expect("the PNG decodes");
    assert_eq!((frame.color_type, frame.bit_depth), (png::ColorType::Grayscale, png::BitDepth::Eight));
    assert_eq!(frame.width, frame.height, "square");
    (frame.width as usize, pixels)
}

async fn notifications_go_out_and_survive_a_token_expiry(backend: Backend) {
    let mut fake = FakeWechat::start().await;
    let app = spawn_app_with(backend, |s| with_api(s, &fake)).await;
    let mediator = app.mediator("王调解", &["neighbor"]).await;
    let mediator_openid = openid();
    let (status, body) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/mediators/{}", mediator.id),
            Some(&app.admin_token()),
            Some(json!({ "wechat_openid": mediator_openid })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.on_duty_at(&mediator, AT.0, AT.1).await;

    let scene = scene(&app, "通知小区").await;
    let resident = openid();
    post_plain(&app, scan_xml(&resident, &scene)).await;
    let (_, body) = post_plain(&app, text_xml(&resident, unique(), "楼上噪音")).await;
    let token = tracking_token(&reply_text(&body));
    let id = app.app().dispatcher().tracked_incident(&token).await.unwrap().id;

    let offer = fake.next_sent().await;
    assert_eq!(offer["touser"], mediator_openid.as_str());
    assert_eq!(offer["template_id"], "TPL_OFFER");

    // Force expiry: the next send is refused with 40001, the token refreshed, the send retried.
    fake.expire_token().await;
    let (status, body) =
        app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&mediator.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claimed = fake.next_sent().await;
    assert_eq!(claimed["touser"], resident.as_str());
    assert_eq!(claimed["template_id"], "TPL_CLAIMED");
    {
        let s = fake.state.lock().unwrap();
        assert!(s.refused_sends >= 1, "the stale token was used once");
        assert_eq!(s.token_calls, 2, "one token at start, one refresh");
    }

    // Every delivery is in the incident's timeline.
    let store = app.app().ports().incidents.clone();
    let notified = eventually("both deliveries in the timeline", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            let timeline = store.timeline(&id).await.ok()?;
            let sent: Vec<(String, String)> = timeline
                .into_iter()
                .filter_map(|e| match e.event {
                    Event::Notified { notice, outcome, .. } if outcome.starts_with("sent") => Some((notice, outcome)),
                    _ => None,
                })
                .collect();
            (sent.len() >= 2).then_some(sent)
        }
    })
    .await;
    assert!(notified.iter().any(|(n, _)| n == "offer") && notified.iter().any(|(n, _)| n == "claimed"), "{notified:?}");
}

async fn a_tracking_link_too_late_for_the_passive_reply_still_reaches_the_resident_in_wechat(backend: Backend) {
    let mut fake = FakeWechat::start().await;
    // Every reply counts as late (WeChat waits 5 s; a slow store can take longer).
    let app = spawn_app_with(backend, |s| {
        with_api(s, &fake);
        s.wechat.passive_reply_deadline = std::time::Duration::ZERO;
    })
    .await;
    let scene = scene(&app, "慢回复小区").await;
    let resident = openid();
    post_plain(&app, scan_xml(&resident, &scene)).await;
    let (_, body) = post_plain(&app, text_xml(&resident, unique(), "楼下烧烤油烟很大")).await;
    let token = tracking_token(&reply_text(&body));

    let resent = loop {
        let sent = fake.next_sent().await;
        if sent["text"]["content"].as_str().is_some_and(|c| c.contains(&format!("/t/{token}"))) {
            break sent;
        }
    };
    assert_eq!(resent["touser"], resident.as_str());
    assert_eq!(resent["msgtype"], "text");
}

async fn a_video_invitation_for_the_parties_reaches_the_resident_in_wechat(backend: Backend) {
    let mut fake = FakeWechat::start().await;
    let app = spawn_app_with(backend, |s| with_api(s, &fake)).await;
    let mediator = app.mediator("王调解", &["neighbor"]).await;
    app.on_duty_at(&mediator, AT.0, AT.1).await;
    let scene = scene(&app, "视频调解小区").await;
    let resident = openid();
    post_plain(&app, scan_xml(&resident, &scene)).await;
    let (_, body) = post_plain(&app, text_xml(&resident, unique(), "楼上漏水")).await;
    let token = tracking_token(&reply_text(&body));
    let id = app.app().dispatcher().tracked_incident(&token).await.unwrap().id;
    let (status, body) =
        app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&mediator.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, seat) = app.post("/api/v1/video/sessions", Some(&mediator.token), json!({ "incident_id": id })).await;
    assert_eq!(status, StatusCode::CREATED, "{seat}");
    let invitations = format!("/api/v1/video/sessions/{}/invitations", seat["session_id"].as_str().unwrap());

    // An expert's link is for the mediator to pass on; the parties' goes to the resident.
    let (status, expert) = app.post(&invitations, Some(&mediator.token), json!({ "kind": "department" })).await;
    assert_eq!(status, StatusCode::CREATED, "{expert}");
    let (status, party) = app.post(&invitations, Some(&mediator.token), json!({ "kind": "party" })).await;
    assert_eq!(status, StatusCode::CREATED, "{party}");
    let link = format!("/v/{}", party["token"].as_str().unwrap());
    let expert_link = format!("/v/{}", expert["token"].as_str().unwrap());
    let mut texts = Vec::new();
    let invitation = loop {
        let sent = fake.next_sent().await;
        let content = sent["text"]["content"].as_str().unwrap_or_default().to_owned();
        texts.push(content.clone());
        if content.contains(&link) {
            break sent;
        }
    };
    assert_eq!(invitation["touser"], resident.as_str());
    assert_eq!(invitation["msgtype"], "text", "a customer-service text: no template needed");
    let content = invitation["text"]["content"].as_str().unwrap();
    assert!(content.contains("视频调解") && content.contains("只能用一次"), "{content}");
    assert!(texts.iter().all(|t| !t.contains(&expert_link)), "the expert's link went to the resident: {texts:?}");

    // The delivery is on the timeline, the openid masked.
    let store = app.app().ports().incidents.clone();
    let recorded = eventually("the invitation's delivery on the timeline", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            store.timeline(&id).await.ok()?.into_iter().find_map(|e| match e.event {
                Event::Notified { notice, outcome, to, channel } if notice == "video_invitation" => {
                    Some((outcome, to, channel))
                }
                _ => None,
            })
        }
    })
    .await;
    assert!(recorded.0.starts_with("sent"), "{recorded:?}");
    assert!(!recorded.1.contains(&resident), "{recorded:?}");
    assert_eq!(recorded.2, "wechat_custom");
}

/// Issue #20: a week after the agreement takes effect, the reporter who came through WeChat
/// is reminded there to apply for 司法确认 by its last day (and the holder too, bound to an
/// openid); the tracking page says the same.
async fn the_confirmation_reminder_reaches_the_reporter_in_wechat_and_on_the_tracking_page(backend: Backend) {
    use grid_dispatch::clock::Clock;
    let mut fake = FakeWechat::start().await;
    let app = spawn_app_on_clock(backend, |s| {
        with_api(s, &fake);
        s.wechat.template_case_due = "TPL_CASE".into();
    })
    .await;
    let mediator = app.mediator("王调解", &[]).await;
    let mediator_openid = openid();
    let admin = app.admin_token();
    let body = json!({ "wechat_openid": mediator_openid });
    let path = format!("/api/v1/admin/mediators/{}", mediator.id);
    let (status, body) = app.call(reqwest::Method::PATCH, &path, Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.on_duty_at(&mediator, AT.0, AT.1).await;
    let scene = scene(&app, "司法确认小区").await;
    let resident = openid();
    post_plain(&app, scan_xml(&resident, &scene)).await;
    let (_, body) = post_plain(&app, text_xml(&resident, unique(), "邻居漏水")).await;
    let token = tracking_token(&reply_text(&body));
    let id = app.app().dispatcher().tracked_incident(&token).await.unwrap().id.to_string();
    let (status, body) =
        app.post(&format!("/api/v1/mediator/incidents/{id}/accept"), Some(&mediator.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let case = format!("/api/v1/mediator/incidents/{id}/case");
    let (_, reporter) =
        app.post(&format!("{case}/parties/reporter"), Some(&mediator.token), json!({ "name": "张三" })).await;
    let (_, v) = app
        .call(
            reqwest::Method::PUT,
            &format!("{case}/agreement"),
            Some(&mediator.token),
            Some(json!({ "terms": ["修好水管。"] })),
        )
        .await;
    let hash = v["text_sha256"].as_str().expect("hash");
    for signer in [json!({ "type": "party", "party_id": reporter["id"] }), json!({ "type": "mediator" })] {
        let (status, body) = crate::casefile::sign(&app, &mediator, &id, "agreement", signer, hash, 3).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let last_day = app
        .clock()
        .now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
        .checked_add(jiff::Span::new().days(30))
        .unwrap()
        .to_string();

    app.advance(std::time::Duration::from_secs(8 * 24 * 3600)).await;
    let mut to = HashMap::new();
    while to.len() < 2 {
        let sent = fake.next_sent().await;
        if sent["template_id"] == "TPL_CASE" {
            to.insert(sent["touser"].as_str().unwrap_or("").to_owned(), sent);
        }
    }
    let theirs = &to[&resident];
    assert!(
        theirs["data"]["thing1"]["value"].as_str().is_some_and(|v| v.contains("司法确认") && v.contains(&last_day)),
        "{theirs}"
    );
    assert!(to.contains_key(&mediator_openid), "the holder too: {to:?}");
    let (_, tracked) = app.get(&format!("/api/v1/track/{token}"), None).await;
    let reminder = tracked["timeline"].as_array().unwrap().iter().find(|e| e["event"]["type"] == "case_file").cloned();
    let reminder = reminder.unwrap_or_else(|| panic!("the reminder is on the tracking page: {tracked}"));
    assert_eq!(
        (reminder["event"]["step"].as_str(), reminder["event"]["date"].as_str()),
        (Some("confirmation_due"), Some(last_day.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_notifications_are_logged_as_skipped() {
    let app = app(Backend::Memory).await;
    let scene = scene(&app, "无凭据小区").await;
    let resident = openid();
    post_plain(&app, scan_xml(&resident, &scene)).await;
    let (_, body) = post_plain(&app, text_xml(&resident, unique(), "邻居占道")).await;
    let token = tracking_token(&reply_text(&body));
    let incident = app.app().dispatcher().tracked_incident(&token).await.unwrap();
    let operator = app.operator("指挥员").await;
    let mediator = app.mediator("李调解", &[]).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/command/incidents/{}/assign", incident.id),
            Some(&operator.token),
            json!({ "mediator_id": mediator.id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let store = app.app().ports().incidents.clone();
    let outcome = eventually("a skipped delivery in the timeline", || {
        let (store, id) = (store.clone(), incident.id.clone());
        async move {
            store.timeline(&id).await.ok()?.into_iter().find_map(|e| match e.event {
                Event::Notified { outcome, notice, to, .. } => Some((outcome, notice, to)),
                _ => None,
            })
        }
    })
    .await;
    assert!(outcome.0.starts_with("skipped"), "{outcome:?}");
    assert_eq!(outcome.1, "claimed");
    assert!(!outcome.2.contains(&resident), "the openid is masked: {outcome:?}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).expect("base64")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}
