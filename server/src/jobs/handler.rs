//! What a job kind implements, what it is given while running, and the registry of kinds.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::reporter::ProgressReporter;

/// How an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying (an upstream timeout, a 5xx): retried after a backoff until the attempt
    /// budget is spent.
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help (bad payload, a 404): the job is dead at once.
    #[error("{0}")]
    Permanent(String),
    /// The handler stopped because cancellation was asked.
    #[error("cancelled")]
    Cancelled,
}

/// A kind of job. Handlers must be idempotent: an attempt may run again after a crash, and a
/// retried job runs from the start.
#[tonic::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The kind this handler runs, e.g. `"canary"`.
    fn kind(&self) -> &'static str;

    /// Attempts of this kind one worker process runs at once.
    fn concurrency(&self) -> usize {
        4
    }

    /// Delay before the first retry; later retries double it.
    fn retry_base(&self) -> Duration {
        Duration::from_secs(5)
    }

    /// The recurring schedule of this kind, registered by every worker that runs it.
    fn schedule(&self) -> Option<super::schedule::ScheduleSpec> {
        None
    }

    /// Runs one attempt and returns the job's result.
    async fn run(&self, ctx: JobContext) -> Result<Value, JobError>;
}

/// What a running attempt knows and can do.
pub struct JobContext {
    /// Job id.
    pub id: i64,
    /// Attempt number, from 1.
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The job's input.
    pub payload: Value,
    /// Id of the worker running it.
    pub worker: String,
    pub(super) cancel: CancellationToken,
    pub(super) progress: ProgressReporter,
}

impl JobContext {
    /// Returns whether cancellation was asked (or the worker lost the job): stop soon and
    /// return [`JobError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when cancellation is asked, for `select!` around long awaits.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Reports progress. Cheap to call often: updates are coalesced to a few per second.
    pub async fn report(&self, done: u64, total: u64, unit: &str, message: &str) {
        self.progress.report(done, total, unit, message).await;
    }
}

/// The handlers a worker runs, by kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler (a later one of the same kind replaces the earlier).
    pub fn register(mut self, handler: impl JobHandler) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// Adds every handler of `other` (a later one of the same kind replaces the earlier).
    pub fn merge(mut self, other: Registry) -> Self {
        self.handlers.extend(other.handlers);
        self
    }

    /// Returns the handler of `kind`.
    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }

    /// Returns every handler.
    pub fn handlers(&self) -> impl Iterator<Item = &Arc<dyn JobHandler>> {
        self.handlers.values()
    }

    /// Returns whether no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }
}
