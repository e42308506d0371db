//! The run kit: what every long-running operation (an import, a pipeline run, a playlist sync, a
//! download, a sample, an upload batch) shares. A run is a job (so it is durable, retried,
//! leased and cancellable) plus whatever the service stores about it; its watchers learn of it
//! through typed events on the hub.
//!
//! - [`RunProgress`] — the event a run publishes when its counters move (its topic says whose).
//! - [`RunKind`] — find, list and cancel the runs of one kind (`List…Runs`, `Cancel…`), with
//!   the same codes for every service.
//! - [`follow`] — a CLI command following a run to its end (Ctrl-C cancels it).
//! - [`watch`] — the one `Watch…` loop: a snapshot, state changes at once, progress coalesced,
//!   a fresh read after a lag or a Redis reconnect, the end at a terminal state, UNAVAILABLE
//!   when the server shuts down.

pub mod follow;
pub mod ops;
pub mod watch;

pub use ops::{RunKind, RunOpError};
pub use watch::{Change, WatchedRun, watch};

/// "Run `run_id` made progress": published by a run on its service's topic (the state changes
/// go out on [`crate::redis::keys::Topic::Jobs`] with the job).
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct RunProgress {
    /// The run's id (its job's id).
    #[prost(int64, tag = "1")]
    pub run_id: i64,
}
