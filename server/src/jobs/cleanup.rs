//! `jobs-cleanup`: deletes finished jobs past their retention so the queue table stays small.
//! Every worker registers its daily schedule at start ([`schedule_spec`]); the retention travels
//! in the schedule's payload, so changing `MEDLEY_JOB_RETENTION_DAYS` and restarting updates it.

use serde_json::{Value, json};

use super::{
    handler::{JobContext, JobError, JobHandler},
    schedule::ScheduleSpec,
    store,
};
use crate::db::DbPool;

/// Kind name.
pub const KIND: &str = "jobs-cleanup";
/// Name of its schedule.
pub const SCHEDULE: &str = "jobs-cleanup-daily";
/// Rows deleted per statement, so no delete holds locks for long.
const BATCH: i64 = 5_000;

/// The schedule every worker registers: daily at 04:15 UTC.
pub fn schedule_spec(retention_days: u32) -> ScheduleSpec {
    ScheduleSpec {
        name: SCHEDULE.to_owned(),
        kind: KIND.to_owned(),
        cron: "15 4 * * *".to_owned(),
        payload: json!({ "retention_days": retention_days }),
    }
}

/// Runs cleanups.
pub struct CleanupHandler {
    /// Database to clean.
    pub db: DbPool,
}

#[tonic::async_trait]
impl JobHandler for CleanupHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn concurrency(&self) -> usize {
        1
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let days = ctx.payload["retention_days"]
            .as_u64()
            .filter(|d| *d > 0)
            .ok_or_else(|| JobError::Permanent("payload needs retention_days > 0".to_owned()))?;
        let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000));
        let mut deleted = 0_u64;
        loop {
            if ctx.is_cancelled() {
                return Err(JobError::Cancelled);
            }
            let mut conn = self.db.get().await.map_err(|e| JobError::Retryable(e.to_string()))?;
            let n = store::delete_finished_jobs(&mut conn, cutoff, BATCH)
                .await
                .map_err(|e| JobError::Retryable(e.to_string()))?;
            deleted += n as u64;
            ctx.report(deleted, 0, "jobs", "deleting finished jobs").await;
            if (n as i64) < BATCH {
                break;
            }
        }
        Ok(json!({ "deleted": deleted, "finished_before": cutoff.to_rfc3339() }))
    }
}
