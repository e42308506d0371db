//! AdminService's job and schedule RPCs: validation, then the job queue.

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use medley_sdk::pb;

use super::AdminError;
use crate::{
    api::jobs::{job_to_pb, schedule_to_pb, state_from_pb},
    error::{FieldViolations, InfraError},
    jobs::{
        JobState, NewJob,
        canary::{self, CanaryPayload},
        schedule::{next_tick, parse_cron},
        schedule_store, store,
    },
    pagination::{finish_page, parse_page_size, parse_page_token, rows_to_read},
    platform::Platform,
};

/// Most kinds one filter may name.
const MAX_KINDS: usize = 50;
/// Longest kind or schedule name.
const MAX_NAME_LEN: usize = 100;
/// Longest canary run.
const MAX_CANARY_MS: u32 = 60_000;
/// Most failing canary attempts.
const MAX_CANARY_FAILURES: u32 = 10;

/// Validates a kinds filter (sorted and deduplicated for stable page tokens).
pub fn parse_kinds(kinds: Vec<String>, violations: &mut FieldViolations) -> Vec<String> {
    if kinds.len() > MAX_KINDS {
        violations.add("kinds", format!("at most {MAX_KINDS} kinds"));
    }
    for (index, kind) in kinds.iter().enumerate() {
        if kind.trim().is_empty() || kind.len() > MAX_NAME_LEN {
            violations.add(format!("kinds[{index}]"), format!("must be 1 to {MAX_NAME_LEN} characters"));
        }
    }
    let mut kinds = kinds;
    kinds.sort();
    kinds.dedup();
    kinds
}

fn parse_job_id(id: i64) -> Result<i64, AdminError> {
    if id > 0 {
        return Ok(id);
    }
    let mut violations = FieldViolations::new();
    violations.add("id", "must be a positive job id");
    Err(AdminError::Invalid(violations.into_error()))
}

/// ListJobs.
pub async fn list_jobs(state: &Platform, request: pb::ListJobsRequest) -> Result<pb::ListJobsResponse, AdminError> {
    let pb::ListJobsRequest { kinds, states, page_size, page_token } = request;
    let mut violations = FieldViolations::new();
    let kinds = parse_kinds(kinds, &mut violations);
    let mut parsed_states = Vec::new();
    for (index, value) in states.iter().enumerate() {
        match state_from_pb(*value) {
            Some(state) => parsed_states.push(state),
            None => violations.add(format!("states[{index}]"), format!("{value} is not a valid job state")),
        }
    }
    parsed_states.sort();
    parsed_states.dedup();
    let limit = parse_page_size(page_size, &mut violations);
    let filters = format!("kinds={kinds:?};states={parsed_states:?}");
    let before: Option<i64> = parse_page_token(&page_token, &filters, &mut violations);
    violations.finish().map_err(AdminError::Invalid)?;

    let mut conn = state.db.get().await.map_err(AdminError::from)?;
    let rows = store::list_jobs(&mut conn, &kinds, &parsed_states, before, rows_to_read(limit))
        .await
        .map_err(AdminError::from)?;
    let (rows, next_page_token) = finish_page(rows, limit, &filters, |last| last.id);
    Ok(pb::ListJobsResponse { jobs: rows.iter().map(job_to_pb).collect(), next_page_token })
}

/// GetJob.
pub async fn get_job(state: &Platform, request: pb::GetJobRequest) -> Result<pb::GetJobResponse, AdminError> {
    let id = parse_job_id(request.id)?;
    let row = state.jobs.get(id).await?.ok_or(AdminError::JobNotFound(id))?;
    Ok(pb::GetJobResponse { job: Some(job_to_pb(&row)) })
}

/// RetryJob.
pub async fn retry_job(state: &Platform, request: pb::RetryJobRequest) -> Result<pb::RetryJobResponse, AdminError> {
    let id = parse_job_id(request.id)?;
    let row = match state.jobs.requeue(id).await {
        Ok(row) => row.ok_or(AdminError::JobNotFound(id))?,
        Err(InfraError::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))) => {
            return Err(AdminError::DedupeKeyTaken(id));
        }
        Err(error) => return Err(error.into()),
    };
    if row.state() == JobState::Succeeded {
        return Err(AdminError::JobState { id, state: "succeeded", why: "only dead or cancelled jobs can be retried" });
    }
    Ok(pb::RetryJobResponse { job: Some(job_to_pb(&row)) })
}

/// CancelJob.
pub async fn cancel_job(state: &Platform, request: pb::CancelJobRequest) -> Result<pb::CancelJobResponse, AdminError> {
    let id = parse_job_id(request.id)?;
    let row = state.jobs.cancel(id).await?.ok_or(AdminError::JobNotFound(id))?;
    Ok(pb::CancelJobResponse { job: Some(job_to_pb(&row)) })
}

/// EnqueueCanaryJob.
pub async fn enqueue_canary(
    state: &Platform,
    request: pb::EnqueueCanaryJobRequest,
) -> Result<pb::EnqueueCanaryJobResponse, AdminError> {
    let pb::EnqueueCanaryJobRequest { duration_ms, fail_attempts } = request;
    let mut violations = FieldViolations::new();
    if duration_ms > MAX_CANARY_MS {
        violations.add("duration_ms", format!("must be at most {MAX_CANARY_MS}"));
    }
    if fail_attempts > MAX_CANARY_FAILURES {
        violations.add("fail_attempts", format!("must be at most {MAX_CANARY_FAILURES}"));
    }
    violations.finish().map_err(AdminError::Invalid)?;
    let payload = CanaryPayload { duration_ms: u64::from(duration_ms), fail_attempts };
    let job = NewJob::new(canary::KIND, serde_json::to_value(payload).unwrap_or_default());
    let (row, _) = state.jobs.enqueue(&job).await?;
    Ok(pb::EnqueueCanaryJobResponse { job: Some(job_to_pb(&row)) })
}

/// ListSchedules.
pub async fn list_schedules(state: &Platform) -> Result<pb::ListSchedulesResponse, AdminError> {
    let mut conn = state.db.get().await.map_err(AdminError::from)?;
    let rows = schedule_store::list_schedules(&mut conn).await.map_err(AdminError::from)?;
    Ok(pb::ListSchedulesResponse { schedules: rows.iter().map(schedule_to_pb).collect() })
}

fn parse_schedule_name(name: &str) -> Result<&str, AdminError> {
    let name = name.trim();
    if !name.is_empty() && name.len() <= MAX_NAME_LEN {
        return Ok(name);
    }
    let mut violations = FieldViolations::new();
    violations.add("name", format!("must be 1 to {MAX_NAME_LEN} characters"));
    Err(AdminError::Invalid(violations.into_error()))
}

/// PauseSchedule and ResumeSchedule.
pub async fn set_schedule_paused(state: &Platform, name: &str, paused: bool) -> Result<pb::Schedule, AdminError> {
    let name = parse_schedule_name(name)?;
    let mut conn = state.db.get().await.map_err(AdminError::from)?;
    let next = if paused {
        None
    } else {
        let rows = schedule_store::list_schedules(&mut conn).await.map_err(AdminError::from)?;
        let row = rows.iter().find(|r| r.name == name).ok_or_else(|| AdminError::ScheduleNotFound(name.to_owned()))?;
        // Resuming skips the ticks missed while paused.
        parse_cron(&row.cron).ok().and_then(|cron| next_tick(&cron, Utc::now()))
    };
    let row = schedule_store::set_schedule_paused(&mut conn, name, paused, next)
        .await
        .map_err(AdminError::from)?
        .ok_or_else(|| AdminError::ScheduleNotFound(name.to_owned()))?;
    Ok(schedule_to_pb(&row))
}
