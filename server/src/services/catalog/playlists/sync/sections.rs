//! One sync run: categories, live, VOD and series, each fetched whole, diffed against what is
//! stored and written in its own transaction (only new and changed rows; gone rows deleted),
//! so a failing section leaves the others synced and its own previous catalog intact.
//! Decoding and hashing tens of thousands of items run off the async executor.

use std::{collections::HashSet, time::Instant};

use chrono::Utc;
use diesel_async::AsyncConnection as _;
use medley_sdk::pb::{self, SyncSection, SyncSectionState};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    jobs::{JobContext, JobError},
    redis::keys::Topic,
    runs::RunProgress,
    services::catalog::{
        CatalogError,
        playlists::{Playlists, fold},
        store::{
            playlist_items::{self as items, CategoryRow, NewItem},
            playlist_syncs, playlists as store,
        },
        xtream::{Panel, XtreamError, decode},
    },
};

/// The sections in the order they run.
const SECTIONS: [SyncSection; 4] = [SyncSection::Categories, SyncSection::Live, SyncSection::Vod, SyncSection::Series];

/// A section's report as stored in the run's row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `SyncSection` number.
    pub section: i32,
    /// `SyncSectionState` number.
    pub state: i32,
    /// Items new on the panel.
    pub added: i64,
    /// Items changed.
    pub changed: i64,
    /// Items gone.
    pub removed: i64,
    /// Items unchanged.
    pub unchanged: i64,
    /// Favorites of gone items.
    pub favorites_gone: i64,
    /// Why it failed.
    #[serde(default)]
    pub error: String,
    /// Time spent.
    pub duration_ms: i64,
}

impl Report {
    /// Every section, not started.
    pub fn pending_all() -> Vec<Self> {
        SECTIONS.iter().map(|s| Self { section: *s as i32, ..Self::default() }).collect()
    }

    /// The proto form.
    pub fn into_pb(self) -> pb::SyncSectionReport {
        pb::SyncSectionReport {
            section: self.section,
            state: self.state,
            added: self.added,
            changed: self.changed,
            removed: self.removed,
            unchanged: self.unchanged,
            favorites_gone: self.favorites_gone,
            error: self.error,
            duration_ms: self.duration_ms,
        }
    }
}

/// Counts of one section.
#[derive(Debug, Default)]
struct Counts {
    added: i64,
    changed: i64,
    removed: i64,
    unchanged: i64,
    favorites_gone: i64,
}

/// Why a section failed.
#[derive(Debug, thiserror::Error)]
enum SectionError {
    /// The panel failed or answered something else than Xtream JSON.
    #[error(transparent)]
    Panel(#[from] XtreamError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] CatalogError),
}

impl From<diesel::result::Error> for SectionError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Runs every section of playlist `id`'s sync; returns the reports.
pub async fn run(playlists: &Playlists, id: i64, ctx: &JobContext) -> Result<Vec<Report>, JobError> {
    let retry = |error: CatalogError| JobError::Retryable(error.to_string());
    let row = {
        let mut conn = playlists.platform.db.get().await.map_err(|e| retry(e.into()))?;
        store::find(&mut conn, id).await.map_err(|e| retry(e.into()))?
    };
    let Some(row) = row else { return Err(JobError::Permanent(format!("playlist {id} was deleted"))) };
    let panel = playlists.panel(&row).await.map_err(|e| JobError::Permanent(e.to_string()))?;
    let mut reports = Report::pending_all();
    save(playlists, ctx.id, id, &reports).await.map_err(retry)?;
    for index in 0..reports.len() {
        if ctx.is_cancelled() {
            skip_from(&mut reports, index);
            let _ = save(playlists, ctx.id, id, &reports).await;
            return Err(JobError::Cancelled);
        }
        reports[index].state = SyncSectionState::Running as i32;
        save(playlists, ctx.id, id, &reports).await.map_err(retry)?;
        let started = Instant::now();
        let outcome = section(playlists, &panel, id, SECTIONS[index]).await;
        let report = &mut reports[index];
        report.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match outcome {
            Ok(counts) => {
                report.state = SyncSectionState::Done as i32;
                report.added = counts.added;
                report.changed = counts.changed;
                report.removed = counts.removed;
                report.unchanged = counts.unchanged;
                report.favorites_gone = counts.favorites_gone;
            }
            Err(SectionError::Panel(error)) if error.is_account() => {
                report.state = SyncSectionState::Failed as i32;
                report.error = error.to_string();
                skip_from(&mut reports, index + 1);
                save(playlists, ctx.id, id, &reports).await.map_err(retry)?;
                tracing::warn!(playlist.id = id, run.id = ctx.id, %error, "sync stopped: the panel refused the account");
                return Err(JobError::Permanent(format!("{error}: not retried (panels ban retried logins)")));
            }
            Err(error) => {
                report.state = SyncSectionState::Failed as i32;
                report.error = error.to_string();
                tracing::warn!(playlist.id = id, run.id = ctx.id, section = SECTIONS[index].as_str_name(), %error, "sync section failed");
            }
        }
        save(playlists, ctx.id, id, &reports).await.map_err(retry)?;
    }
    let now = Utc::now();
    let next = now + super::jittered(playlists.sync_interval);
    let mut conn = playlists.platform.db.get().await.map_err(|e| retry(e.into()))?;
    store::finish_sync(&mut conn, id, ctx.id, now, next).await.map_err(|e| retry(e.into()))?;
    if reports.iter().all(|r| r.state == SyncSectionState::Failed as i32) {
        return Err(JobError::Retryable(format!("every section failed; the first: {}", reports[0].error)));
    }
    Ok(reports)
}

fn skip_from(reports: &mut [Report], from: usize) {
    for report in reports.iter_mut().skip(from) {
        report.state = SyncSectionState::Skipped as i32;
    }
}

/// Stores the reports and tells watchers.
async fn save(playlists: &Playlists, run: i64, playlist: i64, reports: &[Report]) -> Result<(), CatalogError> {
    let json = serde_json::to_value(reports).unwrap_or(Value::Null);
    let mut conn = playlists.platform.db.get().await?;
    playlist_syncs::save(&mut conn, run, playlist, &json).await?;
    let event = RunProgress { run_id: run }.encode_to_vec();
    if let Err(error) = playlists.platform.hub.publish(Topic::PlaylistSyncs, event).await {
        tracing::warn!(run.id = run, %error, "cannot publish sync progress");
    }
    Ok(())
}

async fn section(playlists: &Playlists, panel: &Panel, id: i64, section: SyncSection) -> Result<Counts, SectionError> {
    use pb::PlaylistItemKind as Kind;
    let (action, id_field, kind) = match section {
        SyncSection::Categories | SyncSection::Unspecified => return categories(playlists, panel, id).await,
        SyncSection::Live => ("get_live_streams", "stream_id", Kind::Live),
        SyncSection::Vod => ("get_vod_streams", "stream_id", Kind::Vod),
        SyncSection::Series => ("get_series", "series_id", Kind::Series),
    };
    let answer = fetch_list(playlists, panel, action).await?;
    let kind = kind as i16;
    let rows = tokio::task::spawn_blocking(move || {
        decode::items(&answer, id_field).into_iter().map(|item| fold::new_item(id, kind, item)).collect::<Vec<_>>()
    })
    .await
    .map_err(|_| CatalogError::Bug("decoding a panel list panicked"))?;
    write_items(playlists, id, kind, rows).await
}

/// A list answer: an array, or an object keyed "0", "1"... (old panels).
async fn fetch_list(playlists: &Playlists, panel: &Panel, action: &str) -> Result<Value, XtreamError> {
    let answer = playlists.client.action(panel, action, &[]).await?;
    match answer {
        Value::Array(_) | Value::Object(_) => Ok(answer),
        other => Err(XtreamError::NotXtream(format!("{action} answered {} instead of a list", kind_of(&other)))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

async fn categories(playlists: &Playlists, panel: &Panel, id: i64) -> Result<Counts, SectionError> {
    use pb::PlaylistItemKind as Kind;
    let mut rows = Vec::new();
    for (action, kind) in [
        ("get_live_categories", Kind::Live),
        ("get_vod_categories", Kind::Vod),
        ("get_series_categories", Kind::Series),
    ] {
        let answer = fetch_list(playlists, panel, action).await?;
        let mut seen = HashSet::new();
        for (position, category) in decode::categories(&answer).into_iter().enumerate() {
            if !seen.insert(category.id.clone()) {
                continue;
            }
            rows.push(CategoryRow {
                playlist_id: id,
                kind: kind as i16,
                name: crate::text::cleaned(category.name),
                parent_id: category.parent_id,
                position: i32::try_from(position).unwrap_or(i32::MAX),
                category_id: category.id,
            });
        }
    }
    let mut conn = playlists.platform.db.get().await.map_err(CatalogError::from)?;
    let (added, changed, removed, unchanged) =
        conn.transaction::<_, diesel::result::Error, _>(async |conn| items::replace_categories(conn, id, &rows).await).await?;
    Ok(Counts {
        added: added as i64,
        changed: changed as i64,
        removed: removed as i64,
        unchanged: unchanged as i64,
        favorites_gone: 0,
    })
}

/// Diffs `rows` against the stored hashes and writes the difference in one transaction.
async fn write_items(playlists: &Playlists, id: i64, kind: i16, rows: Vec<NewItem>) -> Result<Counts, SectionError> {
    let mut conn = playlists.platform.db.get().await.map_err(CatalogError::from)?;
    let counts = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let stored = items::hashes(conn, id, kind).await?;
            let mut counts = Counts::default();
            let mut writes = Vec::new();
            let mut present = HashSet::with_capacity(rows.len());
            for row in rows {
                present.insert(row.item_id.clone());
                match stored.get(&row.item_id) {
                    None => counts.added += 1,
                    Some(hash) if hex(hash) == row.content_hash => {
                        counts.unchanged += 1;
                        continue;
                    }
                    Some(_) => counts.changed += 1,
                }
                writes.push(row);
            }
            let gone: Vec<String> = stored.into_keys().filter(|key| !present.contains(key)).collect();
            items::upsert(conn, &writes).await?;
            if !gone.is_empty() {
                counts.favorites_gone = items::favorites_of(conn, id, kind, &gone).await?;
                counts.removed = items::delete(conn, id, kind, &gone).await? as i64;
            }
            Ok(counts)
        })
        .await?;
    Ok(counts)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
