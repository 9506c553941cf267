//! The processes a run owns: a throwaway `redis-server` and the service binary, both on
//! 127.0.0.1, killed (by PID) when dropped; plus RSS sampling from `/proc/<pid>/status`.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The JWT key the service runs with in a load test (minting tokens needs it).
pub const SECRET: &str = "loadtest-secret-loadtest-secret-0123456789";

/// A free loopback port (race-prone in general, fine for a single-user benchmark box).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed on drop.
pub struct Owned {
    child: Child,
    /// What it is, for messages.
    pub name: &'static str,
}

impl Owned {
    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fail if it already exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early: {status}", self.name);
        }
        Ok(())
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `redis-server` on a free loopback port (no persistence: baselines and service alike).
pub fn start_redis(dir: &Path) -> anyhow::Result<(Owned, u16)> {
    let port = free_port()?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--maxclients", "10000"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting redis-server (apt-get install redis-server)")?;
    let owned = Owned { child, name: "redis-server" };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("redis-server did not listen on {port}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((owned, port))
}

/// The service binary built by `cargo build --release` in the repository root (or
/// `GD_LOADTEST_SERVER_BIN`), as an absolute path.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var_os("GD_LOADTEST_SERVER_BIN")
        .map_or_else(|| root.join("target/release/grid-dispatch"), PathBuf::from);
    // Absolute: the instances run in a directory of their own.
    std::fs::canonicalize(&path).with_context(|| {
        format!("{} is missing: run `cargo build --release` in the repository root first", path.display())
    })
}

/// Start service instance number `n` (of [`server_binary`]) on a free loopback port against
/// the Redis on `redis_port`; its log goes to `server-<n>.log` in `dir`.
pub async fn start_server(dir: &Path, n: usize, redis_port: u16, prefix: &str) -> anyhow::Result<(Owned, String)> {
    start_server_of(&server_binary()?, dir, n, redis_port, prefix).await
}

/// [`start_server`] with the service binary `binary` (`--against` runs two builds).
pub async fn start_server_of(
    binary: &Path,
    dir: &Path,
    n: usize,
    redis_port: u16,
    prefix: &str,
) -> anyhow::Result<(Owned, String)> {
    let port = free_port()?;
    let log_path = dir.join(format!("server-{n}.log"));
    let log = std::fs::File::create(&log_path)?;
    let child = Command::new(binary)
        .current_dir(dir)
        .env("GD_ENV", "test")
        .env("GD_HTTP__ADDR", format!("127.0.0.1:{port}"))
        .env("GD_HTTP__MAX_IN_FLIGHT", "8192")
        // 10,000 phones per instance, plus screens and the residents' connections.
        .env("GD_HTTP__MAX_CONNECTIONS", "19000")
        .env("GD_REDIS__URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("GD_REDIS__PREFIX", prefix)
        .env("GD_REDIS__COMMAND_TIMEOUT", "5s")
        .env("GD_AUTH__JWT_SECRET", SECRET)
        .env("GD_REPORT_LIMITS__PER_IP", "0")
        .env("GD_LOG__LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut owned = Owned { child, name: "grid-dispatch" };
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        owned.check_alive()?;
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok((owned, base));
        }
        if Instant::now() > deadline {
            bail!("grid-dispatch never became healthy; see {}", log_path.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Start `count` instances of `binary` ([`start_server_of`]): the processes and their base URLs.
pub async fn start_servers(
    binary: &Path,
    dir: &Path,
    count: usize,
    redis_port: u16,
    prefix: &str,
) -> anyhow::Result<(Vec<Owned>, Vec<String>)> {
    let mut servers = vec![];
    let mut bases = vec![];
    for n in 0..count {
        let (server, base) = start_server_of(binary, dir, n, redis_port, prefix).await?;
        servers.push(server);
        bases.push(base);
    }
    Ok((servers, bases))
}

/// Resident set size of a process, bytes (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time `pid` has used (user + system), in USER_HZ ticks (`/proc/<pid>/stat`).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, hence the last ')'); utime and
    // stime are the 14th and 15th fields, the 12th and 13th after it.
    let mut after = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    Some(after.next()?.parse::<u64>().ok()? + after.next()?.parse::<u64>().ok()?)
}

/// Raise the open-files limit to the hard limit (thousands of sockets; children inherit it).
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) != 0 {
            return 0;
        }
        // Root (or CAP_SYS_RESOURCE) may raise the hard limit too; others get the hard limit.
        let wanted = libc::rlimit { rlim_cur: 65_536.max(lim.rlim_max), rlim_max: 65_536.max(lim.rlim_max) };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const wanted) == 0 {
            return wanted.rlim_cur;
        }
        lim.rlim_cur = lim.rlim_max;
        let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim);
        lim.rlim_cur
    }
}
