//! `medley mapping run|status`: a pipeline run followed in the foreground, and the status.

use clap::Subcommand;
use medley_sdk::pb;

use super::{
    MappingState,
    config::MappingConfig,
    convert::{run_from_job, stage_name},
    lookup,
    pipeline::RunSummary,
    runs::{self, PipelineHandler, PipelinePayload},
    sources::SourceSpec,
};
use crate::{
    api::jobs::job_to_pb,
    config::Config,
    jobs::{JobRow, JobState, Registry},
    platform::{DatabaseSetup, Platform},
    runs::follow::{FollowedRun, follow},
};

/// `medley mapping ...`
#[derive(Debug, Subcommand)]
pub enum MappingCli {
    /// Run the mapping pipeline in the foreground, or show its status.
    #[command(subcommand)]
    Mapping(MappingCommand),
}

/// `medley mapping` subcommands.
#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Start a pipeline run and run it in this process (a job like any other: it shows in
    /// `medley mapping status` and ListPipelineRuns); print its summary. Exit status 1 unless
    /// it succeeds (the served data is then unchanged). Ctrl-C cancels it.
    Run {
        /// A source as kind=location (aod, fribb, animeapi, arm; a URL or a file); repeat for
        /// several. Replaces MEDLEY_MAPPING_SOURCES for this run.
        #[arg(long = "source", value_parser = SourceSpec::parse)]
        sources: Vec<SourceSpec>,
        /// Merge and compare even if every source is unchanged.
        #[arg(long)]
        force: bool,
    },
    /// Print counts, sources and the last runs.
    Status,
}

pub(super) async fn run(mut platform: Config, config: MappingConfig, command: MappingCli) -> anyhow::Result<()> {
    let MappingCli::Mapping(command) = command;
    // `MEDLEY_WORKERS=0` tells servers to leave jobs to dedicated workers; this process's
    // worker must run the one job it starts.
    platform.workers = platform.workers.max(1);
    let platform = Platform::connect(platform, DatabaseSetup::Existing).await?;
    let state = MappingState::new(&platform);
    let result = match command {
        MappingCommand::Run { sources, force } => run_pipeline(&state, &config, sources, force).await,
        MappingCommand::Status => status(&state).await,
    };
    platform.shutdown.cancel();
    result
}

/// Starts a run (a `mapping-pipeline` job, so it shows in `GetStatus` and `ListPipelineRuns`),
/// runs it in this process's worker and follows it; Ctrl-C cancels it.
async fn run_pipeline(
    state: &MappingState,
    config: &MappingConfig,
    sources: Vec<SourceSpec>,
    force: bool,
) -> anyhow::Result<()> {
    let handler = PipelineHandler { deps: state.pipeline_deps()?, sources: config.sources.0.clone(), scheduled: false };
    let platform = &state.platform;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(platform.worker(Registry::new().register(handler)).run(stop.clone()));
    let payload = PipelinePayload { force, sources: sources.iter().map(SourceSpec::to_raw).collect() };
    let started = runs::start_with(platform, &payload).await;
    let last = match started {
        Ok(started) => {
            let id = started.run.map_or(0, |run| run.run_id);
            if started.created {
                println!("pipeline run {id} started");
            } else {
                println!("pipeline run {id} was already queued or running: following it (its own sources)");
            }
            follow(&FollowPipeline { state: platform, id }).await
        }
        Err(error) => Err(error.into()),
    };
    stop.cancel();
    worker.await?;
    let last = last?;
    if let Some(summary) = last.result.clone().and_then(|result| serde_json::from_value::<RunSummary>(result).ok()) {
        print_summary(&summary);
    }
    let state_name = last.state().as_str();
    println!("pipeline run {} {state_name}", last.id);
    match last.state() {
        JobState::Succeeded => Ok(()),
        _ => anyhow::bail!(
            "pipeline run {} ended {state_name}: {} (the served data is unchanged)",
            last.id,
            last.last_error.unwrap_or_default()
        ),
    }
}

/// A pipeline run as `medley mapping run` follows it.
struct FollowPipeline<'a> {
    state: &'a Platform,
    id: i64,
}

impl FollowedRun for FollowPipeline<'_> {
    type Run = JobRow;
    type Error = anyhow::Error;

    async fn current(&self) -> anyhow::Result<JobRow> {
        Ok(runs::RUNS.find(&self.state.jobs, self.id).await?)
    }

    fn describe(job: &JobRow) -> String {
        let run = run_from_job(&job_to_pb(job));
        let stage = pb::PipelineStage::try_from(run.stage).map_or("", stage_name);
        let progress = run.progress.unwrap_or_default();
        format!("run {} {stage} {}/{} {}", run.run_id, progress.done, progress.total, progress.message)
    }

    fn is_terminal(job: &JobRow) -> bool {
        job.state().is_terminal()
    }

    async fn cancel(&self) -> anyhow::Result<()> {
        runs::RUNS.cancel(&self.state.jobs, self.id).await?;
        Ok(())
    }
}

fn print_summary(summary: &RunSummary) {
    for source in &summary.sources {
        let detail = if source.error.is_empty() { String::new() } else { format!(": {}", source.error) };
        println!(
            "source {}={} {} ({} records, {} bad ids){detail}",
            source.kind, source.location, source.outcome, source.records, source.bad_ids
        );
    }
    if summary.skipped {
        println!("every source unchanged: nothing merged ({} records served)", summary.records_unchanged);
    } else {
        println!(
            "read {} source records → {} records: {} inserted, {} updated, {} deleted, {} unchanged",
            summary.records_read,
            summary.records_merged,
            summary.records_inserted,
            summary.records_updated,
            summary.records_deleted,
            summary.records_unchanged
        );
        println!(
            "{} conflicts, {} title matches, {} overrides applied; keys {} written, {} removed",
            summary.conflict_count,
            summary.title_matches,
            summary.overrides_applied,
            summary.keys_written,
            summary.keys_removed
        );
        for conflict in summary.conflicts.iter().take(10) {
            println!(
                "  conflict on platform {} ({:?}): kept {} from {}, refused {} from {}",
                conflict.platform,
                conflict.title,
                conflict.kept_id,
                conflict.kept_source,
                conflict.rejected_id,
                conflict.rejected_source
            );
        }
    }
    println!(
        "took {} ms (fetch {}, merge {}, write {}, cache {})",
        summary.duration_ms, summary.fetch_ms, summary.merge_ms, summary.write_ms, summary.cache_ms
    );
}

async fn status(state: &MappingState) -> anyhow::Result<()> {
    let status = lookup::status(state).await?;
    println!("records: {}", status.total_records);
    if let Some(at) = status.data_update_time {
        println!("data updated: {}", chrono::DateTime::from_timestamp(at.seconds, 0).unwrap_or_default().to_rfc3339());
    }
    for count in &status.counts {
        println!("  {:<18} {}", count.name, count.records);
    }
    for source in &status.sources {
        println!("source {}={} ({} records, sha256 {})", source.kind, source.location, source.records, source.sha256);
    }
    for (label, run) in [("last run", &status.last_run), ("last successful run", &status.last_successful_run)] {
        if let Some(run) = run {
            let state = pb::JobState::try_from(run.state).map(|s| s.as_str_name()).unwrap_or("?");
            println!("{label}: pipeline run {} {state} {}", run.run_id, run.error);
        }
    }
    Ok(())
}
