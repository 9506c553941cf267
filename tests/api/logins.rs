//! Login throttling from the attacker's side: guesses from one address lock out only that
//! address, spraying one password over many phones is cut off per address, an office of
//! mediators behind one address is never limited by its successes, and an unknown phone costs
//! what a known one does. Clients connect from distinct loopback addresses (127.x.y.z), so the
//! server sees real, different TCP peers.

use crate::helpers::{Backend, TestApp, phone, spawn_app, spawn_app_with};
use crate::on_both_stores;
use reqwest::StatusCode;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

on_both_stores!(
    a_stranger_cannot_lock_a_mediator_out,
    spraying_one_password_over_many_phones_is_cut_off_per_address,
    a_forwarded_address_is_the_one_the_proxy_appended,
);

/// A client whose connections come from `ip` (any 127.0.0.0/8 address reaches the server).
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(ip)).timeout(Duration::from_secs(30)).build().expect("client")
}

/// Log in from `client`; the status.
async fn login(app: &TestApp, client: &reqwest::Client, phone: &str, password: &str) -> StatusCode {
    client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "phone": phone, "password": password }))
        .send()
        .await
        .expect("login answered")
        .status()
}

async fn a_stranger_cannot_lock_a_mediator_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let m = app.mediator("被冒用", &[]).await;
    let stranger = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let own_phone = client_from(Ipv4Addr::new(127, 0, 0, 3));

    // A stranger guesses until refused: only the stranger's address is locked out.
    for _ in 0..5 {
        assert_eq!(login(&app, &stranger, &m.phone, "guess-guess").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, &stranger, &m.phone, "s3cret-pass").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login(&app, &own_phone, &m.phone, "s3cret-pass").await, StatusCode::OK, "the mediator still logs in");

    // Many strangers, one guess each, push the phone past its slow limit (20 an hour): each
    // address that has already failed is refused, a clean one still gets its one try.
    let botnet: Vec<reqwest::Client> = (1..=24).map(|i| client_from(Ipv4Addr::new(127, 0, 1, i))).collect();
    for bot in &botnet {
        assert_eq!(login(&app, bot, &m.phone, "guess-guess").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, &botnet[0], &m.phone, "guess-again").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login(&app, &botnet[0], &m.phone, "s3cret-pass").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login(&app, &own_phone, &m.phone, "s3cret-pass").await, StatusCode::OK, "a phone that never failed");
    let new_device = client_from(Ipv4Addr::new(127, 0, 0, 4));
    assert_eq!(login(&app, &new_device, &m.phone, "s3cret-pass").await, StatusCode::OK, "nor a new one");
}

async fn spraying_one_password_over_many_phones_is_cut_off_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth.login_ip_max_failures = 5).await;
    let victim = app.mediator("同一出口", &[]).await;
    let sprayer = client_from(Ipv4Addr::new(127, 0, 0, 5));
    for _ in 0..5 {
        assert_eq!(login(&app, &sprayer, &phone(), "Password123").await, StatusCode::UNAUTHORIZED);
    }
    for target in [phone(), victim.phone.clone()] {
        assert_eq!(login(&app, &sprayer, &target, "Password123").await, StatusCode::TOO_MANY_REQUESTS);
    }
    let resp = sprayer
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "phone": victim.phone, "password": "s3cret-pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "the address is cut off, whatever it tries");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "Retry-After {retry}");
    let elsewhere = client_from(Ipv4Addr::new(127, 0, 0, 6));
    assert_eq!(login(&app, &elsewhere, &victim.phone, "s3cret-pass").await, StatusCode::OK);

    // An office: more mediators than the limit log in from one address; successes never count.
    let office = client_from(Ipv4Addr::new(127, 0, 0, 7));
    let mut staff = vec![];
    for i in 0..7 {
        staff.push(app.mediator(&format!("同事{i}"), &[]).await);
    }
    for (i, m) in staff.iter().enumerate() {
        if i == 0 {
            assert_eq!(login(&app, &office, &m.phone, "typo-typo").await, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(login(&app, &office, &m.phone, "s3cret-pass").await, StatusCode::OK, "colleague {i}");
    }
}

async fn a_forwarded_address_is_the_one_the_proxy_appended(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.http.trust_forwarded_for = true).await;
    let m = app.mediator("代理后", &[]).await;
    let proxy = client_from(Ipv4Addr::new(127, 0, 0, 8));
    // The attacker writes a fresh "client address" into every request; the proxy appends the
    // real one. Counting the first entry would give every guess a clean slate.
    for i in 0..6 {
        let status = proxy
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", format!("10.9.8.{i}, 198.51.100.7"))
            .json(&json!({ "phone": m.phone, "password": "guess-guess" }))
            .send()
            .await
            .unwrap()
            .status();
        let want = if i < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(status, want, "guess {i}");
    }
    // The mediator behind the same proxy, at another address, is not locked out.
    let status = proxy
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", "198.51.100.8")
        .json(&json!({ "phone": m.phone, "password": "s3cret-pass" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
}

/// Known and unknown phones are answered alike and at the same cost (a fixed dummy hash with
/// the real parameters stands in for an unknown phone's), so timing reveals no accounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_phone_costs_what_a_known_one_does() {
    let app = spawn_app(Backend::Memory).await;
    let m = app.mediator("计时", &[]).await;
    let (mut known, mut unknown) = (vec![], vec![]);
    for i in 0..12u8 {
        // A fresh address each time: no limit is near, and both paths do the same work.
        let client = client_from(Ipv4Addr::new(127, 0, 2, i + 1));
        for (target, times) in [(m.phone.clone(), &mut known), (phone(), &mut unknown)] {
            let started = Instant::now();
            assert_eq!(login(&app, &client, &target, "wrong-password").await, StatusCode::UNAUTHORIZED);
            times.push(started.elapsed());
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    let ratio = u.as_secs_f64() / k.as_secs_f64();
    assert!((0.6..1.7).contains(&ratio), "unknown {u:?} vs known {k:?}: a timing difference reveals accounts");
}
