//! Fleet shards in child processes: one process may hold only as many sockets as the
//! open-files limit allows (20,000 here, counting everything), so a run with many mediators
//! splits them over several copies of this binary started with `--fleet-worker`.
//!
//! The protocol over the child's stdin/stdout, one line each: the orchestrator writes the
//! shard as JSON; the worker answers `ready <n>` once its sockets are on duty; the
//! orchestrator writes `stop`; the worker answers `stats <json>` ([`Stats::to_json`]) and exits.

use crate::fleet::{self, Behaviour, Mediator, Stats};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// One shard: the service instances, and the mediators (instance index, token) it runs.
pub struct Shard {
    /// Base URLs of the service instances.
    pub bases: Vec<String>,
    /// (index into `bases`, token) per mediator.
    pub mediators: Vec<(usize, Mediator)>,
    /// Seed of the first mediator's path (the next ones count up).
    pub first_seed: u64,
    /// Their behaviour.
    pub behaviour: Behaviour,
}

impl Shard {
    fn to_json(&self) -> Value {
        let mediators: Vec<Value> = self.mediators.iter().map(|(i, m)| json!([i, m.token])).collect();
        json!({
            "bases": self.bases,
            "mediators": mediators,
            "first_seed": self.first_seed,
            "period_ms": u64::try_from(self.behaviour.period.as_millis()).unwrap_or(u64::MAX),
            "accept_share": self.behaviour.accept_share,
        })
    }

    fn from_json(v: &Value) -> anyhow::Result<Self> {
        let bases: Vec<String> = serde_json::from_value(v["bases"].clone())?;
        let mediators = v["mediators"]
            .as_array()
            .context("mediators")?
            .iter()
            .map(|m| {
                let i = m[0].as_u64().context("instance")? as usize;
                let token = m[1].as_str().context("token")?.to_owned();
                anyhow::ensure!(i < bases.len(), "instance {i} of {}", bases.len());
                Ok((i, Mediator { token }))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            bases,
            mediators,
            first_seed: v["first_seed"].as_u64().context("first_seed")?,
            behaviour: Behaviour {
                period: Duration::from_millis(v["period_ms"].as_u64().context("period_ms")?),
                accept_share: v["accept_share"].as_f64().context("accept_share")?,
            },
        })
    }
}

/// The child side: run one shard as told on stdin.
pub async fn serve() -> anyhow::Result<()> {
    crate::procs::raise_fd_limit();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let first = lines.next_line().await?.context("no shard on stdin")?;
    let shard = Shard::from_json(&serde_json::from_str(&first)?)?;
    let stats: &'static Stats = Box::leak(Box::new(Stats::new()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(30)).build()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(1024);
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (i, m)) in shard.mediators.iter().enumerate() {
        tasks.spawn(fleet::run_mediator(
            shard.bases[*i].clone(),
            http.clone(),
            m.clone(),
            shard.first_seed + n as u64,
            shard.behaviour,
            stats,
            ready_tx.clone(),
            stop_rx.clone(),
        ));
        if n % 500 == 499 {
            tokio::task::yield_now().await;
        }
    }
    drop(ready_tx);
    let mut ready = 0;
    while ready < shard.mediators.len()
        && tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await.ok().flatten().is_some()
    {
        ready += 1;
    }
    println!("ready {ready}");
    // Until told to stop (or the orchestrator is gone).
    let _ = lines.next_line().await;
    let _ = stop_tx.send(true);
    while tokio::time::timeout(Duration::from_secs(10), tasks.join_next()).await.ok().flatten().is_some() {}
    println!("stats {}", stats.to_json());
    Ok(())
}

/// The orchestrator's handle on one worker process (killed on drop).
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Worker {
    /// Start a copy of this binary and hand it `shard`.
    pub async fn start(shard: &Shard) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("--fleet-worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting a fleet worker")?;
        let mut stdin = child.stdin.take().context("worker stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("worker stdout")?).lines();
        stdin.write_all(format!("{}\n", shard.to_json()).as_bytes()).await?;
        Ok(Self { child, stdin, stdout })
    }

    async fn expect(&mut self, prefix: &str, within: Duration) -> anyhow::Result<String> {
        let line = tokio::time::timeout(within, self.stdout.next_line())
            .await
            .with_context(|| format!("a fleet worker did not say {prefix:?} within {within:?}"))??
            .with_context(|| format!("a fleet worker ended before saying {prefix:?}"))?;
        match line.strip_prefix(prefix) {
            Some(rest) => Ok(rest.trim().to_owned()),
            None => bail!("a fleet worker said {line:?}, expected {prefix:?}"),
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Wait until its sockets are on duty; how many are.
    pub async fn ready(&mut self) -> anyhow::Result<usize> {
        Ok(self.expect("ready", Duration::from_secs(180)).await?.parse()?)
    }

    /// Stop it and add what it measured to `into`.
    pub async fn finish(mut self, into: &Stats) -> anyhow::Result<()> {
        self.stdin.write_all(b"stop\n").await?;
        let stats = self.expect("stats", Duration::from_secs(60)).await?;
        into.absorb(&serde_json::from_str(&stats)?);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        Ok(())
    }
}

/// Start one worker process per `per_process` mediators (mediator `i` on instance
/// `i % bases.len()`, worker `i % processes`) and wait until their sockets are on duty: the
/// workers and how many sockets are.
pub async fn start_fleet(
    bases: &[String],
    mediators: &[Mediator],
    per_process: usize,
    behaviour: Behaviour,
) -> anyhow::Result<(Vec<Worker>, usize)> {
    let procs = mediators.len().div_ceil(per_process);
    let mut workers = vec![];
    for p in 0..procs {
        let shard = Shard {
            bases: bases.to_vec(),
            mediators: mediators
                .iter()
                .enumerate()
                .skip(p)
                .step_by(procs)
                .map(|(i, m)| (i % bases.len(), m.clone()))
                .collect(),
            first_seed: 0x1000 + (p * mediators.len()) as u64,
            behaviour,
        };
        workers.push(Worker::start(&shard).await?);
    }
    let mut ready = 0;
    for w in &mut workers {
        ready += w.ready().await?;
    }
    Ok((workers, ready))
}
