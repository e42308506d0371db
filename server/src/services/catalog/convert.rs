//! Validation of import requests into [`super::model`] inputs, and stored rows into proto
//! messages. Every rule of the proto's field comments is checked here, and every violation of
//! a request is reported at once.

use medley_sdk::pb;

use super::model::{
    AnimeInput, AnimeOutcome, AnimeRow, EpisodeInput, EpisodeRow, EpisodesInput, EpisodesOutcome, ItemOutcome, Outcome,
    PlayerInput, VideoInput, VideoOutcome, VideoRow, texts,
};
use crate::{
    error::{ApiError, FieldViolations},
    proto_time::to_timestamp,
};

const MAX_TITLE: usize = 500;
const MAX_TITLES: usize = 100;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_GENRES: usize = 50;
const MAX_GENRE: usize = 100;
const MAX_URL: usize = 2_000;
/// Most episodes in one import.
pub const MAX_EPISODES: usize = 5_000;

/// Checks a source or provider name: 1 to 64 letters, digits, '-', '_' or '.'.
pub fn check_name(value: &str, field: &str, violations: &mut FieldViolations) {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        violations.add(field, "must be 1 to 64 characters of letters, digits, '-', '_' or '.'");
    }
}

/// Checks an id of the source: 1 to 128 characters, no control characters.
pub fn check_id(value: &str, field: &str, violations: &mut FieldViolations) {
    if value.is_empty() || value.chars().count() > 128 || value.chars().any(char::is_control) {
        violations.add(field, "must be 1 to 128 characters without control characters");
    }
}

fn text(value: &str, max: usize, field: &str, violations: &mut FieldViolations) -> String {
    let value = value.trim();
    if value.is_empty() {
        violations.add(field, "must not be empty");
    } else if value.chars().count() > max {
        violations.add(field, format!("must be at most {max} characters"));
    } else if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        violations.add(field, "must not hold control characters");
    }
    value.to_owned()
}

fn url(value: &str, field: &str, violations: &mut FieldViolations) -> String {
    let value = value.trim();
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    if !scheme_ok || value.len() > MAX_URL || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        violations.add(field, format!("must be an absolute http(s) URL of at most {MAX_URL} characters"));
    }
    value.to_owned()
}

fn in_range(value: i32, range: std::ops::RangeInclusive<i32>, field: &str, violations: &mut FieldViolations) -> i32 {
    if !range.contains(&value) {
        violations.add(field, format!("must be {} to {}", range.start(), range.end()));
    }
    value
}

/// Validates an anime import; fields are reported under `prefix` (e.g. "anime.").
pub fn anime_input(anime: &pb::AnimeImport, prefix: &str, violations: &mut FieldViolations) -> AnimeInput {
    let pb::AnimeImport {
        source_name,
        source_id,
        title,
        alternative_titles,
        description,
        year,
        status,
        kind,
        poster,
        genres,
        episodes_total,
    } = anime;
    let f = |name: &str| format!("{prefix}{name}");
    check_name(source_name, &f("source_name"), violations);
    check_id(source_id, &f("source_id"), violations);
    let title = text(title, MAX_TITLE, &f("title"), violations);
    if alternative_titles.len() > MAX_TITLES {
        violations.add(f("alternative_titles"), format!("at most {MAX_TITLES} titles"));
    }
    let mut alternatives: Vec<String> = Vec::new();
    for (i, alternative) in alternative_titles.iter().enumerate() {
        let alternative = text(alternative, MAX_TITLE, &f(&format!("alternative_titles[{i}]")), violations);
        if alternative != title && !alternatives.contains(&alternative) {
            alternatives.push(alternative);
        }
    }
    let description = description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned);
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        violations.add(f("description"), format!("must be at most {MAX_DESCRIPTION} characters"));
    }
    let year = year.map(|y| in_range(y, 1900..=2100, &f("year"), violations));
    if pb::AnimeStatus::try_from(*status).is_err() {
        violations.add(f("status"), format!("{status} is not an AnimeStatus"));
    }
    if pb::AnimeKind::try_from(*kind).is_err() {
        violations.add(f("kind"), format!("{kind} is not an AnimeKind"));
    }
    let poster = poster.as_deref().map(|p| url(p, &f("poster"), violations));
    if genres.len() > MAX_GENRES {
        violations.add(f("genres"), format!("at most {MAX_GENRES} genres"));
    }
    let mut kept_genres: Vec<String> = Vec::new();
    for (i, genre) in genres.iter().enumerate() {
        let genre = text(genre, MAX_GENRE, &f(&format!("genres[{i}]")), violations);
        if !kept_genres.iter().any(|g| g.to_lowercase() == genre.to_lowercase()) {
            kept_genres.push(genre);
        }
    }
    let episodes_total = episodes_total.map(|n| in_range(n, 0..=100_000, &f("episodes_total"), violations));
    AnimeInput {
        source_name: source_name.clone(),
        source_id: source_id.clone(),
        title,
        alternative_titles: alternatives,
        description,
        year,
        status: *status as i16,
        kind: *kind as i16,
        poster,
        genres: kept_genres,
        episodes_total,
    }
}

/// Validates an episodes import; fields are reported under `prefix`.
pub fn episodes_input(
    request: &pb::ImportEpisodesRequest,
    prefix: &str,
    violations: &mut FieldViolations,
) -> EpisodesInput {
    let pb::ImportEpisodesRequest { source_name, anime_source_id, episodes } = request;
    let f = |name: &str| format!("{prefix}{name}");
    check_name(source_name, &f("source_name"), violations);
    check_id(anime_source_id, &f("anime_source_id"), violations);
    if episodes.is_empty() || episodes.len() > MAX_EPISODES {
        violations.add(f("episodes"), format!("must hold 1 to {MAX_EPISODES} episodes, got {}", episodes.len()));
    }
    let mut seen = std::collections::HashSet::new();
    let episodes = episodes
        .iter()
        .enumerate()
        .map(|(i, episode)| {
            let pb::EpisodeImport { source_episode_id, number, title, is_available, season } = episode;
            let field = |name: &str| f(&format!("episodes[{i}].{name}"));
            check_id(source_episode_id, &field("source_episode_id"), violations);
            if !seen.insert(source_episode_id.as_str()) {
                violations.add(field("source_episode_id"), "is repeated in this request");
            }
            EpisodeInput {
                source_episode_id: source_episode_id.clone(),
                season: in_range(season.unwrap_or(1), 0..=1_000, &field("season"), violations),
                number: in_range(*number, 0..=100_000, &field("number"), violations),
                title: title
                    .as_deref()
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| text(t, MAX_TITLE, &field("title"), violations)),
                is_available: is_available.unwrap_or(true),
            }
        })
        .collect();
    EpisodesInput { source_name: source_name.clone(), anime_source_id: anime_source_id.clone(), episodes }
}

/// Validates a player import; fields are reported under `prefix`.
pub fn video_input(request: &pb::ImportVideoRequest, prefix: &str, violations: &mut FieldViolations) -> VideoInput {
    let pb::ImportVideoRequest { source_name, source_episode_id, player, anime_source_id } = request;
    let f = |name: &str| format!("{prefix}{name}");
    check_name(source_name, &f("source_name"), violations);
    check_id(source_episode_id, &f("source_episode_id"), violations);
    if !anime_source_id.is_empty() {
        check_id(anime_source_id, &f("anime_source_id"), violations);
    }
    let default = pb::Player::default();
    let player = match player {
        Some(player) => player,
        None => {
            violations.add(f("player"), "is required");
            &default
        }
    };
    let pb::Player { r#type, url: player_url, provider, priority, translation, quality } = player;
    match pb::PlayerType::try_from(*r#type) {
        Ok(pb::PlayerType::Unspecified) => violations.add(f("player.type"), "is required"),
        Ok(_) => {}
        Err(_) => {
            let number = *r#type;
            violations.add(f("player.type"), format!("{number} is not a PlayerType"));
        }
    }
    let player_url = url(player_url, &f("player.url"), violations);
    check_name(provider, &f("player.provider"), violations);
    let priority = in_range(*priority, -1_000_000..=1_000_000, &f("player.priority"), violations);
    let translation = translation.clone().unwrap_or_default();
    if pb::TranslationType::try_from(translation.r#type).is_err() {
        violations.add(f("player.translation.type"), format!("{} is not a TranslationType", translation.r#type));
    }
    if translation.id.chars().count() > 64 || translation.id.chars().any(char::is_control) {
        violations.add(f("player.translation.id"), "must be at most 64 characters without control characters");
    }
    if translation.title.chars().count() > 200 || translation.title.chars().any(char::is_control) {
        violations.add(f("player.translation.title"), "must be at most 200 characters without control characters");
    }
    let quality = quality.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    if quality.as_ref().is_some_and(|q| q.chars().count() > 100) {
        violations.add(f("player.quality"), "must be at most 100 characters");
    }
    VideoInput {
        source_name: source_name.clone(),
        anime_source_id: (!anime_source_id.is_empty()).then(|| anime_source_id.clone()),
        source_episode_id: source_episode_id.clone(),
        player: PlayerInput {
            player_type: *r#type as i16,
            url: player_url,
            provider: provider.clone(),
            priority,
            quality,
            translation_id: translation.id.trim().to_owned(),
            translation_title: translation.title.trim().to_owned(),
            translation_type: translation.r#type as i16,
        },
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> pb::AnimeImport {
        pb::AnimeImport {
            source_name: "kodik-shikimori".into(),
            source_id: "42310".into(),
            title: " Cyberpunk: Edgerunners ".into(),
            alternative_titles: vec!["Киберпанк".into(), "Cyberpunk: Edgerunners".into(), "Киберпанк".into()],
            genres: vec!["Action".into(), "action".into(), "Sci-Fi".into()],
            ..Default::default()
        }
    }

    #[test]
    fn normalises_titles_and_genres() {
        let mut violations = FieldViolations::new();
        let input = anime_input(&valid(), "anime.", &mut violations);
        assert!(violations.is_empty());
        assert_eq!(input.title, "Cyberpunk: Edgerunners");
        assert_eq!(input.alternative_titles, ["Киберпанк"]);
        assert_eq!(input.genres, ["Action", "Sci-Fi"]);
    }

    #[test]
    fn reports_every_bad_field() {
        let mut bad = valid();
        bad.source_name = "no spaces".into();
        bad.source_id = String::new();
        bad.title = "  ".into();
        bad.year = Some(1800);
        bad.status = 99;
        bad.poster = Some("ftp://x".into());
        bad.episodes_total = Some(-1);
        let mut violations = FieldViolations::new();
        anime_input(&bad, "anime.", &mut violations);
        let error = violations.finish().err().map(|e| e.violated_fields()).unwrap_or_default();
        for field in ["source_name", "source_id", "title", "year", "status", "poster", "episodes_total"] {
            assert!(error.contains(&format!("anime.{field}")), "{field}: {error:?}");
        }
    }

    #[test]
    fn episodes_must_be_unique_and_in_range() {
        let episode =
            |id: &str, number| pb::EpisodeImport { source_episode_id: id.into(), number, ..Default::default() };
        let request = pb::ImportEpisodesRequest {
            source_name: "s".into(),
            anime_source_id: "1".into(),
            episodes: vec![episode("1:1", 1), episode("1:1", 2), episode("1:3", -4)],
        };
        let mut violations = FieldViolations::new();
        let input = episodes_input(&request, "", &mut violations);
        assert!(input.episodes.iter().all(|e| e.is_available && e.season == 1));
        let fields = violations.finish().err().map(|e| e.violated_fields()).unwrap_or_default();
        assert_eq!(fields, ["episodes[1].source_episode_id", "episodes[2].number"]);
    }
}
