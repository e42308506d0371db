//! The sync schedule: every few minutes a `playlist-schedule` job starts a sync of each playlist
//! whose `next_sync_at` has come (6 hours after its last sync, jittered) and moves that time on,
//! so a long sync is not started twice. Due playlists are found from a given `now`, so tests
//! drive the schedule on their own clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{jittered, start};
use crate::{
    jobs::{JobContext, JobError, JobHandler, schedule::ScheduleSpec},
    services::catalog::{CatalogError, playlists::Playlists, store::playlists as store},
};

/// The job kind (and schedule name) of the check.
pub const KIND: &str = "playlist-schedule";
/// Playlists started per check at most (the rest wait for the next check).
const BATCH: i64 = 500;

/// Starts the syncs due at `now`; returns the ids of the runs created.
pub async fn start_due(playlists: &Playlists, now: DateTime<Utc>) -> Result<Vec<i64>, CatalogError> {
    let due = {
        let mut conn = playlists.platform.db.get().await?;
        store::due(&mut conn, now, BATCH).await?
    };
    let mut started = Vec::new();
    for id in due {
        let (job, created) = start(playlists, id, true).await?;
        if created {
            started.push(job.id);
        }
        let mut conn = playlists.platform.db.get().await?;
        store::set_next_sync(&mut conn, id, now + jittered(playlists.sync_interval)).await?;
    }
    if !started.is_empty() {
        tracing::info!(runs = started.len(), "scheduled playlist syncs started");
    }
    Ok(started)
}

/// Runs the check every five minutes.
pub struct ScheduleHandler {
    playlists: Playlists,
}

impl ScheduleHandler {
    /// The handler over `playlists`.
    pub fn new(playlists: Playlists) -> Self {
        Self { playlists }
    }
}

#[tonic::async_trait]
impl JobHandler for ScheduleHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn retry_base(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn schedule(&self) -> Option<ScheduleSpec> {
        Some(ScheduleSpec { name: KIND.to_owned(), kind: KIND.to_owned(), cron: "*/5 * * * *".to_owned(), payload: json!({}) })
    }

    async fn run(&self, _ctx: JobContext) -> Result<Value, JobError> {
        let started = start_due(&self.playlists, Utc::now()).await.map_err(|e| JobError::Retryable(e.to_string()))?;
        Ok(json!({ "started": started }))
    }
}
