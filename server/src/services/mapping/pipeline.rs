//! A pipeline run: fetch every source, merge, write what changed in one transaction, then
//! bring the cache up to date. Runs as the `mapping-pipeline` job (nightly and on demand) and
//! in the foreground with `medley mapping run`.
//!
//! A run that fails anywhere before its commit changes nothing: the previous data keeps
//! serving. When every source and override is unchanged since the data was built, the run
//! stops after fetching (unless forced).

use std::{sync::Arc, time::Instant};

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use medley_sdk::pb::PipelineStage;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{
    cache::MappingCache,
    merge::{self, Conflict, MergeOutput, SourceInput},
    overrides,
    snapshot::{self, FinalRecord},
    sources::{
        self, SourceError, SourceSpec,
        fetch::{self, Fetched, Validators},
    },
    store::{self, RecordWrite, SourceRow},
};
use crate::{db::DbPool, error::InfraError, progress::ProgressHub};

/// Job kind of a run.
pub const KIND: &str = "mapping-pipeline";
/// Dedupe key: one run queued or running at a time.
pub const DEDUPE_KEY: &str = "mapping-pipeline";
/// Name of the nightly schedule.
pub const SCHEDULE: &str = "mapping-pipeline-nightly";
/// When it fires: 05:30 UTC, after the upstream lists' nightly builds.
pub const SCHEDULE_CRON: &str = "30 5 * * *";
/// Conflicts kept in a run's summary (all are counted).
const CONFLICT_SAMPLES: usize = 100;

/// What a run needs.
#[derive(Clone)]
pub struct PipelineDeps {
    /// PostgreSQL.
    pub db: DbPool,
    /// The cache to bring up to date.
    pub cache: Arc<MappingCache>,
    /// Where changes are announced.
    pub hub: Arc<ProgressHub>,
    /// HTTP client for URL sources.
    pub http: reqwest::Client,
}

/// A progress event of a run.
#[derive(Clone, Debug)]
pub struct StageEvent {
    /// The stage.
    pub stage: PipelineStage,
    /// Units done in the stage.
    pub done: u64,
    /// Units in the stage (0 if unknown).
    pub total: u64,
    /// What is happening.
    pub message: String,
}

/// What happened to one source.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceReport {
    /// Kind name.
    pub kind: String,
    /// URL or path.
    pub location: String,
    /// "changed", "unchanged" or "failed".
    pub outcome: String,
    /// Records read.
    pub records: u64,
    /// Ids skipped for their shape.
    pub bad_ids: u64,
    /// Why it failed.
    pub error: String,
}

/// A conflict as stored in a run's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConflictReport {
    /// Platform number.
    pub platform: i32,
    /// Kept id.
    pub kept_id: String,
    /// Its source.
    pub kept_source: String,
    /// Refused id.
    pub rejected_id: String,
    /// Its source.
    pub rejected_source: String,
    /// Record title.
    pub title: String,
    /// Deciding rule.
    pub rule: String,
}

impl From<&Conflict> for ConflictReport {
    fn from(c: &Conflict) -> Self {
        Self {
            platform: c.platform as i32,
            kept_id: c.kept_id.clone(),
            kept_source: c.kept_source.clone(),
            rejected_id: c.rejected_id.clone(),
            rejected_source: c.rejected_source.clone(),
            title: c.title.clone(),
            rule: c.rule.to_owned(),
        }
    }
}

/// A run's figures (the job's result).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunSummary {
    /// Sources in priority order.
    pub sources: Vec<SourceReport>,
    /// Source records read.
    pub records_read: u64,
    /// Records after the merge.
    pub records_merged: u64,
    /// Records created.
    pub records_inserted: u64,
    /// Records changed.
    pub records_updated: u64,
    /// Records removed.
    pub records_deleted: u64,
    /// Records untouched.
    pub records_unchanged: u64,
    /// Keys created or repointed.
    pub keys_written: u64,
    /// Keys removed.
    pub keys_removed: u64,
    /// Conflicts found.
    pub conflict_count: u64,
    /// The first conflicts.
    pub conflicts: Vec<ConflictReport>,
    /// Records joined by title.
    pub title_matches: u64,
    /// Overrides applied.
    pub overrides_applied: u64,
    /// Nothing changed upstream, so nothing was merged.
    pub skipped: bool,
    /// Wall time.
    pub duration_ms: u64,
    /// Time per stage, for the docs' figures.
    pub fetch_ms: u64,
    /// Merge time.
    pub merge_ms: u64,
    /// Write time.
    pub write_ms: u64,
    /// Cache time.
    pub cache_ms: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No source is configured.
    #[error("no mapping source is configured (set MEDLEY_MAPPING_SOURCES, e.g. fribb=https://...)")]
    NoSources,
    /// A source could not be read or parsed; the report says which.
    #[error("{error}")]
    Source { error: SourceError, report: Box<RunSummary> },
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
    /// A bug.
    #[error("{0}")]
    Internal(String),
}

impl RunError {
    /// Returns whether retrying later may help (outages, network) rather than a bad file.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Infra(_) | Self::Source { error: SourceError::Fetch { .. }, .. })
    }
}

impl From<diesel::result::Error> for RunError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Infra(error.into())
    }
}

impl From<crate::db::PoolError> for RunError {
    fn from(error: crate::db::PoolError) -> Self {
        Self::Infra(error.into())
    }
}

/// Runs the pipeline over `specs` (in configuration order).
pub async fn run(
    deps: &PipelineDeps,
    specs: &[SourceSpec],
    force: bool,
    run_id: Option<i64>,
    progress: &mpsc::UnboundedSender<StageEvent>,
) -> Result<RunSummary, RunError> {
    if specs.is_empty() {
        return Err(RunError::NoSources);
    }
    let started = Instant::now();
    let report = |stage, done, total, message: String| {
        let _ = progress.send(StageEvent { stage, done, total, message });
    };
    let mut summary = RunSummary::default();

    // Priority: by kind, then configuration order.
    let mut ordered: Vec<(usize, &SourceSpec)> = specs.iter().enumerate().collect();
    ordered.sort_by_key(|(position, spec)| (spec.kind.rank(), *position));

    // Fetch.
    let mut inputs = Vec::with_capacity(ordered.len());
    let mut rows = Vec::with_capacity(ordered.len());
    let mut conn = deps.db.get().await?;
    for (step, (position, spec)) in ordered.iter().enumerate() {
        report(PipelineStage::Fetch, step as u64, ordered.len() as u64, format!("reading {spec}"));
        match read_source(deps, &mut conn, spec).await {
            Ok((parsed, row, changed)) => {
                summary.records_read += parsed.records.len() as u64;
                summary.sources.push(SourceReport {
                    kind: spec.kind.to_string(),
                    location: spec.shown_location(),
                    outcome: if changed { "changed" } else { "unchanged" }.to_owned(),
                    records: parsed.records.len() as u64,
                    bad_ids: parsed.bad_ids,
                    error: String::new(),
                });
                inputs.push(SourceInput { label: format!("{}:{}", spec.kind, position + 1), records: parsed.records });
                rows.push(row);
            }
            Err(error) => {
                summary.sources.push(SourceReport {
                    kind: spec.kind.to_string(),
                    location: spec.shown_location(),
                    outcome: "failed".to_owned(),
                    error: error.to_string(),
                    ..SourceReport::default()
                });
                return Err(RunError::Source { error, report: Box::new(summary) });
            }
        }
    }
    let override_rows = store::list_overrides(&mut conn, None, i64::MAX).await?;
    let override_inputs = overrides::to_inputs(&override_rows);
    let fingerprint = inputs_fingerprint(&rows, &override_rows);
    summary.fetch_ms = started.elapsed().as_millis() as u64;
    report(PipelineStage::Fetch, ordered.len() as u64, ordered.len() as u64, "sources read".into());

    let state = store::state(&mut conn).await?;
    if !force && state.as_ref().is_some_and(|s| s.inputs_sha256 == fingerprint) {
        summary.skipped = true;
        summary.records_unchanged = state.as_ref().map_or(0, |s| s.total_records as u64);
        save_checked(&mut conn, &rows).await?;
        drop(conn);
        // A previous run may have committed without reaching Redis.
        let cache_started = Instant::now();
        deps.cache.drain_outbox(&deps.hub).await?;
        summary.cache_ms = cache_started.elapsed().as_millis() as u64;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        report(PipelineStage::Done, 1, 1, "sources unchanged: nothing to do".into());
        return Ok(summary);
    }

    // Merge (CPU-bound: off the async threads).
    report(PipelineStage::Merge, 0, summary.records_read, format!("merging {} source records", summary.records_read));
    let merge_started = Instant::now();
    let merged: MergeOutput = tokio::task::spawn_blocking(move || merge::merge(&inputs, &override_inputs))
        .await
        .map_err(|e| RunError::Internal(format!("the merge panicked: {e}")))?;
    summary.records_merged = merged.records.len() as u64;
    summary.conflict_count = merged.conflicts.len() as u64;
    summary.conflicts = merged.conflicts.iter().take(CONFLICT_SAMPLES).map(ConflictReport::from).collect();
    summary.title_matches = merged.title_matches;
    summary.overrides_applied = merged.overrides_applied;
    summary.merge_ms = merge_started.elapsed().as_millis() as u64;
    report(
        PipelineStage::Merge,
        summary.records_read,
        summary.records_read,
        format!("{} records", merged.records.len()),
    );

    // Write.
    report(PipelineStage::Write, 0, 0, "comparing with the served data".into());
    let write_started = Instant::now();
    let written = write(&mut conn, &merged, &rows, &fingerprint, run_id, &mut summary).await?;
    drop(conn);
    summary.write_ms = write_started.elapsed().as_millis() as u64;
    report(
        PipelineStage::Write,
        1,
        1,
        format!(
            "{} inserted, {} updated, {} deleted, {} unchanged",
            summary.records_inserted, summary.records_updated, summary.records_deleted, summary.records_unchanged
        ),
    );

    // Cache: drop what went stale, then fill what changed.
    report(PipelineStage::Cache, 0, written.records.len() as u64, "updating the cache".into());
    let cache_started = Instant::now();
    deps.cache.drain_outbox(&deps.hub).await?;
    if let Err(error) = deps.cache.fill(&written.records, &written.keys).await {
        tracing::warn!(%error, "cannot pre-fill the mapping cache; lookups fill it on miss");
    }
    summary.cache_ms = cache_started.elapsed().as_millis() as u64;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    report(PipelineStage::Done, 1, 1, "done".into());
    Ok(summary)
}

/// Reads one source: returns its records, its row to store, and whether it changed.
async fn read_source(
    deps: &PipelineDeps,
    conn: &mut AsyncPgConnection,
    spec: &SourceSpec,
) -> Result<(sources::Parsed, SourceRow, bool), SourceError> {
    let kind = spec.kind.as_str();
    let previous = store::find_source(conn, kind, &spec.location).await.ok().flatten();
    let validators = previous
        .as_ref()
        .filter(|p| p.body.is_some())
        .map(|p| Validators { etag: p.etag.clone(), last_modified: p.last_modified.clone() });
    let fetched = fetch::fetch(&deps.http, &spec.location, validators.as_ref()).await?;
    let now = chrono::Utc::now();
    let (bytes, mut row) = match (fetched, previous) {
        (Fetched::NotModified, Some(previous)) => {
            let body = previous.body.clone().unwrap_or_default();
            let bytes = fetch::decompress(body).map_err(|reason| SourceError::Malformed {
                kind: spec.kind,
                location: spec.shown_location(),
                reason,
            })?;
            (bytes, SourceRow { checked_at: now, ..previous })
        }
        (Fetched::NotModified, None) => {
            return Err(SourceError::Fetch {
                location: spec.shown_location(),
                reason: "the server answered 304 to an unconditional request".into(),
            });
        }
        (Fetched::Body { bytes, sha256, validators }, previous) => {
            let changed_at = match &previous {
                Some(p) if p.sha256 == sha256 => p.changed_at,
                _ => now,
            };
            // URL bodies are kept so a later 304 can still be merged (PostgreSQL compresses them).
            let body = if spec.is_url() { Some(bytes.clone()) } else { None };
            let row = SourceRow {
                kind: kind.to_owned(),
                location: spec.location.clone(),
                etag: validators.etag,
                last_modified: validators.last_modified,
                sha256,
                records: 0,
                body,
                checked_at: now,
                changed_at,
            };
            (bytes, row)
        }
    };
    let (kind_, location) = (spec.kind, spec.location.clone());
    let parsed =
        tokio::task::spawn_blocking(move || sources::parse(kind_, &location, &bytes)).await.map_err(|e| {
            SourceError::Malformed { kind: spec.kind, location: spec.shown_location(), reason: e.to_string() }
        })??;
    row.records = parsed.records.len() as i64;
    let changed = row.changed_at == now;
    Ok((parsed, row, changed))
}

fn inputs_fingerprint(rows: &[SourceRow], overrides: &[store::OverrideRow]) -> String {
    let mut hasher = Sha256::new();
    for row in rows {
        hasher.update(format!("{}\0{}\0{}\n", row.kind, row.location, row.sha256));
    }
    for o in overrides {
        hasher.update(format!("{}\0{}\0{}\0{}\n", o.id, o.subject_platform, o.subject_id, o.change));
    }
    fetch::hex(&hasher.finalize())
}

async fn save_checked(conn: &mut AsyncPgConnection, rows: &[SourceRow]) -> Result<(), RunError> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| store::save_sources(conn, rows).await).await?;
    Ok(())
}

/// What a committed run wrote, for the cache fill.
struct Written {
    records: Vec<(i64, Vec<u8>)>,
    keys: Vec<(snapshot::Key, i64)>,
}

async fn write(
    conn: &mut AsyncPgConnection,
    merged: &MergeOutput,
    rows: &[SourceRow],
    fingerprint: &str,
    run_id: Option<i64>,
    summary: &mut RunSummary,
) -> Result<Written, RunError> {
    let now = chrono::Utc::now();
    let written = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            store::lock_publish(conn).await?;
            let t = Instant::now();
            let served = store::load_served(conn).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "served loaded");
            let assigned = snapshot::assign_ids(&merged.records, &served);
            let fresh = store::allocate_ids(conn, assigned.iter().filter(|a| a.is_none()).count()).await?;
            let mut fresh = fresh.into_iter();
            let finals: Vec<FinalRecord> = merged
                .records
                .iter()
                .zip(&assigned)
                .map(|(record, id)| snapshot::finalize(id.or_else(|| fresh.next()).unwrap_or_default(), record))
                .collect();
            let keys = snapshot::build_keys(&finals);
            let diff = snapshot::diff(&finals, &keys, &served);

            let changed: Vec<&FinalRecord> = diff.inserted.iter().chain(&diff.updated).map(|&i| &finals[i]).collect();
            let writes: Vec<RecordWrite<'_>> = changed
                .iter()
                .map(|f| {
                    let mut record = f.record.clone();
                    record.update_time = Some(crate::proto_time::to_timestamp(now));
                    RecordWrite {
                        id: f.id,
                        title: &f.record.title,
                        media_type: f.record.r#type as i16,
                        year: f.record.year,
                        body: record.encode_to_vec(),
                        hash: &f.hash,
                        titles: &f.search_titles,
                    }
                })
                .collect();
            let t = Instant::now();
            store::delete_keys(conn, &diff.removed_keys).await?;
            store::delete_records(conn, &diff.deleted).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "deletes");
            store::upsert_records(conn, &writes).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "records");
            store::upsert_keys(conn, &diff.upsert_keys).await?;
            tracing::debug!(ms = t.elapsed().as_millis() as u64, "keys");

            // Stale cache entries: changed and deleted records, removed and repointed keys.
            let stale_records: Vec<i64> =
                diff.updated.iter().map(|&i| finals[i].id).chain(diff.deleted.iter().copied()).collect();
            let mut stale_keys = diff.removed_keys.clone();
            stale_keys
                .extend(diff.upsert_keys.iter().filter(|(k, _)| served.keys.contains_key(k)).map(|(k, _)| k.clone()));
            store::push_outbox(conn, &stale_records, &stale_keys).await?;

            let counts =
                serde_json::json!(snapshot::counts(&finals).iter().map(|(p, n)| [*p as i64, *n]).collect::<Vec<_>>());
            store::save_sources(conn, rows).await?;
            store::save_state(conn, fingerprint, &counts, finals.len() as i64, run_id, !diff.is_empty()).await?;

            summary.records_inserted = diff.inserted.len() as u64;
            summary.records_updated = diff.updated.len() as u64;
            summary.records_deleted = diff.deleted.len() as u64;
            summary.records_unchanged = diff.unchanged as u64;
            summary.keys_written = diff.upsert_keys.len() as u64;
            summary.keys_removed = diff.removed_keys.len() as u64;
            Ok(Written { records: writes.into_iter().map(|w| (w.id, w.body)).collect(), keys: diff.upsert_keys })
        })
        .await?;
    Ok(written)
}
