//! A real, throwaway `redis-server` for tests: its own temp dir and unix socket, so tests never
//! share a server by accident or race for ports, and it is killed when dropped.
//!
//! Include it from a test crate with
//! `#[path = "../support/redis_server.rs"] mod redis_server;` (adjust the path to the crate).
//! Needs `redis-server` (≥ 6.2) on `PATH`; the README's test command (`./scripts/test.sh`) installs it.
#![allow(dead_code, reason = "each test crate uses a different subset of the helper")]

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `PING`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server` owned by one test.
#[derive(Debug)]
pub(crate) struct RedisServer {
    child: Option<Child>,
    socket: PathBuf,
    durable: bool,
    // Declared last: dropped (the directory removed) after the process is gone.
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// A non-durable server (no RDB, no AOF), answering `PING` when this returns.
    #[must_use]
    pub(crate) fn start() -> Self {
        Self::spawn(false)
    }

    /// A durable server (AOF, fsync on every write), so data survives [`Self::kill9`] and
    /// [`Self::restart`].
    #[must_use]
    pub(crate) fn start_durable() -> Self {
        Self::spawn(true)
    }

    fn spawn(durable: bool) -> Self {
        let dir = tempfile::Builder::new().prefix("gd-redis-").tempdir().expect("create a temp dir for redis-server");
        let socket = dir.path().join("redis.sock");
        let mut server = Self { child: None, socket, durable, dir };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let dir = self.dir.path();
        let mut cmd = Command::new("redis-server");
        cmd.arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(&self.socket)
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no");
        if self.durable {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`redis-server` is not on PATH. Run the README test command, `./scripts/test.sh`, which \
                 installs it (or `apt-get install -y redis-server`)."
            ),
            Err(e) => panic!("could not start redis-server: {e}"),
        };
        self.child = Some(child);
        self.wait_until_ready();
    }

    /// Poll `PING` on the socket until `PONG`, the process exits, or the timeout passes.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if ping(&self.socket) {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("redis-server exited at startup ({status}); log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING within {STARTUP_TIMEOUT:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// The URL to connect with (`redis+unix://` plus the socket path).
    #[must_use]
    pub(crate) fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// The socket path.
    #[must_use]
    pub(crate) fn socket(&self) -> &Path {
        &self.socket
    }

    /// The server's process id (of the current incarnation).
    ///
    /// # Panics
    /// When the server was killed and not restarted.
    #[must_use]
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("redis-server is running").id()
    }

    /// Kill the server with SIGKILL (no shutdown, no final save) and reap it.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on unix
            let _ = child.wait();
        }
    }

    /// Start the server again on the same socket and directory (so AOF data comes back),
    /// killing the current one first if it is still running.
    pub(crate) fn restart(&mut self) {
        self.kill9();
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One raw `PING` over the unix socket; true on `+PONG`.
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else { return false };
    let timeout = Some(Duration::from_millis(500));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return false;
    }
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// A short prefix no other test uses, e.g. `t1a2b3c4d`.
#[must_use]
pub(crate) fn unique_prefix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // RandomState is seeded from the OS, so prefixes differ across processes too.
    let random = RandomState::new().hash_one((n, std::process::id()));
    format!("t{:010x}", random & 0xff_ffff_ffff)
}
