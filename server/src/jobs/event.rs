//! The event published on [`crate::redis::keys::Topic::Jobs`] whenever a job changes: the whole
//! row, so watchers need no database read. It is the platform's own message, not the public
//! API's; services turn it into their answers.

use chrono::{DateTime, Utc};

use super::model::JobRow;

/// A job as it is after a change.
#[derive(Clone, PartialEq, prost::Message)]
pub struct JobEvent {
    /// Id.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// Handler kind.
    #[prost(string, tag = "2")]
    pub kind: String,
    /// State name (`queued`, `running`...).
    #[prost(string, tag = "3")]
    pub state: String,
    /// Input, as JSON.
    #[prost(string, tag = "4")]
    pub payload_json: String,
    /// Priority.
    #[prost(int32, tag = "5")]
    pub priority: i32,
    /// Attempts started.
    #[prost(int32, tag = "6")]
    pub attempts: i32,
    /// Attempts allowed.
    #[prost(int32, tag = "7")]
    pub max_attempts: i32,
    /// Deduplication key.
    #[prost(string, optional, tag = "8")]
    pub dedupe_key: Option<String>,
    /// Error of the last failed attempt.
    #[prost(string, optional, tag = "9")]
    pub last_error: Option<String>,
    /// Worker holding the job.
    #[prost(string, optional, tag = "10")]
    pub locked_by: Option<String>,
    /// Whether cancellation was asked while running.
    #[prost(bool, tag = "11")]
    pub cancel_requested: bool,
    /// Latest progress, as JSON.
    #[prost(string, optional, tag = "12")]
    pub progress_json: Option<String>,
    /// Output, as JSON.
    #[prost(string, optional, tag = "13")]
    pub result_json: Option<String>,
    /// Eligible from (microseconds since the epoch, like every time below).
    #[prost(int64, tag = "14")]
    pub run_at_us: i64,
    /// Queued at.
    #[prost(int64, tag = "15")]
    pub created_at_us: i64,
    /// Last change.
    #[prost(int64, tag = "16")]
    pub updated_at_us: i64,
    /// Start of the current or last attempt.
    #[prost(int64, optional, tag = "17")]
    pub started_at_us: Option<i64>,
    /// Reached a terminal state at.
    #[prost(int64, optional, tag = "18")]
    pub finished_at_us: Option<i64>,
    /// End of the holder's lease.
    #[prost(int64, optional, tag = "19")]
    pub lease_expires_at_us: Option<i64>,
}

impl From<&JobRow> for JobEvent {
    fn from(row: &JobRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind.clone(),
            state: row.state.clone(),
            payload_json: row.payload.to_string(),
            priority: i32::from(row.priority),
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            dedupe_key: row.dedupe_key.clone(),
            last_error: row.last_error.clone(),
            locked_by: row.locked_by.clone(),
            cancel_requested: row.cancel_requested,
            progress_json: row.progress.as_ref().map(ToString::to_string),
            result_json: row.result.as_ref().map(ToString::to_string),
            run_at_us: row.run_at.timestamp_micros(),
            created_at_us: row.created_at.timestamp_micros(),
            updated_at_us: row.updated_at.timestamp_micros(),
            started_at_us: row.started_at.map(|at| at.timestamp_micros()),
            finished_at_us: row.finished_at.map(|at| at.timestamp_micros()),
            lease_expires_at_us: row.lease_expires_at.map(|at| at.timestamp_micros()),
        }
    }
}

impl JobEvent {
    /// The job's state; an unknown name reads as queued, as in [`JobRow::state`].
    pub fn state(&self) -> super::JobState {
        super::JobState::parse(&self.state).unwrap_or(super::JobState::Queued)
    }

    /// When the change happened.
    pub fn updated_at(&self) -> DateTime<Utc> {
        time(self.updated_at_us)
    }
}

/// A time of the event (microseconds since the epoch); out of range reads as the epoch.
pub fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use serde_json::json;

    use super::*;

    #[test]
    fn carries_the_whole_row() {
        let now = Utc::now();
        let row = JobRow {
            id: 7,
            kind: "canary".into(),
            payload: json!({ "a": 1 }),
            state: "running".into(),
            priority: 3,
            run_at: now,
            attempts: 2,
            max_attempts: 5,
            dedupe_key: Some("k".into()),
            last_error: None,
            locked_by: Some("worker-1".into()),
            lease_expires_at: Some(now),
            cancel_requested: true,
            progress: Some(json!({ "done": 1 })),
            result: None,
            created_at: now,
            updated_at: now,
            started_at: Some(now),
            finished_at: None,
        };
        let event = JobEvent::decode(JobEvent::from(&row).encode_to_vec().as_slice()).unwrap();
        assert_eq!((event.id, event.state(), event.priority), (7, super::super::JobState::Running, 3));
        assert_eq!(event.payload_json, r#"{"a":1}"#);
        assert_eq!(event.progress_json.as_deref(), Some(r#"{"done":1}"#));
        assert_eq!(event.updated_at().timestamp_micros(), now.timestamp_micros());
        assert_eq!(event.finished_at_us, None);
    }
}
