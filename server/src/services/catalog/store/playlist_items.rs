//! A playlist's synced catalog: categories and items, written by syncs as diffs (only new and
//! changed rows are written, gone rows deleted), read by the browse RPCs.

use std::collections::HashMap;

use diesel::{
    QueryableByName,
    prelude::*,
    sql_types::{Jsonb, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::{playlist_categories, playlist_favorites, playlist_items};

/// Rows per upsert statement.
const CHUNK: usize = 2_000;

/// A category as stored.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = playlist_categories, check_for_backend(diesel::pg::Pg))]
pub struct CategoryRow {
    /// Playlist.
    pub playlist_id: i64,
    /// `PlaylistItemKind` number.
    pub kind: i16,
    /// Panel id.
    pub category_id: String,
    /// Name.
    pub name: String,
    /// Parent id.
    pub parent_id: Option<String>,
    /// Panel order.
    pub position: i32,
}

/// An item as written by a sync (JSON for `jsonb_to_recordset`).
#[derive(Clone, Debug, Serialize)]
pub struct NewItem {
    /// Playlist.
    pub playlist_id: i64,
    /// `PlaylistItemKind` number.
    pub kind: i16,
    /// Panel id.
    pub item_id: String,
    /// Name.
    pub name: String,
    /// Original title.
    pub original_title: Option<String>,
    /// Categories.
    pub category_ids: Vec<String>,
    /// Icon URL.
    pub icon: Option<String>,
    /// Film container.
    pub container_extension: Option<String>,
    /// Rating (0 unknown).
    pub rating: f32,
    /// Year (0 unknown).
    pub year: i32,
    /// Added, Unix seconds (0 unknown).
    pub added: i64,
    /// Genres.
    pub genres: Vec<String>,
    /// Actors.
    pub actors: Vec<String>,
    /// Director.
    pub director: Option<String>,
    /// Plot.
    pub plot: Option<String>,
    /// EPG id.
    pub epg_channel_id: Option<String>,
    /// Catch-up.
    pub tv_archive: bool,
    /// Folded name for sorting.
    pub sort_name: String,
    /// Folded name and original title for search.
    pub search_text: String,
    /// Folded genres.
    pub genre_keys: Vec<String>,
    /// Folded actors.
    pub actor_keys: Vec<String>,
    /// Hex SHA-256 of the content.
    pub content_hash: String,
}

/// An item as read.
#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = playlist_items, check_for_backend(diesel::pg::Pg))]
pub struct ItemRow {
    /// Playlist.
    pub playlist_id: i64,
    /// `PlaylistItemKind` number.
    pub kind: i16,
    /// Panel id.
    pub item_id: String,
    /// Name.
    pub name: String,
    /// Original title.
    pub original_title: Option<String>,
    /// Categories.
    pub category_ids: Vec<Option<String>>,
    /// Icon URL.
    pub icon: Option<String>,
    /// Film container.
    pub container_extension: Option<String>,
    /// Rating (0 unknown).
    pub rating: f32,
    /// Year (0 unknown).
    pub year: i32,
    /// Added (0 unknown).
    pub added: i64,
    /// Genres.
    pub genres: Vec<Option<String>>,
    /// Actors.
    pub actors: Vec<Option<String>>,
    /// Director.
    pub director: Option<String>,
    /// Plot.
    pub plot: Option<String>,
    /// EPG id.
    pub epg_channel_id: Option<String>,
    /// Catch-up.
    pub tv_archive: bool,
    /// Folded name.
    pub sort_name: String,
}

/// The stored content hash of every item of one kind.
pub async fn hashes(conn: &mut AsyncPgConnection, playlist: i64, kind: i16) -> QueryResult<HashMap<String, Vec<u8>>> {
    let rows: Vec<(String, Vec<u8>)> = playlist_items::table
        .filter(playlist_items::playlist_id.eq(playlist))
        .filter(playlist_items::kind.eq(kind))
        .select((playlist_items::item_id, playlist_items::content_hash))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = Text)]
    #[expect(dead_code, reason = "only counted")]
    item_id: String,
}

/// Upserts `items` in chunks; returns how many rows were written.
pub async fn upsert(conn: &mut AsyncPgConnection, items: &[NewItem]) -> QueryResult<usize> {
    let mut written = 0;
    for chunk in items.chunks(CHUNK) {
        let json = serde_json::to_value(chunk).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let rows: Vec<Written> = diesel::sql_query(include_str!("sql/upsert_playlist_items.sql"))
            .bind::<Jsonb, _>(json)
            .load(conn)
            .await?;
        written += rows.len();
    }
    Ok(written)
}

/// Deletes these items of one kind.
pub async fn delete(conn: &mut AsyncPgConnection, playlist: i64, kind: i16, ids: &[String]) -> QueryResult<usize> {
    let mut deleted = 0;
    for chunk in ids.chunks(CHUNK * 5) {
        deleted += diesel::delete(
            playlist_items::table
                .filter(playlist_items::playlist_id.eq(playlist))
                .filter(playlist_items::kind.eq(kind))
                .filter(playlist_items::item_id.eq_any(chunk)),
        )
        .execute(conn)
        .await?;
    }
    Ok(deleted)
}

/// Favorites (of anyone) of these items of one kind.
pub async fn favorites_of(conn: &mut AsyncPgConnection, playlist: i64, kind: i16, ids: &[String]) -> QueryResult<i64> {
    playlist_favorites::table
        .filter(playlist_favorites::playlist_id.eq(playlist))
        .filter(playlist_favorites::kind.eq(kind))
        .filter(playlist_favorites::item_id.eq_any(ids))
        .count()
        .get_result(conn)
        .await
}

/// The stored categories of a playlist, in panel order per kind.
pub async fn categories(conn: &mut AsyncPgConnection, playlist: i64, kind: Option<i16>) -> QueryResult<Vec<CategoryRow>> {
    let mut query = playlist_categories::table
        .filter(playlist_categories::playlist_id.eq(playlist))
        .select(CategoryRow::as_select())
        .order((playlist_categories::kind.asc(), playlist_categories::position.asc()))
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(playlist_categories::kind.eq(kind));
    }
    query.load(conn).await
}

/// Writes `wanted` over the stored categories: inserts new ones, updates changed ones, deletes
/// gone ones. Returns (added, changed, removed, unchanged).
pub async fn replace_categories(
    conn: &mut AsyncPgConnection,
    playlist: i64,
    wanted: &[CategoryRow],
) -> QueryResult<(usize, usize, usize, usize)> {
    let stored = categories(conn, playlist, None).await?;
    let key = |c: &CategoryRow| (c.kind, c.category_id.clone());
    let stored_by_key: HashMap<_, _> = stored.iter().map(|c| (key(c), c)).collect();
    let wanted_keys: std::collections::HashSet<_> = wanted.iter().map(key).collect();
    let (mut added, mut changed, mut unchanged) = (0, 0, 0);
    let mut writes = Vec::new();
    for category in wanted {
        match stored_by_key.get(&key(category)) {
            None => {
                added += 1;
                writes.push(category.clone());
            }
            Some(old) if *old != category => {
                changed += 1;
                writes.push(category.clone());
            }
            Some(_) => unchanged += 1,
        }
    }
    for chunk in writes.chunks(CHUNK) {
        diesel::insert_into(playlist_categories::table)
            .values(chunk)
            .on_conflict((playlist_categories::playlist_id, playlist_categories::kind, playlist_categories::category_id))
            .do_update()
            .set((
                playlist_categories::name.eq(diesel::upsert::excluded(playlist_categories::name)),
                playlist_categories::parent_id.eq(diesel::upsert::excluded(playlist_categories::parent_id)),
                playlist_categories::position.eq(diesel::upsert::excluded(playlist_categories::position)),
            ))
            .execute(conn)
            .await?;
    }
    let gone: Vec<&CategoryRow> = stored.iter().filter(|c| !wanted_keys.contains(&key(c))).collect();
    for category in &gone {
        diesel::delete(playlist_categories::table.find((playlist, category.kind, category.category_id.clone())))
            .execute(conn)
            .await?;
    }
    Ok((added, changed, gone.len(), unchanged))
}

/// Item counts per category of one playlist: (kind, category id, count).
pub async fn category_counts(conn: &mut AsyncPgConnection, playlist: i64) -> QueryResult<Vec<(i16, String, i64)>> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Int2)]
        kind: i16,
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = diesel::sql_types::Int8)]
        items: i64,
    }
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT kind, c AS category, count(*) AS items FROM playlist_items, unnest(category_ids) AS c \
         WHERE playlist_id = $1 GROUP BY kind, c",
    )
    .bind::<diesel::sql_types::Int8, _>(playlist)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.category, r.items)).collect())
}

/// Items by key (for favorites and details).
pub async fn find(conn: &mut AsyncPgConnection, playlist: i64, kind: i16, item_id: &str) -> QueryResult<Option<ItemRow>> {
    use diesel::OptionalExtension as _;
    playlist_items::table
        .find((playlist, kind, item_id))
        .select(ItemRow::as_select())
        .first(conn)
        .await
        .optional()
}
