//! Errors of CatalogService and how each reaches the client.

use crate::{
    error::{ApiError, ErrorCode, InfraError},
    runs::RunOpError,
};

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
    /// A run operation failed (unknown run, finished run).
    #[error(transparent)]
    Run(#[from] RunOpError),
    /// The server lacks a setting the operation needs.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// A bug: an invariant did not hold.
    #[error("{0}")]
    Bug(&'static str),
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
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
            CatalogError::Run(run) => run.into(),
            CatalogError::NotConfigured(_) => ApiError::new(ErrorCode::FailedPrecondition, message),
            CatalogError::Bug(_) => ApiError::internal(&error),
            CatalogError::Infra(infra) => infra.into(),
        }
    }
}

crate::error::service_error!(CatalogError);
