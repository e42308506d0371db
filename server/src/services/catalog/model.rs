//! What an import carries once validated, what it did, and the rows as stored.
//!
//! The RPCs and the importer build the same inputs, so both go through one import path
//! ([`super::import`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::db::schema::{catalog_anime, catalog_episodes, catalog_videos};

/// An anime as an import sends it (validated). Unset fields and empty lists keep what is stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnimeInput {
    /// The source, e.g. "kodik-shikimori".
    pub source_name: String,
    /// The anime's id in the source.
    pub source_id: String,
    /// Display title.
    pub title: String,
    /// Other titles, without duplicates or the title.
    pub alternative_titles: Vec<String>,
    /// Synopsis.
    pub description: Option<String>,
    /// First year.
    pub year: Option<i32>,
    /// `AnimeStatus` number; 0 keeps the stored one.
    pub status: i16,
    /// `AnimeKind` number; 0 keeps the stored one.
    pub kind: i16,
    /// Poster URL.
    pub poster: Option<String>,
    /// Genres.
    pub genres: Vec<String>,
    /// Episodes planned.
    pub episodes_total: Option<i32>,
}

/// One episode as an import sends it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpisodeInput {
    /// The episode's id in the source.
    pub source_episode_id: String,
    /// Season (0 = specials).
    pub season: i32,
    /// Number within the season.
    pub number: i32,
    /// Title; unset keeps the stored one.
    pub title: Option<String>,
    /// Whether it can be watched.
    pub is_available: bool,
}

/// Episodes of one anime as an import sends them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpisodesInput {
    /// The anime's source.
    pub source_name: String,
    /// The anime's id in the source.
    pub anime_source_id: String,
    /// The episodes, ids unique.
    pub episodes: Vec<EpisodeInput>,
}

/// A player as an import sends it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlayerInput {
    /// `PlayerType` number.
    pub player_type: i16,
    /// URL.
    pub url: String,
    /// Who serves it.
    pub provider: String,
    /// Higher is preferred.
    pub priority: i32,
    /// Quality label.
    pub quality: Option<String>,
    /// Translation id at the provider ("" when unknown).
    pub translation_id: String,
    /// Translation name.
    pub translation_title: String,
    /// `TranslationType` number.
    pub translation_type: i16,
}

/// One player of one episode as an import sends it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VideoInput {
    /// The anime's source.
    pub source_name: String,
    /// The anime's id in the source, when given.
    pub anime_source_id: Option<String>,
    /// The episode's id in the source.
    pub source_episode_id: String,
    /// The player.
    pub player: PlayerInput,
}

/// One item of an import.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportItem {
    /// An anime.
    Anime(AnimeInput),
    /// Episodes of one anime.
    Episodes(EpisodesInput),
    /// One player.
    Video(VideoInput),
}

/// What an import did to one stored row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Created.
    Created,
    /// Changed.
    Updated,
    /// Left as it was.
    Unchanged,
}

impl Outcome {
    /// Returns the outcome of an item made of several rows: created if any was, else updated if
    /// any was, else unchanged.
    pub fn combine(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes.into_iter().fold(Outcome::Unchanged, |acc, o| match (acc, o) {
            (Outcome::Created, _) | (_, Outcome::Created) => Outcome::Created,
            (Outcome::Updated, _) | (_, Outcome::Updated) => Outcome::Updated,
            _ => Outcome::Unchanged,
        })
    }
}

/// What importing an anime did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnimeOutcome {
    /// Its id.
    pub id: Uuid,
    /// What happened.
    pub outcome: Outcome,
}

/// What importing episodes did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpisodesOutcome {
    /// The anime's id.
    pub anime_id: Uuid,
    /// Per episode in input order: (source id, id, outcome).
    pub episodes: Vec<(String, Uuid, Outcome)>,
}

/// What importing a player did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoOutcome {
    /// Its id.
    pub id: Uuid,
    /// Its episode's id.
    pub episode_id: Uuid,
    /// What happened.
    pub outcome: Outcome,
}

/// What one item did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemOutcome {
    /// An anime item.
    Anime(AnimeOutcome),
    /// An episodes item.
    Episodes(EpisodesOutcome),
    /// A player item.
    Video(VideoOutcome),
}

impl ItemOutcome {
    /// Returns the item's overall outcome.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Anime(a) => a.outcome,
            Self::Episodes(e) => Outcome::combine(e.episodes.iter().map(|(_, _, o)| *o)),
            Self::Video(v) => v.outcome,
        }
    }
}

/// Returns the SHA-256 of `value`'s JSON: the content hash an import compares with what is
/// stored.
pub fn content_hash(value: &impl Serialize) -> Vec<u8> {
    // Serializing plain data to JSON cannot fail.
    Sha256::digest(serde_json::to_vec(value).unwrap_or_default()).to_vec()
}

/// An anime as stored.
#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = catalog_anime, check_for_backend(diesel::pg::Pg))]
pub struct AnimeRow {
    /// Id.
    pub id: Uuid,
    /// Source.
    pub source_name: String,
    /// Id in the source.
    pub source_id: String,
    /// Title.
    pub title: String,
    /// Other titles.
    pub alternative_titles: Vec<Option<String>>,
    /// Synopsis.
    pub description: Option<String>,
    /// Year.
    pub year: Option<i32>,
    /// `AnimeStatus` number.
    pub status: i16,
    /// `AnimeKind` number.
    pub kind: i16,
    /// Poster URL.
    pub poster: Option<String>,
    /// Genres.
    pub genres: Vec<Option<String>>,
    /// Episodes planned.
    pub episodes_total: Option<i32>,
    /// Fields locked by admin edits.
    pub admin_locked: Vec<Option<String>>,
    /// First import.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of an anime, written by `UpdateAnime`.
#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = catalog_anime, treat_none_as_null = true)]
pub struct AnimeEdit {
    /// Title.
    pub title: String,
    /// Other titles.
    pub alternative_titles: Vec<String>,
    /// Synopsis.
    pub description: Option<String>,
    /// Year.
    pub year: Option<i32>,
    /// `AnimeStatus` number.
    pub status: i16,
    /// `AnimeKind` number.
    pub kind: i16,
    /// Poster URL.
    pub poster: Option<String>,
    /// Genres.
    pub genres: Vec<String>,
    /// Episodes planned.
    pub episodes_total: Option<i32>,
    /// Locked fields after the edit.
    pub admin_locked: Vec<String>,
    /// Now.
    pub updated_at: DateTime<Utc>,
}

/// An episode as stored.
#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = catalog_episodes, check_for_backend(diesel::pg::Pg))]
pub struct EpisodeRow {
    /// Id.
    pub id: Uuid,
    /// Anime id.
    pub anime_id: Uuid,
    /// Id in the source.
    pub source_episode_id: String,
    /// Season.
    pub season: i32,
    /// Number.
    pub number: i32,
    /// Title.
    pub title: Option<String>,
    /// Watchable.
    pub is_available: bool,
    /// First import.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A player as stored.
#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = catalog_videos, check_for_backend(diesel::pg::Pg))]
pub struct VideoRow {
    /// Id.
    pub id: Uuid,
    /// Episode id.
    pub episode_id: Uuid,
    /// Provider.
    pub provider: String,
    /// URL.
    pub url: String,
    /// `PlayerType` number.
    pub player_type: i16,
    /// Priority.
    pub priority: i32,
    /// Quality label.
    pub quality: Option<String>,
    /// Translation id.
    pub translation_id: String,
    /// Translation name.
    pub translation_title: String,
    /// `TranslationType` number.
    pub translation_type: i16,
    /// First import.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Drops the NULL elements Diesel models array elements with (the columns hold none).
pub fn texts(values: &[Option<String>]) -> Vec<String> {
    values.iter().flatten().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_outcomes_prefer_created_then_updated() {
        use Outcome::*;
        assert_eq!(Outcome::combine([Unchanged, Updated, Unchanged]), Updated);
        assert_eq!(Outcome::combine([Updated, Created]), Created);
        assert_eq!(Outcome::combine([Unchanged]), Unchanged);
        assert_eq!(Outcome::combine([]), Unchanged);
    }

    #[test]
    fn content_hashes_follow_content() {
        let a = AnimeInput { source_name: "s".into(), source_id: "1".into(), title: "A".into(), ..Default::default() };
        let mut b = a.clone();
        assert_eq!(content_hash(&a), content_hash(&b));
        b.year = Some(2001);
        assert_ne!(content_hash(&a), content_hash(&b));
    }
}
