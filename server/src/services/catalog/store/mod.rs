//! The SQL of CatalogService. Functions take the connection first and return
//! `diesel::QueryResult`; callers own transactions.
//!
//! - [`imports`] — bulk upserts of anime, episodes and players (statements in `sql/`).
//! - [`reads`] — gets, filtered lists with cursors, admin edits.
//! - [`runs`] — the importer's runs, watermark and release hashes.
//! - [`playlists`] — Xtream playlists (accounts, schedule, counts).
//! - [`playlist_items`] — a playlist's categories and items as syncs write them.
//! - [`playlist_browse`] — filtered, searched, sorted item pages and facets.
//! - [`playlist_favorites`] — favorites per API key.
//! - [`playlist_syncs`] — sync runs' section reports; episodes GetSeries fetched.

pub mod imports;
pub mod playlist_browse;
pub mod playlist_favorites;
pub mod playlist_items;
pub mod playlist_syncs;
pub mod playlists;
pub mod reads;
pub mod runs;
