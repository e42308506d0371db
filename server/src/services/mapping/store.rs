//! SQL of the mapping tables. Bulk writes go through `unnest` of arrays, one statement per
//! chunk, so a first run of ~35,000 records and ~300,000 keys is a few dozen statements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{Array, BigInt, Bytea, Float, Integer, Nullable, SmallInt, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::snapshot::{Key, Served};
use crate::db::schema::{mapping_overrides, mapping_sources, mapping_state};

/// Rows per bulk statement.
const CHUNK: usize = 5000;
/// Lock key serialising pipeline writes across processes ("mappings" in ASCII).
const PUBLISH_LOCK: i64 = 0x6d61_7070_696e_6773;

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = SmallInt)]
    platform: i16,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    record_id: i64,
}

#[derive(QueryableByName)]
struct HashRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bytea)]
    content_hash: Vec<u8>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Takes the lock that serialises publishing runs, until the transaction ends.
pub async fn lock_publish(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(PUBLISH_LOCK).execute(conn).await.map(drop)
}

/// Loads every served key and record hash.
pub async fn load_served(conn: &mut AsyncPgConnection) -> QueryResult<Served> {
    let keys: Vec<KeyRow> = sql_query("SELECT platform, key, record_id FROM mapping_keys").load(conn).await?;
    let hashes: Vec<HashRow> = sql_query("SELECT id, content_hash FROM mapping_records").load(conn).await?;
    Ok(Served {
        keys: keys.into_iter().map(|r| ((r.platform, r.key), r.record_id)).collect(),
        hashes: hashes.into_iter().map(|r| (r.id, r.content_hash)).collect(),
    })
}

/// Takes `count` new record ids.
pub async fn allocate_ids(conn: &mut AsyncPgConnection, count: usize) -> QueryResult<Vec<i64>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<IdRow> = sql_query("SELECT nextval('mapping_record_ids') AS id FROM generate_series(1, $1)")
        .bind::<Integer, _>(i32::try_from(count).unwrap_or(i32::MAX))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A record row to write.
pub struct RecordWrite<'a> {
    /// Internal id.
    pub id: i64,
    /// Main title.
    pub title: &'a str,
    /// Media type number.
    pub media_type: i16,
    /// Year.
    pub year: Option<i32>,
    /// Encoded record.
    pub body: Vec<u8>,
    /// Content hash.
    pub hash: &'a [u8],
    /// (title, normalised) for search.
    pub titles: &'a [(String, String)],
}

/// Deletes records and their search titles (their keys are deleted with the run's removed
/// keys).
pub async fn delete_records(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
    for chunk in ids.chunks(CHUNK) {
        sql_query("DELETE FROM mapping_titles WHERE record_id = ANY($1)")
            .bind::<Array<BigInt>, _>(chunk)
            .execute(conn)
            .await?;
        sql_query("DELETE FROM mapping_records WHERE id = ANY($1)")
            .bind::<Array<BigInt>, _>(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Deletes keys.
pub async fn delete_keys(conn: &mut AsyncPgConnection, keys: &[Key]) -> QueryResult<()> {
    for chunk in keys.chunks(CHUNK) {
        let platforms: Vec<i16> = chunk.iter().map(|k| k.0).collect();
        let texts: Vec<&str> = chunk.iter().map(|k| k.1.as_str()).collect();
        sql_query(
            "DELETE FROM mapping_keys k USING unnest($1::smallint[], $2::text[]) AS d(platform, key) \
             WHERE k.platform = d.platform AND k.key = d.key",
        )
        .bind::<Array<SmallInt>, _>(platforms)
        .bind::<Array<Text>, _>(texts)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Inserts or rewrites records and replaces their search titles.
pub async fn upsert_records(conn: &mut AsyncPgConnection, rows: &[RecordWrite<'_>]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|r| r.id).collect();
        sql_query(
            "INSERT INTO mapping_records (id, title, media_type, year, body, content_hash) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::int[], $5::bytea[], $6::bytea[]) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, media_type = excluded.media_type, \
             year = excluded.year, body = excluded.body, content_hash = excluded.content_hash, updated_at = now()",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Array<Text>, _>(chunk.iter().map(|r| r.title).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(chunk.iter().map(|r| r.media_type).collect::<Vec<_>>())
        .bind::<Array<Nullable<Integer>>, _>(chunk.iter().map(|r| r.year).collect::<Vec<_>>())
        .bind::<Array<Bytea>, _>(chunk.iter().map(|r| r.body.as_slice()).collect::<Vec<_>>())
        .bind::<Array<Bytea>, _>(chunk.iter().map(|r| r.hash).collect::<Vec<_>>())
        .execute(conn)
        .await?;
        sql_query("DELETE FROM mapping_titles WHERE record_id = ANY($1)")
            .bind::<Array<BigInt>, _>(&ids)
            .execute(conn)
            .await?;
        let (mut title_ids, mut titles, mut normalized) = (Vec::new(), Vec::new(), Vec::new());
        for row in chunk {
            let mut seen = std::collections::HashSet::new();
            for (title, norm) in row.titles {
                if seen.insert(title.as_str()) {
                    title_ids.push(row.id);
                    titles.push(title.as_str());
                    normalized.push(norm.as_str());
                }
            }
        }
        sql_query(
            "INSERT INTO mapping_titles (record_id, title, normalized) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])",
        )
        .bind::<Array<BigInt>, _>(title_ids)
        .bind::<Array<Text>, _>(titles)
        .bind::<Array<Text>, _>(normalized)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Creates or repoints keys.
pub async fn upsert_keys(conn: &mut AsyncPgConnection, keys: &[(Key, i64)]) -> QueryResult<()> {
    for chunk in keys.chunks(CHUNK * 4) {
        sql_query(
            "INSERT INTO mapping_keys (platform, key, record_id) \
             SELECT * FROM unnest($1::smallint[], $2::text[], $3::bigint[]) \
             ON CONFLICT (platform, key) DO UPDATE SET record_id = excluded.record_id",
        )
        .bind::<Array<SmallInt>, _>(chunk.iter().map(|(k, _)| k.0).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(chunk.iter().map(|(k, _)| k.1.as_str()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(chunk.iter().map(|(_, id)| *id).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Records the cache entries a run made stale (in the run's transaction).
pub async fn push_outbox(conn: &mut AsyncPgConnection, record_ids: &[i64], keys: &[Key]) -> QueryResult<()> {
    if record_ids.is_empty() && keys.is_empty() {
        return Ok(());
    }
    sql_query("INSERT INTO mapping_cache_outbox (record_ids, platforms, keys) VALUES ($1, $2, $3)")
        .bind::<Array<BigInt>, _>(record_ids)
        .bind::<Array<SmallInt>, _>(keys.iter().map(|k| k.0).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(keys.iter().map(|k| k.1.as_str()).collect::<Vec<_>>())
        .execute(conn)
        .await
        .map(drop)
}

/// One outbox entry.
#[derive(Queryable, Debug)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Records whose cached encoding is stale.
    pub record_ids: Vec<Option<i64>>,
    /// Platforms of the stale keys.
    pub platforms: Vec<Option<i16>>,
    /// Texts of the stale keys.
    pub keys: Vec<Option<String>>,
}

/// Returns the pending outbox entries, oldest first.
pub async fn pending_outbox(conn: &mut AsyncPgConnection) -> QueryResult<Vec<OutboxRow>> {
    use crate::db::schema::mapping_cache_outbox::dsl as o;
    o::mapping_cache_outbox.select((o::id, o::record_ids, o::platforms, o::keys)).order(o::id).load(conn).await
}

/// Removes processed outbox entries.
pub async fn delete_outbox(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
    use crate::db::schema::mapping_cache_outbox::dsl as o;
    diesel::delete(o::mapping_cache_outbox.filter(o::id.eq_any(ids))).execute(conn).await.map(drop)
}

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

#[derive(QueryableByName)]
struct BodyRow {
    #[diesel(sql_type = SmallInt)]
    platform: i16,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bytea)]
    body: Vec<u8>,
}

/// Looks up many keys; returns the found ones with their record id and encoding.
pub async fn lookup(conn: &mut AsyncPgConnection, keys: &[Key]) -> QueryResult<HashMap<Key, (i64, Vec<u8>)>> {
    let rows: Vec<BodyRow> = sql_query(
        "SELECT k.platform, k.key, r.id, r.body FROM unnest($1::smallint[], $2::text[]) AS q(platform, key) \
         JOIN mapping_keys k ON k.platform = q.platform AND k.key = q.key JOIN mapping_records r ON r.id = k.record_id",
    )
    .bind::<Array<SmallInt>, _>(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(keys.iter().map(|k| k.1.as_str()).collect::<Vec<_>>())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| ((r.platform, r.key), (r.id, r.body))).collect())
}

#[derive(QueryableByName)]
struct RecordBodyRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bytea)]
    body: Vec<u8>,
}

/// Returns the encodings of records by id.
pub async fn bodies(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<(i64, Vec<u8>)>> {
    let rows: Vec<RecordBodyRow> = sql_query("SELECT id, body FROM mapping_records WHERE id = ANY($1) ORDER BY id")
        .bind::<Array<BigInt>, _>(ids)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.body)).collect())
}

/// One page of an export: records after `after`, optionally only those with a key on
/// `platform`.
pub async fn export_page(
    conn: &mut AsyncPgConnection,
    after: i64,
    platform: Option<i16>,
    limit: i64,
) -> QueryResult<Vec<(i64, Vec<u8>)>> {
    let rows: Vec<RecordBodyRow> = sql_query(
        "SELECT r.id, r.body FROM mapping_records r WHERE r.id > $1 \
         AND ($2::smallint IS NULL OR EXISTS (SELECT 1 FROM mapping_keys k WHERE k.record_id = r.id AND k.platform = $2)) \
         ORDER BY r.id LIMIT $3",
    )
    .bind::<BigInt, _>(after)
    .bind::<Nullable<SmallInt>, _>(platform)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.body)).collect())
}

#[derive(QueryableByName)]
struct SearchRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bytea)]
    body: Vec<u8>,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Float)]
    score: f32,
}

/// Where a search page ended: the last hit's score and record id (hits come best first, then
/// by id).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchCursor {
    /// Similarity of the hit's best title.
    pub score: f32,
    /// Its record.
    pub id: i64,
}

/// One search hit.
#[derive(Debug)]
pub struct SearchHit {
    /// The encoded record.
    pub body: Vec<u8>,
    /// Its best matching title.
    pub title: String,
    /// Its place in the order.
    pub cursor: SearchCursor,
}

/// Records whose titles match `normalized` (trigram word similarity), best first, after
/// `after`.
pub async fn search(
    conn: &mut AsyncPgConnection,
    normalized: &str,
    media_type: Option<i16>,
    year: Option<i32>,
    after: Option<SearchCursor>,
    limit: i64,
) -> QueryResult<Vec<SearchHit>> {
    let rows: Vec<SearchRow> = sql_query(
        "SELECT r.id, r.body, best.title, best.score FROM ( \
           SELECT DISTINCT ON (t.record_id) t.record_id, t.title, \
                  ((word_similarity($1, t.normalized) + similarity($1, t.normalized)) / 2)::real AS score \
           FROM mapping_titles t WHERE $1 <% t.normalized \
           ORDER BY t.record_id, score DESC \
         ) best JOIN mapping_records r ON r.id = best.record_id \
         WHERE ($2::smallint IS NULL OR r.media_type = $2) AND ($3::int IS NULL OR r.year = $3) \
           AND ($5::real IS NULL OR best.score < $5 OR (best.score = $5 AND r.id > $6)) \
         ORDER BY best.score DESC, r.id LIMIT $4",
    )
    .bind::<Text, _>(normalized)
    .bind::<Nullable<SmallInt>, _>(media_type)
    .bind::<Nullable<Integer>, _>(year)
    .bind::<BigInt, _>(limit)
    .bind::<Nullable<Float>, _>(after.map(|a| a.score))
    .bind::<BigInt, _>(after.map_or(0, |a| a.id))
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SearchHit { body: r.body, title: r.title, cursor: SearchCursor { score: r.score, id: r.id } })
        .collect())
}

/// An override row.
#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = mapping_overrides)]
pub struct OverrideRow {
    /// Id.
    pub id: Uuid,
    /// Subject platform number.
    pub subject_platform: i16,
    /// Subject id.
    pub subject_id: String,
    /// The change as JSON.
    pub change: serde_json::Value,
    /// Free text.
    pub note: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last replaced.
    pub updated_at: DateTime<Utc>,
}

/// Creates or replaces an override; putting an identical subject and change returns the
/// existing row.
pub async fn put_override(conn: &mut AsyncPgConnection, row: &OverrideRow) -> QueryResult<OverrideRow> {
    use mapping_overrides::dsl as o;
    let existing = o::mapping_overrides
        .filter(o::subject_platform.eq(row.subject_platform))
        .filter(o::subject_id.eq(&row.subject_id))
        .filter(o::change.eq(&row.change))
        .select(OverrideRow::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(existing) = existing
        && existing.id != row.id
    {
        return Ok(existing);
    }
    diesel::insert_into(o::mapping_overrides)
        .values(row)
        .on_conflict(o::id)
        .do_update()
        .set((
            o::subject_platform.eq(row.subject_platform),
            o::subject_id.eq(&row.subject_id),
            o::change.eq(&row.change),
            o::note.eq(&row.note),
            o::updated_at.eq(row.updated_at),
        ))
        .returning(OverrideRow::as_returning())
        .get_result(conn)
        .await
}

/// Lists overrides after `after` (created time, id), oldest first.
pub async fn list_overrides(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<OverrideRow>> {
    use mapping_overrides::dsl as o;
    let mut query =
        o::mapping_overrides.select(OverrideRow::as_select()).order((o::created_at, o::id)).limit(limit).into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(o::created_at.gt(at).or(o::created_at.eq(at).and(o::id.gt(id))));
    }
    query.load(conn).await
}

/// Deletes an override; returns whether it existed.
pub async fn delete_override(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    use mapping_overrides::dsl as o;
    diesel::delete(o::mapping_overrides.find(id)).execute(conn).await.map(|n| n > 0)
}
