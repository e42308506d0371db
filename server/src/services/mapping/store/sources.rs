//! Source rows (validators, hashes, bodies) and the state of the served data.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{mapping_sources, mapping_state};

/// A source row.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone)]
#[diesel(table_name = mapping_sources)]
pub struct SourceRow {
    /// Kind name.
    pub kind: String,
    /// URL or path.
    pub location: String,
    /// ETag.
    pub etag: Option<String>,
    /// Last-Modified.
    pub last_modified: Option<String>,
    /// SHA-256 hex of the body.
    pub sha256: String,
    /// Records read.
    pub records: i64,
    /// Stored copy of a URL's body.
    pub body: Option<Vec<u8>>,
    /// Last check.
    pub checked_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// Returns the stored source rows, without bodies.
pub async fn list_sources(conn: &mut AsyncPgConnection) -> QueryResult<Vec<SourceRow>> {
    use mapping_sources::dsl as s;
    type Columns = (String, String, Option<String>, Option<String>, String, i64, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Columns> = s::mapping_sources
        .select((s::kind, s::location, s::etag, s::last_modified, s::sha256, s::records, s::checked_at, s::changed_at))
        .order((s::kind, s::location))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, location, etag, last_modified, sha256, records, checked_at, changed_at)| SourceRow {
            kind,
            location,
            etag,
            last_modified,
            sha256,
            records,
            body: None,
            checked_at,
            changed_at,
        })
        .collect())
}

/// Returns one stored source with its body.
pub async fn find_source(conn: &mut AsyncPgConnection, kind: &str, location: &str) -> QueryResult<Option<SourceRow>> {
    use mapping_sources::dsl as s;
    s::mapping_sources
        .filter(s::kind.eq(kind).and(s::location.eq(location)))
        .select(SourceRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores what a successful run read from its sources, and forgets sources no longer
/// configured.
pub async fn save_sources(conn: &mut AsyncPgConnection, rows: &[SourceRow]) -> QueryResult<()> {
    use mapping_sources::dsl as s;
    diesel::delete(s::mapping_sources).execute(conn).await?;
    for row in rows {
        diesel::insert_into(s::mapping_sources).values(row).execute(conn).await?;
    }
    Ok(())
}

/// The state row.
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = mapping_state)]
pub struct StateRow {
    /// Hash of the inputs of the served data.
    pub inputs_sha256: String,
    /// `[[platform, records], ...]`.
    pub counts: serde_json::Value,
    /// Records served.
    pub total_records: i64,
    /// Run that last published.
    pub last_run_id: Option<i64>,
    /// When the served data last changed.
    pub data_updated_at: DateTime<Utc>,
}

/// Returns the state row, if a run ever published.
pub async fn state(conn: &mut AsyncPgConnection) -> QueryResult<Option<StateRow>> {
    mapping_state::table.select(StateRow::as_select()).first(conn).await.optional()
}

/// Saves the state after a run; `data_changed` moves the data update time.
pub async fn save_state(
    conn: &mut AsyncPgConnection,
    inputs_sha256: &str,
    counts: &serde_json::Value,
    total: i64,
    run_id: Option<i64>,
    data_changed: bool,
) -> QueryResult<()> {
    sql_query(
        "INSERT INTO mapping_state (singleton, inputs_sha256, counts, total_records, last_run_id) \
         VALUES (TRUE, $1, $2, $3, $4) ON CONFLICT (singleton) DO UPDATE SET inputs_sha256 = excluded.inputs_sha256, \
         counts = excluded.counts, total_records = excluded.total_records, last_run_id = excluded.last_run_id, \
         data_updated_at = CASE WHEN $5 THEN now() ELSE mapping_state.data_updated_at END",
    )
    .bind::<Text, _>(inputs_sha256)
    .bind::<diesel::sql_types::Jsonb, _>(counts)
    .bind::<BigInt, _>(total)
    .bind::<Nullable<BigInt>, _>(run_id)
    .bind::<diesel::sql_types::Bool, _>(data_changed)
    .execute(conn)
    .await
    .map(drop)
}
