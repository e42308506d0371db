//! The `medley` command line: `serve` (default), `worker`, `migrate`, `keys`, `jobs`, `mapping`,
//! `config check`.

mod catalog;
mod jobs;
mod keys;
mod mapping;

use clap::{Parser, Subcommand};

use crate::{config::Config, db, telemetry};

/// Medley: one gRPC backend for five media services.
#[derive(Debug, Parser)]
#[command(name = "medley", version, about)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC and HTTP (the default): creates and migrates the database first.
    Serve,
    /// Run job workers only (no gRPC; /metrics on MEDLEY_WORKER_HTTP_ADDR), until SIGINT or
    /// SIGTERM; scale workers out with more of these.
    Worker,
    /// Create the database if missing and run pending migrations, then exit.
    Migrate,
    /// Manage API keys directly in the database (works with or without a running server).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Operate the job queue.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Run the mapping pipeline in the foreground, or show its status.
    #[command(subcommand)]
    Mapping(mapping::MappingCommand),
    /// Import the anime catalog from Kodik + Shikimori in the foreground.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets redacted.
    Check,
}

/// Parses the command line and runs the command.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(&cli.config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => {
            db::create_database_if_missing(&cli.config.database_url, cli.config.database_timeout()).await?;
            let applied = db::run_migrations(&cli.config.database_url, cli.config.database_timeout()).await?;
            if applied.is_empty() {
                println!("database is up to date");
            }
            for version in applied {
                println!("applied {version}");
            }
            Ok(())
        }
        Command::Keys(command) => keys::run(&cli.config, command).await,
        Command::Jobs(command) => jobs::run(cli.config, command).await,
        Command::Mapping(command) => mapping::run(cli.config, command).await,
        Command::Catalog(command) => catalog::run(cli.config, command).await,
        Command::Worker => worker(cli.config).await,
        Command::Config(ConfigCommand::Check) => {
            print!("{}", cli.config);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    for (name, value) in config.redacted_entries() {
        tracing::debug!(setting = name, %value, "config");
    }
    let server = crate::start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: finishing calls in flight");
    server.shutdown();
    server.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn worker(mut config: Config) -> anyhow::Result<()> {
    if config.workers == 0 {
        // `MEDLEY_WORKERS=0` is how `medley serve` is told to leave jobs to dedicated workers;
        // here it would make a worker that runs nothing.
        config.workers = 8;
    }
    let addr = config.worker_http_addr;
    let state = crate::AppState::connect(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen for HTTP on {addr} (MEDLEY_WORKER_HTTP_ADDR): {error}"))?;
    tracing::info!(http.addr = %listener.local_addr()?, "worker metrics on /metrics");
    let worker = crate::app::worker(&state, crate::app::default_registry(&state)?);
    let shutdown = state.shutdown.clone();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    let http = tokio::spawn(crate::http_server::serve(state.clone(), listener, shutdown.clone()));
    shutdown_signal().await;
    tracing::info!("shutting down: finishing running jobs");
    shutdown.cancel();
    task.await?;
    http.await??;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
