//! Pipeline runs as jobs: the handler, `RunPipeline` and `WatchPipelineRun`.

use medley_sdk::pb;
use prost::Message as _;
use serde_json::{Value, json};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{
    MappingError,
    convert::{run_from_job, stage_name},
    pipeline::{self, DEDUPE_KEY, KIND, PipelineDeps, SCHEDULE, SCHEDULE_CRON},
    sources::SourceSpec,
};
use crate::{
    jobs::{
        JobContext, JobError, JobHandler, NewJob, convert::job_to_pb, queue::JOBS_TOPIC, schedule::ScheduleSpec,
        store as job_store,
    },
    platform::Platform,
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
pub type WatchStream = ReceiverStream<Result<pb::WatchPipelineRunResponse, Status>>;

/// Streams a run's changes until it ends.
pub async fn watch(state: &Platform, request: pb::WatchPipelineRunRequest) -> Result<WatchStream, MappingError> {
    let id = request.run_id;
    if id <= 0 {
        let mut violations = crate::error::FieldViolations::new();
        violations.add("run_id", "must be a run id (from RunPipeline or GetStatus)");
        return Err(MappingError::Invalid(violations.into_error()));
    }
    // Subscribe first so nothing between the snapshot and the stream is lost.
    let mut events = state.hub.subscribe(JOBS_TOPIC);
    let mut resyncs = state.hub.resyncs();
    let snapshot = current(state, id).await?;
    let (tx, rx) = mpsc::channel(16);
    let state = state.clone();
    tokio::spawn(async move {
        let done = is_terminal(&snapshot);
        if tx.send(Ok(pb::WatchPipelineRunResponse { run: Some(snapshot) })).await.is_err() || done {
            return;
        }
        loop {
            let run = tokio::select! {
                () = tx.closed() => return,
                () = state.shutdown.cancelled() => return,
                changed = resyncs.changed() => {
                    if changed.is_err() { return }
                    current(&state, id).await
                }
                event = events.recv() => match event {
                    Ok(bytes) => match pb::Job::decode(&*bytes) {
                        Ok(job) if job.id == id => Ok(run_from_job(&job)),
                        _ => continue,
                    },
                    Err(RecvError::Lagged(_)) => current(&state, id).await,
                    Err(RecvError::Closed) => return,
                },
            };
            let run = match run {
                Ok(run) => run,
                Err(error) => {
                    let _ = tx.send(Err(error.into())).await;
                    return;
                }
            };
            let done = is_terminal(&run);
            if tx.send(Ok(pb::WatchPipelineRunResponse { run: Some(run) })).await.is_err() || done {
                return;
            }
        }
    });
    Ok(ReceiverStream::new(rx))
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
