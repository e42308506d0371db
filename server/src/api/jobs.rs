//! Jobs, job states and schedules as `medley.v1` messages.

use medley_sdk::pb;

use crate::{
    jobs::{
        JobRow, JobState,
        event::{JobEvent, time},
        model::ScheduleRow,
        reporter::JobProgress,
    },
    proto_time::to_timestamp,
};

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

/// Whether a job (or a run) in this proto state has ended for good; unknown numbers have not.
pub fn is_finished(state: i32) -> bool {
    state_from_pb(state).is_some_and(JobState::is_terminal)
}

/// Converts a job row.
pub fn job_to_pb(row: &JobRow) -> pb::Job {
    event_to_pb(JobEvent::from(row))
}

/// Converts a job as its change event carries it.
pub fn event_to_pb(event: JobEvent) -> pb::Job {
    let progress =
        event.progress_json.as_deref().and_then(|json| serde_json::from_str::<JobProgress>(json).ok()).map(|p| {
            pb::Progress {
                done: p.done,
                total: p.total,
                unit: p.unit,
                message: p.message,
                update_time: Some(to_timestamp(p.updated_at)),
            }
        });
    pb::Job {
        state: state_to_pb(event.state()) as i32,
        id: event.id,
        kind: event.kind,
        priority: event.priority,
        attempts: event.attempts,
        max_attempts: event.max_attempts,
        payload_json: event.payload_json,
        result_json: event.result_json.unwrap_or_default(),
        last_error: event.last_error.unwrap_or_default(),
        dedupe_key: event.dedupe_key.unwrap_or_default(),
        cancel_requested: event.cancel_requested,
        progress,
        worker: event.locked_by.unwrap_or_default(),
        create_time: Some(to_timestamp(time(event.created_at_us))),
        update_time: Some(to_timestamp(time(event.updated_at_us))),
        run_time: Some(to_timestamp(time(event.run_at_us))),
        start_time: event.started_at_us.map(|at| to_timestamp(time(at))),
        finish_time: event.finished_at_us.map(|at| to_timestamp(time(at))),
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
