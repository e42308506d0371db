//! Rows of `jobs` and `job_schedules`, and the job states.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::db::schema::{job_schedules, jobs};

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Held by a worker.
    Running,
    /// Failed; waiting for its backoff to end.
    Retrying,
    /// Done. Terminal.
    Succeeded,
    /// Failed every attempt, or failed permanently. Terminal until retried by an admin.
    Dead,
    /// Cancelled. Terminal until retried by an admin.
    Cancelled,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Retrying,
        JobState::Succeeded,
        JobState::Dead,
        JobState::Cancelled,
    ];

    /// Returns the name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == value)
    }

    /// Returns whether the job will not change again on its own.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Dead | Self::Cancelled)
    }
}

/// One job as stored.
#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobRow {
    /// Id.
    pub id: i64,
    /// Handler kind.
    pub kind: String,
    /// Input.
    pub payload: Value,
    /// State name (see [`JobRow::state`]).
    pub state: String,
    /// Higher runs first.
    pub priority: i16,
    /// Eligible from.
    pub run_at: DateTime<Utc>,
    /// Attempts started.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Deduplication key.
    pub dedupe_key: Option<String>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// Worker holding the job.
    pub locked_by: Option<String>,
    /// End of the holder's lease.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Whether cancellation was asked while running.
    pub cancel_requested: bool,
    /// Latest progress ([`crate::jobs::JobProgress`] as JSON).
    pub progress: Option<Value>,
    /// Output.
    pub result: Option<Value>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Start of the current or last attempt.
    pub started_at: Option<DateTime<Utc>>,
    /// Reached a terminal state at.
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    /// Returns the state; an unknown name (written by a newer server) reads as queued.
    pub fn state(&self) -> JobState {
        JobState::parse(&self.state).unwrap_or(JobState::Queued)
    }
}

/// A job to insert.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    /// Handler kind.
    pub kind: String,
    /// Input.
    pub payload: Value,
    /// Higher runs first.
    pub priority: i16,
    /// Eligible from.
    pub run_at: DateTime<Utc>,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Deduplication key: while a job with the same kind and key is queued, running or
    /// retrying, enqueueing returns that job instead.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload`, runnable now, priority 0, 5 attempts, no dedupe key.
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        Self { kind: kind.into(), payload, priority: 0, run_at: Utc::now(), max_attempts: 5, dedupe_key: None }
    }

    /// Sets the deduplication key.
    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Sets the priority (higher first).
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the attempt budget.
    pub fn max_attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Delays the job.
    pub fn run_at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = run_at;
        self
    }
}

/// One schedule as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = job_schedules, check_for_backend(diesel::pg::Pg))]
pub struct ScheduleRow {
    /// Unique name.
    pub name: String,
    /// Kind of the jobs it enqueues.
    pub kind: String,
    /// Cron expression.
    pub cron: String,
    /// Payload of its jobs.
    pub payload: Value,
    /// Whether ticks are skipped.
    pub paused: bool,
    /// Next tick.
    pub next_run_at: DateTime<Utc>,
    /// Last tick that fired.
    pub last_run_at: Option<DateTime<Utc>>,
    /// Job of the last tick.
    pub last_job_id: Option<i64>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
