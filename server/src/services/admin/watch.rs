//! `WatchJobs`: a snapshot, then every change of the watched jobs, from any instance.
//!
//! The stream subscribes to the hub before reading the snapshot, so no change between the two is
//! lost (a change may arrive twice; `update_time` orders them). Each stream forwards through a
//! small buffer: if its client reads too slowly, the stream falls behind the hub's bounded
//! channel, gets `Lagged`, and sends a fresh snapshot instead of the backlog. Workers never wait.

use medley_sdk::pb;
use prost::Message as _;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{AdminError, jobs::parse_kinds};
use crate::{
    error::{ApiError, FieldViolations},
    jobs::{
        convert::{job_to_pb, state_from_pb},
        queue::JOBS_TOPIC,
        store,
    },
    platform::Platform,
};

/// Messages buffered per stream before it counts as slow.
const STREAM_BUFFER: usize = 32;
/// Unfinished jobs a snapshot holds at most.
const SNAPSHOT_LIMIT: i64 = 1000;

/// The stream type of `WatchJobs`.
pub type WatchJobsStream = ReceiverStream<Result<pb::WatchJobsResponse, Status>>;

/// What a stream watches.
#[derive(Clone, Debug)]
struct Filter {
    job_id: Option<i64>,
    kinds: Vec<String>,
}

impl Filter {
    fn matches(&self, job: &pb::Job) -> bool {
        match self.job_id {
            Some(id) => job.id == id,
            None => self.kinds.is_empty() || self.kinds.contains(&job.kind),
        }
    }
}

fn is_terminal(job: &pb::Job) -> bool {
    state_from_pb(job.state).is_some_and(|s| s.is_terminal())
}

/// Validates the request, checks a watched job exists, and starts the stream.
pub async fn watch_jobs(state: &Platform, request: pb::WatchJobsRequest) -> Result<WatchJobsStream, AdminError> {
    let pb::WatchJobsRequest { job_id, kinds } = request;
    let mut violations = FieldViolations::new();
    if job_id < 0 {
        violations.add("job_id", "must be a job id, or 0 to watch many jobs");
    }
    let kinds = parse_kinds(kinds, &mut violations);
    violations.finish().map_err(AdminError::Invalid)?;
    let filter = Filter { job_id: (job_id > 0).then_some(job_id), kinds };
    if let Some(id) = filter.job_id
        && state.jobs.get(id).await?.is_none()
    {
        return Err(AdminError::JobNotFound(id));
    }

    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let mut events = state.hub.subscribe(JOBS_TOPIC);
    let mut resyncs = state.hub.resyncs();
    let state = state.clone();
    tokio::spawn(async move {
        if !send_snapshot(&state, &filter, &tx).await {
            return;
        }
        loop {
            tokio::select! {
                () = tx.closed() => return,
                // Streams end with the server so graceful shutdown does not wait for clients.
                () = state.shutdown.cancelled() => return,
                changed = resyncs.changed() => {
                    if changed.is_err() || !send_snapshot(&state, &filter, &tx).await {
                        return;
                    }
                }
                event = events.recv() => match event {
                    Ok(bytes) => {
                        let Ok(job) = pb::Job::decode(&*bytes) else { continue };
                        if !filter.matches(&job) {
                            continue;
                        }
                        let done = filter.job_id.is_some() && is_terminal(&job);
                        if tx.send(Ok(pb::WatchJobsResponse { snapshot: false, jobs: vec![job] })).await.is_err() || done {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "job watcher fell behind: sending a fresh snapshot");
                        if !send_snapshot(&state, &filter, &tx).await {
                            return;
                        }
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// Sends the current state of the watched jobs; returns whether the stream goes on.
async fn send_snapshot(
    state: &Platform,
    filter: &Filter,
    tx: &mpsc::Sender<Result<pb::WatchJobsResponse, Status>>,
) -> bool {
    let rows = async {
        let mut conn = state.db.get().await?;
        match filter.job_id {
            Some(id) => store::find_job(&mut conn, id).await.map(|row| row.into_iter().collect()),
            None => store::list_unfinished_jobs(&mut conn, &filter.kinds, SNAPSHOT_LIMIT).await,
        }
        .map_err(ApiError::from)
    };
    let rows: Vec<_> = match rows.await {
        Ok(rows) => rows,
        Err(error) => {
            let _ = tx.send(Err(error.into())).await;
            return false;
        }
    };
    if filter.job_id.is_some() && rows.is_empty() {
        let _ = tx.send(Err(AdminError::JobNotFound(filter.job_id.unwrap_or_default()).into())).await;
        return false;
    }
    let jobs: Vec<pb::Job> = rows.iter().map(job_to_pb).collect();
    let done = filter.job_id.is_some() && jobs.iter().all(is_terminal);
    tx.send(Ok(pb::WatchJobsResponse { snapshot: true, jobs })).await.is_ok() && !done
}
