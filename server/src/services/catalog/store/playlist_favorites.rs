//! Favorites per API key. They name items by id with no foreign key, so a favorite outlives
//! its item (a list shows it as gone) but not its playlist.

use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::schema::{playlist_favorites, playlist_items};

/// A favorite as stored, with whether its item still exists.
#[derive(Clone, Debug)]
pub struct FavoriteRow {
    /// Playlist.
    pub playlist_id: i64,
    /// `PlaylistItemKind` number.
    pub kind: i16,
    /// Item id.
    pub item_id: String,
    /// Name when marked.
    pub display_name: String,
    /// Marked at.
    pub created_at: DateTime<Utc>,
    /// The item is gone from the panel.
    pub gone: bool,
}

/// Where a page of favorites ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FavoriteCursor {
    /// Marked at (microseconds).
    pub at: i64,
    /// Playlist.
    pub playlist: i64,
    /// Kind.
    pub kind: i16,
    /// Item.
    pub item: String,
}

type Stored = (i64, i16, String, String, DateTime<Utc>, Option<String>);

fn row((playlist_id, kind, item_id, display_name, created_at, present): Stored) -> FavoriteRow {
    FavoriteRow { playlist_id, kind, item_id, display_name, created_at, gone: present.is_none() }
}

/// Marks an item (again: nothing changes) and returns the favorite.
pub async fn set(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    playlist: i64,
    kind: i16,
    item_id: &str,
    display_name: &str,
) -> QueryResult<FavoriteRow> {
    diesel::insert_into(playlist_favorites::table)
        .values((
            playlist_favorites::owner_key_id.eq(owner),
            playlist_favorites::playlist_id.eq(playlist),
            playlist_favorites::kind.eq(kind),
            playlist_favorites::item_id.eq(item_id),
            playlist_favorites::display_name.eq(display_name),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let stored: (i64, i16, String, String, DateTime<Utc>) = playlist_favorites::table
        .find((owner, playlist, kind, item_id))
        .select((
            playlist_favorites::playlist_id,
            playlist_favorites::kind,
            playlist_favorites::item_id,
            playlist_favorites::display_name,
            playlist_favorites::created_at,
        ))
        .first(conn)
        .await?;
    Ok(row((stored.0, stored.1, stored.2, stored.3, stored.4, Some(String::new()))))
}

/// Unmarks an item; returns whether it was marked.
pub async fn delete(conn: &mut AsyncPgConnection, owner: Uuid, playlist: i64, kind: i16, item_id: &str) -> QueryResult<bool> {
    let deleted =
        diesel::delete(playlist_favorites::table.find((owner, playlist, kind, item_id))).execute(conn).await?;
    Ok(deleted > 0)
}

/// A page of `owner`'s favorites, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    playlist: Option<i64>,
    kind: Option<i16>,
    cursor: Option<&FavoriteCursor>,
    limit: i64,
) -> QueryResult<Vec<FavoriteRow>> {
    let mut query = playlist_favorites::table
        .left_join(
            playlist_items::table.on(playlist_items::playlist_id
                .eq(playlist_favorites::playlist_id)
                .and(playlist_items::kind.eq(playlist_favorites::kind))
                .and(playlist_items::item_id.eq(playlist_favorites::item_id))),
        )
        .filter(playlist_favorites::owner_key_id.eq(owner))
        .select((
            playlist_favorites::playlist_id,
            playlist_favorites::kind,
            playlist_favorites::item_id,
            playlist_favorites::display_name,
            playlist_favorites::created_at,
            playlist_items::item_id.nullable(),
        ))
        .order((
            playlist_favorites::created_at.desc(),
            playlist_favorites::playlist_id.desc(),
            playlist_favorites::kind.desc(),
            playlist_favorites::item_id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(playlist) = playlist {
        query = query.filter(playlist_favorites::playlist_id.eq(playlist));
    }
    if let Some(kind) = kind {
        query = query.filter(playlist_favorites::kind.eq(kind));
    }
    if let Some(c) = cursor {
        let at = DateTime::<Utc>::from_timestamp_micros(c.at).unwrap_or_default();
        query = query.filter(
            playlist_favorites::created_at.lt(at).or(playlist_favorites::created_at.eq(at).and(
                playlist_favorites::playlist_id.lt(c.playlist).or(playlist_favorites::playlist_id.eq(c.playlist).and(
                    playlist_favorites::kind
                        .lt(c.kind)
                        .or(playlist_favorites::kind.eq(c.kind).and(playlist_favorites::item_id.lt(c.item.clone()))),
                )),
            )),
        );
    }
    let rows: Vec<Stored> = query.load(conn).await?;
    Ok(rows.into_iter().map(row).collect())
}

/// Which of `ids` (of one kind) `owner` marked.
pub async fn marked(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    playlist: i64,
    kind: i16,
    ids: &[String],
) -> QueryResult<Vec<String>> {
    playlist_favorites::table
        .filter(playlist_favorites::owner_key_id.eq(owner))
        .filter(playlist_favorites::playlist_id.eq(playlist))
        .filter(playlist_favorites::kind.eq(kind))
        .filter(playlist_favorites::item_id.eq_any(ids))
        .select(playlist_favorites::item_id)
        .load(conn)
        .await
}

/// Whether `owner` marked the item.
pub async fn is_marked(conn: &mut AsyncPgConnection, owner: Uuid, playlist: i64, kind: i16, id: &str) -> QueryResult<bool> {
    Ok(playlist_favorites::table
        .find((owner, playlist, kind, id))
        .select(playlist_favorites::item_id)
        .first::<String>(conn)
        .await
        .optional()?
        .is_some())
}
