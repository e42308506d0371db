//! Import runs as jobs of kind `catalog-import`: the handler, and `StartImport`,
//! `WatchImport`, `ListImportRuns`, `CancelImport`.
//!
//! A run's state is its job's; its counters are its `catalog_import_runs` row. Watchers hear of
//! both through the hub (`jobs` for state changes, `imports` for counters) and re-read the run.

use std::time::Duration;

use anyhow::Context as _;

use medley_sdk::pb;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    ImportDeps,
    items::SOURCE_NAME,
    run::{self, RunError, RunParams},
};
use crate::{
    api::jobs::{is_finished, state_to_pb},
    error::FieldViolations,
    jobs::{JobContext, JobError, JobHandler, JobRow, NewJob, event::JobEvent, schedule::ScheduleSpec},
    platform::Platform,
    proto_time::to_timestamp,
    redis::keys::Topic,
    runs::{self, Change, RunKind, RunProgress, WatchedRun},
    services::catalog::{
        CatalogError,
        config::CatalogConfig,
        store::runs::{self as run_store, RunRow},
    },
};

/// The job kind of import runs.
pub const KIND: &str = "catalog-import";
/// The schedule of the incremental import.
pub const SCHEDULE: &str = "catalog-import-incremental";

/// What an import run's job asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPayload {
    /// `pb::ImportMode` number.
    pub mode: i32,
    /// Listing pages at most; 0 for no limit.
    #[serde(default)]
    pub max_pages: i32,
}

impl ImportPayload {
    /// An incremental run without a page limit (the schedule's).
    pub const INCREMENTAL: Self = Self { mode: pb::ImportMode::Incremental as i32, max_pages: 0 };

    /// The payload of `job`; anything unreadable reads as [`Self::INCREMENTAL`].
    pub fn of(job: &Value) -> Self {
        serde_json::from_value(job.clone()).unwrap_or(Self::INCREMENTAL)
    }

    fn to_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Runs `catalog-import` jobs.
pub struct ImportHandler {
    /// Clients and pool.
    pub deps: ImportDeps,
    /// Cron of the incremental schedule; `None` for no schedule.
    pub cron: Option<String>,
}

impl ImportHandler {
    /// Builds the clients from `config`; the incremental schedule is registered only when a
    /// Kodik token is configured (without one every run would fail).
    pub fn new(platform: &Platform, config: &CatalogConfig) -> anyhow::Result<Self> {
        let deps = ImportDeps::new(platform, config)
            .context("cannot build the HTTP clients of the catalog importer")?;
        let cron =
            Some(config.import_cron.trim().to_owned()).filter(|c| !c.is_empty() && config.has_kodik_token());
        if let Some(cron) = &cron {
            crate::jobs::schedule::parse_cron(cron).map_err(|e| anyhow::anyhow!("MEDLEY_IMPORT_CRON {cron:?}: {e}"))?;
        }
        Ok(Self { deps, cron })
    }
}

#[tonic::async_trait]
impl JobHandler for ImportHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn concurrency(&self) -> usize {
        1
    }

    fn retry_base(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn schedule(&self) -> Option<ScheduleSpec> {
        self.cron.as_ref().map(|cron| ScheduleSpec {
            name: SCHEDULE.to_owned(),
            kind: KIND.to_owned(),
            cron: cron.clone(),
            payload: ImportPayload::INCREMENTAL.to_json(),
        })
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let payload = ImportPayload::of(&ctx.payload);
        let params = RunParams {
            job_id: ctx.id,
            mode: i16::try_from(payload.mode).unwrap_or(pb::ImportMode::Incremental as i16),
            max_pages: payload.max_pages,
        };
        match run::run(&self.deps, params, &ctx).await {
            Ok(row) => {
                tracing::info!(
                    run.id = row.job_id,
                    pages = row.pages,
                    imported = row.imported,
                    unchanged = row.unchanged,
                    skipped = row.skipped,
                    failed = row.failed,
                    "catalog import finished"
                );
                Ok(json!({
                    "pages": row.pages, "anime_seen": row.anime_seen, "imported": row.imported,
                    "unchanged": row.unchanged, "skipped": row.skipped, "failed": row.failed,
                    "listing_done": row.listing_done,
                }))
            }
            Err(RunError::Cancelled) => Err(JobError::Cancelled),
            Err(RunError::Upstream(error)) if error.is_retryable() => Err(JobError::Retryable(error.to_string())),
            Err(RunError::Upstream(error)) => Err(JobError::Permanent(match &error {
                crate::outbound::UpstreamError::Rejected { upstream: "kodik", .. } => {
                    format!("{error} (check MEDLEY_KODIK_TOKEN)")
                }
                _ => error.to_string(),
            })),
            Err(RunError::Infra(error)) => Err(JobError::Retryable(error.to_string())),
        }
    }
}

/// Converts a run's job and counters.
pub fn run_to_pb(job: &JobRow, row: Option<&RunRow>) -> pb::ImportRun {
    let payload = ImportPayload::of(&job.payload);
    let mut run = pb::ImportRun {
        run_id: job.id,
        state: state_to_pb(job.state()) as i32,
        source: SOURCE_NAME.to_owned(),
        mode: payload.mode,
        max_pages: payload.max_pages,
        attempts: job.attempts,
        error: if job.state() == crate::jobs::JobState::Dead {
            job.last_error.clone().unwrap_or_default()
        } else {
            String::new()
        },
        create_time: Some(to_timestamp(job.created_at)),
        update_time: Some(to_timestamp(job.updated_at)),
        finish_time: job.finished_at.map(to_timestamp),
        ..Default::default()
    };
    if let Some(row) = row {
        let elapsed = (row.updated_at - row.started_at).num_milliseconds().max(1) as f64 / 1000.0;
        run.pages = row.pages.into();
        run.releases_seen = row.releases_seen.into();
        run.anime_seen = row.anime_seen.into();
        run.imported = row.imported.into();
        run.unchanged = row.unchanged.into();
        run.skipped = row.skipped.into();
        run.failed = row.failed.into();
        run.upstream_requests = row.requests.into();
        run.upstream_retries = row.retries.into();
        run.anime_per_second = if row.pages > 0 { f64::from(row.anime_seen) / elapsed } else { 0.0 };
        run.failures = row
            .failures
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|f| pb::ImportFailure {
                        source_id: f["source_id"].as_str().unwrap_or_default().to_owned(),
                        reason: f["reason"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if job.updated_at < row.updated_at {
            run.update_time = Some(to_timestamp(row.updated_at));
        }
    }
    run
}

fn check_source(source: &str, violations: &mut FieldViolations) {
    if !(source.is_empty() || source == SOURCE_NAME) {
        violations.add("source", format!("unknown source {source:?}: the only source is {SOURCE_NAME:?}"));
    }
}

/// Starts a run, or returns the one queued or running.
pub async fn start(
    state: &Platform,
    importer_ready: bool,
    request: pb::StartImportRequest,
) -> Result<pb::StartImportResponse, CatalogError> {
    let pb::StartImportRequest { source, mode, max_pages } = request;
    let mut violations = FieldViolations::new();
    check_source(&source, &mut violations);
    let mode = match violations.parse_enum::<pb::ImportMode>("mode", mode) {
        Some(pb::ImportMode::Unspecified) | None => pb::ImportMode::Incremental,
        Some(mode) => mode,
    };
    if !(0..=1_000_000).contains(&max_pages) {
        violations.add("max_pages", "must be 0 (no limit) to 1000000");
    }
    violations.finish().map_err(CatalogError::Invalid)?;
    if !importer_ready {
        return Err(CatalogError::NotConfigured("MEDLEY_KODIK_TOKEN is not set: the importer cannot list Kodik"));
    }
    let job = NewJob::new(KIND, ImportPayload { mode: mode as i32, max_pages }.to_json())
        .dedupe_key(SOURCE_NAME)
        .max_attempts(5);
    let (row, created) = state.jobs.enqueue(&job).await?;
    Ok(pb::StartImportResponse { run: Some(run_to_pb(&row, None)), created })
}

/// Import runs as the run kit knows them.
pub const RUNS: RunKind = RunKind { job_kind: KIND, resource: "import_run", from: "StartImport or ListImportRuns" };

/// Returns a run as it is now.
pub async fn current(state: &Platform, id: i64) -> Result<pb::ImportRun, CatalogError> {
    let job = RUNS.find(&state.jobs, id).await?;
    let mut conn = state.db.get().await?;
    let row = run_store::find_runs(&mut conn, &[id]).await?.pop();
    Ok(run_to_pb(&job, row.as_ref()))
}

/// Lists runs, newest first.
pub async fn list(
    state: &Platform,
    request: pb::ListImportRunsRequest,
) -> Result<pb::ListImportRunsResponse, CatalogError> {
    let (jobs, next_page_token) = RUNS.list(&state.jobs, request.page_size, &request.page_token).await?;
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let mut conn = state.db.get().await?;
    let rows = run_store::find_runs(&mut conn, &ids).await?;
    let runs = jobs.iter().map(|job| run_to_pb(job, rows.iter().find(|r| r.job_id == job.id))).collect();
    Ok(pb::ListImportRunsResponse { runs, next_page_token })
}

/// Cancels a run (a running one stops after its current page).
pub async fn cancel(
    state: &Platform,
    request: pb::CancelImportRequest,
) -> Result<pb::CancelImportResponse, CatalogError> {
    RUNS.cancel(&state.jobs, request.run_id).await?;
    Ok(pb::CancelImportResponse { run: Some(current(state, request.run_id).await?) })
}

/// Returns whether the run has ended.
pub fn is_terminal(run: &pb::ImportRun) -> bool {
    is_finished(run.state)
}

/// The stream type of `WatchImport`.
pub type WatchStream = runs::watch::WatchStream<pb::WatchImportResponse>;

/// Streams a run until it ends (see [`runs::watch`]): state changes at once, counters at most
/// every [`runs::watch::PROGRESS_INTERVAL`].
pub async fn watch(state: &Platform, request: pb::WatchImportRequest) -> Result<WatchStream, CatalogError> {
    RUNS.check_id(request.run_id)?;
    runs::watch(&state.hub, state.shutdown.clone(), ImportWatch { state: state.clone(), id: request.run_id }).await
}

/// An import run as `WatchImport` follows it.
struct ImportWatch {
    state: Platform,
    id: i64,
}

impl WatchedRun for ImportWatch {
    type Message = pb::WatchImportResponse;
    type Error = CatalogError;

    const TOPICS: &'static [Topic] = &[Topic::Jobs, Topic::Imports];

    fn classify(&self, _last: &Self::Message, topic: Topic, event: &[u8]) -> Change {
        let concerns = match topic {
            Topic::Jobs => JobEvent::decode(event).is_ok_and(|job| job.id == self.id),
            Topic::Imports => RunProgress::decode(event).is_ok_and(|progress| progress.run_id == self.id),
            _ => false,
        };
        match (concerns, topic) {
            (false, _) => Change::Unrelated,
            (true, Topic::Imports) => Change::Progress,
            (true, _) => Change::State,
        }
    }

    async fn current(&self) -> Result<Self::Message, CatalogError> {
        Ok(pb::WatchImportResponse { run: Some(current(&self.state, self.id).await?) })
    }

    fn is_terminal(message: &Self::Message) -> bool {
        message.run.as_ref().is_some_and(is_terminal)
    }
}
