//! The `medley` command line: `serve` (default), `worker`, `migrate`, `jobs`, `config check`,
//! and the subcommands of the services (`keys`, `mapping`, `catalog`...).

mod config_docs;
mod jobs;
mod secrets;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::{
    app::{self, Settings},
    config::ConfigEntries as _,
    db,
    platform::{DatabaseSetup, Platform},
    services::{self, ServiceCommand},
    telemetry,
};

/// Medley: one gRPC backend for five media services. Every setting is a `MEDLEY_*` variable
/// or the flag of the same name, given before the subcommand.
#[derive(Debug, Parser)]
#[command(name = "medley", version, about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
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
    /// Operate the job queue.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Keys of the secrets stored at rest: make one, rotate, status.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// A subcommand of a service.
    #[command(flatten)]
    Service(ServiceCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets redacted, check every value, and (unless
    /// --offline) connect to PostgreSQL and Redis and say what was found. Exit status 1 on any
    /// problem.
    Check {
        /// Check the values only; connect to nothing.
        #[arg(long)]
        offline: bool,
    },
    /// Print the configuration reference (every setting, its flag, default and meaning) as
    /// Markdown: the source of docs/configuration.md.
    Docs,
}

/// Parses the command line and runs the command.
pub async fn run() -> anyhow::Result<()> {
    let Cli { settings, command } = Cli::parse();
    let usage = match command {
        None | Some(Command::Serve | Command::Worker) => telemetry::LogUse::Service,
        Some(_) => telemetry::LogUse::Command,
    };
    telemetry::init(&settings.platform, usage);
    let config = &settings.platform;
    match command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            db::create_database_if_missing(&config.database_url, config.database_timeout()).await?;
            let applied = db::run_migrations(&config.database_url, config.database_timeout()).await?;
            if applied.is_empty() {
                println!("database is up to date");
            }
            for version in applied {
                println!("applied {version}");
            }
            Ok(())
        }
        Command::Jobs(command) => jobs::run(settings.platform, command).await,
        Command::Secrets(command) => secrets::run(settings.platform, command).await,
        Command::Worker => worker(settings).await,
        Command::Config(ConfigCommand::Check { offline }) => config_check(&settings, offline).await,
        Command::Config(ConfigCommand::Docs) => {
            print!("{}", config_docs::render(&Cli::command()));
            Ok(())
        }
        Command::Service(command) => services::run_command(settings.platform, settings.services, command).await,
    }
}

async fn config_check(settings: &Settings, offline: bool) -> anyhow::Result<()> {
    print!("{settings}");
    let mut problems = settings.problems();
    if !offline {
        let config = &settings.platform;
        match db::check_exists(config).await {
            Ok(()) => println!("PostgreSQL: connected; the database exists and is migrated"),
            // Not a problem: `medley serve` (or `migrate`) creates and migrates it.
            Err(error) if error.downcast_ref::<db::NotReady>().is_some() => {
                println!("PostgreSQL: connected; {error:#}");
            }
            Err(error) => problems.push(format!("PostgreSQL: {error:#}")),
        }
        match crate::redis::connect(config).await {
            Ok(_) => println!("Redis: connected"),
            Err(error) => problems.push(format!("Redis: {error:#}")),
        }
    }
    if problems.is_empty() {
        println!("configuration OK");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("problem: {problem}");
    }
    anyhow::bail!("{} problem(s) in the configuration", problems.len())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    for (name, value) in crate::config::ConfigEntries::entries(&settings) {
        tracing::debug!(setting = name, %value, "config");
    }
    let server = app::start(settings).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: finishing calls in flight");
    server.shutdown();
    server.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn worker(settings: Settings) -> anyhow::Result<()> {
    let Settings { platform: mut config, services } = settings;
    if config.workers == 0 {
        // `MEDLEY_WORKERS=0` is how `medley serve` is told to leave jobs to dedicated workers;
        // here it would make a worker that runs nothing.
        config.workers = 8;
    }
    let addr = config.worker_http_addr;
    let state = Platform::connect(config, DatabaseSetup::CreateAndMigrate).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen for HTTP on {addr} (MEDLEY_WORKER_HTTP_ADDR): {error}"))?;
    tracing::info!(http.addr = %listener.local_addr()?, "worker metrics on /metrics");
    let worker = app::worker(&state, &services)?;
    let shutdown = state.shutdown.clone();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    let http = tokio::spawn(crate::http_server::serve(state.clone(), axum::Router::new(), listener, shutdown.clone()));
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::{Cli, config_docs};

    #[test]
    fn the_configuration_reference_is_generated_from_the_flags() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let written = std::fs::read_to_string(path).expect("docs/configuration.md exists");
        let generated = config_docs::render(&Cli::command());
        assert!(generated.contains("| `MEDLEY_DATABASE_URL` | `--database-url` |"), "{generated}");
        assert!(!generated.contains("MEDLEY_SKELETON"), "test-only settings stay out");
        assert!(
            written == generated,
            "docs/configuration.md is stale: run `cargo run -p medley-server -- config docs > docs/configuration.md`"
        );
    }
}
