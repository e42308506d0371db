//! AdminService: server info and API keys.
//!
//! - `grpc.rs` — the tonic service: converts requests, delegates, converts answers.
//! - `keys.rs` — creating keys (also used by `medley keys create`).
//! - `jobs.rs` — the job and schedule RPCs; `watch.rs` — the `WatchJobs` stream.
//! - `store.rs` — SQL on `api_keys`.
//! - `model.rs` — row and insert types.
//! - `convert.rs` — request validation and proto conversions.
//! - `error.rs` — [`AdminError`] and its mapping to statuses.

pub mod convert;
pub mod error;
pub mod grpc;
pub mod jobs;
pub mod keys;
pub mod model;
pub mod store;
pub mod watch;

pub use error::AdminError;
pub use grpc::AdminApi;
