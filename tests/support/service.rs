//! The `grid-dispatch` binary as a child process, for tests that must kill it (SIGKILL by PID)
//! or restart it. Include with `#[path = "support/service.rs"] mod service;`.
#![allow(dead_code, reason = "each test crate uses a different subset of the helper")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The signing key the processes use (tests mint tokens with it).
pub(crate) const SECRET: &str = "process-test-secret-process-test-secret";

/// One running service process; killed on drop.
pub(crate) struct ServiceProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl ServiceProcess {
    /// Start the binary on a free loopback port with `env` (on top of test defaults), logging
    /// to `log_dir/<name>.log`. Returns once `/healthz` answers.
    pub(crate) async fn start(name: &str, log_dir: &Path, env: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let log = std::fs::File::create(log_dir.join(format!("{name}.log"))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_grid-dispatch"))
            .current_dir(log_dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GD_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("GD_AUTH__JWT_SECRET", SECRET)
            .env("GD_TIMERS__POLL_INTERVAL", "50ms")
            .env("GD_LOG__LEVEL", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("the grid-dispatch binary starts");
        let service = Self { child, base: format!("http://127.0.0.1:{port}") };
        service.wait_healthy().await;
        service
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "{} never became healthy", self.base);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL by PID, and reap it.
    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM (a graceful stop) by PID.
    pub(crate) fn sigterm(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Wait up to `within` for the process to exit; its status, or `None` if it is still running.
    pub(crate) async fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl ServiceProcess {
    /// Create a mediator called `name` with `phone` through the admin API; returns their id.
    pub(crate) async fn create_mediator(&self, http: &reqwest::Client, name: &str, phone: &str) -> String {
        let admin = token("ops", grid_dispatch::domain::account::Role::Admin);
        let body = serde_json::json!({ "name": name, "phone": phone, "password": "mediator-pass-1" });
        let response =
            http.post(format!("{}/api/v1/admin/mediators", self.base)).bearer_auth(admin).json(&body).send().await;
        let created: serde_json::Value = response.expect("create a mediator").json().await.expect("a JSON account");
        created["id"].as_str().unwrap_or_else(|| panic!("no mediator created: {created}")).to_owned()
    }

    /// The mediator phone's socket URL for `token`.
    pub(crate) fn mediator_socket_url(&self, token: &str) -> String {
        format!("{}/api/v1/mediator/ws?access_token={token}", self.base.replacen("http", "ws", 1))
    }
}

/// A token for `sub` as `role`, signed with [`SECRET`].
pub(crate) fn token(sub: &str, role: grid_dispatch::domain::account::Role) -> String {
    let secret = secrecy::SecretString::from(SECRET);
    let keys = grid_dispatch::auth::JwtKeys::hmac(&secret, "grid-dispatch", "grid-dispatch");
    keys.issue(sub, role, Duration::from_secs(3600), jiff::Timestamp::now()).expect("token").0
}
