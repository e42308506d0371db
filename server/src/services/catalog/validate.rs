//! Validation of import requests into [`super::model`] inputs. Every rule of the proto's field
//! comments is checked here, and every violation of a request is reported at once.

use medley_sdk::pb;

use super::model::{AnimeInput, EpisodeInput, EpisodesInput, PlayerInput, VideoInput};
use crate::error::FieldViolations;

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
    violations.parse_enum::<pb::AnimeStatus>(f("status"), *status);
    violations.parse_enum::<pb::AnimeKind>(f("kind"), *kind);
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
    if violations.parse_enum::<pb::PlayerType>(f("player.type"), *r#type) == Some(pb::PlayerType::Unspecified) {
        violations.add(f("player.type"), "is required");
    }
    let player_url = url(player_url, &f("player.url"), violations);
    check_name(provider, &f("player.provider"), violations);
    let priority = in_range(*priority, -1_000_000..=1_000_000, &f("player.priority"), violations);
    let translation = translation.clone().unwrap_or_default();
    violations.parse_enum::<pb::TranslationType>(f("player.translation.type"), translation.r#type);
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
