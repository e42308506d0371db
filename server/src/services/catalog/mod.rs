//! CatalogService: the anime catalog, its idempotent imports and the Kodik + Shikimori
//! importer (replaces the reference backend's internal import API and its parser service;
//! reference/kodik-shikimori.md). IPTV playlists join later.
//!
//! - [`grpc`] — the RPCs (convert and delegate); [`batch`] — the `ImportBatch` stream.
//! - [`convert`] — validation of imports, rows to proto; [`model`] — inputs, outcomes, rows.
//! - [`import`] — the one import path (bulk upserts of a chunk of items) used by every RPC and
//!   by the importer.
//! - [`service`] — reads and admin edits; [`store`] — SQL; [`error`] — [`CatalogError`].
//! - [`importer`] — Kodik and Shikimori clients, runs as resumable jobs.

pub mod batch;
pub mod convert;
pub mod error;
pub mod grpc;
pub mod import;
pub mod importer;
pub mod model;
pub mod service;
pub mod store;

pub use error::CatalogError;
pub use grpc::CatalogApi;
