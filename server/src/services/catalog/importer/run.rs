//! One import run from Kodik + Shikimori, page by page.
//!
//! Per page: list releases (Kodik, newest update first) → drop those older than the run's
//! watermark → group by Shikimori id (one release per translation) → leave out titles whose
//! releases all hash as last imported (incremental runs) → fetch metadata for the rest
//! (Shikimori GraphQL batches) → apply anime, episodes and players through the one import path
//! → in the same transaction, save release hashes, counters and the cursor of the next page.
//! A crashed attempt therefore resumes after its last committed page, and redoing a page is
//! harmless (imports are idempotent).
//!
//! The watermark (newest `updated_at` seen) moves only when a run has read the whole listing (or
//! reached the previous watermark) with no failed title, so an incremental run never skips what
//! an earlier run failed to import.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use diesel_async::AsyncConnection as _;
use futures_util::StreamExt as _;
use medley_sdk::pb;
use prost::Message as _;
use serde_json::{Value, json};

use super::{
    ImportDeps,
    kodik::Release,
    items::{SOURCE_NAME, anime_item, episode_items, release_hash},
    shikimori::BATCH,
};
use crate::{
    error::InfraError,
    text,
    jobs::JobContext,
    outbound::UpstreamError,
    redis::keys::Topic,
    runs::RunProgress,
    services::catalog::{
        upsert::{self, ChunkKeys, ItemResult},
        model::{AnimeInput, ImportItem, Outcome},
        store::runs::{self as store, RunRow},
    },
};

/// Failures and skips kept per run.
const MAX_FAILURES: usize = 50;

/// Why a run stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An upstream failed (see [`UpstreamError::is_retryable`]).
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
    /// Cancellation was asked.
    #[error("cancelled")]
    Cancelled,
}

/// What was asked of a run.
#[derive(Clone, Copy, Debug)]
pub struct RunParams {
    /// The run's job id.
    pub job_id: i64,
    /// `ImportMode` number.
    pub mode: i16,
    /// Page limit (0 = none).
    pub max_pages: i32,
}

/// Runs (or resumes) an import run to its end and returns its final counters.
pub async fn run(deps: &ImportDeps, params: RunParams, ctx: &JobContext) -> Result<RunRow, RunError> {
    let mut conn = deps.db.get().await?;
    let full = params.mode == pb::ImportMode::Full as i16;
    let since = if full { None } else { store::watermark(&mut conn, SOURCE_NAME).await? };
    let now = Utc::now();
    let mut run = store::ensure_run(
        &mut conn,
        &RunRow {
            job_id: params.job_id,
            source: SOURCE_NAME.to_owned(),
            mode: params.mode,
            max_pages: params.max_pages,
            cursor: None,
            since,
            high_water: None,
            listing_done: false,
            pages: 0,
            releases_seen: 0,
            anime_seen: 0,
            imported: 0,
            unchanged: 0,
            skipped: 0,
            failed: 0,
            requests: 0,
            retries: 0,
            failures: json!([]),
            started_at: now,
            updated_at: now,
        },
    )
    .await?;
    drop(conn);
    if run.pages > 0 {
        tracing::info!(run.id = run.job_id, pages = run.pages, "resuming import run after its last page");
    }
    // Metadata fetched by this attempt, for titles whose translations span several pages.
    let mut metadata: HashMap<i64, Result<Option<AnimeInput>, String>> = HashMap::new();
    while !run.listing_done {
        if ctx.is_cancelled() {
            return Err(RunError::Cancelled);
        }
        if run.max_pages > 0 && run.pages >= run.max_pages {
            break;
        }
        import_page(deps, &mut run, full, &mut metadata).await?;
        ctx.report(run.pages as u64, 0, "pages", &format!("{} titles imported", run.imported)).await;
    }
    if run.listing_done
        && run.failed == 0
        && let Some(high_water) = run.high_water
    {
        let mut conn = deps.db.get().await?;
        store::advance_watermark(&mut conn, SOURCE_NAME, high_water).await?;
    }
    Ok(run)
}

/// One title of a page and where its items are in the page's item list.
struct Title<'a> {
    id: i64,
    releases: Vec<&'a Release>,
    items: std::ops::Range<usize>,
}

async fn import_page(
    deps: &ImportDeps,
    run: &mut RunRow,
    full: bool,
    metadata: &mut HashMap<i64, Result<Option<AnimeInput>, String>>,
) -> Result<(), RunError> {
    let stats_before = (deps.kodik.upstream().stats().get(), deps.shikimori.upstream().stats().get());
    let page = deps.kodik.list_page(run.cursor.as_deref()).await?;
    let page_was_empty = page.results.is_empty();
    let mut reached_watermark = false;
    let releases: Vec<Release> = page
        .results
        .into_iter()
        .filter(|release| match (run.since, release.updated_at) {
            (Some(since), Some(at)) if at < since => {
                reached_watermark = true;
                false
            }
            _ => true,
        })
        .collect();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut skipped = 0;
    let mut groups: BTreeMap<i64, Vec<&Release>> = BTreeMap::new();
    for release in &releases {
        match release.shikimori_id.as_deref().and_then(|id| id.parse::<i64>().ok()) {
            Some(id) if id > 0 => groups.entry(id).or_default().push(release),
            _ => {
                skipped += 1;
                failures.push((release.id.clone(), "release has no Shikimori id".to_owned()));
            }
        }
    }
    let mut conn = deps.db.get().await?;
    let ids: Vec<String> = releases.iter().map(|r| r.id.clone()).collect();
    let stored = store::release_hashes(&mut conn, SOURCE_NAME, &ids).await?;
    drop(conn);
    let hashes: HashMap<&str, Vec<u8>> = releases.iter().map(|r| (r.id.as_str(), release_hash(r))).collect();
    let mut unchanged = 0;
    let mut titles: Vec<Title<'_>> = Vec::new();
    for (id, group) in &groups {
        let changed = full || group.iter().any(|r| stored.get(&r.id) != hashes.get(r.id.as_str()));
        if changed {
            titles.push(Title { id: *id, releases: group.clone(), items: 0..0 });
        } else {
            unchanged += 1;
        }
    }
    fetch_metadata(deps, titles.iter().map(|t| t.id).filter(|id| !metadata.contains_key(id)).collect(), metadata)
        .await?;

    let mut items: Vec<ImportItem> = Vec::new();
    let mut failed = 0;
    let mut importable: Vec<Title<'_>> = Vec::new();
    for mut title in titles {
        match metadata.get(&title.id) {
            Some(Ok(Some(anime))) => {
                let start = items.len();
                items.push(ImportItem::Anime(anime.clone()));
                items.extend(episode_items(&anime.source_id, &title.releases));
                title.items = start..items.len();
                importable.push(title);
            }
            Some(Ok(None)) => {
                skipped += 1;
                failures.push((title.id.to_string(), "not on Shikimori (404)".to_owned()));
            }
            Some(Err(reason)) => {
                failed += 1;
                failures.push((title.id.to_string(), reason.clone()));
            }
            None => {
                failed += 1;
                failures.push((title.id.to_string(), "no metadata fetched".to_owned()));
            }
        }
    }
    // Releases of titles not on Shikimori are recorded too: they are not asked for again until
    // they change (a full run asks again).
    let mut imported_releases: Vec<(String, Vec<u8>)> = Vec::new();
    for id in groups.keys() {
        if matches!(metadata.get(id), Some(Ok(None))) {
            for release in &groups[id] {
                imported_releases.push((release.id.clone(), hashes[release.id.as_str()].clone()));
            }
        }
    }

    let mut conn = deps.db.get().await?;
    let total_seen = groups.len() as i32;
    let next = page.next.clone();
    // An empty page, or a cursor that does not move, ends the listing instead of looping.
    let stuck = next.is_some() && (next == run.cursor || page_was_empty);
    let listing_done = next.is_none() || reached_watermark || stuck;
    let page_high_water = releases.iter().filter_map(|r| r.updated_at).max();
    let mut updated = run.clone();
    let stats_after = (deps.kodik.upstream().stats().get(), deps.shikimori.upstream().stats().get());
    updated.requests += ((stats_after.0.0 - stats_before.0.0) + (stats_after.1.0 - stats_before.1.0)) as i32;
    updated.retries += ((stats_after.0.1 - stats_before.0.1) + (stats_after.1.1 - stats_before.1.1)) as i32;
    let committed = conn
        .transaction::<_, RunError, _>(async |conn| {
            let results = apply_in_chunks(conn, &items).await?;
            let (mut imported, mut title_unchanged) = (0, 0);
            for title in &importable {
                let outcomes: Result<Vec<Outcome>, String> = results[title.items.clone()]
                    .iter()
                    .map(|r| r.as_ref().map(|o| o.outcome()).map_err(|e| e.to_string()))
                    .collect();
                match outcomes {
                    Ok(outcomes) => {
                        match Outcome::combine(outcomes) {
                            Outcome::Unchanged => title_unchanged += 1,
                            Outcome::Created | Outcome::Updated => imported += 1,
                        }
                        for release in &title.releases {
                            imported_releases.push((release.id.clone(), hashes[release.id.as_str()].clone()));
                        }
                    }
                    Err(reason) => {
                        failed += 1;
                        failures.push((title.id.to_string(), reason));
                    }
                }
            }
            store::save_release_hashes(conn, SOURCE_NAME, &imported_releases).await?;
            updated.cursor = next.clone();
            updated.listing_done = listing_done;
            updated.high_water = updated.high_water.max(page_high_water);
            updated.pages += 1;
            updated.releases_seen += releases.len() as i32;
            updated.anime_seen += total_seen;
            updated.imported += imported;
            updated.unchanged += unchanged + title_unchanged;
            updated.skipped += skipped;
            updated.failed += failed;
            updated.failures = keep_failures(&updated.failures, &failures);
            updated.updated_at = Utc::now();
            store::save_run(conn, &updated).await?;
            Ok(updated)
        })
        .await?;
    *run = committed;
    let event = RunProgress { run_id: run.job_id }.encode_to_vec();
    if let Err(error) = deps.hub.publish(Topic::Imports, event).await {
        tracing::warn!(run.id = run.job_id, %error, "cannot publish import progress");
    }
    Ok(())
}

/// Applies `items` in as few chunks as their keys allow (a page holds each key once, so one).
async fn apply_in_chunks(
    conn: &mut diesel_async::AsyncPgConnection,
    items: &[ImportItem],
) -> Result<Vec<ItemResult>, RunError> {
    let mut results = Vec::with_capacity(items.len());
    let mut keys = ChunkKeys::default();
    let mut start = 0;
    for (i, item) in items.iter().enumerate() {
        if !keys.admit(item) {
            results.extend(upsert::apply(conn, &items[start..i]).await?);
            start = i;
            keys.clear();
            keys.admit(item);
        }
    }
    results.extend(upsert::apply(conn, &items[start..]).await?);
    Ok(results)
}

/// Fetches metadata of `ids` in batches, a few batches at once (the upstream's limits pace
/// them). A batch that fails retryably fails the page (the job retries it later); other
/// failures are recorded per title.
async fn fetch_metadata(
    deps: &ImportDeps,
    ids: Vec<i64>,
    metadata: &mut HashMap<i64, Result<Option<AnimeInput>, String>>,
) -> Result<(), RunError> {
    let batches: Vec<Vec<i64>> = ids.chunks(BATCH).map(<[i64]>::to_vec).collect();
    let mut fetches = futures_util::stream::iter(batches.into_iter().map(|batch| async move {
        let result = deps.shikimori.animes(&batch).await;
        (batch, result)
    }))
    .buffer_unordered(deps.concurrency);
    while let Some((batch, result)) = fetches.next().await {
        match result {
            Ok(found) => {
                for id in batch {
                    let anime = found.get(&id).map(|a| anime_item(a, deps.title_language));
                    let checked = match anime {
                        Some(anime) if anime.title.is_empty() => Err("Shikimori has no title for it".to_owned()),
                        other => Ok(other),
                    };
                    metadata.insert(id, checked);
                }
            }
            Err(error) if error.is_retryable() => return Err(error.into()),
            Err(error) => {
                for id in batch {
                    metadata.insert(id, Err(error.to_string()));
                }
            }
        }
    }
    Ok(())
}

/// Appends `new` failures to the stored list, keeping the latest [`MAX_FAILURES`].
fn keep_failures(stored: &Value, new: &[(String, String)]) -> Value {
    let mut list: Vec<Value> = stored.as_array().cloned().unwrap_or_default();
    list.extend(new.iter().map(|(id, reason)| json!({ "source_id": text::clean(id), "reason": text::clean(reason) })));
    let skip = list.len().saturating_sub(MAX_FAILURES);
    Value::Array(list.into_iter().skip(skip).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_failures() {
        let mut stored = json!([]);
        for i in 0..60 {
            stored = keep_failures(&stored, &[(i.to_string(), "x".to_owned())]);
        }
        let list = stored.as_array().unwrap();
        assert_eq!(list.len(), MAX_FAILURES);
        assert_eq!(list[0]["source_id"], "10");
        assert_eq!(list[49]["source_id"], "59");
    }
}

crate::error::infra_from!(RunError);
