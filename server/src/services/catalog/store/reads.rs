//! Reads of the catalog and admin edits.

use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension as _,
    prelude::*,
    sql_types::{Int2, Int4, Int8, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    db::schema::{catalog_anime, catalog_episodes, catalog_videos},
    services::catalog::model::{AnimeEdit, AnimeRow, EpisodeRow, VideoRow},
};

/// Finds an anime by id.
pub async fn find_anime(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AnimeRow>> {
    catalog_anime::table.find(id).select(AnimeRow::as_select()).first(conn).await.optional()
}

/// Finds an anime by source reference.
pub async fn find_anime_by_source(
    conn: &mut AsyncPgConnection,
    source_name: &str,
    source_id: &str,
) -> QueryResult<Option<AnimeRow>> {
    catalog_anime::table
        .filter(catalog_anime::source_name.eq(source_name))
        .filter(catalog_anime::source_id.eq(source_id))
        .select(AnimeRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks an anime row for an edit (inside a transaction).
pub async fn lock_anime(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AnimeRow>> {
    catalog_anime::table.find(id).select(AnimeRow::as_select()).for_update().first(conn).await.optional()
}

/// Writes an admin edit and returns the row.
pub async fn update_anime(conn: &mut AsyncPgConnection, id: Uuid, edit: &AnimeEdit) -> QueryResult<AnimeRow> {
    diesel::update(catalog_anime::table.find(id)).set(edit).returning(AnimeRow::as_returning()).get_result(conn).await
}

/// Empties an anime's content hash, so its next import is written whatever it holds.
pub async fn forget_content_hash(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(catalog_anime::table.find(id)).set(catalog_anime::content_hash.eq(Vec::<u8>::new())).execute(conn).await
}

/// The sort orders of [`list_anime`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnimeSort {
    /// Title, then id, ascending.
    Title,
    /// Last change, newest first.
    UpdatedDesc,
    /// Year, newest first, unknown last.
    YearDesc,
}

/// Where the previous page ended, for the sort in use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AnimeCursor {
    /// After this (title, id).
    Title(String, Uuid),
    /// After this (updated_at, id).
    Updated(DateTime<Utc>, Uuid),
    /// After this (year or -1, id).
    Year(i32, Uuid),
}

/// Filters of [`list_anime`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnimeFilter {
    /// Lower-case words that must all occur in the searchable text.
    pub words: Vec<String>,
    /// `AnimeStatus` number.
    pub status: Option<i16>,
    /// `AnimeKind` number.
    pub kind: Option<i16>,
    /// Years from.
    pub year_min: Option<i32>,
    /// Years to.
    pub year_max: Option<i32>,
    /// Lower-case genre.
    pub genre: Option<String>,
    /// Source.
    pub source_name: Option<String>,
}

/// Escapes `%`, `_` and `\` for LIKE.
fn like_escape(word: &str) -> String {
    word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Lists anime matching `filter` in `sort` order after `cursor`.
pub async fn list_anime(
    conn: &mut AsyncPgConnection,
    filter: &AnimeFilter,
    sort: AnimeSort,
    cursor: Option<&AnimeCursor>,
    limit: i64,
) -> QueryResult<Vec<AnimeRow>> {
    let columns = "id, source_name, source_id, title, alternative_titles, description, year, status, kind, poster, \
                   genres, episodes_total, admin_locked, created_at, updated_at";
    let mut query = diesel::sql_query(format!("SELECT {columns} FROM catalog_anime WHERE true")).into_boxed();
    // Boxed raw queries bind values only: each `$n` placeholder is written here, in bind order.
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    for word in &filter.words {
        query = query.sql(format!(" AND search_text LIKE '%' || {} || '%'", next())).bind::<Text, _>(like_escape(word));
    }
    if let Some(status) = filter.status {
        query = query.sql(format!(" AND status = {}", next())).bind::<Int2, _>(status);
    }
    if let Some(kind) = filter.kind {
        query = query.sql(format!(" AND kind = {}", next())).bind::<Int2, _>(kind);
    }
    if let Some(year) = filter.year_min {
        query = query.sql(format!(" AND year >= {}", next())).bind::<Int4, _>(year);
    }
    if let Some(year) = filter.year_max {
        query = query.sql(format!(" AND year <= {}", next())).bind::<Int4, _>(year);
    }
    if let Some(genre) = &filter.genre {
        query = query.sql(format!(" AND genre_keys @> ARRAY[{}]", next())).bind::<Text, _>(genre.clone());
    }
    if let Some(source) = &filter.source_name {
        query = query.sql(format!(" AND source_name = {}", next())).bind::<Text, _>(source.clone());
    }
    query = match cursor {
        None => query,
        Some(AnimeCursor::Title(title, id)) => query
            .sql(format!(" AND (title, id) > ({}, {})", next(), next()))
            .bind::<Text, _>(title.clone())
            .bind::<SqlUuid, _>(*id),
        Some(AnimeCursor::Updated(at, id)) => query
            .sql(format!(" AND (updated_at, id) < ({}, {})", next(), next()))
            .bind::<Timestamptz, _>(*at)
            .bind::<SqlUuid, _>(*id),
        Some(AnimeCursor::Year(year, id)) => query
            .sql(format!(" AND (coalesce(year, -1), id) < ({}, {})", next(), next()))
            .bind::<Int4, _>(*year)
            .bind::<SqlUuid, _>(*id),
    };
    let order = match sort {
        AnimeSort::Title => " ORDER BY title, id",
        AnimeSort::UpdatedDesc => " ORDER BY updated_at DESC, id DESC",
        AnimeSort::YearDesc => " ORDER BY coalesce(year, -1) DESC, id DESC",
    };
    let limit_param = next();
    query.sql(order).sql(format!(" LIMIT {limit_param}")).bind::<Int8, _>(limit).load(conn).await
}

/// Lists episodes of an anime by (season, number, id) after `after`.
pub async fn list_episodes(
    conn: &mut AsyncPgConnection,
    anime_id: Uuid,
    available_only: bool,
    after: Option<(i32, i32, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<EpisodeRow>> {
    let mut query = catalog_episodes::table
        .filter(catalog_episodes::anime_id.eq(anime_id))
        .select(EpisodeRow::as_select())
        .into_boxed();
    if available_only {
        query = query.filter(catalog_episodes::is_available.eq(true));
    }
    if let Some((season, number, id)) = after {
        query = query.filter(
            catalog_episodes::season.gt(season).or(catalog_episodes::season.eq(season).and(
                catalog_episodes::number
                    .gt(number)
                    .or(catalog_episodes::number.eq(number).and(catalog_episodes::id.gt(id))),
            )),
        );
    }
    query
        .order((catalog_episodes::season, catalog_episodes::number, catalog_episodes::id))
        .limit(limit)
        .load(conn)
        .await
}

/// Returns whether an episode exists.
pub async fn episode_exists(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(catalog_episodes::table.find(id))).get_result(conn).await
}

/// Lists every player of an episode.
pub async fn list_videos(conn: &mut AsyncPgConnection, episode_id: Uuid) -> QueryResult<Vec<VideoRow>> {
    catalog_videos::table
        .filter(catalog_videos::episode_id.eq(episode_id))
        .select(VideoRow::as_select())
        .order((catalog_videos::priority.desc(), catalog_videos::id))
        .load(conn)
        .await
}
