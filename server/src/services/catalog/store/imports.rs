//! Bulk reads and upserts: each statement takes its rows as one JSON array
//! (`jsonb_to_recordset`), so a chunk of thousands of rows is one round trip. The caller first
//! reads the stored ids and content hashes, then upserts only the rows that are new or changed;
//! an upsert reports the rows it wrote (`xmax = 0` tells created from updated) and still skips
//! rows whose hash matches, in case a concurrent import wrote the same content.

use diesel::{
    QueryableByName,
    sql_types::{Bool, Bytea, Int4, Jsonb, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

/// An anime's id by its source key.
#[derive(Debug, QueryableByName)]
pub struct AnimeKey {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Source.
    #[diesel(sql_type = Text)]
    pub source_name: String,
    /// Id in the source.
    #[diesel(sql_type = Text)]
    pub source_id: String,
    /// Hash of the last imported content.
    #[diesel(sql_type = Bytea)]
    pub content_hash: Vec<u8>,
}

/// An episode's id by its key.
#[derive(Debug, QueryableByName)]
pub struct EpisodeKey {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Anime id.
    #[diesel(sql_type = SqlUuid)]
    pub anime_id: Uuid,
    /// Id in the source.
    #[diesel(sql_type = Text)]
    pub source_episode_id: String,
    /// Hash of the last imported content.
    #[diesel(sql_type = Bytea)]
    pub content_hash: Vec<u8>,
}

/// An upserted episode.
#[derive(Debug, QueryableByName)]
pub struct WrittenEpisode {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Anime id.
    #[diesel(sql_type = SqlUuid)]
    pub anime_id: Uuid,
    /// Id in the source.
    #[diesel(sql_type = Text)]
    pub source_episode_id: String,
    /// Whether it was created.
    #[diesel(sql_type = Bool)]
    pub created: bool,
}

/// A player's id by its key.
#[derive(Debug, QueryableByName)]
pub struct VideoKey {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Episode id.
    #[diesel(sql_type = SqlUuid)]
    pub episode_id: Uuid,
    /// Provider.
    #[diesel(sql_type = Text)]
    pub provider: String,
    /// URL.
    #[diesel(sql_type = Text)]
    pub url: String,
    /// Hash of the last imported content.
    #[diesel(sql_type = Bytea)]
    pub content_hash: Vec<u8>,
}

/// An upserted player.
#[derive(Debug, QueryableByName)]
pub struct WrittenVideo {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Episode id.
    #[diesel(sql_type = SqlUuid)]
    pub episode_id: Uuid,
    /// Provider.
    #[diesel(sql_type = Text)]
    pub provider: String,
    /// URL.
    #[diesel(sql_type = Text)]
    pub url: String,
    /// Whether it was created.
    #[diesel(sql_type = Bool)]
    pub created: bool,
}

/// A match of a player's episode reference: the reference's index and an episode id.
#[derive(Debug, QueryableByName)]
pub struct EpisodeMatch {
    /// Index of the reference in the request.
    #[diesel(sql_type = Int4)]
    pub idx: i32,
    /// A matching episode.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
}

/// Runs one bulk statement over `rows`. Every import write passes here: text loses control
/// characters first, so upstream data with a NUL (which PostgreSQL refuses, failing the whole
/// chunk) is stored without it. Requests never get this far with one (the request guard).
async fn rows<T: QueryableByName<diesel::pg::Pg> + Send + 'static>(
    conn: &mut AsyncPgConnection,
    sql: &'static str,
    mut rows: Value,
) -> diesel::QueryResult<Vec<T>> {
    crate::text::clean_json(&mut rows);
    diesel::sql_query(sql).bind::<Jsonb, _>(rows).load(conn).await
}

/// Upserts anime rows (see `sql/upsert_anime.sql` for the JSON fields).
pub async fn upsert_anime(conn: &mut AsyncPgConnection, anime: Value) -> diesel::QueryResult<Vec<WrittenAnimeRow>> {
    rows(conn, include_str!("sql/upsert_anime.sql"), anime).await
}

/// An upserted anime, flat.
#[derive(Debug, QueryableByName)]
pub struct WrittenAnimeRow {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Source.
    #[diesel(sql_type = Text)]
    pub source_name: String,
    /// Id in the source.
    #[diesel(sql_type = Text)]
    pub source_id: String,
    /// Whether it was created.
    #[diesel(sql_type = Bool)]
    pub created: bool,
}

/// Finds anime ids by `[{source_name, source_id}]`.
pub async fn find_anime_ids(conn: &mut AsyncPgConnection, keys: Value) -> diesel::QueryResult<Vec<AnimeKey>> {
    rows(conn, include_str!("sql/find_anime_ids.sql"), keys).await
}

/// Upserts episode rows (see `sql/upsert_episodes.sql`).
pub async fn upsert_episodes(
    conn: &mut AsyncPgConnection,
    episodes: Value,
) -> diesel::QueryResult<Vec<WrittenEpisode>> {
    rows(conn, include_str!("sql/upsert_episodes.sql"), episodes).await
}

/// Finds episode ids by `[{anime_id, source_episode_id}]`.
pub async fn find_episode_rows(conn: &mut AsyncPgConnection, keys: Value) -> diesel::QueryResult<Vec<EpisodeKey>> {
    rows(conn, include_str!("sql/find_episode_rows.sql"), keys).await
}

/// Resolves players' episode references `[{idx, source_name, anime_source_id, source_episode_id}]`.
pub async fn find_episode_ids(conn: &mut AsyncPgConnection, refs: Value) -> diesel::QueryResult<Vec<EpisodeMatch>> {
    rows(conn, include_str!("sql/find_episode_ids.sql"), refs).await
}

/// Upserts player rows (see `sql/upsert_videos.sql`).
pub async fn upsert_videos(conn: &mut AsyncPgConnection, videos: Value) -> diesel::QueryResult<Vec<WrittenVideo>> {
    rows(conn, include_str!("sql/upsert_videos.sql"), videos).await
}

/// Finds player ids by `[{episode_id, provider, url}]`.
pub async fn find_video_rows(conn: &mut AsyncPgConnection, keys: Value) -> diesel::QueryResult<Vec<VideoKey>> {
    rows(conn, include_str!("sql/find_video_rows.sql"), keys).await
}
