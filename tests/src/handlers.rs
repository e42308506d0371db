//! Job handlers for tests: they record what ran, fail, panic or wait on demand.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use medley_server::jobs::{JobContext, JobError, JobHandler, Registry};
use serde_json::{Value, json};

/// Kind of [`Counting`] jobs.
pub const COUNTING: &str = "test-counting";
/// Kind of [`Flaky`] jobs.
pub const FLAKY: &str = "test-flaky";
/// Kind of [`Waiting`] jobs.
pub const WAITING: &str = "test-waiting";

/// Counts attempts per job id, across every worker of a test.
#[derive(Clone, Default)]
pub struct Recorder {
    runs: Arc<Mutex<HashMap<i64, u32>>>,
}

impl Recorder {
    fn record(&self, id: i64) {
        *self.runs.lock().expect("recorder").entry(id).or_default() += 1;
    }

    /// Returns the attempts started per job.
    pub fn runs(&self) -> HashMap<i64, u32> {
        self.runs.lock().expect("recorder").clone()
    }
}

/// Records the attempt and succeeds at once.
pub struct Counting {
    /// Where attempts are counted.
    pub recorder: Recorder,
    /// Attempts run at once per worker.
    pub concurrency: usize,
}

#[tonic::async_trait]
impl JobHandler for Counting {
    fn kind(&self) -> &'static str {
        COUNTING
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        self.recorder.record(ctx.id);
        Ok(json!({ "id": ctx.id, "worker": ctx.worker }))
    }
}

/// Fails its first `payload.fail` attempts: retryably, permanently (`payload.permanent`) or by
/// panicking (`payload.panic`); retries after ~50 ms.
pub struct Flaky;

#[tonic::async_trait]
impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        FLAKY
    }

    fn retry_base(&self) -> Duration {
        Duration::from_millis(50)
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let fail = ctx.payload["fail"].as_i64().unwrap_or(0);
        if i64::from(ctx.attempt) <= fail {
            if ctx.payload["panic"].as_bool() == Some(true) {
                panic!("flaky handler panics on attempt {}", ctx.attempt);
            }
            let message = format!("flaky failure on attempt {}", ctx.attempt);
            return Err(if ctx.payload["permanent"].as_bool() == Some(true) {
                JobError::Permanent(message)
            } else {
                JobError::Retryable(message)
            });
        }
        Ok(json!({ "attempt": ctx.attempt }))
    }
}

/// First attempt: reports progress, then waits until cancelled. Later attempts succeed at once.
pub struct Waiting {
    /// Where attempts are counted.
    pub recorder: Recorder,
}

#[tonic::async_trait]
impl JobHandler for Waiting {
    fn kind(&self) -> &'static str {
        WAITING
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        self.recorder.record(ctx.id);
        if ctx.attempt > 1 {
            return Ok(json!({ "attempt": ctx.attempt }));
        }
        ctx.report(1, 2, "steps", "waiting for cancellation").await;
        ctx.cancelled().await;
        Err(JobError::Cancelled)
    }
}

/// Every test handler, sharing `recorder`.
pub fn test_registry(recorder: &Recorder) -> Registry {
    Registry::new()
        .register(Counting { recorder: recorder.clone(), concurrency: 8 })
        .register(Flaky)
        .register(Waiting { recorder: recorder.clone() })
}
