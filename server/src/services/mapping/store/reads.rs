//! Reads of the served data: lookups by key, bodies by id, export pages, title search.

use std::collections::HashMap;

use diesel::{
    prelude::*,
    sql_query,
    sql_types::{Array, BigInt, Bytea, Float, Integer, Nullable, SmallInt, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::services::mapping::snapshot::Key;

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
        include_str!("sql/export_page.sql"),
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
        include_str!("sql/search.sql"),
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
