//! The binary as a newcomer and an operator run it: environment overrides, the generated key
//! and admin token on first run, the `token` command, JSON logs without personal data, and a
//! graceful stop on SIGTERM.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_grid-dispatch");
const SECRET: &str = "binary-test-secret-binary-test-secret";

/// A running `grid-dispatch` process whose output lines are collected.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GD_HTTP__ADDR", "127.0.0.1:0")
            .env("GD_LOG__FORMAT", "json")
            .envs(env.iter().copied())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary starts");
        let (tx, lines) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Self { child, lines, seen: vec![] }
    }

    /// The first line (already seen, or waited for, bounded) matching `pred`. stdout and
    /// stderr are read by two threads, so their lines may arrive in either order.
    fn wait_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|l| pred(l)) {
            return line.clone();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with {what}; saw:\n{}", self.seen.join("\n")));
            self.seen.push(line.clone());
            if pred(&line) {
                return line;
            }
        }
    }

    /// The bound address, from the JSON "listening" log line.
    fn addr(&mut self) -> String {
        let line = self.wait_line("listening", |l| l.contains("grid-dispatch listening"));
        let v: Value = serde_json::from_str(&line).expect("JSON log line");
        v["addr"].as_str().expect("addr field").to_owned()
    }

    fn sigterm_and_wait(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = i32::try_from(self.child.id()).unwrap();
        let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill runs");
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return (status, std::mem::take(&mut self.seen));
            }
            assert!(std::time::Instant::now() < deadline, "did not stop within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_newcomer_gets_a_working_server_an_admin_token_and_a_clean_stop() {
    let mut server = Server::start(&[("GD_DISPATCH__ESCALATE_AFTER", "90s")]);
    let addr = server.addr();
    assert!(
        server.seen.iter().any(|l| l.contains("NOT durable") && l.contains("GD_REDIS__URL")),
        "says the store is not durable and how to fix it"
    );
    assert!(server.seen.iter().any(|l| l.contains("generated a random signing key")), "says the key is generated");
    let token_line = server.wait_line("the admin token", |l| l.trim_start().starts_with("eyJ"));
    let admin = token_line.trim().to_owned();

    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let created: Value = http
        .post(format!("{base}/api/v1/admin/mediators"))
        .bearer_auth(&admin)
        .json(&json!({ "name": "新人", "phone": "13700001111", "password": "newcomer-pass" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["name"], "新人");
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "phone": "13700001111", "password": "newcomer-pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let mediator = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let send = |path: &str, body: Value| http.post(format!("{base}{path}")).bearer_auth(&mediator).json(&body).send();
    assert_eq!(send("/api/v1/mediator/duty", json!({ "on": true })).await.unwrap().status(), 200);
    let at = json!({ "lat": 36.61893, "lng": 101.77827, "coord": "wgs84" });
    assert_eq!(send("/api/v1/mediator/position", at).await.unwrap().status(), 204);
    let failed = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "phone": "13700001111", "password": "wrong-pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 401);
    let report: Value = http
        .post(format!("{base}/api/v1/reports"))
        .json(&json!({ "location": { "lat": 36.61713, "lng": 101.77827, "coord": "wgs84" }, "category": "wages", "description": "欠薪", "phone": "13912345678" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tracking = report["tracking_token"].as_str().unwrap().to_owned();
    let status = http.get(format!("{base}/api/v1/track/{tracking}")).send().await.unwrap().status();
    assert_eq!(status, 200);
    let id = report["id"].as_str().unwrap();
    assert_eq!(send(&format!("/api/v1/mediator/incidents/{id}/accept"), json!({})).await.unwrap().status(), 200);
    let ws = format!("ws://{addr}/api/v1/mediator/ws?access_token={mediator}");
    let (mut socket, _) = tokio_tungstenite::connect_async(ws.as_str()).await.unwrap();
    use futures_util::SinkExt;
    let fix = json!({ "type": "position", "lat": 36.61894, "lng": 101.77828, "coord": "wgs84" }).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::Text(fix.into())).await.unwrap();
    // Messages are handled in order: once the duty answer arrives, the position was handled.
    // (The socket greets with duty on; asking for off tells our answer apart.)
    let duty = json!({ "type": "duty", "on": false }).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::Text(duty.into())).await.unwrap();
    use futures_util::StreamExt;
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(msg)) = socket.next().await {
            if msg.to_text().is_ok_and(|t| t.contains("\"duty\"") && t.contains("false")) {
                return true;
            }
        }
        false
    });
    assert!(answered.await.unwrap_or(false), "the socket answered the duty message");
    drop(socket);

    let (status, lines) = server.sigterm_and_wait();
    assert!(status.success(), "exit {status:?}");
    assert!(lines.iter().any(|l| l.contains("shutdown signal received")));
    // Logs carry no phone numbers, tokens or exact coordinates.
    let log = lines.iter().filter(|l| l.starts_with('{')).cloned().collect::<Vec<_>>().join("\n");
    for secret in [
        "13700001111",
        "13912345678",
        tracking.as_str(),
        "36.61713",
        "101.77827",
        "36.6189",
        "101.7782",
        &admin[..40],
        &mediator[..40],
    ] {
        assert!(!log.contains(secret), "the log leaks {secret}");
    }
}

#[tokio::test]
async fn the_token_command_mints_with_the_configured_key_and_env_overrides_apply() {
    let out = Command::new(BIN)
        .args(["token", "--role", "admin", "--sub", "ops", "--ttl", "10m"])
        .env("GD_AUTH__JWT_SECRET", SECRET)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let mut server = Server::start(&[
        ("GD_AUTH__JWT_SECRET", SECRET),
        ("GD_HTTP__PUBLIC_BASE_URL", "https://tiaojie.example.gov.cn"),
    ]);
    let addr = server.addr();
    assert!(!server.seen.iter().any(|l| l.contains("generated a random signing key")));
    let http = reqwest::Client::new();
    let resp = http.get(format!("http://{addr}/api/v1/admin/mediators")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "a CLI token works against a server with the same key");
    let scene: Value = http
        .post(format!("http://{addr}/api/v1/admin/scenes"))
        .bearer_auth(&token)
        .json(&json!({ "name": "幸福里", "location": { "lat": 36.6, "lng": 101.7 } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        scene["report_url"].as_str().unwrap().starts_with("https://tiaojie.example.gov.cn/r/"),
        "GD_HTTP__PUBLIC_BASE_URL applied"
    );

    let bad = Command::new(BIN)
        .args(["token", "--role", "wizard", "--sub", "x"])
        .env("GD_AUTH__JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let short =
        Command::new(BIN).env("GD_AUTH__JWT_SECRET", "short").env("GD_HTTP__ADDR", "127.0.0.1:0").output().unwrap();
    assert!(!short.status.success(), "a short key is refused at start");
    assert!(String::from_utf8_lossy(&short.stderr).contains("GD_AUTH__JWT_SECRET"));
    let _ = server.sigterm_and_wait();
}

/// Run the binary with exactly `env` (plus PATH) in `cwd` and wait for it to exit (killed after
/// 15 s: a server that starts when it should have refused is a failure, not a hang).
fn run_to_exit(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path, bin: &std::path::Path) -> (bool, String) {
    let mut child = Command::new(bin)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GD_HTTP__ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after 15 s; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The `iss` claim of a token printed by `grid-dispatch token`.
fn issuer_of(printed: &str) -> String {
    use base64::Engine;
    let payload = printed.trim().split('.').nth(1).expect("a JWT");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice::<Value>(&json).unwrap()["iss"].as_str().unwrap_or_default().to_owned()
}

/// #16.10: configuration fails closed. An unknown `GD_ENV` (a typo that would silently drop
/// production's `durability = "always"`), production without its file, without a signing key
/// or without Redis, and secrets that are only whitespace all refuse to start, saying why.
#[test]
fn doubtful_configuration_refuses_to_start_and_says_why() {
    let empty = tempfile::tempdir().unwrap();
    let bin = std::path::Path::new(BIN);
    let redis = ("GD_REDIS__URL", "redis://127.0.0.1:1");
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Env<'_>, &[&str]); 6] = [
        (&[("GD_ENV", "prodution")], &["GD_ENV", "\"prodution\"", "local, test, production"]),
        (&[("GD_ENV", "production"), ("GD_AUTH__JWT_SECRET", SECRET), redis], &["production.toml", "GD_CONFIG_DIR"]),
        (
            &[("GD_ENV", "production"), ("GD_CONFIG_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/config")), redis],
            &["GD_AUTH__JWT_SECRET", "required in production"],
        ),
        (
            &[
                ("GD_ENV", "production"),
                ("GD_CONFIG_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/config")),
                ("GD_AUTH__JWT_SECRET", SECRET),
            ],
            &["GD_REDIS__URL", "required in production"],
        ),
        (
            &[("GD_AUTH__JWT_SECRET", "                                        ")],
            &["GD_AUTH__JWT_SECRET", "whitespace"],
        ),
        (&[("GD_WECHAT__TOKEN", " \t ")], &["GD_WECHAT__TOKEN", "whitespace"]),
    ];
    for (env, said) in cases {
        let (ok, out) = run_to_exit(&[], env, empty.path(), bin);
        assert!(!ok, "{env:?} must refuse to start; output:\n{out}");
        for words in said {
            assert!(out.contains(words), "{env:?}: the refusal says {words:?}; output:\n{out}");
        }
    }
}

/// #16.10: `{GD_ENV}.toml` is found beside the binary (as in the container's `/app/config`)
/// from any working directory, and only in `GD_CONFIG_DIR` when that is set.
#[test]
fn the_environment_file_is_found_beside_the_binary_or_in_gd_config_dir() {
    let install = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = install.path().join("grid-dispatch");
    std::fs::hard_link(BIN, &bin).or_else(|_| std::fs::copy(BIN, &bin).map(|_| ())).unwrap();
    std::fs::create_dir(install.path().join("config")).unwrap();
    std::fs::write(install.path().join("config/production.toml"), "[auth]\nissuer = \"beside-the-binary\"\n").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("production.toml"), "[auth]\nissuer = \"from-gd-config-dir\"\n").unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let mint = ["token", "--role", "admin", "--sub", "ops"];
    let base = [("GD_ENV", "production"), ("GD_AUTH__JWT_SECRET", SECRET), ("GD_REDIS__URL", "redis://127.0.0.1:1")];

    let (ok, out) = run_to_exit(&mint, &base, cwd.path(), &bin);
    assert!(ok, "{out}");
    assert_eq!(issuer_of(&out), "beside-the-binary");
    let told: Vec<(&str, &str)> =
        base.iter().copied().chain([("GD_CONFIG_DIR", elsewhere.path().to_str().unwrap())]).collect();
    let (ok, out) = run_to_exit(&mint, &told, cwd.path(), &bin);
    assert!(ok, "{out}");
    assert_eq!(issuer_of(&out), "from-gd-config-dir");
}
