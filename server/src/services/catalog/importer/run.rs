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
    kodik::{ListPage, Release},
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

/// A listing page as the run sees it.
struct Listing {
    /// Releases updated after the watermark (all of them in a full run).
    releases: Vec<Release>,
    /// The cursor of the next page.
    next: Option<String>,
    /// Whether this page ends the listing: no next page, the watermark reached, or a page that
    /// would loop (empty, or a cursor that does not move).
    done: bool,
}

impl Listing {
    fn of(page: ListPage, run: &RunRow) -> Self {
        let page_was_empty = page.results.is_empty();
        let mut reached_watermark = false;
        let releases = page
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
        let next = page.next;
        let stuck = next.is_some() && (next == run.cursor || page_was_empty);
        Self { done: next.is_none() || reached_watermark || stuck, releases, next }
    }

    /// Releases by Shikimori id; releases without one are skipped and reported.
    fn by_title(&self, tally: &mut PageTally) -> BTreeMap<i64, Vec<&Release>> {
        let mut groups: BTreeMap<i64, Vec<&Release>> = BTreeMap::new();
        for release in &self.releases {
            match release.shikimori_id.as_deref().and_then(|id| id.parse::<i64>().ok()) {
                Some(id) if id > 0 => groups.entry(id).or_default().push(release),
                _ => tally.skip(release.id.clone(), "release has no Shikimori id"),
            }
        }
        groups
    }
}

/// What a page did, counted as it goes.
#[derive(Default)]
struct PageTally {
    skipped: i32,
    failed: i32,
    unchanged: i32,
    imported: i32,
    failures: Vec<(String, String)>,
    /// Releases done with (imported, or not on Shikimori) and their hashes, to store.
    done_releases: Vec<(String, Vec<u8>)>,
}

impl PageTally {
    fn skip(&mut self, id: String, reason: &str) {
        self.skipped += 1;
        self.failures.push((id, reason.to_owned()));
    }

    fn fail(&mut self, id: String, reason: String) {
        self.failed += 1;
        self.failures.push((id, reason));
    }

    fn done_with(&mut self, releases: &[&Release], hashes: &HashMap<&str, Vec<u8>>) {
        for release in releases {
            self.done_releases.push((release.id.clone(), hashes[release.id.as_str()].clone()));
        }
    }
}

/// Requests and retries made so far, to count a page's share.
fn upstream_counts(deps: &ImportDeps) -> (u64, u64) {
    let (kodik, shikimori) = (deps.kodik.upstream().stats().get(), deps.shikimori.upstream().stats().get());
    (kodik.0 + shikimori.0, kodik.1 + shikimori.1)
}

/// Imports one listing page: list, group by title, skip titles whose releases are unchanged,
/// fetch the others' metadata, then write the titles and the run's counters in one transaction.
async fn import_page(
    deps: &ImportDeps,
    run: &mut RunRow,
    full: bool,
    metadata: &mut HashMap<i64, Result<Option<AnimeInput>, String>>,
) -> Result<(), RunError> {
    let counts_before = upstream_counts(deps);
    let listing = Listing::of(deps.kodik.list_page(run.cursor.as_deref()).await?, run);
    let mut tally = PageTally::default();
    let groups = listing.by_title(&mut tally);
    let hashes: HashMap<&str, Vec<u8>> = listing.releases.iter().map(|r| (r.id.as_str(), release_hash(r))).collect();
    let titles = changed_titles(deps, &groups, &hashes, full, &mut tally).await?;
    let wanted = titles.iter().map(|t| t.id).filter(|id| !metadata.contains_key(id)).collect();
    fetch_metadata(deps, wanted, metadata).await?;
    let (items, importable) = build_items(titles, metadata, &groups, &hashes, &mut tally);
    let counts_after = upstream_counts(deps);
    let mut updated = run.clone();
    updated.requests += (counts_after.0 - counts_before.0) as i32;
    updated.retries += (counts_after.1 - counts_before.1) as i32;
    updated.cursor = listing.next.clone();
    updated.listing_done = listing.done;
    updated.high_water = updated.high_water.max(listing.releases.iter().filter_map(|r| r.updated_at).max());
    updated.pages += 1;
    updated.releases_seen += listing.releases.len() as i32;
    updated.anime_seen += groups.len() as i32;
    *run = commit_page(deps, updated, &items, &importable, &hashes, tally).await?;
    let event = RunProgress { run_id: run.job_id }.encode_to_vec();
    if let Err(error) = deps.hub.publish(Topic::Imports, event).await {
        tracing::warn!(run.id = run.job_id, %error, "cannot publish import progress");
    }
    Ok(())
}

/// The titles to import: all in a full run, else those with a release whose hash differs from
/// the one stored when it was last imported (the rest count as unchanged, at no upstream cost).
async fn changed_titles<'a>(
    deps: &ImportDeps,
    groups: &BTreeMap<i64, Vec<&'a Release>>,
    hashes: &HashMap<&str, Vec<u8>>,
    full: bool,
    tally: &mut PageTally,
) -> Result<Vec<Title<'a>>, RunError> {
    let ids: Vec<String> = groups.values().flatten().map(|r| r.id.clone()).collect();
    let mut conn = deps.db.get().await?;
    let stored = store::release_hashes(&mut conn, SOURCE_NAME, &ids).await?;
    drop(conn);
    let mut titles = Vec::new();
    for (id, group) in groups {
        if full || group.iter().any(|r| stored.get(&r.id) != hashes.get(r.id.as_str())) {
            titles.push(Title { id: *id, releases: group.clone(), items: 0..0 });
        } else {
            tally.unchanged += 1;
        }
    }
    Ok(titles)
}

/// The import items of the titles with metadata (anime, then its episodes and players), and
/// those titles; the others are reported skipped (not on Shikimori) or failed.
fn build_items<'a>(
    titles: Vec<Title<'a>>,
    metadata: &HashMap<i64, Result<Option<AnimeInput>, String>>,
    groups: &BTreeMap<i64, Vec<&Release>>,
    hashes: &HashMap<&str, Vec<u8>>,
    tally: &mut PageTally,
) -> (Vec<ImportItem>, Vec<Title<'a>>) {
    let mut items: Vec<ImportItem> = Vec::new();
    let mut importable = Vec::new();
    for mut title in titles {
        match metadata.get(&title.id) {
            Some(Ok(Some(anime))) => {
                let start = items.len();
                items.push(ImportItem::Anime(anime.clone()));
                items.extend(episode_items(&anime.source_id, &title.releases));
                title.items = start..items.len();
                importable.push(title);
            }
            Some(Ok(None)) => tally.skip(title.id.to_string(), "not on Shikimori (404)"),
            Some(Err(reason)) => tally.fail(title.id.to_string(), reason.clone()),
            None => tally.fail(title.id.to_string(), "no metadata fetched".to_owned()),
        }
    }
    // Releases of titles not on Shikimori are recorded too: they are not asked for again until
    // they change (a full run asks again).
    for (id, group) in groups {
        if matches!(metadata.get(id), Some(Ok(None))) {
            tally.done_with(group, hashes);
        }
    }
    (items, importable)
}

/// Writes a page's items, the hashes of the releases done with, and the run's counters (with
/// the next cursor) in one transaction, so a run killed here resumes after the last committed
/// page.
async fn commit_page(
    deps: &ImportDeps,
    mut updated: RunRow,
    items: &[ImportItem],
    importable: &[Title<'_>],
    hashes: &HashMap<&str, Vec<u8>>,
    mut tally: PageTally,
) -> Result<RunRow, RunError> {
    let mut conn = deps.db.get().await?;
    conn.transaction::<_, RunError, _>(async |conn| {
        let results = apply_in_chunks(conn, items).await?;
        for title in importable {
            let outcomes: Result<Vec<Outcome>, String> = results[title.items.clone()]
                .iter()
                .map(|r| r.as_ref().map(|o| o.outcome()).map_err(|e| e.to_string()))
                .collect();
            match outcomes.map(Outcome::combine) {
                Ok(Outcome::Unchanged) => tally.unchanged += 1,
                Ok(Outcome::Created | Outcome::Updated) => tally.imported += 1,
                Err(reason) => {
                    tally.fail(title.id.to_string(), reason);
                    continue;
                }
            }
            tally.done_with(&title.releases, hashes);
        }
        store::save_release_hashes(conn, SOURCE_NAME, &tally.done_releases).await?;
        updated.imported += tally.imported;
        updated.unchanged += tally.unchanged;
        updated.skipped += tally.skipped;
        updated.failed += tally.failed;
        updated.failures = keep_failures(&updated.failures, &tally.failures);
        updated.updated_at = Utc::now();
        store::save_run(conn, &updated).await?;
        Ok(updated)
    })
    .await
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
