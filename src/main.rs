//! The `grid-dispatch` binary: load settings, start tracing, run the app, wait for a signal.

use anyhow::Context;
use clap::{Parser, Subcommand};
use grid_dispatch::app::App;
use grid_dispatch::auth::JwtKeys;
use grid_dispatch::config::Settings;
use grid_dispatch::domain::account::Role;
use grid_dispatch::telemetry;
use std::time::Duration;

/// mimalloc: glibc's malloc was a fifth of the service's CPU under load (per-thread arenas
/// consolidating on every large free); see docs/loadtest.md.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "grid-dispatch", version, about = "Neighbourhood dispute dispatch (矛盾上报110)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Print a JWT signed with the configured key (GD_AUTH__JWT_SECRET).
    Token {
        /// mediator, operator or admin.
        #[arg(long)]
        role: String,
        /// Subject: the account id (mediator/operator) or a name for an operations admin.
        #[arg(long)]
        sub: String,
        /// Lifetime, e.g. 8h, 30m.
        #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Run the service on the embedded store with a simulated district (demo mode).
    Demo {
        /// Simulated mediators.
        #[arg(long, default_value_t = 300)]
        mediators: usize,
    },
    /// Exit 0 if the service at http.addr answers /healthz (for container health checks).
    Healthcheck,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Token { role, sub, ttl } => {
            let role = Role::parse(&role).context("--role must be mediator, operator or admin")?;
            let secret =
                settings.auth.jwt_secret.as_ref().context(
                    "GD_AUTH__JWT_SECRET is not set: tokens can only be minted with the key the server uses",
                )?;
            let keys = JwtKeys::hmac(secret, &settings.auth.issuer, &settings.auth.audience);
            let (token, _) = keys.issue(&sub, role, ttl, jiff::Timestamp::now())?;
            println!("{token}");
            Ok(())
        }
        Command::Demo { mediators } => demo(settings, mediators).await,
        Command::Healthcheck => healthcheck(&settings).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_tracing(&settings.log);
    let file = settings.loaded_from.as_ref().map_or_else(|| "none".to_owned(), |f| f.display().to_string());
    tracing::info!(environment = settings.environment.as_str(), file, "configuration loaded");
    let mut app = App::start(settings).await?;
    if app.generated_key() {
        let (token, _) =
            app.keys().issue("admin", Role::Admin, Duration::from_secs(12 * 3600), jiff::Timestamp::now())?;
        let base = format!("http://{}", app.addr());
        eprintln!(
            "\n  grid-dispatch is up at {base}\n  No signing key configured: this run uses a random one.\n  \
             Admin token (12 h, this run only):\n\n  {token}\n\n  Command center: {base}/?token=<token>\n  \
             Admin console (staff, QR posters, areas): {base}/admin?token=<token>\n  \
             API: curl -H 'Authorization: Bearer <token>' {base}/api/v1/admin/mediators\n  \
             A simulated city instead: grid-dispatch demo\n"
        );
    }
    tokio::select! {
        () = shutdown_signal() => tracing::info!("shutdown signal received; draining"),
        exited = app.wait_for_exit() => {
            tracing::error!(task = exited.unwrap_or("unknown"), "a service task exited unexpectedly; stopping");
        }
    }
    app.stop().await;
    Ok(())
}

/// Demo escalation time: short enough that escalations show within a minute.
const DEMO_ESCALATE_AFTER: Duration = Duration::from_secs(45);

async fn demo(mut settings: Settings, mediators: usize) -> anyhow::Result<()> {
    settings.redis.url.clear();
    settings.dispatch.escalate_after = DEMO_ESCALATE_AFTER;
    telemetry::init_tracing(&settings.log);
    tracing::warn!(escalate_after = "45s", "DEMO MODE: simulated district, escalation after 45 s instead of 5 min");
    let mut app = App::start(settings).await?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let options = grid_dispatch::demo::DemoOptions { mediators, ..Default::default() };
    let accounts = grid_dispatch::demo::start(&app, options, cancel.clone()).await?;
    let ttl = Duration::from_secs(12 * 3600);
    let now = jiff::Timestamp::now();
    let (operator, _) = app.keys().issue(&accounts.operator.to_string(), Role::Operator, ttl, now)?;
    let (mediator, _) = app.keys().issue(&accounts.mediator.to_string(), Role::Mediator, ttl, now)?;
    let (admin, _) = app.keys().issue("admin", Role::Admin, ttl, now)?;
    let base = format!("http://{}", app.addr());
    eprintln!(
        "\n  grid-dispatch DEMO at {base}  (simulated 西宁市城中区; escalation after 45 s, not 5 min)\n\n  \
         command center (operator):\n  {base}/?token={operator}\n\n  \
         mediator phone page (or log in there as {} / {}):\n  {base}/m?token={mediator}\n\n  \
         report form for residents (scan target of a QR scene):\n  {base}/r/{}\n\n  \
         admin console (district IT staff):\n  {base}/admin?token={admin}\n\n  \
         admin token (API):\n  {admin}\n",
        accounts.mediator_login.0, accounts.mediator_login.1, accounts.scene
    );
    tokio::select! {
        () = shutdown_signal() => tracing::info!("shutdown signal received; draining"),
        exited = app.wait_for_exit() => tracing::error!(task = exited.unwrap_or("unknown"), "a service task exited"),
    }
    cancel.cancel();
    app.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = settings.http.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        anyhow::ensure!(head.ends_with(b"200"), "unhealthy: {}", String::from_utf8_lossy(&head));
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(3), probe).await.context("healthcheck timed out")?
}
