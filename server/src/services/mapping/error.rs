//! Errors of MappingService and how each reaches the client.

use crate::{
    error::{ApiError, ErrorCode, InfraError},
    runs::RunOpError,
};

/// Everything MappingService can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The request was invalid; the violations are already collected.
    #[error("invalid request")]
    Invalid(ApiError),
    /// No record holds this id.
    #[error("no anime has {platform} id {id}")]
    NotFound { platform: &'static str, id: String },
    /// The record has no id on the redirect target.
    #[error("{title:?} has no {target} id (looked up by {platform} {id})")]
    NoTargetId { title: String, target: &'static str, platform: &'static str, id: String },
    /// The target has no page per anime.
    #[error("{0} has no page per anime to redirect to")]
    NotRedirectable(&'static str),
    /// A run operation failed (unknown run, finished run).
    #[error(transparent)]
    Run(#[from] RunOpError),
    /// No override has this id.
    #[error("override {0} not found")]
    OverrideNotFound(String),
    /// A pipeline run published new data while an export was reading the previous version.
    #[error("the served data changed during the export (published again at {}): export again from the start", .since.map(|t| t.to_rfc3339()).unwrap_or_default())]
    DataChanged { since: Option<chrono::DateTime<chrono::Utc>> },
    /// A stored record does not decode: a bug or a damaged database.
    #[error("stored record {id} does not decode: {reason}")]
    Corrupt { id: i64, reason: String },
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<MappingError> for ApiError {
    fn from(error: MappingError) -> Self {
        match error {
            MappingError::Invalid(api_error) => api_error,
            MappingError::NotFound { platform, ref id } => ApiError::new(ErrorCode::NotFound, error.to_string())
                .with_resource("anime", &format!("{platform}/{id}")),
            MappingError::NoTargetId { target, .. } => {
                ApiError::new(ErrorCode::NotFound, error.to_string()).with_resource("anime", target)
            }
            MappingError::NotRedirectable(_) => ApiError::new(ErrorCode::FailedPrecondition, error.to_string()),
            MappingError::Run(run) => run.into(),
            MappingError::DataChanged { .. } => ApiError::new(ErrorCode::Aborted, error.to_string())
                .with_reason("DATA_CHANGED", std::collections::HashMap::new()),
            MappingError::Corrupt { .. } => ApiError::internal(&error),
            MappingError::OverrideNotFound(ref id) => ApiError::not_found("mapping_override", id),
            MappingError::Infra(infra) => infra.into(),
        }
    }
}

crate::error::service_error!(MappingError);
