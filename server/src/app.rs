//! The shared state of a server process and its start-up: database, Redis, listeners, and the
//! tasks serving gRPC and HTTP until shutdown.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use ::redis::aio::ConnectionManager;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::KeyVerifier,
    config::Config,
    db::{self, DbPool},
    grpc, health, http_server,
    jobs::{self, JobQueue, Registry, worker::Worker},
    metrics::Metrics,
    progress::ProgressHub,
    redis::{self as medley_redis, keys::Keys},
    services::{
        catalog::importer::{ImportDeps, job::ImportHandler},
        mapping::{cache::MappingCache, pipeline::PipelineDeps, runs::PipelineHandler, sources::fetch::http_client},
    },
};

/// Facts about this process, for `GetServerInfo`.
#[derive(Debug)]
pub struct ServerInfo {
    /// Crate version.
    pub version: &'static str,
    /// Git commit of the build, or "unknown".
    pub build: &'static str,
    /// Random id of this process.
    pub instance_id: String,
    /// Wall-clock start time.
    pub started_at: DateTime<Utc>,
    /// Monotonic start time, for uptime.
    pub started: Instant,
}

/// What every handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The effective configuration.
    pub config: Arc<Config>,
    /// PostgreSQL pool.
    pub db: DbPool,
    /// Redis connection (multiplexed; clone per use).
    pub redis: ConnectionManager,
    /// Redis key builder.
    pub keys: Keys,
    /// API-key checks.
    pub verifier: Arc<KeyVerifier>,
    /// Process facts.
    pub info: Arc<ServerInfo>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Event fan-out to watchers on every instance.
    pub hub: Arc<ProgressHub>,
    /// The durable job queue.
    pub jobs: JobQueue,
    /// Mapping lookups (in-process, Redis, PostgreSQL).
    pub mapping: Arc<MappingCache>,
    /// Cancelled when the process shuts down; background tasks stop on it.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Prepares the database (create, migrate), connects Redis and builds the state.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        db::prepare(&config).await?;
        let pool = db::build_pool(&config)?;
        let (redis_client, redis) = medley_redis::connect(&config).await?;
        let verifier = KeyVerifier::new(pool.clone(), config.auth_cache_ttl());
        let keys = Keys::new(config.redis_prefix.clone());
        let shutdown = CancellationToken::new();
        let hub = ProgressHub::start(redis_client, redis.clone(), keys.clone(), shutdown.clone()).await?;
        let mapping = MappingCache::start(pool.clone(), redis.clone(), keys.clone(), &hub, shutdown.clone());
        Ok(Self {
            mapping,
            jobs: JobQueue::new(pool.clone(), hub.clone()),
            hub,
            shutdown,
            keys,
            config: Arc::new(config),
            db: pool,
            redis,
            verifier,
            info: Arc::new(ServerInfo {
                version: env!("CARGO_PKG_VERSION"),
                build: option_env!("MEDLEY_BUILD").unwrap_or("unknown"),
                instance_id: uuid::Uuid::new_v4().to_string(),
                started_at: Utc::now(),
                started: Instant::now(),
            }),
            metrics: Metrics::new(),
        })
    }
}

/// A running server: its bound addresses and the handle to stop it.
pub struct RunningServer {
    /// Address the gRPC listener is bound to (the real port when 0 was asked).
    pub grpc_addr: SocketAddr,
    /// Address the HTTP listener is bound to.
    pub http_addr: SocketAddr,
    /// The server's state, for tests and embedding.
    pub state: AppState,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Asks the server to stop: it refuses new calls, finishes those in flight, lets running
    /// jobs finish (or puts them back in the queue), then exits.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }
}

/// Starts a server running the default job handlers: connects, binds both listeners, and serves
/// until [`RunningServer::shutdown`].
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let state = AppState::connect(config).await?;
    let registry = default_registry(&state)?;
    start_with_state(state, registry).await
}

/// The job handlers of a Medley process: the platform's (canary, cleanup) and every service's.
pub fn default_registry(state: &AppState) -> anyhow::Result<Registry> {
    // rustls needs one process-wide crypto provider; a second install (tests) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let deps = PipelineDeps {
        db: state.db.clone(),
        cache: state.mapping.clone(),
        hub: state.hub.clone(),
        http: http_client().context("cannot build the HTTP client of the mapping sources")?,
    };
    Ok(jobs::default_registry(&state.db)
        .register(PipelineHandler { deps, sources: state.config.mapping_sources.0.clone() })
        .register(import_handler(state)?))
}

/// The catalog importer's job handler; its schedule is registered only when a Kodik token is
/// configured (without one every run would fail).
pub fn import_handler(state: &AppState) -> anyhow::Result<ImportHandler> {
    let catalog = &state.config.catalog;
    let deps = ImportDeps::new(state.db.clone(), state.hub.clone(), catalog)
        .context("cannot build the HTTP clients of the catalog importer")?;
    let cron = Some(catalog.import_cron.trim().to_owned()).filter(|c| !c.is_empty() && !catalog.kodik_token.is_empty());
    if let Some(cron) = &cron {
        jobs::schedule::parse_cron(cron).map_err(|e| anyhow::anyhow!("MEDLEY_IMPORT_CRON {cron:?}: {e}"))?;
    }
    Ok(ImportHandler { deps, cron })
}

/// Starts a server whose in-process worker (if `MEDLEY_WORKERS` > 0) runs `registry`.
pub async fn start_with_jobs(config: Config, registry: Registry) -> anyhow::Result<RunningServer> {
    let state = AppState::connect(config).await?;
    start_with_state(state, registry).await
}

/// Returns a worker over `state` running `registry` (not started).
pub fn worker(state: &AppState, registry: Registry) -> Worker {
    Worker::new(
        state.jobs.clone(),
        registry,
        state.config.worker_config(),
        format!("worker-{}", state.info.instance_id),
        state.metrics.clone(),
    )
}

/// Starts a server over an existing state.
pub async fn start_with_state(state: AppState, registry: Registry) -> anyhow::Result<RunningServer> {
    let config = state.config.clone();
    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("cannot listen for gRPC on {} (MEDLEY_GRPC_ADDR)", config.grpc_addr))?;
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {} (MEDLEY_HTTP_ADDR)", config.http_addr))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let shutdown = state.shutdown.clone();

    let (reporter, health_service) = tonic_health::server::health_reporter();
    // The first check runs before serving, so a health probe never sees an unknown service.
    let healthy = health::check_and_report(&state, &reporter, None).await;
    let health_task = tokio::spawn(health::watch(state.clone(), reporter, healthy, shutdown.clone()));
    let grpc_task = tokio::spawn(grpc::serve(state.clone(), health_service, grpc_listener, shutdown.clone()));
    let http_task = tokio::spawn(http_server::serve(state.clone(), http_listener, shutdown.clone()));
    let worker_task = tokio::spawn(worker(&state, registry).run(shutdown.clone()));
    tracing::info!(grpc.addr = %grpc_addr, http.addr = %http_addr, instance.id = %state.info.instance_id, "medley serving");

    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        let grpc_result = grpc_task.await.context("grpc task panicked")?;
        // gRPC stops first (on the token); stop the rest with it even if it failed on its own.
        token.cancel();
        let http_result = http_task.await.context("http task panicked")?;
        health_task.await.context("health task panicked")?;
        worker_task.await.context("worker task panicked")?;
        grpc_result.and(http_result)
    });
    Ok(RunningServer { grpc_addr, http_addr, state, shutdown, task })
}
