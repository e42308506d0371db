//! A pipeline run: fetch every source, merge, write what changed in one transaction, then
//! bring the cache up to date. Always the `mapping-pipeline` job (nightly, on demand, and
//! `medley mapping run`, which runs it in its own worker).
//!
//! A run that fails or is cancelled anywhere before its commit changes nothing: the previous
//! data keeps serving. When every source and override is unchanged since the data was built,
//! the run stops after fetching (unless forced).
//!
//! - [`read`] — the fetch stage; [`write`] — the write transaction; [`report`] — progress
//!   events and the run's figures.

mod read;
pub mod report;
mod write;

use std::{sync::Arc, time::Instant};

use diesel_async::AsyncPgConnection;
use medley_sdk::pb::PipelineStage;
use tokio::sync::mpsc;

pub use self::report::{ConflictReport, RunSummary, SourceReport, StageEvent};
use self::{read::SourceRead, write::Written};
use super::{
    cache::MappingCache,
    merge::{self, MergeOutput, OverrideInput, SourceInput},
    overrides,
    sources::{SourceError, SourceSpec},
    store::{self, SourceRow},
};
use crate::{db::DbPool, error::InfraError, progress::ProgressHub};

/// Job kind of a run.
pub const KIND: &str = "mapping-pipeline";
/// Dedupe key: one run queued or running at a time.
pub const DEDUPE_KEY: &str = "mapping-pipeline";
/// Name of the nightly schedule.
pub const SCHEDULE: &str = "mapping-pipeline-nightly";
/// When it fires: 05:30 UTC, after the upstream lists' nightly builds.
pub const SCHEDULE_CRON: &str = "30 5 * * *";
/// Conflicts kept in a run's summary (all are counted).
const CONFLICT_SAMPLES: usize = 100;

/// What a run needs.
#[derive(Clone)]
pub struct PipelineDeps {
    /// PostgreSQL.
    pub db: DbPool,
    /// The cache to bring up to date.
    pub cache: Arc<MappingCache>,
    /// Where changes are announced.
    pub hub: Arc<ProgressHub>,
    /// The upstream URL sources are read through.
    pub sources: crate::outbound::Upstream,
}

/// One run as its job asked for it.
pub struct RunRequest<'a> {
    /// The run's id (its job's id), recorded with the data it publishes.
    pub run_id: i64,
    /// The sources, in configuration order.
    pub specs: &'a [SourceSpec],
    /// Merge and compare even when nothing changed.
    pub force: bool,
    /// Whether cancellation was asked; checked between stages.
    pub cancelled: &'a (dyn Fn() -> bool + Send + Sync),
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No source is configured.
    #[error("no mapping source is configured (set MEDLEY_MAPPING_SOURCES, e.g. fribb=https://...)")]
    NoSources,
    /// A source could not be read or parsed; the report says which.
    #[error("{error}")]
    Source { error: SourceError, report: Box<RunSummary> },
    /// Cancellation was asked before the write stage committed.
    #[error("cancelled")]
    Cancelled,
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
    /// A bug.
    #[error("{0}")]
    Internal(String),
}

impl RunError {
    /// Returns whether retrying later may help (outages, network) rather than a bad file.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Infra(_) | Self::Source { error: SourceError::Fetch { .. }, .. })
    }
}

crate::error::infra_from!(RunError);

/// Runs the pipeline: fetch, then (unless nothing changed) merge, write and refresh the cache.
pub async fn run(
    deps: &PipelineDeps,
    request: RunRequest<'_>,
    progress: &mpsc::UnboundedSender<StageEvent>,
) -> Result<RunSummary, RunError> {
    if request.specs.is_empty() {
        return Err(RunError::NoSources);
    }
    let mut run = Run { deps, progress, started: Instant::now(), summary: RunSummary::default() };
    let mut conn = deps.db.get().await?;
    let read = run.fetch(&mut conn, request.specs).await?;
    let state = store::state(&mut conn).await?;
    if !request.force && state.as_ref().is_some_and(|s| s.inputs_sha256 == read.fingerprint) {
        write::save_checked(&mut conn, &read.rows).await?;
        drop(conn);
        return run.skip(state.map_or(0, |s| s.total_records as u64)).await;
    }
    run.stop_if(request.cancelled)?;
    let merged = run.merge(read.inputs, read.overrides).await?;
    run.stop_if(request.cancelled)?;
    let written = run.write(&mut conn, &merged, &read.rows, &read.fingerprint, request.run_id).await?;
    drop(conn);
    run.refresh_cache(&written).await?;
    Ok(run.finish())
}

/// A run in progress: its figures so far and where it reports.
struct Run<'a> {
    deps: &'a PipelineDeps,
    progress: &'a mpsc::UnboundedSender<StageEvent>,
    started: Instant,
    summary: RunSummary,
}

/// What the fetch stage read.
struct FetchOutput {
    inputs: Vec<SourceInput>,
    rows: Vec<SourceRow>,
    overrides: Vec<OverrideInput>,
    fingerprint: String,
}

impl Run<'_> {
    fn report(&self, stage: PipelineStage, done: u64, total: u64, message: impl Into<String>) {
        // Nobody listening (a dropped receiver) is not the run's problem.
        let _ = self.progress.send(StageEvent { stage, done, total, message: message.into() });
    }

    fn stop_if(&self, cancelled: &(dyn Fn() -> bool + Send + Sync)) -> Result<(), RunError> {
        if cancelled() { Err(RunError::Cancelled) } else { Ok(()) }
    }

    /// Reads every source in priority order (by kind, then configuration order) and the
    /// overrides. The first source that fails ends the run, with the report so far.
    async fn fetch(&mut self, conn: &mut AsyncPgConnection, specs: &[SourceSpec]) -> Result<FetchOutput, RunError> {
        let mut ordered: Vec<(usize, &SourceSpec)> = specs.iter().enumerate().collect();
        ordered.sort_by_key(|(position, spec)| (spec.kind.rank(), *position));
        let total = ordered.len() as u64;
        let mut inputs = Vec::with_capacity(ordered.len());
        let mut rows = Vec::with_capacity(ordered.len());
        for (step, (position, spec)) in ordered.iter().enumerate() {
            self.report(PipelineStage::Fetch, step as u64, total, format!("reading {spec}"));
            match read::read_source(self.deps, conn, spec).await {
                Ok(SourceRead { parsed, row, changed }) => {
                    self.summary.records_read += parsed.records.len() as u64;
                    self.summary.sources.push(SourceReport::read(spec, changed, &parsed));
                    inputs.push(SourceInput { label: format!("{}:{}", spec.kind, position + 1), records: parsed.records });
                    rows.push(row);
                }
                Err(error) => {
                    self.summary.sources.push(SourceReport::failed(spec, &error));
                    let report = Box::new(std::mem::take(&mut self.summary));
                    return Err(RunError::Source { error, report });
                }
            }
        }
        let override_rows = store::list_overrides(conn, None, i64::MAX).await?;
        let fingerprint = read::inputs_fingerprint(&rows, &override_rows);
        self.summary.fetch_ms = self.started.elapsed().as_millis() as u64;
        self.report(PipelineStage::Fetch, total, total, "sources read");
        Ok(FetchOutput { inputs, rows, overrides: overrides::to_inputs(&override_rows), fingerprint })
    }

    /// Ends a run whose inputs are all unchanged (only the sources' check times were saved).
    async fn skip(mut self, served: u64) -> Result<RunSummary, RunError> {
        self.summary.skipped = true;
        self.summary.records_unchanged = served;
        // A previous run may have committed without reaching Redis.
        let cache_started = Instant::now();
        self.deps.cache.drain_outbox(&self.deps.hub).await?;
        self.summary.cache_ms = cache_started.elapsed().as_millis() as u64;
        self.report(PipelineStage::Done, 1, 1, "sources unchanged: nothing to do");
        Ok(self.finish())
    }

    /// Merges the sources and overrides (CPU-bound: off the async threads).
    async fn merge(&mut self, inputs: Vec<SourceInput>, overrides: Vec<OverrideInput>) -> Result<MergeOutput, RunError> {
        let read = self.summary.records_read;
        self.report(PipelineStage::Merge, 0, read, format!("merging {read} source records"));
        let started = Instant::now();
        let merged = tokio::task::spawn_blocking(move || merge::merge(&inputs, &overrides))
            .await
            .map_err(|e| RunError::Internal(format!("the merge panicked: {e}")))?;
        self.summary.records_merged = merged.records.len() as u64;
        self.summary.conflict_count = merged.conflicts.len() as u64;
        self.summary.conflicts = merged.conflicts.iter().take(CONFLICT_SAMPLES).map(ConflictReport::from).collect();
        self.summary.title_matches = merged.title_matches;
        self.summary.overrides_applied = merged.overrides_applied;
        self.summary.merge_ms = started.elapsed().as_millis() as u64;
        self.report(PipelineStage::Merge, read, read, format!("{} records", merged.records.len()));
        Ok(merged)
    }

    /// Publishes the merge (see [`write::write`]).
    async fn write(
        &mut self,
        conn: &mut AsyncPgConnection,
        merged: &MergeOutput,
        rows: &[SourceRow],
        fingerprint: &str,
        run_id: i64,
    ) -> Result<Written, RunError> {
        self.report(PipelineStage::Write, 0, 0, "comparing with the served data");
        let started = Instant::now();
        let written = write::write(conn, merged, rows, fingerprint, run_id, &mut self.summary).await?;
        self.summary.write_ms = started.elapsed().as_millis() as u64;
        let s = &self.summary;
        let message = format!(
            "{} inserted, {} updated, {} deleted, {} unchanged",
            s.records_inserted, s.records_updated, s.records_deleted, s.records_unchanged
        );
        self.report(PipelineStage::Write, 1, 1, message);
        Ok(written)
    }

    /// Drops what went stale from the cache, then fills what changed.
    async fn refresh_cache(&mut self, written: &Written) -> Result<(), RunError> {
        self.report(PipelineStage::Cache, 0, written.records.len() as u64, "updating the cache");
        let started = Instant::now();
        self.deps.cache.drain_outbox(&self.deps.hub).await?;
        if let Err(error) = self.deps.cache.fill(&written.records, &written.keys).await {
            tracing::warn!(%error, "cannot pre-fill the mapping cache; lookups fill it on miss");
        }
        self.summary.cache_ms = started.elapsed().as_millis() as u64;
        self.report(PipelineStage::Done, 1, 1, "done");
        Ok(())
    }

    fn finish(mut self) -> RunSummary {
        self.summary.duration_ms = self.started.elapsed().as_millis() as u64;
        self.summary
    }
}
