//! Durable jobs: a queue in PostgreSQL that every long operation runs on.
//!
//! - [`queue::JobQueue`] — enqueue, cancel, retry, get; every change is published to watchers.
//! - [`worker::Worker`] — claims with `FOR UPDATE SKIP LOCKED`, leases, retries with backoff,
//!   dead after `max_attempts`, LISTEN/NOTIFY wake-ups with polling as fallback.
//! - [`schedule`] — cron schedules stored in the database, each tick fired once across
//!   instances.
//! - [`handler`] — the [`handler::JobHandler`] trait kinds implement (idempotent by contract)
//!   and the registry; [`canary`] is the kind ops use to check workers end to end; [`cleanup`]
//!   deletes finished jobs past their retention, daily.
//! - [`completer`] — records attempts that end together with one statement.
//! - [`store`] — the SQL of jobs; [`schedule_store`] — the SQL of schedules; [`model`] — rows; [`event`] — the change event; [`reporter`] —
//!   coalesced progress reports.

pub mod canary;
pub mod cleanup;
pub mod completer;
pub mod event;
pub mod handler;
mod listener;
pub mod model;
pub mod queue;
pub mod reporter;
pub mod schedule;
pub mod schedule_store;
pub mod store;
pub mod worker;

pub use handler::{JobContext, JobError, JobHandler, Registry};
pub use model::{JobRow, JobState, NewJob};
pub use queue::JobQueue;

/// The handlers every Medley process runs over `db`.
pub fn default_registry(db: &crate::db::DbPool) -> Registry {
    Registry::new().register(canary::CanaryHandler).register(cleanup::CleanupHandler { db: db.clone() })
}
