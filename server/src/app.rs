//! The composition root: the settings of a process, the platform, and the services of
//! `services/mod.rs` put together into the gRPC server, the HTTP port, the auth policy, health
//! and the job registry. It only composes; it knows no service by name.

use std::{fmt, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use axum::Router;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

use crate::{
    auth::policy::Policy,
    config::{Config, ConfigEntries},
    grpc, health, http_server,
    jobs::{self, Registry},
    platform::{DatabaseSetup, Platform},
    request_guard::RequestLimits,
    services::{self, ServicesConfig},
};

/// Everything a `medley` process is configured with: the platform's settings and each
/// service's.
#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// The platform's settings.
    #[command(flatten)]
    pub platform: Config,
    /// Each service's settings.
    #[command(flatten)]
    pub services: ServicesConfig,
}

impl Settings {
    /// Returns the settings from `MEDLEY_*` environment variables and defaults, as
    /// `medley serve` with no flags would use (tests start from it and override what they
    /// need). Fails when a variable holds an invalid value.
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        <Only as clap::Parser>::try_parse_from(["medley"]).map(|only| only.settings)
    }
}

impl ConfigEntries for Settings {
    fn entries(&self) -> Vec<(&'static str, String)> {
        let mut entries = self.platform.entries();
        entries.extend(self.services.entries());
        entries
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = self.platform.problems();
        problems.extend(self.services.problems());
        problems
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.entries() {
            writeln!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// The services of a process put together.
pub struct Composition {
    /// The tonic routes of every service.
    pub routes: RoutesBuilder,
    /// Names of the gRPC services, for health.
    pub service_names: Vec<&'static str>,
    /// How large each gRPC service's requests may be.
    pub limits: Vec<(&'static str, RequestLimits)>,
    /// What each RPC requires.
    pub policy: Arc<Policy>,
    /// The HTTP routes of every service.
    pub rest: Router,
    /// The platform's job handlers and every service's.
    pub registry: Registry,
}

/// Builds every service over `platform` and puts their contributions together.
pub fn compose(platform: &Platform, config: &ServicesConfig) -> anyhow::Result<Composition> {
    let mut composition = Composition {
        routes: RoutesBuilder::default(),
        service_names: Vec::new(),
        limits: Vec::new(),
        policy: Arc::default(),
        rest: Router::new(),
        registry: jobs::default_registry(&platform.db),
    };
    let mut rules = Vec::new();
    for contribution in services::build_all(platform, config)? {
        for service in contribution.grpc {
            composition.service_names.push(service.name);
            composition.limits.push((service.name, service.limits));
            rules.push(service.access);
            (service.add)(&mut composition.routes);
        }
        if let Some(rest) = contribution.rest {
            composition.rest = composition.rest.merge(rest);
        }
        composition.registry = composition.registry.merge(contribution.jobs);
    }
    composition.policy = Arc::new(Policy::new(rules));
    // Set once per process; a second composition over the same platform (tests) keeps the first.
    let _ = platform.info.services.set(composition.service_names.clone());
    Ok(composition)
}

/// A running server: its bound addresses and the handle to stop it.
pub struct RunningServer {
    /// Address the gRPC listener is bound to (the real port when 0 was asked).
    pub grpc_addr: SocketAddr,
    /// Address the HTTP listener is bound to.
    pub http_addr: SocketAddr,
    /// The server's platform, for tests and embedding.
    pub platform: Platform,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Asks the server to stop: it refuses new calls, ends open streams, finishes calls in
    /// flight, lets running jobs finish (or puts them back in the queue), then exits.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }
}

/// Starts a server whose in-process worker (if `MEDLEY_WORKERS` > 0) runs every handler:
/// connects, binds both listeners, and serves until [`RunningServer::shutdown`].
pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
    start_with(settings, |registry| registry).await
}

/// Starts a server whose in-process worker runs the registry `jobs` makes of the composed one
/// (tests replace it with their own handlers).
pub async fn start_with(settings: Settings, jobs: impl FnOnce(Registry) -> Registry) -> anyhow::Result<RunningServer> {
    let platform = Platform::connect(settings.platform, DatabaseSetup::CreateAndMigrate).await?;
    let composition = compose(&platform, &settings.services)?;
    serve(platform, Composition { registry: jobs(composition.registry), ..composition }).await
}

/// Starts a worker process's job loop over `platform` with every handler (not started).
pub fn worker(platform: &Platform, config: &ServicesConfig) -> anyhow::Result<jobs::worker::Worker> {
    Ok(platform.worker(compose(platform, config)?.registry))
}

/// Binds both listeners and serves `composition` on `platform`.
async fn serve(platform: Platform, composition: Composition) -> anyhow::Result<RunningServer> {
    let config = platform.config.clone();
    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("cannot listen for gRPC on {} (MEDLEY_GRPC_ADDR)", config.grpc_addr))?;
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {} (MEDLEY_HTTP_ADDR)", config.http_addr))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let shutdown = platform.shutdown.clone();
    let Composition { routes, service_names, limits, policy, rest, registry } = composition;

    let (reporter, health_service) = tonic_health::server::health_reporter();
    let health = health::Health::new(platform.clone(), reporter, service_names.clone());
    // The first check runs before serving, so a health probe never sees an unknown service.
    let healthy = health.check_and_report(None).await;
    let health_task = tokio::spawn(health.watch(healthy, shutdown.clone()));
    let grpc_server = grpc::GrpcServer { platform: platform.clone(), policy, routes, service_names, limits };
    let grpc_task = tokio::spawn(grpc_server.serve(health_service, grpc_listener, shutdown.clone()));
    let http_task = tokio::spawn(http_server::serve(platform.clone(), rest, http_listener, shutdown.clone()));
    let worker_task = tokio::spawn(platform.worker(registry).run(shutdown.clone()));
    tracing::info!(grpc.addr = %grpc_addr, http.addr = %http_addr, instance.id = %platform.info.instance_id, "medley serving");

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
    Ok(RunningServer { grpc_addr, http_addr, platform, shutdown, task })
}
