//! Stored rows and import outcomes into proto messages.

use medley_sdk::pb;

use super::model::{
    AnimeOutcome, AnimeRow, EpisodeRow, EpisodesOutcome, ItemOutcome, Outcome, VideoOutcome, VideoRow, texts,
};
use crate::{error::ApiError, proto_time::to_timestamp};

/// Converts a stored anime.
pub fn anime_to_pb(row: &AnimeRow) -> pb::Anime {
    pb::Anime {
        id: row.id.to_string(),
        source_name: row.source_name.clone(),
        source_id: row.source_id.clone(),
        title: row.title.clone(),
        alternative_titles: texts(&row.alternative_titles),
        description: row.description.clone(),
        year: row.year,
        status: i32::from(row.status),
        kind: i32::from(row.kind),
        poster: row.poster.clone(),
        genres: texts(&row.genres),
        episodes_total: row.episodes_total,
        admin_locked_fields: texts(&row.admin_locked),
        create_time: Some(to_timestamp(row.created_at)),
        update_time: Some(to_timestamp(row.updated_at)),
    }
}

/// Converts a stored episode.
pub fn episode_to_pb(row: &EpisodeRow) -> pb::Episode {
    pb::Episode {
        id: row.id.to_string(),
        anime_id: row.anime_id.to_string(),
        source_episode_id: row.source_episode_id.clone(),
        season: row.season,
        number: row.number,
        title: row.title.clone(),
        is_available: row.is_available,
        create_time: Some(to_timestamp(row.created_at)),
        update_time: Some(to_timestamp(row.updated_at)),
    }
}

/// Returns the translation of a stored player.
pub fn translation_of(row: &VideoRow) -> pb::Translation {
    pb::Translation {
        id: row.translation_id.clone(),
        title: row.translation_title.clone(),
        r#type: i32::from(row.translation_type),
    }
}

/// Converts a stored player.
pub fn video_to_pb(row: &VideoRow) -> pb::Video {
    pb::Video {
        id: row.id.to_string(),
        episode_id: row.episode_id.to_string(),
        player: Some(pb::Player {
            r#type: i32::from(row.player_type),
            url: row.url.clone(),
            provider: row.provider.clone(),
            priority: row.priority,
            translation: Some(translation_of(row)),
            quality: row.quality.clone(),
        }),
        create_time: Some(to_timestamp(row.created_at)),
        update_time: Some(to_timestamp(row.updated_at)),
    }
}

/// Groups players by translation: groups by their best player, players by priority (both
/// highest first; ties by id for a stable order).
pub fn group_videos(mut rows: Vec<VideoRow>) -> Vec<pb::TranslationGroup> {
    rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
    type Key = (String, String, i16);
    let mut groups: Vec<(Key, Vec<&VideoRow>)> = Vec::new();
    for row in &rows {
        let key = (row.translation_id.clone(), row.translation_title.clone(), row.translation_type);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    groups
        .into_iter()
        .map(|(_, members)| pb::TranslationGroup {
            translation: members.first().map(|r| translation_of(r)),
            videos: members.into_iter().map(video_to_pb).collect(),
        })
        .collect()
}

/// Where a translation group stands in `ListVideos` order, by its best player: priority
/// (highest first), then id. A page token holds the last group's.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupLead {
    priority: i32,
    video_id: String,
}

impl GroupLead {
    /// The lead of `group` (its first player: groups list theirs best first).
    pub fn of(group: &pb::TranslationGroup) -> Self {
        let lead = group.videos.first();
        Self {
            priority: lead.and_then(|v| v.player.as_ref()).map_or(0, |p| p.priority),
            video_id: lead.map(|v| v.id.clone()).unwrap_or_default(),
        }
    }

    /// Whether a group led by `self` is listed after one led by `other`. Ids compare as their
    /// fixed-width lowercase hex, which orders like the UUIDs themselves.
    pub fn comes_after(&self, other: &Self) -> bool {
        self.priority < other.priority || (self.priority == other.priority && self.video_id > other.video_id)
    }
}

fn outcome_pb(outcome: Outcome) -> i32 {
    (match outcome {
        Outcome::Created => pb::ImportOutcome::Created,
        Outcome::Updated => pb::ImportOutcome::Updated,
        Outcome::Unchanged => pb::ImportOutcome::Unchanged,
    }) as i32
}

/// Converts what importing an anime did.
pub fn anime_outcome_to_pb(a: &AnimeOutcome) -> pb::ImportAnimeResponse {
    pb::ImportAnimeResponse { anime_id: a.id.to_string(), outcome: outcome_pb(a.outcome) }
}

/// Converts what importing episodes did.
pub fn episodes_outcome_to_pb(e: &EpisodesOutcome) -> pb::ImportEpisodesResponse {
    let count = |wanted| e.episodes.iter().filter(|(_, _, o)| *o == wanted).count() as i32;
    pb::ImportEpisodesResponse {
        anime_id: e.anime_id.to_string(),
        created: count(Outcome::Created),
        updated: count(Outcome::Updated),
        unchanged: count(Outcome::Unchanged),
        results: e
            .episodes
            .iter()
            .map(|(source_id, id, outcome)| pb::EpisodeImportResult {
                source_episode_id: source_id.clone(),
                episode_id: id.to_string(),
                outcome: outcome_pb(*outcome),
            })
            .collect(),
    }
}

/// Converts what importing a player did.
pub fn video_outcome_to_pb(v: &VideoOutcome) -> pb::ImportVideoResponse {
    pb::ImportVideoResponse {
        video_id: v.id.to_string(),
        episode_id: v.episode_id.to_string(),
        outcome: outcome_pb(v.outcome),
    }
}

/// Converts what one item of a batch did.
pub fn item_outcome_to_pb(outcome: &ItemOutcome) -> pb::import_item_result::Result {
    use pb::import_item_result::Result as R;
    match outcome {
        ItemOutcome::Anime(a) => R::Anime(anime_outcome_to_pb(a)),
        ItemOutcome::Episodes(e) => R::Episodes(episodes_outcome_to_pb(e)),
        ItemOutcome::Video(v) => R::Video(video_outcome_to_pb(v)),
    }
}

/// Converts the failure of one item of a bulk import.
pub fn item_error_to_pb(error: ApiError) -> pb::import_item_result::Result {
    pb::import_item_result::Result::Status(error.into_rpc_status())
}
