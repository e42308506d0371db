//! Playlist syncs as jobs of kind `playlist-sync`: `SyncPlaylist`, `WatchPlaylistSync`, the
//! handler and the schedule.
//!
//! A run's state is its job's; its sections are its `playlist_sync_runs` row. The job's dedupe
//! key is the playlist, so two syncs of one playlist never run at once, whoever starts them
//! (a client, the schedule, a create). An account refused by the panel ends the run at once
//! and for good (DEAD, never retried: panels ban addresses that retry bad logins).

pub mod schedule;
pub mod sections;

use std::time::Duration;

use medley_sdk::pb;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Playlists, Principal, names};
use crate::{
    api::jobs::{is_finished, state_to_pb},
    error::FieldViolations,
    jobs::{JobContext, JobError, JobHandler, JobRow, NewJob, event::JobEvent},
    proto_time::to_timestamp,
    redis::keys::Topic,
    runs::{self, Change, RunKind, RunProgress, WatchedRun},
    services::catalog::{
        CatalogError,
        store::{playlist_syncs, playlists as store},
    },
};

/// The job kind of sync runs.
pub const KIND: &str = "playlist-sync";

/// Sync runs as the run kit knows them.
pub const RUNS: RunKind = RunKind { job_kind: KIND, resource: "playlist_sync_run", from: "SyncPlaylist" };

/// What a sync job asks for (never credentials: the job opens them from the vault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPayload {
    /// The playlist's id.
    pub playlist: i64,
    /// Started by the schedule.
    #[serde(default)]
    pub scheduled: bool,
}

impl SyncPayload {
    fn of(job: &Value) -> Option<Self> {
        serde_json::from_value(job.clone()).ok()
    }
}

/// `interval` plus up to a tenth of it, so playlists created together do not sync together.
pub fn jittered(interval: Duration) -> chrono::Duration {
    let spread = interval.as_secs() / 10;
    let mut bytes = [0_u8; 8];
    // Without randomness the schedule is merely unjittered.
    let _ = getrandom::fill(&mut bytes);
    let extra = if spread == 0 { 0 } else { u64::from_le_bytes(bytes) % (spread + 1) };
    chrono::Duration::seconds(i64::try_from(interval.as_secs() + extra).unwrap_or(i64::MAX / 2))
}

/// Starts a sync of playlist `id`, or returns the live one; records it as the playlist's last.
pub async fn start(playlists: &Playlists, id: i64, scheduled: bool) -> Result<(JobRow, bool), CatalogError> {
    let payload = serde_json::to_value(SyncPayload { playlist: id, scheduled }).unwrap_or(Value::Null);
    let job = NewJob::new(KIND, payload).dedupe_key(format!("playlist:{id}")).max_attempts(3);
    let (row, created) = playlists.platform.jobs.enqueue(&job).await?;
    if created {
        let mut conn = playlists.platform.db.get().await?;
        store::start_sync(&mut conn, id, row.id).await?;
    }
    Ok((row, created))
}

/// Cancels the playlist's queued or running sync, if any.
pub async fn cancel_live(playlists: &Playlists, id: i64) -> Result<(), CatalogError> {
    let mut conn = playlists.platform.db.get().await?;
    let Some(run) = store::find(&mut conn, id).await?.and_then(|row| row.last_sync_run) else { return Ok(()) };
    drop(conn);
    if let Some(job) = playlists.platform.jobs.get(run).await?
        && !job.state().is_terminal()
    {
        playlists.platform.jobs.cancel(run).await?;
    }
    Ok(())
}

/// `SyncPlaylist`.
pub async fn sync_now(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::SyncPlaylistRequest,
) -> Result<pb::SyncPlaylistResponse, CatalogError> {
    let mut violations = FieldViolations::new();
    let id = names::parse_playlist("name", &request.name, &mut violations);
    violations.finish().map_err(CatalogError::Invalid)?;
    let row = playlists.owned(principal, id.unwrap_or_default()).await?;
    let (job, created) = start(playlists, row.id, false).await?;
    let run = current(playlists, job.id).await?;
    Ok(pb::SyncPlaylistResponse { run: Some(run), created })
}

/// A run as it is now.
pub async fn current(playlists: &Playlists, id: i64) -> Result<pb::PlaylistSyncRun, CatalogError> {
    let job = RUNS.find(&playlists.platform.jobs, id).await?;
    let mut conn = playlists.platform.db.get().await?;
    let row = playlist_syncs::find(&mut conn, &[id]).await?.pop();
    Ok(run_to_pb(&job, row.map(|r| r.sections)))
}

/// Converts a run's job and section reports.
pub fn run_to_pb(job: &JobRow, sections: Option<Value>) -> pb::PlaylistSyncRun {
    let payload = SyncPayload::of(&job.payload);
    let reports: Vec<sections::Report> =
        sections.and_then(|s| serde_json::from_value(s).ok()).unwrap_or_else(sections::Report::pending_all);
    pb::PlaylistSyncRun {
        run_id: job.id,
        playlist: payload.map(|p| names::playlist_name(p.playlist)).unwrap_or_default(),
        state: state_to_pb(job.state()) as i32,
        sections: reports.into_iter().map(sections::Report::into_pb).collect(),
        error: if job.state() == crate::jobs::JobState::Dead { job.last_error.clone().unwrap_or_default() } else { String::new() },
        scheduled: payload.is_some_and(|p| p.scheduled),
        create_time: Some(to_timestamp(job.created_at)),
        update_time: Some(to_timestamp(job.updated_at)),
        finish_time: job.finished_at.map(to_timestamp),
    }
}

/// The stream type of `WatchPlaylistSync`.
pub type WatchStream = runs::watch::WatchStream<pb::WatchPlaylistSyncResponse>;

/// `WatchPlaylistSync`: the run's playlist must be the principal's.
pub async fn watch(
    playlists: &Playlists,
    principal: &Principal,
    request: pb::WatchPlaylistSyncRequest,
) -> Result<WatchStream, CatalogError> {
    let job = RUNS.find(&playlists.platform.jobs, request.run_id).await?;
    let playlist = SyncPayload::of(&job.payload).map(|p| p.playlist).unwrap_or_default();
    if playlists.owned(principal, playlist).await.is_err() {
        return Err(crate::runs::RunOpError::NotFound { kind: RUNS, id: request.run_id }.into());
    }
    let run = SyncWatch { playlists: playlists.clone(), id: request.run_id };
    runs::watch(&playlists.platform.hub, playlists.platform.shutdown.clone(), run).await
}

struct SyncWatch {
    playlists: Playlists,
    id: i64,
}

impl WatchedRun for SyncWatch {
    type Message = pb::WatchPlaylistSyncResponse;
    type Error = CatalogError;

    const TOPICS: &'static [Topic] = &[Topic::Jobs, Topic::PlaylistSyncs];

    fn classify(&self, _last: &Self::Message, topic: Topic, event: &[u8]) -> Change {
        match topic {
            Topic::Jobs if JobEvent::decode(event).is_ok_and(|job| job.id == self.id) => Change::State,
            // A section's start and end are what watchers wait for: sent at once.
            Topic::PlaylistSyncs if RunProgress::decode(event).is_ok_and(|p| p.run_id == self.id) => Change::State,
            _ => Change::Unrelated,
        }
    }

    async fn current(&self) -> Result<Self::Message, CatalogError> {
        Ok(pb::WatchPlaylistSyncResponse { run: Some(current(&self.playlists, self.id).await?) })
    }

    fn is_terminal(message: &Self::Message) -> bool {
        message.run.as_ref().is_some_and(|run| is_finished(run.state))
    }
}

/// Runs `playlist-sync` jobs.
pub struct SyncHandler {
    playlists: Playlists,
}

impl SyncHandler {
    /// The handler over `playlists`.
    pub fn new(playlists: Playlists) -> Self {
        Self { playlists }
    }
}

#[tonic::async_trait]
impl JobHandler for SyncHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn concurrency(&self) -> usize {
        2
    }

    fn retry_base(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let Some(payload) = SyncPayload::of(&ctx.payload) else {
            return Err(JobError::Permanent("the job's payload names no playlist".to_owned()));
        };
        let reports = sections::run(&self.playlists, payload.playlist, &ctx).await?;
        Ok(json!({ "sections": reports }))
    }
}
