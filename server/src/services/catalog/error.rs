//! Errors of CatalogService and how each reaches the client.

use std::collections::HashMap;

use super::xtream::XtreamError;
use crate::{
    error::{ApiError, ErrorCode, InfraError},
    outbound::UpstreamError,
    runs::RunOpError,
    secrets::SecretError,
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
    /// No playlist has this name, or it is another key's.
    #[error("playlist {0} not found")]
    PlaylistNotFound(String),
    /// No item of the playlist has this name.
    #[error("{0} not found")]
    ItemNotFound(String),
    /// The playlist's panel refused the account or did not answer usefully.
    #[error("{0}")]
    Panel(#[from] XtreamError),
    /// The operation cannot be done in the resource's present state.
    #[error("{0}")]
    Precondition(String),
    /// The playlist's credentials could not be sealed or opened.
    #[error(transparent)]
    Secret(#[from] SecretError),
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
            CatalogError::PlaylistNotFound(ref name) => ApiError::not_found("playlist", name),
            CatalogError::ItemNotFound(ref name) => ApiError::not_found("playlist_item", name),
            CatalogError::Panel(panel) => panel_error(panel, message),
            CatalogError::Precondition(_) => ApiError::new(ErrorCode::FailedPrecondition, message),
            CatalogError::Secret(secret) => secret.into(),
            CatalogError::Run(run) => run.into(),
            CatalogError::NotConfigured(_) => ApiError::new(ErrorCode::FailedPrecondition, message),
            CatalogError::Bug(_) => ApiError::internal(&error),
            CatalogError::Infra(infra) => infra.into(),
        }
    }
}

/// A panel's answer: refused accounts are the client's to fix (FAILED_PRECONDITION with a
/// reason), an unreachable or failing panel is UNAVAILABLE, an answer that is not Xtream JSON
/// FAILED_PRECONDITION (the URL is probably not a panel).
fn panel_error(error: XtreamError, message: String) -> ApiError {
    let reason = |reason: &str, metadata: HashMap<String, String>| {
        ApiError::new(ErrorCode::FailedPrecondition, message.clone()).with_reason(reason, metadata)
    };
    match error {
        XtreamError::AuthFailed => reason("PLAYLIST_AUTH_FAILED", HashMap::new()),
        XtreamError::Unusable { status } => {
            reason("PLAYLIST_ACCOUNT_UNUSABLE", [("status".to_owned(), status)].into_iter().collect())
        }
        XtreamError::NotXtream(_) => reason("PANEL_ANSWER_INVALID", HashMap::new()),
        XtreamError::Upstream(UpstreamError::Status { status, .. }) if status < 500 && status != 429 => {
            reason("PANEL_REFUSED", [("http_status".to_owned(), status.to_string())].into_iter().collect())
        }
        XtreamError::Upstream(UpstreamError::TooLarge { .. }) => reason("PANEL_ANSWER_TOO_LARGE", HashMap::new()),
        XtreamError::Upstream(_) => ApiError::new(ErrorCode::Unavailable, message)
            .with_reason("PANEL_UNAVAILABLE", HashMap::new())
            .with_retry_after(std::time::Duration::from_secs(5)),
    }
}

crate::error::service_error!(CatalogError);
