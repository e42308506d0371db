//! MappingService: cross-platform anime ids (replaces IDS.moe; reference/mapping.md).
//!
//! - [`platform`] — every platform: names, aliases, id shapes, URL templates, merge role.
//! - [`sources`] — the source formats (AOD, Fribb, AnimeAPI, ARM) and fetching them.
//! - [`merge`] — union-find merge with conflict detection and title matching (the rules).
//! - [`snapshot`] — stable internal ids, lookup keys, content hashes, the diff with what is
//!   served.
//! - [`pipeline`] — a run end to end; [`runs`] — runs as jobs, `RunPipeline`,
//!   `WatchPipelineRun`.
//! - [`cache`] — the lookup path: in-process, Redis two-tier, PostgreSQL.
//! - [`lookup`] — read operations shared by [`grpc`] and the REST routes in [`rest`].
//! - [`overrides`] — manual corrections; [`store`] — SQL; [`convert`] — validation and proto
//!   conversions; [`error`] — [`MappingError`].

pub mod cache;
pub mod convert;
pub mod error;
pub mod grpc;
pub mod lookup;
pub mod merge;
pub mod overrides;
pub mod pipeline;
pub mod platform;
pub mod rest;
pub mod runs;
pub mod snapshot;
pub mod sources;
pub mod store;

pub use error::MappingError;
pub use grpc::MappingApi;
