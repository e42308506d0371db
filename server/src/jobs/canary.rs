//! The `canary` job: proves workers run jobs end to end (claim, progress, retry, finish). Ops
//! enqueue it with `medley jobs canary` or `EnqueueCanaryJob`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::handler::{JobContext, JobError, JobHandler};

/// Kind name.
pub const KIND: &str = "canary";

/// The canary's input.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct CanaryPayload {
    /// How long to work, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Attempts that fail on purpose before one succeeds.
    #[serde(default)]
    pub fail_attempts: u32,
}

/// Runs canaries.
pub struct CanaryHandler;

/// Steps a canary reports progress over.
const STEPS: u64 = 10;

#[tonic::async_trait]
impl JobHandler for CanaryHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn retry_base(&self) -> Duration {
        Duration::from_secs(1)
    }

    async fn run(&self, ctx: JobContext) -> Result<Value, JobError> {
        let payload: CanaryPayload = serde_json::from_value(ctx.payload.clone())
            .map_err(|e| JobError::Permanent(format!("bad canary payload: {e}")))?;
        if i64::from(ctx.attempt) <= i64::from(payload.fail_attempts) {
            return Err(JobError::Retryable(format!("canary fails attempt {} on purpose", ctx.attempt)));
        }
        let step = Duration::from_millis(payload.duration_ms / STEPS);
        for done in 0..STEPS {
            ctx.report(done, STEPS, "steps", "singing").await;
            tokio::select! {
                () = ctx.cancelled() => return Err(JobError::Cancelled),
                () = tokio::time::sleep(step) => {}
            }
        }
        ctx.report(STEPS, STEPS, "steps", "done").await;
        Ok(json!({ "worker": ctx.worker, "attempt": ctx.attempt }))
    }
}
