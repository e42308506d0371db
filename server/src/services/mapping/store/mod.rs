//! SQL of the mapping tables. Functions take the connection first and return
//! `diesel::QueryResult`; callers own transactions. Bulk writes go through `unnest` of arrays,
//! one statement per chunk, so a first run of ~35,000 records and ~300,000 keys is a few dozen
//! statements; the longer statements are in `sql/`.
//!
//! - [`publish`] — what a pipeline run writes, in one transaction, and the cache outbox.
//! - [`sources`] — source rows and the state of the served data.
//! - [`reads`] — lookups, bodies, export pages, search.
//! - [`overrides`] — manual corrections.

pub mod overrides;
pub mod publish;
pub mod reads;
pub mod sources;

pub use overrides::*;
pub use publish::*;
pub use reads::*;
pub use sources::*;

/// Rows per bulk statement.
const CHUNK: usize = 5000;
