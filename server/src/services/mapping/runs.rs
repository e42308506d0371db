//! Pipeline runs as jobs: the handler, `RunPipeline` and `WatchPipelineRun`.

use medley_sdk::pb;
use prost::Message as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    MappingError,
    convert::{run_from_job, stage_name},
    pipeline::{self, DEDUPE_KEY, KIND, PipelineDeps, SCHEDULE, SCHEDULE_CRON},
    sources::SourceSpec,
};
use crate::{
    api::jobs::{job_to_pb, state_to_pb},
    jobs::{JobContext, JobError, JobHandler, NewJob, event::JobEvent, schedule::ScheduleSpec, store as job_store},
    platform::Platform,
    redis::keys::Topic,
    runs::{self, Change, WatchedRun},
};

/// Runs the pipeline as the `mapping-pipeline` job.
pub struct PipelineHandler {
    /// What a run needs.
    pub deps: PipelineDeps,
    /// Configured sources.
    pub sources: Vec<SourceSpec>,
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
        Some(ScheduleSpec {
            name: SCHEDULE.to_owned(),
            kind: KIND.to_owned(),
            cron: SCHEDULE_CRON.to_owned(),
            payload: json!({ "force": false }),
        })
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let force = ctx.payload.get("force").and_then(Value::as_bool).unwrap_or(false);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let work = async {
            let result = pipeline::run(&self.deps, &self.sources, force, Some(ctx.id), &tx).await;
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
            Err(error) if error.is_retryable() => Err(JobError::Retryable(error.to_string())),
            Err(error) => Err(JobError::Permanent(error.to_string())),
        }
    }
}

/// Starts a run, or returns the one queued or running.
pub async fn start(state: &Platform, request: pb::RunPipelineRequest) -> Result<pb::RunPipelineResponse, MappingError> {
    let job = NewJob::new(KIND, json!({ "force": request.force })).dedupe_key(DEDUPE_KEY).max_attempts(3);
    let (row, created) = state.jobs.enqueue(&job).await?;
    Ok(pb::RunPipelineResponse { run: Some(run_from_job(&job_to_pb(&row))), created })
}

/// The stream type of `WatchPipelineRun`.
pub type WatchStream = runs::watch::WatchStream<pb::WatchPipelineRunResponse>;

/// Streams a run's changes until it ends (see [`runs::watch`]).
pub async fn watch(state: &Platform, request: pb::WatchPipelineRunRequest) -> Result<WatchStream, MappingError> {
    let id = request.run_id;
    if id <= 0 {
        let mut violations = crate::error::FieldViolations::new();
        violations.add("run_id", "must be a run id (from RunPipeline or GetStatus)");
        return Err(MappingError::Invalid(violations.into_error()));
    }
    runs::watch(&state.hub, state.shutdown.clone(), PipelineWatch { state: state.clone(), id }).await
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

async fn current(state: &Platform, id: i64) -> Result<pb::PipelineRun, MappingError> {
    let mut conn = state.db.get().await?;
    match job_store::find_job(&mut conn, id).await? {
        Some(row) if row.kind == KIND => Ok(run_from_job(&job_to_pb(&row))),
        _ => Err(MappingError::RunNotFound(id)),
    }
}

fn is_terminal(run: &pb::PipelineRun) -> bool {
    matches!(
        pb::JobState::try_from(run.state),
        Ok(pb::JobState::Succeeded | pb::JobState::Dead | pb::JobState::Cancelled)
    )
}
