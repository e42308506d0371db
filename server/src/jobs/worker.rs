//! The worker runtime: claims jobs, runs their handlers, renews leases, reaps lost jobs and
//! ticks schedules. Several workers (in `medley serve` processes or `medley worker` processes)
//! may share one database; `FOR UPDATE SKIP LOCKED` hands each job to one of them.
//!
//! Wake-ups come from the [`super::listener`] (NOTIFY on every runnable job) with polling as the
//! fallback; a cancel notification stops a running job at once, and leases renewed every third of
//! their length also carry cancellation, in case a notification is lost.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use tokio::{
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tokio_util::{sync::CancellationToken, task::AbortOnDropHandle};

use super::{
    completer::Completer,
    handler::{JobContext, JobError, JobHandler, Registry},
    listener::{self, ListenEvents},
    model::JobRow,
    queue::JobQueue,
    reporter::ProgressReporter,
    schedule::fire_due_schedules,
    store::{self, Finish, Outcome},
};
use crate::{backoff::Backoff, metrics::Metrics};

/// How long a worker with busy slots waits for more of them to free up before claiming.
const CLAIM_GATHER: Duration = Duration::from_millis(2);
/// How often schedules are ticked.
const SCHEDULE_INTERVAL: Duration = Duration::from_secs(1);

/// Worker settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs this process runs at once (each kind is further limited by its handler).
    pub slots: usize,
    /// Lease length; a job whose worker stops renewing is taken back after it.
    pub lease: Duration,
    /// Poll interval when no notification arrives.
    pub poll: Duration,
    /// How long running jobs may finish after shutdown starts before they are put back.
    pub shutdown_grace: Duration,
    /// Database URL, for the dedicated LISTEN connection.
    pub database_url: String,
    /// Days finished jobs are kept (the daily cleanup's retention).
    pub retention_days: u32,
}

/// Why a running job's token was cancelled.
const REASON_NONE: u8 = 0;
const REASON_CANCEL_REQUESTED: u8 = 1;
const REASON_LEASE_LOST: u8 = 2;
const REASON_SHUTDOWN: u8 = 3;

struct Running {
    token: CancellationToken,
    reason: Arc<AtomicU8>,
}

impl Running {
    fn stop(&self, reason: u8) {
        // The first reason wins: a job cancelled by a client stays cancelled at shutdown.
        let _ = self.reason.compare_exchange(REASON_NONE, reason, Ordering::SeqCst, Ordering::SeqCst);
        self.token.cancel();
    }
}

struct Shared {
    queue: JobQueue,
    completer: Completer,
    registry: Registry,
    config: WorkerConfig,
    id: Arc<str>,
    metrics: Arc<Metrics>,
    running: Mutex<HashMap<i64, Running>>,
    wake: Notify,
}

impl ListenEvents for Shared {
    fn job_ready(&self) {
        self.wake.notify_one();
    }

    fn cancel_requested(&self, id: i64) {
        if let Some(job) = self.running().get(&id) {
            job.stop(REASON_CANCEL_REQUESTED);
        }
    }
}

impl Shared {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Running>> {
        // Inserts and removals only; a poisoned map is still consistent.
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A worker; [`Worker::run`] drives it until shutdown.
pub struct Worker {
    shared: Arc<Shared>,
}

impl Worker {
    /// Builds a worker named `id` running the handlers of `registry`.
    pub fn new(queue: JobQueue, registry: Registry, config: WorkerConfig, id: String, metrics: Arc<Metrics>) -> Self {
        let id: Arc<str> = Arc::from(id);
        Self {
            shared: Arc::new(Shared {
                completer: Completer::start(queue.clone(), id.clone()),
                queue,
                registry,
                config,
                id,
                metrics,
                running: Mutex::new(HashMap::new()),
                wake: Notify::new(),
            }),
        }
    }

    /// Runs until `shutdown`, then lets running jobs finish for the configured grace and puts
    /// the rest back in the queue without using up their attempt. Dropping the future instead
    /// (a crash) stops everything at once and leaves the leases to expire.
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = self.shared;
        if shared.registry.is_empty() || shared.config.slots == 0 {
            return;
        }
        tracing::info!(worker.id = %shared.id, slots = shared.config.slots, "worker started");
        register_schedules(&shared).await;
        let stop_helpers = CancellationToken::new();
        // If this future is dropped mid-way, the helpers stop with it, like a killed process.
        let _stop_helpers_on_drop = stop_helpers.clone().drop_guard();
        let listener =
            tokio::spawn(listener::listen(shared.config.database_url.clone(), shared.clone(), stop_helpers.clone()));
        let heartbeat = tokio::spawn(renew_leases(shared.clone(), stop_helpers.clone()));
        let total = Arc::new(Semaphore::new(shared.config.slots));
        let per_kind: HashMap<&'static str, Arc<Semaphore>> =
            shared.registry.handlers().map(|h| (h.kind(), Arc::new(Semaphore::new(h.concurrency().max(1))))).collect();
        let claim_batch = (shared.config.slots / 4).max(1);
        let mut tasks = JoinSet::new();
        let mut last_reap: Option<Instant> = None;
        let mut last_schedules: Option<Instant> = None;

        while !shutdown.is_cancelled() {
            if last_reap.is_none_or(|at| at.elapsed() >= shared.config.lease / 2) {
                reap(&shared).await;
                last_reap = Some(Instant::now());
            }
            if last_schedules.is_none_or(|at| at.elapsed() >= SCHEDULE_INTERVAL) {
                if let Err(error) = fire_due_schedules(&shared.queue, chrono::Utc::now()).await {
                    tracing::warn!(%error, "cannot tick schedules");
                }
                last_schedules = Some(Instant::now());
            }
            let mut saturated = false;
            for handler in shared.registry.handlers() {
                let kind_slots = &per_kind[handler.kind()];
                let free = total.available_permits().min(kind_slots.available_permits());
                if free == 0 {
                    continue;
                }
                let claimed = shared
                    .queue
                    .with_conn(async |conn| {
                        store::claim_jobs(conn, &shared.id, handler.kind(), free as i64, shared.config.lease).await
                    })
                    .await;
                let rows = match claimed {
                    Ok(rows) => rows,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim jobs");
                        break;
                    }
                };
                saturated |= rows.len() == free;
                for row in rows {
                    let (Ok(slot), Ok(kind_slot)) =
                        (total.clone().try_acquire_owned(), kind_slots.clone().try_acquire_owned())
                    else {
                        // Cannot happen: `free` permits were available and only this loop takes them.
                        tracing::error!(job.id = row.id, "no free slot for a claimed job");
                        continue;
                    };
                    tasks.spawn(run_attempt(shared.clone(), handler.clone(), row, [slot, kind_slot]));
                }
            }
            while tasks.try_join_next().is_some() {}
            if saturated {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = shared.wake.notified() => {}
                () = tokio::time::sleep(shared.config.poll) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                    // Let a few more attempts finish so the next claim fetches a batch: claiming
                    // one job per finished job makes the claim query the bottleneck.
                    let gather = tokio::time::sleep(CLAIM_GATHER);
                    tokio::pin!(gather);
                    while total.available_permits() < claim_batch && !tasks.is_empty() {
                        tokio::select! {
                            () = &mut gather => break,
                            _ = tasks.join_next() => {}
                        }
                    }
                }
            }
        }

        // Shutdown: no new claims; give running jobs a grace period, then stop and release them.
        if tokio::time::timeout(shared.config.shutdown_grace, async { while tasks.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            for running in shared.running().values() {
                running.stop(REASON_SHUTDOWN);
            }
            while tasks.join_next().await.is_some() {}
        }
        stop_helpers.cancel();
        let _ = tokio::join!(listener, heartbeat);
        tracing::info!(worker.id = %shared.id, "worker stopped");
    }
}

/// Registers the schedules the registered kinds declare (the cleanup's retention comes from
/// this worker's configuration).
async fn register_schedules(shared: &Shared) {
    let mut specs: Vec<_> = shared.registry.handlers().filter_map(|h| h.schedule()).collect();
    if shared.registry.get(super::cleanup::KIND).is_some() {
        specs.push(super::cleanup::schedule_spec(shared.config.retention_days));
    }
    for spec in specs {
        let registered = match shared.queue.db().get().await {
            Ok(mut conn) => {
                super::schedule::register_schedule(&mut conn, &spec).await.map(drop).map_err(|e| e.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = registered {
            // The next start tries again; nothing else depends on it.
            tracing::warn!(%error, schedule = %spec.name, "cannot register a schedule");
        }
    }
}

async fn reap(shared: &Shared) {
    let reaped = shared.queue.with_conn(async |conn| store::reap_expired_leases(conn).await).await;
    match reaped {
        Ok(rows) => {
            for row in rows {
                tracing::warn!(job.id = row.id, job.kind = %row.kind, "took back a job whose worker stopped renewing its lease");
                shared.queue.publish(&row).await;
            }
        }
        Err(error) => tracing::warn!(%error, "cannot reap expired leases"),
    }
}

async fn run_attempt(
    shared: Arc<Shared>,
    handler: Arc<dyn JobHandler>,
    row: JobRow,
    _slots: [OwnedSemaphorePermit; 2],
) {
    let started = Instant::now();
    // Published before the handler starts, so watchers always see "running" before the end.
    shared.queue.publish(&row).await;
    let token = CancellationToken::new();
    let reason = Arc::new(AtomicU8::new(REASON_NONE));
    shared.running().insert(row.id, Running { token: token.clone(), reason: reason.clone() });
    let reporter = ProgressReporter::new(shared.queue.clone(), row.id, shared.id.clone());
    let ctx = JobContext {
        id: row.id,
        attempt: row.attempts,
        max_attempts: row.max_attempts,
        payload: row.payload.clone(),
        worker: shared.id.to_string(),
        cancel: token,
        progress: reporter.clone(),
    };
    // A task of its own, so a panicking handler fails its attempt instead of the worker; it is
    // aborted if this attempt is dropped (worker killed).
    let handler_for_task = handler.clone();
    let result = AbortOnDropHandle::new(tokio::spawn(async move { handler_for_task.run(ctx).await })).await;
    shared.running().remove(&row.id);

    let outcome = match (AtomicU8::load(&reason, Ordering::SeqCst), result) {
        (REASON_LEASE_LOST, _) => {
            tracing::warn!(job.id = row.id, "lost the lease while running: the result is dropped");
            return;
        }
        (_, Ok(Ok(value))) => Outcome::Succeeded(value),
        (REASON_CANCEL_REQUESTED, _) => Outcome::Cancelled,
        (REASON_SHUTDOWN, _) => Outcome::Released,
        (_, Ok(Err(JobError::Cancelled))) => Outcome::Cancelled,
        (_, Ok(Err(JobError::Permanent(error)))) => Outcome::Failed { error, retry_at: None },
        (_, Ok(Err(JobError::Retryable(error)))) => failure(&*handler, &row, error),
        (_, Err(join_error)) => failure(&*handler, &row, format!("the handler panicked: {join_error}")),
    };
    let label = match &outcome {
        Outcome::Succeeded(_) => "succeeded",
        Outcome::Failed { retry_at: Some(_), .. } => "retrying",
        Outcome::Failed { retry_at: None, .. } => "dead",
        Outcome::Cancelled => "cancelled",
        Outcome::Released => "released",
    };
    if let Outcome::Failed { error, .. } = &outcome {
        tracing::warn!(job.id = row.id, job.kind = %row.kind, job.attempt = row.attempts, %error, outcome = label, "job attempt failed");
    }
    let finished = shared
        .completer
        .finish(Finish { id: row.id, attempt: row.attempts, outcome, progress: reporter.latest() })
        .await;
    match finished {
        Ok(Some(_)) => {}
        Ok(None) => tracing::warn!(job.id = row.id, "the job was taken back before its outcome was saved"),
        // The lease will expire and another attempt will run: handlers are idempotent.
        Err(error) => tracing::error!(job.id = row.id, %error, "cannot save the outcome of a job"),
    }
    shared.metrics.record_job_attempt(&row.kind, label, started.elapsed());
}

/// Longest wait between two attempts of a job.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

fn failure(handler: &dyn JobHandler, row: &JobRow, error: String) -> Outcome {
    if row.attempts >= row.max_attempts {
        Outcome::Failed { error, retry_at: None }
    } else {
        let attempts = u32::try_from(row.attempts).unwrap_or(0);
        let delay = Backoff::new(handler.retry_base(), MAX_RETRY_DELAY).delay(attempts);
        let retry_at =
            Utc::now() + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(600));
        Outcome::Failed { error, retry_at: Some(retry_at) }
    }
}

/// Renews the leases of running jobs every third of the lease; stops jobs that were cancelled
/// or taken back.
async fn renew_leases(shared: Arc<Shared>, stop: CancellationToken) {
    let every = (shared.config.lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let ids: Vec<i64> = shared.running().keys().copied().collect();
        if ids.is_empty() {
            continue;
        }
        let renewed = shared
            .queue
            .with_conn(async |conn| store::renew_leases(conn, &shared.id, &ids, shared.config.lease).await)
            .await;
        let renewed = match renewed {
            Ok(renewed) => renewed,
            // Transient: the next round retries well before the lease ends.
            Err(error) => {
                tracing::warn!(%error, "cannot renew job leases");
                continue;
            }
        };
        let running = shared.running();
        for id in &ids {
            let Some(job) = running.get(id) else { continue };
            match renewed.iter().find(|r| r.id == *id) {
                Some(r) if r.cancel_requested => job.stop(REASON_CANCEL_REQUESTED),
                Some(_) => {}
                None => job.stop(REASON_LEASE_LOST),
            }
        }
    }
}
