//! Sync runs' section reports (a run's state is its job's) and the episodes GetSeries fetched.

use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::db::schema::{playlist_episodes, playlist_sync_runs};

/// A sync run's row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = playlist_sync_runs, check_for_backend(diesel::pg::Pg))]
pub struct SyncRow {
    /// The run's job id.
    pub job_id: i64,
    /// Playlist.
    pub playlist_id: i64,
    /// Section reports (JSON list).
    pub sections: Value,
    /// Start of the first attempt.
    pub started_at: DateTime<Utc>,
    /// Last save.
    pub updated_at: DateTime<Utc>,
}

/// Saves a run's sections (creating its row on the first save).
pub async fn save(conn: &mut AsyncPgConnection, job_id: i64, playlist: i64, sections: &Value) -> QueryResult<()> {
    diesel::insert_into(playlist_sync_runs::table)
        .values((
            playlist_sync_runs::job_id.eq(job_id),
            playlist_sync_runs::playlist_id.eq(playlist),
            playlist_sync_runs::sections.eq(sections),
        ))
        .on_conflict(playlist_sync_runs::job_id)
        .do_update()
        .set((playlist_sync_runs::sections.eq(sections), playlist_sync_runs::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

/// The rows of these runs.
pub async fn find(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<SyncRow>> {
    playlist_sync_runs::table.filter(playlist_sync_runs::job_id.eq_any(ids)).select(SyncRow::as_select()).load(conn).await
}

/// An episode as stored.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = playlist_episodes, check_for_backend(diesel::pg::Pg))]
pub struct EpisodeRow {
    /// Playlist.
    pub playlist_id: i64,
    /// Episode (stream) id.
    pub episode_id: String,
    /// Series id.
    pub series_id: String,
    /// Season.
    pub season: i32,
    /// Number.
    pub episode_num: Option<i32>,
    /// Title.
    pub title: String,
    /// Its container.
    pub container_extension: Option<String>,
    /// Duration.
    pub duration_secs: Option<i64>,
}

/// Replaces the stored episodes of one series with `episodes`.
pub async fn replace_episodes(
    conn: &mut AsyncPgConnection,
    playlist: i64,
    series: &str,
    episodes: &[EpisodeRow],
) -> QueryResult<()> {
    diesel::delete(
        playlist_episodes::table
            .filter(playlist_episodes::playlist_id.eq(playlist))
            .filter(playlist_episodes::series_id.eq(series)),
    )
    .execute(conn)
    .await?;
    for chunk in episodes.chunks(2_000) {
        // An episode id listed under another series of the panel keeps its first owner.
        diesel::insert_into(playlist_episodes::table).values(chunk).on_conflict_do_nothing().execute(conn).await?;
    }
    Ok(())
}

/// One stored episode.
pub async fn episode(conn: &mut AsyncPgConnection, playlist: i64, id: &str) -> QueryResult<Option<EpisodeRow>> {
    playlist_episodes::table.find((playlist, id)).select(EpisodeRow::as_select()).first(conn).await.optional()
}
