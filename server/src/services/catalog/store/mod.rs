//! The SQL of CatalogService. Functions take the connection first and return
//! `diesel::QueryResult`; callers own transactions.
//!
//! - [`imports`] — bulk upserts of anime, episodes and players (statements in `sql/`).
//! - [`reads`] — gets, filtered lists with cursors, admin edits.
//! - [`runs`] — the importer's runs, watermark and release hashes.

pub mod imports;
pub mod reads;
pub mod runs;
