//! Job and schedule rows as proto messages (for RPCs and for events).

use medley_sdk::pb;

use super::{
    model::{JobRow, JobState, ScheduleRow},
    progress::JobProgress,
};
use crate::proto_time::to_timestamp;

/// Converts a state to its proto enum.
pub fn state_to_pb(state: JobState) -> pb::JobState {
    match state {
        JobState::Queued => pb::JobState::Queued,
        JobState::Running => pb::JobState::Running,
        JobState::Retrying => pb::JobState::Retrying,
        JobState::Succeeded => pb::JobState::Succeeded,
        JobState::Dead => pb::JobState::Dead,
        JobState::Cancelled => pb::JobState::Cancelled,
    }
}

/// Converts a proto state; `None` for unspecified or unknown values.
pub fn state_from_pb(value: i32) -> Option<JobState> {
    match pb::JobState::try_from(value).ok()? {
        pb::JobState::Unspecified => None,
        pb::JobState::Queued => Some(JobState::Queued),
        pb::JobState::Running => Some(JobState::Running),
        pb::JobState::Retrying => Some(JobState::Retrying),
        pb::JobState::Succeeded => Some(JobState::Succeeded),
        pb::JobState::Dead => Some(JobState::Dead),
        pb::JobState::Cancelled => Some(JobState::Cancelled),
    }
}

/// Converts a job row.
pub fn job_to_pb(row: &JobRow) -> pb::Job {
    let progress =
        row.progress.clone().and_then(|v| serde_json::from_value::<JobProgress>(v).ok()).map(|p| pb::Progress {
            done: p.done,
            total: p.total,
            unit: p.unit,
            message: p.message,
            update_time: Some(to_timestamp(p.updated_at)),
        });
    pb::Job {
        id: row.id,
        kind: row.kind.clone(),
        state: state_to_pb(row.state()) as i32,
        priority: i32::from(row.priority),
        attempts: row.attempts,
        max_attempts: row.max_attempts,
        payload_json: row.payload.to_string(),
        result_json: row.result.as_ref().map(ToString::to_string).unwrap_or_default(),
        last_error: row.last_error.clone().unwrap_or_default(),
        dedupe_key: row.dedupe_key.clone().unwrap_or_default(),
        cancel_requested: row.cancel_requested,
        progress,
        worker: row.locked_by.clone().unwrap_or_default(),
        create_time: Some(to_timestamp(row.created_at)),
        update_time: Some(to_timestamp(row.updated_at)),
        run_time: Some(to_timestamp(row.run_at)),
        start_time: row.started_at.map(to_timestamp),
        finish_time: row.finished_at.map(to_timestamp),
    }
}

/// Converts a schedule row.
pub fn schedule_to_pb(row: &ScheduleRow) -> pb::Schedule {
    pb::Schedule {
        name: row.name.clone(),
        kind: row.kind.clone(),
        cron: row.cron.clone(),
        payload_json: row.payload.to_string(),
        paused: row.paused,
        next_run_time: Some(to_timestamp(row.next_run_at)),
        last_run_time: row.last_run_at.map(to_timestamp),
        last_job_id: row.last_job_id.unwrap_or_default(),
    }
}
