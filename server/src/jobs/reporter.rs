//! Progress of a running attempt: written to the job row (the snapshot for late watchers) and
//! published, coalesced to at most one update per [`MIN_INTERVAL`] per job. The latest report
//! is never lost: a throttled one is flushed when the interval ends, and the final one is saved
//! with the attempt's outcome.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{queue::JobQueue, store};

/// Shortest time between two published updates of one job.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// A progress report, as stored in `jobs.progress`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// Units done.
    pub done: u64,
    /// Units expected; 0 if unknown.
    pub total: u64,
    /// What a unit is.
    pub unit: String,
    /// Current step.
    pub message: String,
    /// When it was reported.
    pub updated_at: DateTime<Utc>,
}

#[derive(Default)]
struct Throttle {
    last_sent: Option<Instant>,
    latest: Option<JobProgress>,
    flush_scheduled: bool,
}

/// Reports progress of one attempt.
#[derive(Clone)]
pub struct ProgressReporter {
    queue: JobQueue,
    id: i64,
    worker: Arc<str>,
    throttle: Arc<Mutex<Throttle>>,
}

impl ProgressReporter {
    pub(super) fn new(queue: JobQueue, id: i64, worker: Arc<str>) -> Self {
        Self { queue, id, worker, throttle: Arc::default() }
    }

    pub(super) async fn report(&self, done: u64, total: u64, unit: &str, message: &str) {
        let progress =
            JobProgress { done, total, unit: unit.to_owned(), message: message.to_owned(), updated_at: Utc::now() };
        let wait = {
            let mut throttle = self.lock();
            throttle.latest = Some(progress);
            match throttle.last_sent {
                Some(at) if at.elapsed() < MIN_INTERVAL => {
                    if throttle.flush_scheduled {
                        return;
                    }
                    throttle.flush_scheduled = true;
                    Some(MIN_INTERVAL - at.elapsed())
                }
                _ => None,
            }
        };
        match wait {
            None => self.flush().await,
            Some(wait) => {
                let reporter = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    reporter.flush().await;
                });
            }
        }
    }

    /// Returns the latest report, for saving with the outcome.
    pub(super) fn latest(&self) -> Option<Value> {
        self.lock().latest.as_ref().and_then(|p| serde_json::to_value(p).ok())
    }

    async fn flush(&self) {
        let progress = {
            let mut throttle = self.lock();
            throttle.flush_scheduled = false;
            throttle.last_sent = Some(Instant::now());
            throttle.latest.as_ref().and_then(|p| serde_json::to_value(p).ok())
        };
        let Some(progress) = progress else { return };
        let row = self
            .queue
            .with_conn(async |conn| store::update_progress(conn, self.id, &self.worker, &progress).await)
            .await;
        match row {
            Ok(Some(row)) => self.queue.publish(&row).await,
            // The attempt ended meanwhile: its outcome carries the progress.
            Ok(None) => {}
            Err(error) => tracing::debug!(job.id = self.id, %error, "cannot save progress"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        // Plain field updates only; a poisoned lock is still consistent.
        self.throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
