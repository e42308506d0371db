//! The shared platform every service is built on: configuration, PostgreSQL, Redis, the progress
//! hub, the job queue, metrics, API-key checks and the shutdown signal. It sits below the
//! services and knows none of them; `app.rs` hands it to each service's entry point.

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use ::redis::aio::ConnectionManager;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::KeyVerifier,
    config::Config,
    db::{self, DbPool},
    jobs::{JobQueue, Registry, worker::Worker},
    metrics::Metrics,
    outbound::{Allow, UrlGuard, url_guard::SystemLookup},
    progress::ProgressHub,
    redis::{self as medley_redis, keys::Keys},
    secrets::{KeyRing, Vault},
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
    /// The gRPC services this process serves, set once when the services are composed.
    pub services: OnceLock<Vec<&'static str>>,
}

/// What to do with the database at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseSetup {
    /// Create it if missing and run pending migrations (`serve`, `worker`, `migrate`).
    CreateAndMigrate,
    /// Use it as it is; a missing database is an error that says how to create one (every
    /// other command, so a typo in `MEDLEY_DATABASE_URL` never creates a database).
    Existing,
}

/// The shared platform. Cheap to clone.
#[derive(Clone)]
pub struct Platform {
    /// The platform's configuration (each service keeps its own settings).
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
    /// Seals and opens the secrets users give Medley.
    pub vault: Vault,
    /// Checks URLs users give before the server calls them.
    pub url_guard: UrlGuard,
    /// Cancelled when the process shuts down; background tasks and open streams stop on it.
    pub shutdown: CancellationToken,
}

impl Platform {
    /// Prepares the database as `setup` says, connects Redis and builds the platform.
    pub async fn connect(config: Config, setup: DatabaseSetup) -> anyhow::Result<Self> {
        match setup {
            DatabaseSetup::CreateAndMigrate => db::prepare(&config).await?,
            DatabaseSetup::Existing => db::check_exists(&config).await?,
        }
        // rustls needs one process-wide crypto provider; a second install (tests) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let vault = Vault::new(KeyRing::from_config(&config).context("MEDLEY_SECRET_KEY")?);
        let allow = Allow::parse(&config.outbound_allow).map_err(|e| anyhow::anyhow!("MEDLEY_OUTBOUND_ALLOW: {e}"))?;
        let url_guard = UrlGuard::new(allow, Arc::new(SystemLookup));
        let pool = db::build_pool(&config)?;
        let (redis_client, redis) = medley_redis::connect(&config).await?;
        let verifier = KeyVerifier::new(pool.clone(), config.auth_cache_ttl());
        let keys = Keys::new(config.redis_prefix.clone());
        let shutdown = CancellationToken::new();
        let hub = ProgressHub::start(redis_client, redis.clone(), keys.clone(), shutdown.clone()).await?;
        Ok(Self {
            jobs: JobQueue::new(pool.clone(), hub.clone()),
            vault,
            url_guard,
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
                services: OnceLock::new(),
            }),
            metrics: Metrics::new(),
        })
    }
}

impl Platform {
    /// Returns a worker running `registry` with this process's worker settings (not started).
    pub fn worker(&self, registry: Registry) -> Worker {
        let config = &self.config;
        let settings = crate::jobs::worker::WorkerConfig {
            slots: usize::from(config.workers),
            lease: Duration::from_millis(config.job_lease_ms),
            poll: Duration::from_millis(config.job_poll_ms),
            shutdown_grace: Duration::from_millis(config.job_shutdown_grace_ms),
            retention_days: config.job_retention_days,
            database_url: config.database_url.clone(),
        };
        Worker::new(
            self.jobs.clone(),
            registry,
            settings,
            format!("worker-{}", self.info.instance_id),
            self.metrics.clone(),
        )
    }
}
