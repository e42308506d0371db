//! Request validation and proto conversions of MappingService.

use medley_sdk::pb::{self, PipelineStage, mapping_key::PlatformRef};

use super::{
    pipeline::RunSummary,
    platform::{PLATFORMS, PlatformSpec, Role, by_name, canonical_id, spec_of, spec_of_number},
    snapshot::{Key, key_text},
    sources::SourceId,
};
use crate::error::FieldViolations;

/// A validated lookup key.
#[derive(Clone, Debug)]
pub struct ParsedKey {
    /// The platform.
    pub spec: &'static PlatformSpec,
    /// Canonical id.
    pub id: String,
    /// Season, on seasonal platforms.
    pub season: Option<i32>,
}

impl ParsedKey {
    /// The stored key this lookup reads. Redirect-only platforms read the platform their URL
    /// uses.
    pub fn key(&self) -> Key {
        let platform = match self.spec.role {
            Role::RedirectOnly(via) => via,
            _ => self.spec.platform,
        };
        (platform as i16, key_text(&self.id, self.season))
    }
}

/// Resolves a platform given by enum or by name; records a violation at `field`.
pub fn parse_platform_ref(
    platform: Option<&PlatformRef>,
    field: &str,
    violations: &mut FieldViolations,
) -> Option<&'static PlatformSpec> {
    match platform {
        Some(PlatformRef::Platform(number)) => {
            let spec = spec_of_number(*number);
            if spec.is_none() {
                violations.add(format!("{field}.platform"), format!("{number} is not a platform"));
            }
            spec
        }
        Some(PlatformRef::PlatformName(name)) => {
            let spec = by_name(name);
            if spec.is_none() {
                violations.add(
                    format!("{field}.platform_name"),
                    format!("unknown platform {name:?}; ListPlatforms gives every name and alias"),
                );
            }
            spec
        }
        None => {
            violations.add(format!("{field}.platform"), "a platform (enum or name) is required");
            None
        }
    }
}

/// Validates a [`pb::MappingKey`]; records violations under `field`.
pub fn parse_key(key: &pb::MappingKey, field: &str, violations: &mut FieldViolations) -> Option<ParsedKey> {
    let spec = parse_platform_ref(key.platform_ref.as_ref(), field, violations)?;
    let id = match canonical_id(spec, &key.id) {
        Ok(id) => id,
        Err(why) => {
            violations.add(format!("{field}.id"), why);
            return None;
        }
    };
    if let Some(season) = key.season {
        if !spec.seasonal() {
            violations.add(format!("{field}.season"), format!("{} ids have no season", spec.name));
            return None;
        }
        if !(0..=1000).contains(&season) {
            violations.add(format!("{field}.season"), "must be 0 (specials) to 1000");
            return None;
        }
    }
    Some(ParsedKey { spec, id, season: key.season })
}

/// Converts a source id to its proto form with its URL.
pub fn platform_id_to_pb(id: &SourceId) -> pb::PlatformId {
    let url = spec_of(id.platform).map(|s| s.url(&id.id, id.season)).unwrap_or_default();
    pb::PlatformId {
        platform: id.platform as i32,
        id: id.id.clone(),
        season: id.season,
        episode_offset: id.episode_offset,
        url,
    }
}

/// Describes every platform.
pub fn platform_infos() -> Vec<pb::PlatformInfo> {
    PLATFORMS
        .iter()
        .map(|spec| pb::PlatformInfo {
            platform: spec.platform as i32,
            name: spec.name.to_owned(),
            aliases: spec.aliases.iter().map(|a| (*a).to_owned()).collect(),
            id_kind: spec.id_kind as i32,
            url_template: spec.season_url_template.unwrap_or(spec.url_template).to_owned(),
            seasonal: spec.seasonal(),
            lookup: spec.stored(),
            via: match spec.role {
                Role::RedirectOnly(via) | Role::Derived(via) => via as i32,
                _ => 0,
            },
        })
        .collect()
}

/// Converts a job (of kind `mapping-pipeline`) to a run.
pub fn run_from_job(job: &pb::Job) -> pb::PipelineRun {
    let summary = serde_json::from_str::<RunSummary>(&job.result_json).ok().map(|s| summary_to_pb(&s));
    let stage = job.progress.as_ref().map_or(PipelineStage::Unspecified, |p| stage_from_name(&p.unit));
    let stage = if job.state == pb::JobState::Succeeded as i32 { PipelineStage::Done } else { stage };
    pb::PipelineRun {
        run_id: job.id,
        state: job.state,
        create_time: job.create_time,
        finish_time: job.finish_time,
        summary,
        error: job.last_error.clone(),
        progress: job.progress.clone(),
        stage: stage as i32,
    }
}

/// The progress unit a stage is reported with.
pub fn stage_name(stage: PipelineStage) -> &'static str {
    match stage {
        PipelineStage::Unspecified => "",
        PipelineStage::Fetch => "fetch",
        PipelineStage::Merge => "merge",
        PipelineStage::Write => "write",
        PipelineStage::Cache => "cache",
        PipelineStage::Done => "done",
    }
}

fn stage_from_name(name: &str) -> PipelineStage {
    [PipelineStage::Fetch, PipelineStage::Merge, PipelineStage::Write, PipelineStage::Cache, PipelineStage::Done]
        .into_iter()
        .find(|s| stage_name(*s) == name)
        .unwrap_or(PipelineStage::Unspecified)
}

/// Converts a run summary.
pub fn summary_to_pb(s: &RunSummary) -> pb::PipelineSummary {
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    pb::PipelineSummary {
        sources: s
            .sources
            .iter()
            .map(|r| pb::SourceReport {
                kind: r.kind.clone(),
                location: r.location.clone(),
                outcome: match r.outcome.as_str() {
                    "changed" => pb::SourceOutcome::Changed,
                    "unchanged" => pb::SourceOutcome::Unchanged,
                    "failed" => pb::SourceOutcome::Failed,
                    _ => pb::SourceOutcome::Unspecified,
                } as i32,
                records: to_i64(r.records),
                error: r.error.clone(),
            })
            .collect(),
        records_read: to_i64(s.records_read),
        records_merged: to_i64(s.records_merged),
        records_inserted: to_i64(s.records_inserted),
        records_updated: to_i64(s.records_updated),
        records_deleted: to_i64(s.records_deleted),
        records_unchanged: to_i64(s.records_unchanged),
        conflict_count: to_i64(s.conflict_count),
        conflicts: s
            .conflicts
            .iter()
            .map(|c| pb::MappingConflict {
                platform: c.platform,
                kept_id: c.kept_id.clone(),
                kept_source: c.kept_source.clone(),
                rejected_id: c.rejected_id.clone(),
                rejected_source: c.rejected_source.clone(),
                title: c.title.clone(),
                rule: c.rule.clone(),
            })
            .collect(),
        title_matches: to_i64(s.title_matches),
        overrides_applied: to_i64(s.overrides_applied),
        skipped: s.skipped,
        duration_ms: to_i64(s.duration_ms),
    }
}

/// Name of a platform number (for counts).
pub fn platform_name(number: i32) -> String {
    spec_of_number(number).map(|s| s.name.to_owned()).unwrap_or_default()
}

/// Validates a record view (unspecified means full); an unknown value is a violation.
pub fn parse_view(value: i32, violations: &mut FieldViolations) -> pb::RecordView {
    match violations.parse_enum::<pb::RecordView>("view", value) {
        Some(pb::RecordView::Unspecified) | None => pb::RecordView::Full,
        Some(view) => view,
    }
}

/// Returns the part of `record` that `view` asks for.
pub fn shape(record: &pb::MappingRecord, view: pb::RecordView) -> pb::MappingRecord {
    match view {
        pb::RecordView::Ids => pb::MappingRecord {
            id: record.id,
            title: record.title.clone(),
            r#type: record.r#type,
            year: record.year,
            season: record.season,
            episodes: record.episodes,
            synonyms: Vec::new(),
            ids: record
                .ids
                .iter()
                .map(|i| pb::PlatformId {
                    platform: i.platform,
                    id: i.id.clone(),
                    season: i.season,
                    episode_offset: i.episode_offset,
                    url: String::new(),
                })
                .collect(),
            update_time: record.update_time,
        },
        _ => record.clone(),
    }
}
