//! From upstream data to import items: Shikimori metadata → the anime, Kodik releases → its
//! episodes and players. The reference parser's defects are the spec of what not to do
//! (reference/kodik-shikimori.md §2.9): per-episode links, movies as one episode, iframe players
//! over https, priorities where higher is better, BBCode stripped, translations kept.

use std::collections::BTreeMap;

use medley_sdk::pb;

use super::{
    kodik::{Release, absolute_link},
    shikimori::ShikiAnime,
};
use crate::{
    services::catalog::config::TitleLanguage,
    services::catalog::model::{
        AnimeInput, EpisodeInput, EpisodesInput, ImportItem, PlayerInput, VideoInput, content_hash,
    },
};

/// The source name of everything this importer writes (the reference's contract).
pub const SOURCE_NAME: &str = "kodik-shikimori";
/// The provider of Kodik players.
pub const PROVIDER: &str = "kodik";

/// Player priorities: voice-overs before subtitles, camera recordings last. Higher is better.
pub fn priority(release: &Release) -> i32 {
    let base = match release.translation.kind.as_str() {
        "voice" => 100,
        "subtitles" => 50,
        _ => 25,
    };
    if release.camrip { base - 40 } else { base }
}

/// Returns the hash of the parts of a release the import uses: an unchanged hash means nothing
/// to import (ratings and vote counts in `material_data` change daily and are ignored).
pub fn release_hash(release: &Release) -> Vec<u8> {
    content_hash(release)
}

/// Builds the anime item from Shikimori metadata.
pub fn anime_item(anime: &ShikiAnime, language: TitleLanguage) -> AnimeInput {
    let russian = anime.russian.trim();
    let name = anime.name.trim();
    let title = match language {
        TitleLanguage::Russian if !russian.is_empty() => russian,
        _ if !name.is_empty() => name,
        _ => russian,
    }
    .to_owned();
    let mut alternatives: Vec<String> = Vec::new();
    for other in [name, russian]
        .into_iter()
        .chain(anime.english.iter().chain(&anime.japanese).chain(&anime.synonyms).map(|s| s.trim()))
    {
        if !other.is_empty() && other != title && !alternatives.iter().any(|a| a == other) {
            alternatives.push(other.to_owned());
        }
    }
    let status = match anime.status.as_str() {
        "ongoing" => pb::AnimeStatus::Ongoing,
        "released" => pb::AnimeStatus::Completed,
        "anons" => pb::AnimeStatus::Upcoming,
        _ => pb::AnimeStatus::Unspecified,
    };
    let kind = match anime.kind.as_str() {
        "tv" | "tv_13" | "tv_24" | "tv_48" => pb::AnimeKind::Tv,
        "movie" => pb::AnimeKind::Movie,
        "ova" => pb::AnimeKind::Ova,
        "ona" => pb::AnimeKind::Ona,
        "special" => pb::AnimeKind::Special,
        "tv_special" => pb::AnimeKind::TvSpecial,
        "music" => pb::AnimeKind::Music,
        "pv" => pb::AnimeKind::Pv,
        "cm" => pb::AnimeKind::Cm,
        _ => pb::AnimeKind::Unspecified,
    };
    let mut genres: Vec<String> = Vec::new();
    for genre in &anime.genres {
        if !genres.iter().any(|g| g.eq_ignore_ascii_case(genre)) {
            genres.push(genre.clone());
        }
    }
    AnimeInput {
        source_name: SOURCE_NAME.to_owned(),
        source_id: anime.id.to_string(),
        title,
        alternative_titles: alternatives,
        description: anime.description.as_deref().map(strip_bbcode).filter(|d| !d.is_empty()),
        year: anime
            .aired_on
            .as_deref()
            .and_then(|d| d.get(..4))
            .and_then(|y| y.parse().ok())
            .filter(|y| (1900..=2100).contains(y)),
        status: status as i16,
        kind: kind as i16,
        poster: anime.poster.clone().filter(|p| p.starts_with("http://") || p.starts_with("https://")),
        genres,
        episodes_total: (anime.episodes > 0).then_some(anime.episodes),
    }
}

/// Returns the episode id of the reference contract: "{id}:{n}" in season 1, "{id}:{s}:{n}"
/// in other seasons.
pub fn episode_id(source_id: &str, season: i32, number: i32) -> String {
    if season == 1 { format!("{source_id}:{number}") } else { format!("{source_id}:{season}:{number}") }
}

/// One episode of a release with its player link.
struct ReleaseEpisode<'a> {
    season: i32,
    number: i32,
    link: &'a str,
    title: Option<&'a str>,
}

fn release_episodes(release: &Release) -> Vec<ReleaseEpisode<'_>> {
    match &release.seasons {
        // Movies have no seasons: one episode whose player is the release's own.
        None => vec![ReleaseEpisode { season: 1, number: 1, link: &release.link, title: None }],
        Some(seasons) => seasons
            .iter()
            .filter_map(|(season, data)| Some((season.trim().parse::<i32>().ok()?, data)))
            .flat_map(|(season, data)| {
                data.episodes.iter().filter_map(move |(number, episode)| {
                    Some(ReleaseEpisode {
                        season,
                        number: number.trim().parse().ok()?,
                        link: episode.link(),
                        title: episode.title(),
                    })
                })
            })
            .filter(|e| !e.link.trim().is_empty())
            .collect(),
    }
}

/// Builds the episodes and players of one title from its releases (one per translation).
pub fn episode_items(source_id: &str, releases: &[&Release]) -> Vec<ImportItem> {
    let mut episodes: BTreeMap<(i32, i32), EpisodeInput> = BTreeMap::new();
    let mut videos: Vec<VideoInput> = Vec::new();
    for release in releases {
        for episode in release_episodes(release) {
            let id = episode_id(source_id, episode.season, episode.number);
            let entry = episodes.entry((episode.season, episode.number)).or_insert_with(|| EpisodeInput {
                source_episode_id: id.clone(),
                season: episode.season,
                number: episode.number,
                title: None,
                is_available: true,
            });
            if entry.title.is_none() {
                entry.title = episode.title.map(str::to_owned);
            }
            let url = absolute_link(episode.link);
            if videos.iter().any(|v| v.source_episode_id == id && v.player.url == url) {
                continue;
            }
            videos.push(VideoInput {
                source_name: SOURCE_NAME.to_owned(),
                anime_source_id: Some(source_id.to_owned()),
                source_episode_id: id,
                player: PlayerInput {
                    player_type: pb::PlayerType::Iframe as i16,
                    url,
                    provider: PROVIDER.to_owned(),
                    priority: priority(release),
                    quality: Some(release.quality.trim().to_owned()).filter(|q| !q.is_empty()),
                    translation_id: release.translation.id.clone().unwrap_or_default(),
                    translation_title: release.translation.title.trim().to_owned(),
                    translation_type: match release.translation.kind.as_str() {
                        "voice" => pb::TranslationType::Voice as i16,
                        "subtitles" => pb::TranslationType::Subtitles as i16,
                        _ => pb::TranslationType::Unspecified as i16,
                    },
                },
            });
        }
    }
    let mut items = Vec::with_capacity(videos.len() + 1);
    if !episodes.is_empty() {
        items.push(ImportItem::Episodes(EpisodesInput {
            source_name: SOURCE_NAME.to_owned(),
            anime_source_id: source_id.to_owned(),
            episodes: episodes.into_values().collect(),
        }));
    }
    items.extend(videos.into_iter().map(ImportItem::Video));
    items
}

/// Removes BBCode tags (`[character=40]Name[/character]` → `Name`), keeping their text.
pub fn strip_bbcode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find(']') {
            Some(end) if is_tag(&after[1..end]) => rest = &after[end + 1..],
            _ => {
                out.push('[');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_tag(inside: &str) -> bool {
    let name = inside.strip_prefix('/').unwrap_or(inside);
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    !name.is_empty() && name.len() <= 20 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_bbcode_and_keeps_text() {
        assert_eq!(
            strip_bbcode("[character=40]Chisato[/character] and [i]Takina[/i] [1] [spoiler=x]ok[/spoiler]"),
            "Chisato and Takina [1] ok"
        );
    }

    #[test]
    fn episode_ids_follow_the_contract() {
        assert_eq!(episode_id("42310", 1, 3), "42310:3");
        assert_eq!(episode_id("42310", 2, 3), "42310:2:3");
        assert_eq!(episode_id("42310", 0, 1), "42310:0:1");
    }

    #[test]
    fn voice_beats_subtitles_and_camrips_lose() {
        let mut release = Release::default();
        release.translation.kind = "voice".into();
        let voice = priority(&release);
        release.translation.kind = "subtitles".into();
        let subtitles = priority(&release);
        release.translation.kind = "voice".into();
        release.camrip = true;
        let camrip = priority(&release);
        assert!(voice > subtitles && voice > camrip, "{voice} {subtitles} {camrip}");
    }

    #[test]
    fn movies_are_one_episode_played_by_the_release_link() {
        let release =
            Release { id: "movie-1".into(), link: "//kodik.info/video/1/h/720p".into(), ..Default::default() };
        let items = episode_items("199", &[&release]);
        let ImportItem::Episodes(episodes) = &items[0] else { panic!("episodes first") };
        assert_eq!(episodes.episodes.len(), 1);
        assert_eq!(episodes.episodes[0].source_episode_id, "199:1");
        let ImportItem::Video(video) = &items[1] else { panic!("then the player") };
        assert_eq!(video.player.url, "https://kodik.info/video/1/h/720p");
    }
}
