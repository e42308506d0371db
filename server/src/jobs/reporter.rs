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

/// The coalescing decision, apart from the clock and the database so it can be tested on
/// given instants.
#[derive(Default)]
struct Throttle {
    last_sent: Option<Instant>,
    latest: Option<JobProgress>,
    flush_scheduled: bool,
}

/// What to do with a report.
#[derive(Debug, PartialEq, Eq)]
enum Offer {
    /// Send it now.
    Now,
    /// Send the latest report after this wait (a flush is scheduled).
    After(Duration),
    /// Nothing: a scheduled flush will send it (it replaced the previous latest).
    Absorbed,
}

impl Throttle {
    /// Records `progress` as the latest report at `now` and says when to send.
    fn offer(&mut self, progress: JobProgress, now: Instant) -> Offer {
        self.latest = Some(progress);
        match self.last_sent {
            Some(at) if now.duration_since(at) < MIN_INTERVAL => {
                if self.flush_scheduled {
                    return Offer::Absorbed;
                }
                self.flush_scheduled = true;
                Offer::After(MIN_INTERVAL - now.duration_since(at))
            }
            _ => Offer::Now,
        }
    }

    /// Marks the latest report sent at `now` and returns it.
    fn take_for_send(&mut self, now: Instant) -> Option<&JobProgress> {
        self.flush_scheduled = false;
        self.last_sent = Some(now);
        self.latest.as_ref()
    }
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
        let offer = self.lock().offer(progress, Instant::now());
        match offer {
            Offer::Absorbed => {}
            Offer::Now => self.flush().await,
            Offer::After(wait) => {
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
        let progress = self.lock().take_for_send(Instant::now()).and_then(|p| serde_json::to_value(p).ok());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(done: u64) -> JobProgress {
        JobProgress { done, total: 10, unit: "u".into(), message: String::new(), updated_at: Utc::now() }
    }

    #[test]
    fn reports_are_coalesced_to_one_per_interval_and_the_latest_is_kept() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut throttle = Throttle::default();
        assert_eq!(throttle.offer(report(1), at(0)), Offer::Now, "the first report goes at once");
        throttle.take_for_send(at(0));
        // Within the interval: one flush is scheduled for its end, later reports join it.
        assert_eq!(throttle.offer(report(2), at(10)), Offer::After(Duration::from_millis(240)));
        assert_eq!(throttle.offer(report(3), at(100)), Offer::Absorbed);
        assert_eq!(throttle.offer(report(4), at(200)), Offer::Absorbed);
        assert_eq!(throttle.take_for_send(at(250)).map(|p| p.done), Some(4), "the flush sends the latest");
        // A report a full interval after the last send goes at once.
        assert_eq!(throttle.offer(report(5), at(500)), Offer::Now);
        throttle.take_for_send(at(500));
        assert_eq!(throttle.offer(report(6), at(749)), Offer::After(Duration::from_millis(1)));
    }
}
