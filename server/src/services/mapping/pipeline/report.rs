//! What a run reports: its progress events and its figures (the job's result).

use medley_sdk::pb::PipelineStage;
use serde::{Deserialize, Serialize};

use crate::services::mapping::{
    merge::Conflict,
    sources::{Parsed, SourceError, SourceSpec},
};

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

impl SourceReport {
    /// A source read successfully.
    pub(super) fn read(spec: &SourceSpec, changed: bool, parsed: &Parsed) -> Self {
        Self {
            kind: spec.kind.to_string(),
            location: spec.shown_location(),
            outcome: if changed { "changed" } else { "unchanged" }.to_owned(),
            records: parsed.records.len() as u64,
            bad_ids: parsed.bad_ids,
            error: String::new(),
        }
    }

    /// A source that could not be read or parsed.
    pub(super) fn failed(spec: &SourceSpec, error: &SourceError) -> Self {
        Self {
            kind: spec.kind.to_string(),
            location: spec.shown_location(),
            outcome: "failed".to_owned(),
            error: error.to_string(),
            ..Self::default()
        }
    }
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
