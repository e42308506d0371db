//! The browse reads of a playlist's catalog: filtered, searched and sorted item pages with
//! cursors, and the distinct genres and actors. Text is matched on the folded columns the sync
//! writes (lower-case ASCII), so "amelie" finds "Amélie".

use diesel::{
    QueryableByName,
    pg::Pg,
    prelude::*,
    sql_types::{Float4, Int2, Int4, Int8, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::playlist_items::ItemRow;

/// Filters of an item list (text already folded).
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    /// Category id.
    pub category: Option<String>,
    /// Words that must all appear in the name or original title.
    pub words: Vec<String>,
    /// Folded genre.
    pub genre: Option<String>,
    /// Year range.
    pub year_min: Option<i32>,
    /// Year range.
    pub year_max: Option<i32>,
    /// Minimum rating.
    pub min_rating: Option<f32>,
    /// Folded actor.
    pub actor: Option<String>,
    /// Added after (Unix seconds).
    pub added_after: Option<i64>,
}

/// Sort orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemOrder {
    /// Name A to Z.
    Name,
    /// Newest added first.
    Added,
    /// Best rated first.
    Rating,
    /// Newest year first.
    Year,
}

/// Where a page ended: the sort key and id of its last item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ItemCursor {
    /// Name order.
    Name(String, String),
    /// Added order.
    Added(i64, String),
    /// Rating order.
    Rating(f32, String),
    /// Year order.
    Year(i32, String),
}

impl ItemCursor {
    /// The cursor after `row` in `order`.
    pub fn after(row: &ItemRow, order: ItemOrder) -> Self {
        let id = row.item_id.clone();
        match order {
            ItemOrder::Name => Self::Name(row.sort_name.clone(), id),
            ItemOrder::Added => Self::Added(row.added, id),
            ItemOrder::Rating => Self::Rating(row.rating, id),
            ItemOrder::Year => Self::Year(row.year, id),
        }
    }
}

/// Escapes `%`, `_` and `\` for LIKE.
fn like_escape(word: &str) -> String {
    word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A page of items of one kind after `cursor`, at most `limit`.
pub async fn list_items(
    conn: &mut AsyncPgConnection,
    playlist: i64,
    kind: i16,
    filter: &ItemFilter,
    order: ItemOrder,
    cursor: Option<&ItemCursor>,
    limit: i64,
) -> QueryResult<Vec<ItemRow>> {
    let columns = "playlist_id, kind, item_id, name, original_title, category_ids, icon, container_extension, rating, \
                   year, added, genres, actors, director, plot, epg_channel_id, tv_archive, sort_name";
    // Boxed raw queries bind values only: each `$n` placeholder is written here, in bind order.
    let mut query = diesel::sql_query(format!("SELECT {columns} FROM playlist_items WHERE playlist_id = $1 AND kind = $2"))
        .into_boxed::<Pg>()
        .bind::<Int8, _>(playlist)
        .bind::<Int2, _>(kind);
    let mut n = 2;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if let Some(category) = &filter.category {
        query = query.sql(format!(" AND category_ids @> ARRAY[{}]", next())).bind::<Text, _>(category.clone());
    }
    for word in &filter.words {
        query = query.sql(format!(" AND search_text LIKE '%' || {} || '%'", next())).bind::<Text, _>(like_escape(word));
    }
    if let Some(genre) = &filter.genre {
        query = query.sql(format!(" AND genre_keys @> ARRAY[{}]", next())).bind::<Text, _>(genre.clone());
    }
    if let Some(actor) = &filter.actor {
        query = query.sql(format!(" AND actor_keys @> ARRAY[{}]", next())).bind::<Text, _>(actor.clone());
    }
    if let Some(year) = filter.year_min {
        query = query.sql(format!(" AND year >= {}", next())).bind::<Int4, _>(year);
    }
    if let Some(year) = filter.year_max {
        query = query.sql(format!(" AND year <= {} AND year > 0", next())).bind::<Int4, _>(year);
    }
    if let Some(rating) = filter.min_rating {
        query = query.sql(format!(" AND rating >= {}", next())).bind::<Float4, _>(rating);
    }
    if let Some(added) = filter.added_after {
        query = query.sql(format!(" AND added > {}", next())).bind::<Int8, _>(added);
    }
    query = match cursor {
        None => query,
        Some(ItemCursor::Name(name, id)) => query
            .sql(format!(" AND (sort_name, item_id) > ({}, {})", next(), next()))
            .bind::<Text, _>(name.clone())
            .bind::<Text, _>(id.clone()),
        Some(ItemCursor::Added(added, id)) => query
            .sql(format!(" AND (added, item_id) < ({}, {})", next(), next()))
            .bind::<Int8, _>(*added)
            .bind::<Text, _>(id.clone()),
        Some(ItemCursor::Rating(rating, id)) => query
            .sql(format!(" AND (rating, item_id) < ({}, {})", next(), next()))
            .bind::<Float4, _>(*rating)
            .bind::<Text, _>(id.clone()),
        Some(ItemCursor::Year(year, id)) => query
            .sql(format!(" AND (year, item_id) < ({}, {})", next(), next()))
            .bind::<Int4, _>(*year)
            .bind::<Text, _>(id.clone()),
    };
    let order_by = match order {
        ItemOrder::Name => " ORDER BY sort_name, item_id",
        ItemOrder::Added => " ORDER BY added DESC, item_id DESC",
        ItemOrder::Rating => " ORDER BY rating DESC, item_id DESC",
        ItemOrder::Year => " ORDER BY year DESC, item_id DESC",
    };
    query.sql(format!("{order_by} LIMIT {}", next())).bind::<Int8, _>(limit).load(conn).await
}

/// A distinct genre or actor with its item count.
#[derive(Clone, Debug, QueryableByName)]
pub struct FacetRow {
    /// Folded key (the cursor).
    #[diesel(sql_type = Text)]
    pub key: String,
    /// The value as the panel spells it (the first spelling).
    #[diesel(sql_type = Text)]
    pub value: String,
    /// Items with it.
    #[diesel(sql_type = Int8)]
    pub items: i64,
}

/// Which facet.
#[derive(Clone, Copy, Debug)]
pub enum Facet {
    /// Genres.
    Genres,
    /// Actors.
    Actors,
}

/// Distinct values after `after` (a folded key) containing `contains` (folded), A to Z.
pub async fn facets(
    conn: &mut AsyncPgConnection,
    playlist: i64,
    facet: Facet,
    kind: Option<i16>,
    contains: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<FacetRow>> {
    let (values, keys) = match facet {
        Facet::Genres => ("genres", "genre_keys"),
        Facet::Actors => ("actors", "actor_keys"),
    };
    let mut query = diesel::sql_query(format!(
        "SELECT u.k AS key, min(u.v) AS value, count(*) AS items FROM playlist_items, \
         unnest({values}, {keys}) AS u(v, k) WHERE playlist_id = $1"
    ))
    .into_boxed::<Pg>()
    .bind::<Int8, _>(playlist);
    let mut n = 1;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if let Some(kind) = kind {
        query = query.sql(format!(" AND kind = {}", next())).bind::<Int2, _>(kind);
    }
    if let Some(text) = contains {
        query = query.sql(format!(" AND u.k LIKE '%' || {} || '%'", next())).bind::<Text, _>(like_escape(text));
    }
    if let Some(after) = after {
        query = query.sql(format!(" AND u.k > {}", next())).bind::<Text, _>(after.to_owned());
    }
    query.sql(format!(" GROUP BY u.k ORDER BY u.k LIMIT {}", next())).bind::<Int8, _>(limit).load(conn).await
}
