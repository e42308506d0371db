//! The importer's state: runs with their counters and cursor, the watermark per source, and the
//! hash of every release as last imported.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::db::schema::{catalog_import_releases, catalog_import_runs, catalog_import_state};

/// An import run as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = catalog_import_runs, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct RunRow {
    /// The run's job id.
    pub job_id: i64,
    /// Upstream catalog.
    pub source: String,
    /// `ImportMode` number.
    pub mode: i16,
    /// Page limit (0 = none).
    pub max_pages: i32,
    /// Cursor of the next page.
    pub cursor: Option<String>,
    /// Watermark this run stops at.
    pub since: Option<DateTime<Utc>>,
    /// Newest update seen.
    pub high_water: Option<DateTime<Utc>>,
    /// Whether the listing has ended (last page or watermark reached).
    pub listing_done: bool,
    /// Pages imported.
    pub pages: i32,
    /// Releases read.
    pub releases_seen: i32,
    /// Titles met.
    pub anime_seen: i32,
    /// Titles created or updated.
    pub imported: i32,
    /// Titles unchanged.
    pub unchanged: i32,
    /// Titles or releases skipped.
    pub skipped: i32,
    /// Titles failed.
    pub failed: i32,
    /// Upstream requests.
    pub requests: i32,
    /// Upstream retries.
    pub retries: i32,
    /// Latest failures: `[{"source_id", "reason"}]`.
    pub failures: Value,
    /// Start of the first attempt.
    pub started_at: DateTime<Utc>,
    /// Last save.
    pub updated_at: DateTime<Utc>,
}

/// Creates the run's row unless it exists (a resumed attempt), and returns it.
pub async fn ensure_run(conn: &mut AsyncPgConnection, new: &RunRow) -> QueryResult<RunRow> {
    diesel::insert_into(catalog_import_runs::table).values(new).on_conflict_do_nothing().execute(conn).await?;
    catalog_import_runs::table.find(new.job_id).select(RunRow::as_select()).first(conn).await
}

/// Saves the run's counters and position.
pub async fn save_run(conn: &mut AsyncPgConnection, run: &RunRow) -> QueryResult<()> {
    diesel::update(catalog_import_runs::table.find(run.job_id)).set(run).execute(conn).await.map(drop)
}

/// Finds the rows of these runs.
pub async fn find_runs(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<RunRow>> {
    catalog_import_runs::table
        .filter(catalog_import_runs::job_id.eq_any(ids))
        .select(RunRow::as_select())
        .load(conn)
        .await
}

/// Returns the watermark of `source`.
pub async fn watermark(conn: &mut AsyncPgConnection, source: &str) -> QueryResult<Option<DateTime<Utc>>> {
    catalog_import_state::table
        .find(source)
        .select(catalog_import_state::watermark)
        .first(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// Moves the watermark of `source` forward to `at` (never back).
pub async fn advance_watermark(conn: &mut AsyncPgConnection, source: &str, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO catalog_import_state (source, watermark) VALUES ($1, $2) \
         ON CONFLICT (source) DO UPDATE SET watermark = GREATEST(catalog_import_state.watermark, EXCLUDED.watermark), \
         updated_at = now()",
    )
    .bind::<diesel::sql_types::Text, _>(source)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .execute(conn)
    .await
    .map(drop)
}

/// Returns the stored hash of each of `release_ids` that has one.
pub async fn release_hashes(
    conn: &mut AsyncPgConnection,
    source: &str,
    release_ids: &[String],
) -> QueryResult<HashMap<String, Vec<u8>>> {
    let rows: Vec<(String, Vec<u8>)> = catalog_import_releases::table
        .filter(catalog_import_releases::source.eq(source))
        .filter(catalog_import_releases::release_id.eq_any(release_ids))
        .select((catalog_import_releases::release_id, catalog_import_releases::content_hash))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

#[derive(Insertable)]
#[diesel(table_name = catalog_import_releases)]
struct NewRelease<'a> {
    source: &'a str,
    release_id: &'a str,
    content_hash: &'a [u8],
}

/// Records the hashes of imported releases.
pub async fn save_release_hashes(
    conn: &mut AsyncPgConnection,
    source: &str,
    releases: &[(String, Vec<u8>)],
) -> QueryResult<()> {
    if releases.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewRelease<'_>> =
        releases.iter().map(|(id, hash)| NewRelease { source, release_id: id, content_hash: hash }).collect();
    diesel::insert_into(catalog_import_releases::table)
        .values(&rows)
        .on_conflict((catalog_import_releases::source, catalog_import_releases::release_id))
        .do_update()
        .set((
            catalog_import_releases::content_hash.eq(excluded(catalog_import_releases::content_hash)),
            catalog_import_releases::imported_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}
