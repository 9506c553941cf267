//! A real, throwaway coturn (`turnserver`) for tests: loopback only, a free listening port and
//! relay port range, a shared secret generated per run (the TURN REST API scheme the service
//! mints credentials with), its own temp dir, killed when dropped. Include it with
//! `#[path = "support/turn_server.rs"] mod turn_server;`. Needs `/usr/bin/turnserver`
//! (Debian's `coturn`; `./scripts/test.sh` installs it).
#![allow(dead_code, reason = "each test crate uses a different subset of the helper")]

use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running coturn owned by one test.
#[derive(Debug)]
pub(crate) struct TurnServer {
    child: Child,
    /// The listening port (UDP and TCP) on 127.0.0.1.
    pub port: u16,
    /// The shared secret (`static-auth-secret`).
    pub secret: String,
    // Declared last: dropped after the process is gone.
    dir: tempfile::TempDir,
}

/// A port free on 127.0.0.1 for both UDP and TCP.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A run of `len` consecutive UDP ports free now (the relay range), starting above 20000.
fn free_range(len: u16) -> (u16, u16) {
    let mut seed = u16::try_from(std::process::id() % 20_000).unwrap_or(0);
    loop {
        let start = 20_000 + seed;
        let all_free = (start..start + len).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return (start, start + len - 1);
        }
        seed = (seed + len + 7) % 40_000;
    }
}

impl TurnServer {
    /// Start coturn; returns once it accepts TCP connections on its port.
    #[must_use]
    pub(crate) fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("gd-turn-").tempdir().expect("create a temp dir for turnserver");
        let port = free_port();
        let (min, max) = free_range(60);
        let secret = format!("turn-secret-{}-{}", std::process::id(), port);
        let conf = dir.path().join("turnserver.conf");
        let text = format!(
            "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\nmin-port={min}\nmax-port={max}\n\
             realm=mediation.test\nuse-auth-secret\nstatic-auth-secret={secret}\nfingerprint\nno-tls\nno-dtls\n\
             no-cli\nallow-loopback-peers\nno-multicast-peers\npidfile={pid}\nuserdb={db}\nlog-file=stdout\nsimple-log\nverbose\n",
            pid = dir.path().join("turn.pid").display(),
            db = dir.path().join("turndb").display(),
        );
        std::fs::write(&conf, text).expect("write turnserver.conf");
        let log = std::fs::File::create(dir.path().join("turn.log")).expect("turn log");
        let child = Command::new("turnserver")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("turn log"))
            .stderr(log)
            .spawn()
            .expect("turnserver starts (apt-get install coturn; scripts/test.sh does)");
        let server = Self { child, port, secret, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "turnserver never listened on {port}: {}", server.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// What it logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turn.log")).unwrap_or_default()
    }

    /// The URLs to hand to pages.
    pub(crate) fn urls(&self) -> Vec<String> {
        vec![
            format!("turn:127.0.0.1:{}?transport=udp", self.port),
            format!("turn:127.0.0.1:{}?transport=tcp", self.port),
        ]
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
