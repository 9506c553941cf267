//! A real, throwaway 3-master Redis Cluster for tests: three `redis-server --cluster-enabled yes`
//! on free loopback ports, joined by `redis-cli --cluster create`, ready once every node's
//! `CLUSTER INFO` says `cluster_state:ok`. Every process is killed (SIGKILL, by PID) on drop.
//!
//! Include it from a test crate with
//! `#[path = "support/redis_cluster.rs"] mod redis_cluster;` (adjust the path to the crate).
//! Needs `redis-server` and `redis-cli` (≥ 6.2) on `PATH`; `./scripts/test.sh` installs both.
#![allow(dead_code, reason = "each test crate uses a different subset of the helper")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the nodes may take to answer and the cluster to become `ok`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Masters in the test cluster (the smallest cluster `redis-cli --cluster create` accepts).
const MASTERS: usize = 3;
/// Whole-cluster attempts: a port taken between probing and binding means starting again.
const ATTEMPTS: usize = 3;

/// A running 3-master cluster owned by one test.
#[derive(Debug)]
pub(crate) struct RedisCluster {
    nodes: Vec<(u16, Child)>,
    // Declared last: dropped (the directory removed) after the processes are gone.
    dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Start the cluster; returns once every node reports `cluster_state:ok`.
    ///
    /// # Panics
    /// When `redis-server`/`redis-cli` are missing or the cluster does not form in time.
    #[must_use]
    pub(crate) fn start() -> Self {
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            match Self::try_start() {
                Ok(cluster) => return cluster,
                Err(why) => last = why,
            }
        }
        panic!("could not start a {MASTERS}-master redis cluster: {last}");
    }

    fn try_start() -> Result<Self, String> {
        let dir = tempfile::Builder::new().prefix("gd-cluster-").tempdir().map_err(|e| e.to_string())?;
        let mut cluster = Self { nodes: Vec::new(), dir };
        for port in free_ports(MASTERS)? {
            let child = spawn_node(cluster.dir.path(), port)?;
            cluster.nodes.push((port, child));
        }
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        for (port, _) in &cluster.nodes {
            wait_until(deadline, || command(*port, "PING").is_some_and(|r| r.contains("PONG")))
                .map_err(|()| format!("node {port} never answered PING; log:\n{}", cluster.log(*port)))?;
        }
        let create = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(cluster.nodes.iter().map(|(port, _)| format!("127.0.0.1:{port}")))
            .arg("--cluster-yes")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("redis-cli --cluster create: {e}"))?;
        if !create.status.success() {
            return Err(format!("redis-cli --cluster create failed: {}", String::from_utf8_lossy(&create.stdout)));
        }
        for (port, _) in &cluster.nodes {
            wait_until(deadline, || command(*port, "CLUSTER INFO").is_some_and(|r| r.contains("cluster_state:ok")))
                .map_err(|()| format!("node {port} never reported cluster_state:ok"))?;
        }
        Ok(cluster)
    }

    /// Seed URLs for `redis.cluster_nodes`, one per master.
    #[must_use]
    pub(crate) fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(|(port, _)| format!("redis://127.0.0.1:{port}")).collect()
    }

    /// The masters' ports.
    #[must_use]
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// Send one inline command to the node on `port`; the raw reply (None on I/O failure).
    #[must_use]
    pub(crate) fn command(&self, port: u16, line: &str) -> Option<String> {
        command(port, line)
    }

    fn log(&self, port: u16) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{port}.log"))).unwrap_or_default()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill(); // SIGKILL to this PID
            let _ = child.wait();
        }
    }
}

fn spawn_node(dir: &Path, port: u16) -> Result<Child, String> {
    let node_dir = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
    let spawned = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
        .arg("--cluster-config-file")
        .arg(node_dir.join("nodes.conf"))
        .arg("--dir")
        .arg(&node_dir)
        .arg("--logfile")
        .arg(dir.join(format!("{port}.log")))
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(child) => Ok(child),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`redis-server` is not on PATH. Run the README test command, `./scripts/test.sh`, which installs it."
        ),
        Err(e) => Err(format!("could not start redis-server: {e}")),
    }
}

/// `n` loopback ports that are free, and whose cluster-bus port (+10000) is free too.
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    let mut held = Vec::new();
    for _ in 0..200 {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let Some(bus) = port.checked_add(10_000) else { continue };
        if let Ok(bus_listener) = TcpListener::bind(("127.0.0.1", bus)) {
            ports.push(port);
            held.push((listener, bus_listener));
            if ports.len() == n {
                return Ok(ports);
            }
        }
    }
    Err("no free port pairs on 127.0.0.1".into())
}

fn wait_until(deadline: Instant, mut ready: impl FnMut() -> bool) -> Result<(), ()> {
    loop {
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One inline command over TCP; the reply's text (a bulk string's body, or the status line).
fn command(port: u16, line: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let timeout = Some(Duration::from_millis(500));
    stream.set_read_timeout(timeout).ok()?;
    stream.set_write_timeout(timeout).ok()?;
    stream.write_all(format!("{line}\r\n").as_bytes()).ok()?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    match first.strip_prefix('$').and_then(|n| n.trim().parse::<usize>().ok()) {
        Some(len) => {
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).ok()?;
            Some(String::from_utf8_lossy(&body).into_owned())
        }
        None => Some(first),
    }
}
