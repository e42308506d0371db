//! The read operations, shared by the gRPC service and the REST compatibility routes.

use std::sync::Arc;

use medley_sdk::pb;

use super::{
    MappingError, MappingState,
    convert::{ParsedKey, platform_name, run_from_job},
    merge::titles,
    pipeline::KIND,
    platform::{PlatformSpec, Role},
    store::{self, SearchCursor},
};
use crate::{
    api::jobs::job_to_pb,
    error::FieldViolations,
    pagination::{finish_page, parse_page_size_within, parse_page_token, rows_to_read},
    jobs::{JobState, store as job_store},
    proto_time::to_timestamp,
};

/// Most keys in one batch.
pub const MAX_BATCH: usize = 1000;

/// Rejects redirect-only platforms where a stored id is needed.
pub fn require_stored(key: &ParsedKey, field: &str, violations: &mut FieldViolations) {
    if !key.spec.stored() {
        violations
            .add(format!("{field}.platform"), format!("{} is a redirect target only, not a lookup key", key.spec.name));
    }
}

/// Returns the record holding `key`.
pub async fn get(state: &MappingState, key: &ParsedKey) -> Result<Arc<pb::MappingRecord>, MappingError> {
    let found = state.cache.get_many(std::slice::from_ref(&key.key())).await?;
    found
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(|| MappingError::NotFound { platform: key.spec.name, id: display_id(key) })
}

/// Returns the records of `keys`, aligned with them.
pub async fn get_many(
    state: &MappingState,
    keys: &[ParsedKey],
) -> Result<Vec<Option<Arc<pb::MappingRecord>>>, MappingError> {
    let wanted: Vec<_> = keys.iter().map(ParsedKey::key).collect();
    Ok(state.cache.get_many(&wanted).await?)
}

fn display_id(key: &ParsedKey) -> String {
    match key.season {
        Some(season) => format!("{} season {season}", key.id),
        None => key.id.clone(),
    }
}

/// Resolves the page of the anime of `from` on `target` (its own platform when `None`).
pub async fn redirect(
    state: &MappingState,
    from: &ParsedKey,
    target: Option<&'static PlatformSpec>,
) -> Result<(String, &'static PlatformSpec, String, Arc<pb::MappingRecord>), MappingError> {
    let record = get(state, from).await?;
    let target = target.unwrap_or(from.spec);
    if target.url_template.is_empty() {
        return Err(MappingError::NotRedirectable(target.name));
    }
    let via = match target.role {
        Role::RedirectOnly(via) => via,
        _ => target.platform,
    };
    // The id the lookup was made with, when it is the target's own; else the record's first.
    let ids: Vec<&pb::PlatformId> = record.ids.iter().filter(|i| i.platform == via as i32).collect();
    let chosen = ids
        .iter()
        .find(|i| via == from.spec.platform && i.id == from.id && (from.season.is_none() || i.season == from.season))
        .or_else(|| ids.first())
        .copied();
    let Some(chosen) = chosen else {
        return Err(MappingError::NoTargetId {
            title: record.title.clone(),
            target: target.name,
            platform: from.spec.name,
            id: display_id(from),
        });
    };
    let season = if target.seasonal() { chosen.season } else { None };
    Ok((target.url(&chosen.id, season), target, chosen.id.clone(), record))
}

/// Hits per search page by default, and at most.
const SEARCH_PAGE: (i64, i64) = (20, 100);

/// Fuzzy title search.
pub async fn search(
    state: &MappingState,
    request: pb::SearchAnimeRequest,
) -> Result<pb::SearchAnimeResponse, MappingError> {
    let mut violations = FieldViolations::new();
    let query = titles::normalize(&request.query);
    if request.query.chars().count() > 200 {
        violations.add("query", "must be at most 200 characters");
    } else if query.is_empty() {
        violations.add("query", "must contain a letter or digit");
    }
    let media_type = violations
        .parse_enum::<pb::MediaType>("type", request.r#type)
        .filter(|t| *t != pb::MediaType::Unspecified)
        .map(|t| t as i16);
    if request.year.is_some_and(|y| !(1900..=2100).contains(&y)) {
        violations.add("year", "must be between 1900 and 2100");
    }
    let limit = parse_page_size_within(request.page_size, SEARCH_PAGE.0, SEARCH_PAGE.1, &mut violations);
    let filters = format!("search:{query}:{media_type:?}:{:?}", request.year);
    let after: Option<SearchCursor> = parse_page_token(&request.page_token, &filters, &mut violations);
    violations.finish().map_err(MappingError::Invalid)?;
    let mut conn = state.platform.db.get().await?;
    let rows = store::search(&mut conn, &query, media_type, request.year, after, rows_to_read(limit)).await?;
    let (rows, next_page_token) = finish_page(rows, limit, &filters, |hit| hit.cursor);
    let results = rows
        .into_iter()
        .filter_map(|hit| {
            let record = prost::Message::decode(hit.body.as_slice()).ok()?;
            Some(pb::SearchAnimeResult { record: Some(record), matched_title: hit.title, score: hit.cursor.score })
        })
        .collect();
    Ok(pb::SearchAnimeResponse { results, next_page_token })
}

/// The newest run and the newest successful run.
pub async fn runs(state: &MappingState) -> Result<(Option<pb::PipelineRun>, Option<pb::PipelineRun>), MappingError> {
    let mut conn = state.platform.db.get().await?;
    let kinds = [KIND.to_owned()];
    let last = job_store::list_jobs(&mut conn, &kinds, &[], None, 1).await?;
    let ok = job_store::list_jobs(&mut conn, &kinds, &[JobState::Succeeded], None, 1).await?;
    let convert = |rows: Vec<crate::jobs::JobRow>| rows.first().map(|row| run_from_job(&job_to_pb(row)));
    Ok((convert(last), convert(ok)))
}

/// Counts, sources and runs.
pub async fn status(state: &MappingState) -> Result<pb::GetStatusResponse, MappingError> {
    let mut conn = state.platform.db.get().await?;
    let row = store::state(&mut conn).await?;
    let sources = store::list_sources(&mut conn).await?;
    drop(conn);
    let (last_run, last_successful_run) = runs(state).await?;
    let counts: Vec<(i64, i64)> =
        row.as_ref().and_then(|r| serde_json::from_value(r.counts.clone()).ok()).unwrap_or_default();
    Ok(pb::GetStatusResponse {
        total_records: row.as_ref().map_or(0, |r| r.total_records),
        counts: counts
            .into_iter()
            .map(|(platform, records)| {
                let platform = i32::try_from(platform).unwrap_or_default();
                pb::PlatformCount { platform, name: platform_name(platform), records }
            })
            .collect(),
        sources: sources
            .into_iter()
            .map(|s| pb::MappingSource {
                kind: s.kind,
                location: crate::config::redact_url(&s.location),
                etag: s.etag.unwrap_or_default(),
                last_modified: s.last_modified.unwrap_or_default(),
                sha256: s.sha256,
                records: s.records,
                check_time: Some(to_timestamp(s.checked_at)),
                change_time: Some(to_timestamp(s.changed_at)),
            })
            .collect(),
        last_run,
        last_successful_run,
        data_update_time: row.map(|r| to_timestamp(r.data_updated_at)),
    })
}
