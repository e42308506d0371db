//! `medley mapping run|status`: the mapping pipeline in the foreground, and its status.

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use medley_sdk::pb::PipelineStage;
use tokio::sync::mpsc;

use super::{
    MappingState,
    config::MappingConfig,
    convert::stage_name,
    lookup,
    pipeline::{self, RunSummary},
    sources::SourceSpec,
};
use crate::{
    config::Config,
    platform::{DatabaseSetup, Platform},
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
    /// Run the pipeline now, in this process, against the configured database and Redis; print
    /// the run's summary (exit status 1 if it fails; the served data is then unchanged).
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

pub(super) async fn run(platform: Config, config: MappingConfig, command: MappingCli) -> anyhow::Result<()> {
    let MappingCli::Mapping(command) = command;
    let platform = Platform::connect(platform, DatabaseSetup::Existing).await?;
    let state = MappingState::new(&platform);
    let result = match command {
        MappingCommand::Run { sources, force } => run_pipeline(&state, &config, sources, force).await,
        MappingCommand::Status => status(&state).await,
    };
    platform.shutdown.cancel();
    result
}

async fn run_pipeline(
    state: &MappingState,
    config: &MappingConfig,
    sources: Vec<SourceSpec>,
    force: bool,
) -> anyhow::Result<()> {
    let sources = if sources.is_empty() { config.sources.0.clone() } else { sources };
    let deps = state.pipeline_deps()?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len} {msg} ({elapsed})")?.progress_chars("=> "),
    );
    let (tx, mut rx) = mpsc::unbounded_channel::<pipeline::StageEvent>();
    let forward = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                bar.set_prefix(stage_name(event.stage));
                bar.set_length(event.total.max(event.done).max(1));
                bar.set_position(event.done);
                bar.set_message(event.message);
                if event.stage == PipelineStage::Done {
                    bar.finish();
                }
            }
        })
    };
    let result = pipeline::run(&deps, &sources, force, None, &tx).await;
    drop(tx);
    forward.await?;
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            print_summary(&summary);
            Ok(())
        }
        Err(error) => {
            if let pipeline::RunError::Source { report, .. } = &error {
                print_summary(report);
            }
            anyhow::bail!("mapping run failed: {error} (the served data is unchanged)")
        }
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
            let state = medley_sdk::pb::JobState::try_from(run.state).map(|s| s.as_str_name()).unwrap_or("?");
            println!("{label}: job {} {state} {}", run.run_id, run.error);
        }
    }
    Ok(())
}
