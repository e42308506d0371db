//! Errors of CatalogService and how each reaches the client.

use crate::error::{ApiError, ErrorCode, InfraError};

/// Everything CatalogService can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The request was invalid; the violations are already collected.
    #[error("invalid request")]
    Invalid(ApiError),
    /// No anime has this id or source reference.
    #[error("anime {0} not found")]
    AnimeNotFound(String),
    /// No episode has this id.
    #[error("episode {0} not found")]
    EpisodeNotFound(String),
    /// An import names an anime that was never imported.
    #[error("anime {source_name}/{source_id} was never imported: import it first")]
    MissingAnime { source_name: String, source_id: String },
    /// A player names an episode that was never imported.
    #[error("episode {source_name}/{source_episode_id} was never imported: import it first")]
    MissingEpisode { source_name: String, source_episode_id: String },
    /// A player names an episode id that several anime of the source share.
    #[error("{matches} anime of {source_name} have an episode {source_episode_id}: give anime_source_id")]
    AmbiguousEpisode { source_name: String, source_episode_id: String, matches: usize },
    /// No import run has this id.
    #[error("import run {0} not found")]
    RunNotFound(i64),
    /// The run ended already.
    #[error("import run {0} has already finished")]
    RunFinished(i64),
    /// The server lacks a setting the operation needs.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<diesel::result::Error> for CatalogError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Infra(error.into())
    }
}

impl From<crate::db::PoolError> for CatalogError {
    fn from(error: crate::db::PoolError) -> Self {
        Self::Infra(error.into())
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        let message = error.to_string();
        match error {
            CatalogError::Invalid(api_error) => api_error,
            CatalogError::AnimeNotFound(ref id) => ApiError::not_found("anime", id),
            CatalogError::EpisodeNotFound(ref id) => ApiError::not_found("episode", id),
            CatalogError::MissingAnime { source_name, source_id } => {
                ApiError::new(ErrorCode::FailedPrecondition, message)
                    .with_resource("anime", &format!("{source_name}/{source_id}"))
            }
            CatalogError::MissingEpisode { source_name, source_episode_id }
            | CatalogError::AmbiguousEpisode { source_name, source_episode_id, .. } => {
                ApiError::new(ErrorCode::FailedPrecondition, message)
                    .with_resource("episode", &format!("{source_name}/{source_episode_id}"))
            }
            CatalogError::RunNotFound(id) => ApiError::not_found("import_run", &id.to_string()),
            CatalogError::RunFinished(id) => {
                ApiError::new(ErrorCode::FailedPrecondition, message).with_resource("import_run", &id.to_string())
            }
            CatalogError::NotConfigured(_) => ApiError::new(ErrorCode::FailedPrecondition, message),
            CatalogError::Infra(infra) => infra.into(),
        }
    }
}

impl From<CatalogError> for tonic::Status {
    fn from(error: CatalogError) -> Self {
        ApiError::from(error).into()
    }
}
