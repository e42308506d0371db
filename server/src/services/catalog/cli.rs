//! `medley catalog import`: an import run from Kodik + Shikimori in the foreground; and
//! `medley playlist …` (see [`super::playlists::cli`]).
//!
//! The run is an ordinary `catalog-import` job (so it shows in `ListImportRuns`, resumes after
//! a crash and never runs twice at once); this process runs a worker for it and follows it
//! with a progress bar. Ctrl-C cancels the run after its current page.

use clap::Subcommand;
use medley_sdk::pb;

use super::{
    config::CatalogConfig,
    playlists::cli::{self as playlist_cli, PlaylistCommand},
    importer::job::{self, ImportHandler},
};
use crate::{
    config::Config,
    jobs::Registry,
    platform::{DatabaseSetup, Platform},
    runs::follow::{FollowedRun, follow},
};

/// `medley catalog ...`
#[derive(Debug, Subcommand)]
pub enum CatalogCli {
    /// Import the anime catalog from Kodik + Shikimori in the foreground.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Manage Xtream Codes playlists: add, list, sync, rm.
    #[command(subcommand)]
    Playlist(PlaylistCommand),
}

/// `medley catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Import now and wait for the end (exit status 1 unless the run succeeds). Incremental
    /// unless --full; needs MEDLEY_KODIK_TOKEN.
    Import {
        /// Read the whole Kodik catalog and refresh every title's metadata.
        #[arg(long)]
        full: bool,
        /// Stop after this many listing pages (0 = no limit).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=1_000_000))]
        max_pages: i32,
    },
}

pub(super) async fn run(mut config: Config, catalog: CatalogConfig, command: CatalogCli) -> anyhow::Result<()> {
    // `MEDLEY_WORKERS=0` tells servers to leave jobs to dedicated workers; this process's
    // worker must run the one job it starts.
    config.workers = config.workers.max(1);
    match command {
        CatalogCli::Catalog(CatalogCommand::Import { full, max_pages }) => {
            if !catalog.has_kodik_token() {
                anyhow::bail!("MEDLEY_KODIK_TOKEN is not set: the importer cannot list Kodik without a token");
            }
            let state = Platform::connect(config, DatabaseSetup::Existing).await?;
            let result = import(&state, &catalog, full, max_pages).await;
            state.shutdown.cancel();
            result
        }
        CatalogCli::Playlist(command) => {
            let state = Platform::connect(config, DatabaseSetup::Existing).await?;
            let result = playlist_cli::run(&state, &catalog, command).await;
            state.shutdown.cancel();
            result
        }
    }
}

async fn import(state: &Platform, catalog: &CatalogConfig, full: bool, max_pages: i32) -> anyhow::Result<()> {
    let mut handler = ImportHandler::new(state, catalog)?;
    // The schedule is the servers' business; this process runs only the run it starts.
    handler.cron = None;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(state.worker(Registry::new().register(handler)).run(stop.clone()));
    let mode = if full { pb::ImportMode::Full } else { pb::ImportMode::Incremental };
    let started =
        job::start(state, true, pb::StartImportRequest { source: String::new(), mode: mode as i32, max_pages }).await?;
    let run = started.run.unwrap_or_default();
    if started.created {
        println!("import run {} started", run.run_id);
    } else {
        println!("import run {} was already queued or running: following it", run.run_id);
    }
    let last = follow(&FollowImport { state, id: run.run_id }).await;
    stop.cancel();
    worker.await?;
    let last = last?;
    let state_name = pb::JobState::try_from(last.state).map(|s| s.as_str_name()).unwrap_or("?");
    println!(
        "run {} {state_name}: {} pages, {} releases, {} titles: {} imported, {} unchanged, {} skipped, {} failed; {} upstream requests ({} retries)",
        last.run_id,
        last.pages,
        last.releases_seen,
        last.anime_seen,
        last.imported,
        last.unchanged,
        last.skipped,
        last.failed,
        last.upstream_requests,
        last.upstream_retries
    );
    for failure in &last.failures {
        println!("  {}: {}", failure.source_id, failure.reason);
    }
    match pb::JobState::try_from(last.state) {
        Ok(pb::JobState::Succeeded) => Ok(()),
        _ => anyhow::bail!("import run {} ended {state_name}: {}", last.run_id, last.error),
    }
}

/// An import run as `medley catalog import` follows it.
struct FollowImport<'a> {
    state: &'a Platform,
    id: i64,
}

impl FollowedRun for FollowImport<'_> {
    type Run = pb::ImportRun;
    type Error = anyhow::Error;

    async fn current(&self) -> anyhow::Result<pb::ImportRun> {
        Ok(job::current(self.state, self.id).await?)
    }

    fn describe(run: &pb::ImportRun) -> String {
        format!(
            "run {}: {} pages, {} titles: {} imported, {} unchanged, {} skipped, {} failed ({:.1}/s)",
            run.run_id,
            run.pages,
            run.anime_seen,
            run.imported,
            run.unchanged,
            run.skipped,
            run.failed,
            run.anime_per_second
        )
    }

    fn is_terminal(run: &pb::ImportRun) -> bool {
        job::is_terminal(run)
    }

    async fn cancel(&self) -> anyhow::Result<()> {
        job::cancel(self.state, pb::CancelImportRequest { run_id: self.id }).await?;
        Ok(())
    }
}
