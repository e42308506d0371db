//! Playlists: the account rows (credentials only as a sealed secret's id), their sync schedule
//! and their item counts.

use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, dsl::count_star, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{playlist_items, playlists};

/// A playlist as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = playlists, check_for_backend(diesel::pg::Pg))]
pub struct PlaylistRow {
    /// Id (`playlists/{id}`).
    pub id: i64,
    /// The API key that owns it.
    pub owner_key_id: Uuid,
    /// Create's request id.
    pub request_id: Option<Uuid>,
    /// Name for people.
    pub display_name: String,
    /// Panel base URL.
    pub server_url: String,
    /// Sealed credentials.
    pub credentials_secret: Uuid,
    /// Account facts.
    #[diesel(embed)]
    pub account: AccountFacts,
    /// Scheduled syncs on.
    pub sync_enabled: bool,
    /// Next scheduled sync.
    pub next_sync_at: DateTime<Utc>,
    /// Last sync run.
    pub last_sync_run: Option<i64>,
    /// When the last sync ended.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What the panel said about the account.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = playlists, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct AccountFacts {
    /// `Active`...
    pub account_status: String,
    /// Expiry; `None` never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Connections allowed.
    pub max_connections: i32,
    /// Connections in use.
    pub active_connections: i32,
    /// Trial account.
    pub trial: bool,
    /// Server time zone.
    pub server_time_zone: String,
    /// `PanelFamily` number.
    pub panel_family: i16,
    /// Allowed output formats.
    pub output_formats: Vec<Option<String>>,
    /// When the panel was asked.
    pub checked_at: DateTime<Utc>,
}

/// A playlist to create.
#[derive(Debug, Insertable)]
#[diesel(table_name = playlists)]
pub struct NewPlaylist {
    /// Owner.
    pub owner_key_id: Uuid,
    /// Create's request id.
    pub request_id: Option<Uuid>,
    /// Name for people.
    pub display_name: String,
    /// Panel base URL.
    pub server_url: String,
    /// Sealed credentials.
    pub credentials_secret: Uuid,
    /// Account facts.
    #[diesel(embed)]
    pub account: AccountFacts,
    /// Scheduled syncs on.
    pub sync_enabled: bool,
    /// First scheduled sync.
    pub next_sync_at: DateTime<Utc>,
}

/// Changes of an update (each `None` leaves the column alone).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = playlists)]
pub struct PlaylistChanges {
    /// New name.
    pub display_name: Option<String>,
    /// New URL.
    pub server_url: Option<String>,
    /// New schedule switch.
    pub sync_enabled: Option<bool>,
    /// Last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts `new`, or returns the playlist the same owner created with the same request id.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewPlaylist) -> QueryResult<(PlaylistRow, bool)> {
    let inserted = diesel::insert_into(playlists::table)
        .values(new)
        .on_conflict((playlists::owner_key_id, playlists::request_id))
        .do_nothing()
        .returning(PlaylistRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = playlists::table
        .filter(playlists::owner_key_id.eq(new.owner_key_id))
        .filter(playlists::request_id.eq(new.request_id))
        .select(PlaylistRow::as_select())
        .first(conn)
        .await?;
    Ok((existing, false))
}

/// The playlist with this id created by `request_id` of `owner`, if any.
pub async fn find_by_request(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    request_id: Uuid,
) -> QueryResult<Option<PlaylistRow>> {
    playlists::table
        .filter(playlists::owner_key_id.eq(owner))
        .filter(playlists::request_id.eq(request_id))
        .select(PlaylistRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The playlist `id`.
pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<PlaylistRow>> {
    playlists::table.find(id).select(PlaylistRow::as_select()).first(conn).await.optional()
}

/// Playlists after `after` by id (of `owner`, or everyone's), at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    owner: Option<Uuid>,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<PlaylistRow>> {
    let mut query = playlists::table.select(PlaylistRow::as_select()).order(playlists::id.asc()).limit(limit).into_boxed();
    if let Some(owner) = owner {
        query = query.filter(playlists::owner_key_id.eq(owner));
    }
    if let Some(after) = after {
        query = query.filter(playlists::id.gt(after));
    }
    query.load(conn).await
}

/// Applies `changes` and, when given, new account facts.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &PlaylistChanges,
    account: Option<&AccountFacts>,
) -> QueryResult<PlaylistRow> {
    if let Some(account) = account {
        diesel::update(playlists::table.find(id)).set(account).execute(conn).await?;
    }
    diesel::update(playlists::table.find(id)).set(changes).returning(PlaylistRow::as_returning()).get_result(conn).await
}

/// Records a sync's end and when the schedule syncs next.
pub async fn finish_sync(
    conn: &mut AsyncPgConnection,
    id: i64,
    run: i64,
    at: DateTime<Utc>,
    next: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(playlists::table.find(id))
        .set((playlists::last_sync_run.eq(run), playlists::last_sync_at.eq(at), playlists::next_sync_at.eq(next)))
        .execute(conn)
        .await
        .map(drop)
}

/// Records that a sync run started (so `last_sync_run` shows it while it runs).
pub async fn start_sync(conn: &mut AsyncPgConnection, id: i64, run: i64) -> QueryResult<()> {
    diesel::update(playlists::table.find(id)).set(playlists::last_sync_run.eq(run)).execute(conn).await.map(drop)
}

/// Moves the next scheduled sync.
pub async fn set_next_sync(conn: &mut AsyncPgConnection, id: i64, next: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(playlists::table.find(id)).set(playlists::next_sync_at.eq(next)).execute(conn).await.map(drop)
}

/// Deletes the playlist (its items, favorites and runs' rows cascade) and returns its
/// credentials' secret id.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Uuid>> {
    diesel::delete(playlists::table.find(id)).returning(playlists::credentials_secret).get_result(conn).await.optional()
}

/// Playlists with the schedule on whose next sync is due at `now`, soonest first.
pub async fn due(conn: &mut AsyncPgConnection, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<i64>> {
    playlists::table
        .filter(playlists::sync_enabled.eq(true))
        .filter(playlists::next_sync_at.le(now))
        .order(playlists::next_sync_at.asc())
        .select(playlists::id)
        .limit(limit)
        .load(conn)
        .await
}

/// Items per (playlist, kind) of these playlists.
pub async fn item_counts(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i16, i64)>> {
    playlist_items::table
        .filter(playlist_items::playlist_id.eq_any(ids))
        .group_by((playlist_items::playlist_id, playlist_items::kind))
        .select((playlist_items::playlist_id, playlist_items::kind, count_star()))
        .load(conn)
        .await
}
