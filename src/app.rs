//! Composition root: picks the backends from settings, rebuilds in-process state, spawns the
//! server and the background loops, and exposes the bound address. `main` and the tests both
//! start the service through [`App::start`] (or [`App::start_with`] a clock of their own).

use crate::accounts::{Accounts, Profiles};
use crate::auth::{self, JwtKeys};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::dispatch::feed::{self, Copies, Feed, PositionSweep};
use crate::dispatch::tracking::{StreamCaps, TrackingStreams};
use crate::dispatch::{Dispatcher, Held};
use crate::domain::location::resolution;
use crate::http::{self, serve, state::AppState};
use crate::matcher::index::PositionIndex;
use crate::push::Hub;
use crate::services::{Areas, Health, Incidents, Presence, RecentReports, Reports, ResidentChat, Scenes, Statistics};
use crate::store::durability::{Durability, Guard};
use crate::store::memory::MemoryStore;
use crate::store::redis::{self, RedisConfig, RedisStore};
use crate::store::{Bus, Ports};
use crate::telemetry;
use crate::timers::TimerRunner;
use anyhow::Context;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A running service.
pub struct App {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    dispatcher: Dispatcher,
    ports: Ports,
    areas: Areas,
    reports: Reports,
    keys: JwtKeys,
    hub: Hub,
    tracking: TrackingStreams,
    generated_key: bool,
    shutdown: CancellationToken,
    draining: Arc<AtomicBool>,
    tasks: JoinSet<&'static str>,
}

/// Every capability's store on the backend the settings pick.
struct Stores {
    ports: Ports,
    bus: Arc<dyn Bus>,
    video: Arc<dyn crate::video::store::VideoStore>,
    departments: Arc<dyn crate::departments::store::DepartmentStore>,
    casefiles: Arc<dyn crate::casefile::store::CaseFileStore>,
}

impl Stores {
    /// One embedded store (one lock) behind every port.
    fn in_memory(settings: &Settings, clock: Arc<dyn Clock>) -> Self {
        tracing::warn!(
            "running on the embedded in-memory store: NOT durable and not shared between instances; \
             set GD_REDIS__URL=redis://host:6379 for production"
        );
        let store = MemoryStore::with_bus_capacity(settings.push.bus_capacity).with_clock(clock);
        Self {
            bus: Arc::new(store.bus()),
            departments: Arc::new(crate::departments::memory::MemoryDepartments::new(store.clone())),
            casefiles: Arc::new(crate::casefile::store::MemoryCaseFiles::new(store.clone())),
            ports: Ports::of(Arc::new(store)),
            video: crate::video::memory::port(),
        }
    }

    /// One multiplexed Redis connection behind every port, the video room's, the departments'
    /// and the case file's, and the bus's publishes (none of them sends a blocking command,
    /// which would stall the others' replies behind it); the bus's subscriber holds the only
    /// other connection, as a subscribed connection takes no other command.
    async fn on_redis(settings: &Settings, shutdown: &CancellationToken) -> anyhow::Result<Self> {
        let cfg = RedisConfig {
            url: settings.redis.url.clone(),
            prefix: settings.redis.prefix.clone(),
            command_timeout: settings.redis.command_timeout,
            cluster_nodes: settings.redis.cluster_nodes.clone(),
        };
        let store = RedisStore::connect(&cfg).await.context("connecting to Redis (redis.url)")?;
        let bus =
            redis::start_bus(&store, &cfg, shutdown.child_token()).await.context("subscribing to Redis pub/sub")?;
        tracing::info!(prefix = %cfg.prefix, cluster = cfg.is_cluster(), "running on Redis");
        Ok(Self {
            bus,
            video: Arc::new(crate::video::redis::RedisVideoStore::new(store.clone())),
            departments: Arc::new(crate::departments::redis::RedisDepartments::new(store.clone())),
            casefiles: Arc::new(crate::casefile::redis::RedisCaseFiles::new(store.clone())),
            ports: Ports::of(Arc::new(store)),
        })
    }
}

impl App {
    /// Start everything described by `settings`, on the system clock.
    ///
    /// # Errors
    /// Bad settings, an unreachable Redis, or a port that cannot be bound.
    pub async fn start(settings: Settings) -> anyhow::Result<Self> {
        Self::start_with(settings, Arc::new(SystemClock)).await
    }

    /// Start everything described by `settings`, reading time from `clock` (tests hold a
    /// [`crate::clock::ManualClock`] and move it on).
    ///
    /// # Errors
    /// As [`App::start`].
    pub async fn start_with(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        settings.validate()?;
        let settings = Arc::new(settings);
        let shutdown = CancellationToken::new();
        let durability = Arc::new(Guard::new(if settings.uses_memory_store() {
            Durability::None
        } else {
            settings.redis.durability
        }));
        let Stores { ports, bus, video: video_store, departments: departments_store, casefiles: case_store } =
            if settings.uses_memory_store() {
                Stores::in_memory(&settings, clock.clone())
            } else {
                Stores::on_redis(&settings, &shutdown).await?
            };
        durability.check(&*ports.health).await;
        match ports.incidents.index_open_incidents().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(incidents = n, "open incidents written before the open index were indexed"),
            Err(e) => tracing::warn!(error = %e, "could not index the open incidents yet; the next start retries"),
        }
        let (keys, generated_key) = match &settings.auth.jwt_secret {
            Some(secret) => (JwtKeys::hmac(secret, &settings.auth.issuer, &settings.auth.audience), false),
            None => {
                tracing::warn!(
                    "no GD_AUTH__JWT_SECRET configured: generated a random signing key for this run only; \
                     tokens stop working when the process exits"
                );
                let secret = SecretString::from(auth::random_token());
                (JwtKeys::hmac(&secret, &settings.auth.issuer, &settings.auth.audience), true)
            }
        };
        let index_resolution = resolution(settings.dispatch.index_resolution).map_err(anyhow::Error::msg)?;
        let index = PositionIndex::new(index_resolution);
        match case_store.adopt_old_deadlines().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deadlines = n, "case-file deadlines moved into the shared timer set"),
            Err(e) => {
                tracing::warn!(error = %e, "could not move the old case-file deadlines yet; the next start retries")
            }
        }
        let areas = Areas::new(ports.directory.clone(), bus.clone());
        let profiles = Arc::new(Profiles::new(ports.directory.clone(), clock.clone()));
        let recent = RecentReports::new(ports.incidents.clone(), clock.clone());
        let copies = Copies {
            held: Held { areas: Arc::new(areas.clone()), profiles, recent: Arc::new(recent.clone()) },
            index,
            presence: ports.presence.clone(),
            timer_wake: Arc::new(tokio::sync::Notify::new()),
        };
        let dispatcher = Dispatcher::new(
            ports.clone(),
            bus.clone(),
            copies.index.clone(),
            clock.clone(),
            settings.clone(),
            copies.held.clone(),
        );
        let reports = Reports::new(dispatcher.clone(), &ports, recent);
        let casefiles =
            crate::casefile::CaseFiles::new(case_store, dispatcher.clone(), &ports, settings.casefile.clone())
                .context("GD_CASEFILE__KEYS")?;
        let hub = Hub::new(settings.push.socket_queue);
        let departments = crate::departments::Departments::new(departments_store, dispatcher.clone(), &ports);
        departments.seed_routing().await.context("seeding the departments' routing table from config")?;

        // Subscribe before reading the store, so no change falls between the two.
        let feed = Feed::new(dispatcher.clone(), copies.clone(), hub.clone(), bus.subscribe());
        feed.resync().await.context("loading mediator positions and recent reports from the store")?;
        areas.reload().await.context("loading the area hierarchy from the store")?;

        let listener = tokio::net::TcpListener::bind(settings.http.addr)
            .await
            .with_context(|| format!("binding http.addr {}", settings.http.addr))?;
        let addr = listener.local_addr()?;
        let metrics_listener = match settings.metrics.separate_addr()? {
            Some(at) => {
                Some(tokio::net::TcpListener::bind(at).await.with_context(|| format!("binding metrics.addr {at}"))?)
            }
            None => None,
        };
        let metrics_addr = metrics_listener.as_ref().map(tokio::net::TcpListener::local_addr).transpose()?;
        let draining = Arc::new(AtomicBool::new(false));
        let push = &settings.push;
        let caps = StreamCaps { per_token: push.tracking_streams_per_token, per_ip: push.tracking_streams_per_ip };
        let tracking = TrackingStreams::new(dispatcher.clone(), hub.clone(), caps, shutdown.clone());
        let engine = &dispatcher;
        // Subscribed before the first socket can open, like the feed.
        let video = crate::video::Video::new(video_store, dispatcher.clone(), ports.incidents.clone(), bus.clone());
        let video_rx = bus.subscribe();
        let state = AppState {
            video: video.clone(),
            accounts: Accounts::new(engine.clone(), &ports),
            incidents: Incidents::new(engine.clone(), ports.incidents.clone(), reports.waves().clone()),
            reports: reports.clone(),
            presence: Presence::new(engine.clone(), &ports),
            areas: areas.clone(),
            scenes: Scenes::new(engine.clone(), ports.directory.clone()),
            resident_chat: ResidentChat::new(engine.clone(), &ports, reports.clone()),
            statistics: Statistics::new(engine.clone(), &ports, casefiles.clone()),
            health: Health::new(ports.health.clone(), durability.clone(), draining.clone()),
            clock: dispatcher.clock().clone(),
            departments: departments.clone(),
            casefiles: casefiles.clone(),
            keys: keys.clone(),
            hub: hub.clone(),
            tracking: tracking.clone(),
            settings: settings.clone(),
            metrics: telemetry::metrics_handle(),
            shutdown: shutdown.clone(),
        };
        let metrics_router = metrics_listener.is_some().then(|| http::metrics_router(state.clone()));
        let router = http::router(state);

        let mut tasks = JoinSet::new();
        let (token, limits) = (shutdown.clone(), serve::Limits::from_settings(&settings.http));
        tasks.spawn(async move {
            serve::serve(listener, router, limits, token, "api").await;
            "http server"
        });
        if let (Some(listener), Some(router)) = (metrics_listener, metrics_router) {
            let token = shutdown.clone();
            tasks.spawn(async move {
                serve::serve(listener, router, limits, token, "metrics").await;
                "metrics server"
            });
        }
        let (token, every) = (shutdown.clone(), settings.metrics.upkeep_interval);
        tasks.spawn(async move {
            telemetry::run_upkeep(every, token).await;
            "metrics upkeep"
        });
        // Only while there is something to check: a task that ends counts as a failure.
        if durability.wants() != Durability::None {
            let (store, token, every) = (ports.health.clone(), shutdown.clone(), settings.redis.durability_check_every);
            tasks.spawn(async move {
                durability.watch(store, every, token).await;
                "durability guard"
            });
        }
        let token = shutdown.clone();
        tasks.spawn(async move {
            feed.run(token).await;
            "bus feed"
        });
        let token = shutdown.clone();
        tasks.spawn(async move {
            video.run_relay(video_rx, token).await;
            "video relay"
        });
        let token = shutdown.clone();
        let (batch_hub, every, batch_areas) =
            (hub.clone(), settings.push.live_batch_interval, copies.held.areas.clone());
        tasks.spawn(async move {
            feed::run_position_batches(batch_hub, batch_areas, every, token).await;
            "position batches"
        });
        let token = shutdown.clone();
        let every = settings.position_sweep_interval();
        let sweep = PositionSweep::new(copies.clone(), clock, settings.dispatch.forget_positions_after);
        tasks.spawn(async move {
            sweep.run(every, token).await;
            "position sweep"
        });
        let (token, notifier) = (shutdown.clone(), dispatcher.clone());
        tasks.spawn(async move {
            notifier.run_notifier(token).await;
            "wechat notifier"
        });
        let token = shutdown.clone();
        let runner = TimerRunner::new(dispatcher.clone(), ports.incidents.clone(), copies.timer_wake.clone())
            .with_handler(Arc::new(reports.waves().clone()))
            .with_handler(Arc::new(departments))
            .with_handler(Arc::new(casefiles));
        tasks.spawn(async move {
            runner.run(token).await;
            "timer runner"
        });
        tracing::info!(%addr, metrics_addr = ?metrics_addr, "grid-dispatch listening");
        Ok(Self {
            addr,
            metrics_addr,
            dispatcher,
            ports,
            areas,
            reports,
            keys,
            hub,
            tracking,
            generated_key,
            shutdown,
            draining,
            tasks,
        })
    }

    /// The bound address (useful with port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served when `metrics.addr` puts it on its own listener.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The use cases (tests and the demo drive them directly).
    #[must_use]
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Filing reports (the demo's simulated residents file through it).
    #[must_use]
    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    /// The storage ports this instance runs on (the demo and tests seed and read the store
    /// through them).
    #[must_use]
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The jurisdiction hierarchy (the demo and tests draw areas through it).
    #[must_use]
    pub fn areas(&self) -> &Areas {
        &self.areas
    }

    /// The token keys (to mint tokens for this run).
    #[must_use]
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// This instance's sockets (tests count them).
    #[must_use]
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// This instance's tracking streams (tests count their reads).
    #[must_use]
    pub fn tracking(&self) -> &TrackingStreams {
        &self.tracking
    }

    /// True when no signing key was configured and one was generated for this run.
    #[must_use]
    pub fn generated_key(&self) -> bool {
        self.generated_key
    }

    /// Wait until any task exits (it should not before shutdown) and say which.
    pub async fn wait_for_exit(&mut self) -> Option<&'static str> {
        self.tasks.join_next().await.map(|r| r.unwrap_or("a task that panicked"))
    }

    /// Stop gracefully: readiness turns 503, sockets close with 1001, loops and the server end.
    pub async fn stop(mut self) {
        self.draining.store(true, Ordering::Relaxed);
        self.shutdown.cancel();
        while let Some(done) = self.tasks.join_next().await {
            if let Ok(name) = done {
                tracing::debug!(task = name, "stopped");
            }
        }
    }
}
