//! `medley jobs canary`: enqueue a canary job and (by default) wait for a worker to run it.

use std::time::{Duration, Instant};

use clap::Subcommand;

use crate::{
    config::Config,
    jobs::{JobState, NewJob, canary},
    platform::{DatabaseSetup, Platform},
};

#[derive(Debug, Subcommand)]
pub(super) enum JobsCommand {
    /// Enqueue a canary job and wait until a worker has run it (exit status 1 if it does not
    /// succeed in time).
    Canary {
        /// How long the canary works, in milliseconds.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=60_000))]
        duration_ms: u64,
        /// Attempts that fail on purpose first (exercises retries; below 5 to succeed).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10))]
        fail_attempts: u32,
        /// Return right after enqueueing.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for the outcome.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
}

pub(super) async fn run(config: Config, command: JobsCommand) -> anyhow::Result<()> {
    let JobsCommand::Canary { duration_ms, fail_attempts, no_wait, timeout_secs } = command;
    let state = Platform::connect(config, DatabaseSetup::Existing).await?;
    let payload = canary::CanaryPayload { duration_ms, fail_attempts };
    let (job, _) = state.jobs.enqueue(&NewJob::new(canary::KIND, serde_json::to_value(payload)?)).await?;
    println!("enqueued canary job {}", job.id);
    if no_wait {
        state.shutdown.cancel();
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let mut last_state = job.state();
    let outcome = loop {
        let row = state.jobs.get(job.id).await?.ok_or_else(|| anyhow::anyhow!("job {} vanished", job.id))?;
        if row.state() != last_state {
            println!("job {}: {} (attempt {}/{})", row.id, row.state().as_str(), row.attempts, row.max_attempts);
            last_state = row.state();
        }
        if row.state().is_terminal() {
            break row;
        }
        if Instant::now() > deadline {
            state.shutdown.cancel();
            anyhow::bail!(
                "job {} is still {} after {timeout_secs} s: is a worker running (MEDLEY_WORKERS > 0 in `medley serve`, or `medley worker`)?",
                row.id,
                row.state().as_str()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    state.shutdown.cancel();
    match outcome.state() {
        JobState::Succeeded => {
            println!("canary succeeded: {}", outcome.result.map(|r| r.to_string()).unwrap_or_default());
            Ok(())
        }
        other => anyhow::bail!("canary ended {}: {}", other.as_str(), outcome.last_error.unwrap_or_default()),
    }
}
