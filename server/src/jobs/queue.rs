//! The job queue as the rest of the server uses it: every change goes to the database, then out
//! to watchers through the progress hub. A failed publish only delays watchers until their next
//! snapshot; the database stays the truth.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use prost::Message as _;

use super::{
    event::JobEvent,
    model::{JobRow, NewJob},
    store,
};
use crate::{db::DbPool, error::InfraError, progress::ProgressHub, redis::keys::Topic};

/// Database pool plus event fan-out. Cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    db: DbPool,
    hub: Arc<ProgressHub>,
}

impl JobQueue {
    /// A queue over `db` publishing through `hub`.
    pub fn new(db: DbPool, hub: Arc<ProgressHub>) -> Self {
        Self { db, hub }
    }

    /// Returns the pool.
    pub fn db(&self) -> &DbPool {
        &self.db
    }

    /// Returns the hub.
    pub fn hub(&self) -> &Arc<ProgressHub> {
        &self.hub
    }

    /// Runs `query` on a pooled connection: pool and query failures come back as one error.
    pub async fn with_conn<T>(
        &self,
        query: impl AsyncFnOnce(&mut AsyncPgConnection) -> diesel::QueryResult<T>,
    ) -> Result<T, InfraError> {
        let mut conn = self.db.get().await?;
        Ok(query(&mut conn).await?)
    }

    /// Enqueues a job, or returns the live job with the same dedupe key (flag `false`).
    pub async fn enqueue(&self, job: &NewJob) -> Result<(JobRow, bool), InfraError> {
        let mut conn = self.db.get().await?;
        let (row, created) = store::insert_job(&mut conn, job).await?;
        if created {
            self.publish(&row).await;
        }
        Ok((row, created))
    }

    /// Enqueues many jobs at once (jobs whose dedupe key is live are skipped) and returns the
    /// inserted ones.
    pub async fn enqueue_many(&self, new_jobs: &[NewJob]) -> Result<Vec<JobRow>, InfraError> {
        let mut conn = self.db.get().await?;
        let rows = store::insert_jobs(&mut conn, new_jobs).await?;
        drop(conn);
        self.publish_all(&rows).await;
        Ok(rows)
    }

    /// Cancels a job (see [`store::cancel_job`]).
    pub async fn cancel(&self, id: i64) -> Result<Option<JobRow>, InfraError> {
        let mut conn = self.db.get().await?;
        let row = store::cancel_job(&mut conn, id).await?;
        if let Some(row) = &row {
            self.publish(row).await;
        }
        Ok(row)
    }

    /// Queues a dead or cancelled job again (see [`store::requeue_job`]).
    pub async fn requeue(&self, id: i64) -> Result<Option<JobRow>, InfraError> {
        let mut conn = self.db.get().await?;
        let row = store::requeue_job(&mut conn, id).await?;
        if let Some(row) = &row {
            self.publish(row).await;
        }
        Ok(row)
    }

    /// Finds a job.
    pub async fn get(&self, id: i64) -> Result<Option<JobRow>, InfraError> {
        let mut conn = self.db.get().await?;
        Ok(store::find_job(&mut conn, id).await?)
    }

    /// Counts unfinished jobs by kind and state: `(kind, state, jobs)`.
    pub async fn depth(&self) -> Result<Vec<(String, String, i64)>, InfraError> {
        let mut conn = self.db.get().await?;
        let depth = store::count_unfinished_jobs(&mut conn).await?;
        Ok(depth.into_iter().map(|d| (d.kind, d.state, d.jobs)).collect())
    }

    /// Sends the current state of many jobs to every watcher in one round trip.
    pub async fn publish_all(&self, rows: &[JobRow]) {
        let payloads = rows.iter().map(|row| JobEvent::from(row).encode_to_vec()).collect();
        if let Err(error) = self.hub.publish_many(Topic::Jobs, payloads).await {
            tracing::warn!(jobs = rows.len(), %error, "cannot publish job changes");
        }
    }

    /// Sends a job's current state to every watcher.
    pub async fn publish(&self, row: &JobRow) {
        if let Err(error) = self.hub.publish(Topic::Jobs, JobEvent::from(row).encode_to_vec()).await {
            tracing::warn!(job.id = row.id, %error, "cannot publish job change");
        }
    }
}
