//! The publishing transaction's statements: the served snapshot, fresh ids, bulk writes of
//! records and keys (`unnest` of arrays, [`super::CHUNK`] rows per statement), and the cache
//! outbox.

use diesel::{
    prelude::*,
    sql_query,
    sql_types::{Array, BigInt, Bytea, Integer, Nullable, SmallInt, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::CHUNK;
use crate::services::mapping::snapshot::{Key, Served};

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
