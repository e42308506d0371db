//! Pipeline runs as jobs of kind `mapping-pipeline`: the handler, and `StartPipelineRun`
//! (alias `RunPipeline`), `WatchPipelineRun`, `ListPipelineRuns`, `CancelPipelineRun`.
//!
//! A run's state is its job's, its stage the job's progress unit, its figures the job's result.

use medley_sdk::pb;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{
    MappingError,
    convert::{run_from_job, stage_name},
    pipeline::{self, DEDUPE_KEY, KIND, PipelineDeps, RunError, RunRequest, SCHEDULE, SCHEDULE_CRON},
    sources::SourceSpec,
};
use crate::{
    api::jobs::{is_finished, job_to_pb, state_to_pb},
    jobs::{JobContext, JobError, JobHandler, NewJob, event::JobEvent, schedule::ScheduleSpec},
    platform::Platform,
    redis::keys::Topic,
    runs::{self, Change, RunKind, WatchedRun},
};

/// Pipeline runs as the run kit knows them.
pub const RUNS: RunKind =
    RunKind { job_kind: KIND, resource: "pipeline_run", from: "StartPipelineRun, ListPipelineRuns or GetStatus" };

/// What a run's job asks for.
#[derive(Default, Serialize, Deserialize)]
pub struct PipelinePayload {
    /// Merge and compare even when every source is unchanged.
    #[serde(default)]
    pub force: bool,
    /// Sources as `kind=location`, replacing the configured ones for this run (`medley mapping
    /// run --source`); empty for the configured sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// Sources shown as `Display` shows them: credentials redacted.
impl std::fmt::Debug for PipelinePayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sources: Vec<String> = self
            .sources
            .iter()
            .map(|s| SourceSpec::parse(s).map_or_else(|_| "(not kind=location)".to_owned(), |s| s.to_string()))
            .collect();
        f.debug_struct("PipelinePayload").field("force", &self.force).field("sources", &sources).finish()
    }
}

impl PipelinePayload {
    /// The job that runs this payload: one queued or running at a time.
    pub fn job(&self) -> NewJob {
        let payload = serde_json::to_value(self).unwrap_or(Value::Null);
        NewJob::new(KIND, payload).dedupe_key(DEDUPE_KEY).max_attempts(3)
    }
}

/// Runs the pipeline as the `mapping-pipeline` job.
pub struct PipelineHandler {
    /// What a run needs.
    pub deps: PipelineDeps,
    /// Configured sources.
    pub sources: Vec<SourceSpec>,
    /// Whether the nightly schedule is registered (not in `medley mapping run`'s worker).
    pub scheduled: bool,
}

#[tonic::async_trait]
impl JobHandler for PipelineHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn concurrency(&self) -> usize {
        1
    }

    fn retry_base(&self) -> std::time::Duration {
        std::time::Duration::from_secs(60)
    }

    fn schedule(&self) -> Option<ScheduleSpec> {
        self.scheduled.then(|| ScheduleSpec {
            name: SCHEDULE.to_owned(),
            kind: KIND.to_owned(),
            cron: SCHEDULE_CRON.to_owned(),
            payload: serde_json::to_value(PipelinePayload::default()).unwrap_or(Value::Null),
        })
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let payload: PipelinePayload = serde_json::from_value(ctx.payload.clone())
            .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        let sources = if payload.sources.is_empty() {
            self.sources.clone()
        } else {
            payload.sources.iter().map(|s| SourceSpec::parse(s)).collect::<Result<_, _>>().map_err(JobError::Permanent)?
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let cancelled = || ctx.is_cancelled();
        let work = async {
            let request = RunRequest { run_id: ctx.id, specs: &sources, force: payload.force, cancelled: &cancelled };
            let result = pipeline::run(&self.deps, request, &tx).await;
            drop(tx);
            result
        };
        let forward = async {
            while let Some(event) = rx.recv().await {
                ctx.report(event.done, event.total, stage_name(event.stage), &event.message).await;
            }
        };
        let (result, ()) = tokio::join!(work, forward);
        match result {
            Ok(summary) => {
                tracing::info!(
                    run = ctx.id,
                    merged = summary.records_merged,
                    inserted = summary.records_inserted,
                    updated = summary.records_updated,
                    deleted = summary.records_deleted,
                    conflicts = summary.conflict_count,
                    skipped = summary.skipped,
                    ms = summary.duration_ms,
                    "mapping pipeline run finished"
                );
                serde_json::to_value(summary).map_err(|e| JobError::Permanent(e.to_string()))
            }
            Err(RunError::Cancelled) => Err(JobError::Cancelled),
            Err(error) if error.is_retryable() => Err(JobError::Retryable(error.to_string())),
            Err(error) => Err(JobError::Permanent(error.to_string())),
        }
    }
}

/// Starts a run, or returns the one queued or running.
pub async fn start(state: &Platform, force: bool) -> Result<pb::StartPipelineRunResponse, MappingError> {
    start_with(state, &PipelinePayload { force, sources: Vec::new() }).await
}

/// Starts a run of `payload`, or returns the one queued or running (whatever it asked for).
pub async fn start_with(
    state: &Platform,
    payload: &PipelinePayload,
) -> Result<pb::StartPipelineRunResponse, MappingError> {
    let (row, created) = state.jobs.enqueue(&payload.job()).await?;
    Ok(pb::StartPipelineRunResponse { run: Some(run_from_job(&job_to_pb(&row))), created })
}

/// Returns a run as it is now.
pub async fn current(state: &Platform, id: i64) -> Result<pb::PipelineRun, MappingError> {
    Ok(run_from_job(&job_to_pb(&RUNS.find(&state.jobs, id).await?)))
}

/// Lists runs, newest first.
pub async fn list(
    state: &Platform,
    request: pb::ListPipelineRunsRequest,
) -> Result<pb::ListPipelineRunsResponse, MappingError> {
    let (jobs, next_page_token) = RUNS.list(&state.jobs, request.page_size, &request.page_token).await?;
    let runs = jobs.iter().map(|job| run_from_job(&job_to_pb(job))).collect();
    Ok(pb::ListPipelineRunsResponse { runs, next_page_token })
}

/// Cancels a run: a queued one never starts, a running one stops before its next stage.
pub async fn cancel(
    state: &Platform,
    request: pb::CancelPipelineRunRequest,
) -> Result<pb::CancelPipelineRunResponse, MappingError> {
    let job = RUNS.cancel(&state.jobs, request.run_id).await?;
    Ok(pb::CancelPipelineRunResponse { run: Some(run_from_job(&job_to_pb(&job))) })
}

/// Returns whether the run has ended.
pub fn is_terminal(run: &pb::PipelineRun) -> bool {
    is_finished(run.state)
}

/// The stream type of `WatchPipelineRun`.
pub type WatchStream = runs::watch::WatchStream<pb::WatchPipelineRunResponse>;

/// Streams a run's changes until it ends (see [`runs::watch`]).
pub async fn watch(state: &Platform, request: pb::WatchPipelineRunRequest) -> Result<WatchStream, MappingError> {
    RUNS.check_id(request.run_id)?;
    runs::watch(&state.hub, state.shutdown.clone(), PipelineWatch { state: state.clone(), id: request.run_id }).await
}

/// A pipeline run as `WatchPipelineRun` follows it: its job carries its state and its stage.
struct PipelineWatch {
    state: Platform,
    id: i64,
}

impl WatchedRun for PipelineWatch {
    type Message = pb::WatchPipelineRunResponse;
    type Error = MappingError;

    const TOPICS: &'static [Topic] = &[Topic::Jobs];

    fn classify(&self, last: &Self::Message, _topic: Topic, event: &[u8]) -> Change {
        match JobEvent::decode(event) {
            Ok(job) if job.id == self.id => {
                let last_state = last.run.as_ref().map(|run| run.state);
                if last_state == Some(state_to_pb(job.state()) as i32) { Change::Progress } else { Change::State }
            }
            _ => Change::Unrelated,
        }
    }

    async fn current(&self) -> Result<Self::Message, MappingError> {
        Ok(pb::WatchPipelineRunResponse { run: Some(current(&self.state, self.id).await?) })
    }

    fn is_terminal(message: &Self::Message) -> bool {
        message.run.as_ref().is_some_and(is_terminal)
    }
}
