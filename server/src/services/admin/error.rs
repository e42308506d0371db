//! Errors of AdminService and how each reaches the client.

use uuid::Uuid;

use crate::error::{ApiError, ErrorCode, InfraError};

/// Everything AdminService can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The request was invalid; the violations are already collected.
    #[error("invalid request")]
    Invalid(ApiError),
    /// No API key has this id.
    #[error("api key {0} not found")]
    KeyNotFound(Uuid),
    /// No job has this id.
    #[error("job {0} not found")]
    JobNotFound(i64),
    /// No schedule has this name.
    #[error("schedule {0} not found")]
    ScheduleNotFound(String),
    /// The job is in a state the operation does not apply to.
    #[error("job {id} is {state}: {why}")]
    JobState { id: i64, state: &'static str, why: &'static str },
    /// A live job already holds the dedupe key of the job to retry.
    #[error("another live job holds the dedupe key of job {0}")]
    DedupeKeyTaken(i64),
    /// A failure the platform has mapped already (creating a key).
    #[error("{}", .0.message())]
    Platform(ApiError),
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Invalid(api_error) => api_error,
            AdminError::KeyNotFound(id) => ApiError::not_found("api_key", &id.to_string()),
            AdminError::JobNotFound(id) => ApiError::not_found("job", &id.to_string()),
            AdminError::ScheduleNotFound(name) => ApiError::not_found("schedule", &name),
            AdminError::JobState { id, .. } | AdminError::DedupeKeyTaken(id) => {
                ApiError::new(ErrorCode::FailedPrecondition, error.to_string()).with_resource("job", &id.to_string())
            }
            AdminError::Platform(api_error) => api_error,
            AdminError::Infra(infra) => infra.into(),
        }
    }
}

crate::error::service_error!(AdminError);
