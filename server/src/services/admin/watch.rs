//! `WatchJobs`: a snapshot, then every change of the watched jobs, from any instance.
//!
//! The stream subscribes to the hub before reading the snapshot, so no change between the two is
//! lost (a change may arrive twice; `update_time` orders them). Each stream forwards through a
//! small buffer: if its client reads too slowly, the stream falls behind the hub's bounded
//! channel, gets `Lagged`, and sends a fresh snapshot instead of the backlog. Workers never wait.
//! After a lag or a Redis reconnect (events published meanwhile are gone), that snapshot holds
//! the unfinished jobs and every job changed since the stream last heard of one, finished ones
//! included, so no state change is missed. The stream ends with UNAVAILABLE when the server
//! shuts down.

use chrono::{DateTime, Utc};
use medley_sdk::pb;
use prost::Message as _;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{AdminError, jobs::parse_kinds};
use crate::{
    api::jobs::{event_to_pb, is_finished, job_to_pb},
    error::{ApiError, FieldViolations},
    jobs::{
        event::JobEvent,
        store,
    },
    platform::Platform,
    proto_time::from_timestamp,
    redis::keys::Topic,
};

/// Messages buffered per stream before it counts as slow.
const STREAM_BUFFER: usize = 32;
/// Jobs a snapshot holds at most.
const SNAPSHOT_LIMIT: i64 = 1000;
/// How far before the last event heard a resync reads changes from.
const RESYNC_MARGIN_SECS: i64 = 5;

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
    is_finished(job.state)
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
    let mut events = state.hub.subscribe(Topic::Jobs);
    let mut resyncs = state.hub.resyncs();
    let state = state.clone();
    tokio::spawn(async move {
        // What the stream has heard of: changes from this time on may not have been seen yet.
        let mut heard_until = Utc::now();
        if !send_snapshot(&state, &filter, None, &tx).await {
            return;
        }
        loop {
            let resync = tokio::select! {
                () = tx.closed() => return,
                // Streams end with the server so graceful shutdown does not wait for clients.
                () = state.shutdown.cancelled() => {
                    let _ = tx.send(Err(Status::unavailable("the server is shutting down: watch again"))).await;
                    return;
                }
                changed = resyncs.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
                event = events.recv() => match event {
                    Ok(bytes) => {
                        let Ok(event) = JobEvent::decode(&*bytes) else { continue };
                        let job = event_to_pb(event);
                        if let Some(at) = job.update_time.as_ref().and_then(from_timestamp) {
                            heard_until = heard_until.max(at);
                        }
                        if !filter.matches(&job) {
                            continue;
                        }
                        let done = filter.job_id.is_some() && is_terminal(&job);
                        if tx.send(Ok(pb::WatchJobsResponse { snapshot: false, jobs: vec![job] })).await.is_err() || done {
                            return;
                        }
                        false
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "job watcher fell behind: sending a fresh snapshot");
                        true
                    }
                    Err(RecvError::Closed) => return,
                },
            };
            if resync {
                // Read from a little before the last event heard: clocks of the instances that
                // wrote the jobs may differ slightly from each other.
                let since = heard_until - chrono::Duration::seconds(RESYNC_MARGIN_SECS);
                heard_until = Utc::now();
                if !send_snapshot(&state, &filter, Some(since), &tx).await {
                    return;
                }
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// Sends the current state of the watched jobs — after a gap, with every job changed since
/// `changed_since` — and returns whether the stream goes on.
async fn send_snapshot(
    state: &Platform,
    filter: &Filter,
    changed_since: Option<DateTime<Utc>>,
    tx: &mpsc::Sender<Result<pb::WatchJobsResponse, Status>>,
) -> bool {
    let rows = async {
        let mut conn = state.db.get().await?;
        match (filter.job_id, changed_since) {
            (Some(id), _) => store::find_job(&mut conn, id).await.map(|row| row.into_iter().collect()),
            (None, None) => store::list_unfinished_jobs(&mut conn, &filter.kinds, SNAPSHOT_LIMIT).await,
            (None, Some(since)) => {
                store::list_jobs_live_or_changed_since(&mut conn, &filter.kinds, since, SNAPSHOT_LIMIT).await
            }
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
