//! CatalogService end to end: imports, bulk imports, reads, admin edits, bad input, the
//! Kodik + Shikimori importer against fake upstreams, and IPTV playlists against a fake
//! Xtream panel of each family.

mod bad_input;
mod batch;
mod importer;
mod imports;
mod playlist_browse;
mod playlist_support;
mod playlist_sync;
mod playlists;
mod reads;

use medley_sdk::pb;

/// An anime import with the given key and title.
pub fn anime(source_id: &str, title: &str) -> pb::AnimeImport {
    pb::AnimeImport {
        source_name: "test-source".into(),
        source_id: source_id.into(),
        title: title.into(),
        alternative_titles: vec![format!("{title} (alt)")],
        description: Some(format!("About {title}.")),
        year: Some(2020),
        status: pb::AnimeStatus::Completed as i32,
        kind: pb::AnimeKind::Tv as i32,
        poster: Some(format!("https://img.example/{source_id}.jpg")),
        genres: vec!["Action".into(), "Drama".into()],
        episodes_total: Some(12),
    }
}

/// An episodes import of `numbers` for the anime `source_id`.
pub fn episodes(source_id: &str, numbers: std::ops::RangeInclusive<i32>) -> pb::ImportEpisodesRequest {
    pb::ImportEpisodesRequest {
        source_name: "test-source".into(),
        anime_source_id: source_id.into(),
        episodes: numbers
            .map(|n| pb::EpisodeImport {
                source_episode_id: format!("{source_id}:{n}"),
                number: n,
                title: None,
                is_available: None,
                season: None,
            })
            .collect(),
    }
}

/// A player import for episode `n` of `source_id`.
pub fn video(
    source_id: &str,
    n: i32,
    translation: &str,
    kind: pb::TranslationType,
    priority: i32,
) -> pb::ImportVideoRequest {
    pb::ImportVideoRequest {
        source_name: "test-source".into(),
        source_episode_id: format!("{source_id}:{n}"),
        anime_source_id: source_id.into(),
        player: Some(pb::Player {
            r#type: pb::PlayerType::Iframe as i32,
            url: format!("https://player.example/{source_id}/{n}/{translation}"),
            provider: "kodik".into(),
            priority,
            translation: Some(pb::Translation {
                id: translation.into(),
                title: format!("T{translation}"),
                r#type: kind as i32,
            }),
            quality: Some("WEB-DLRip 720p".into()),
        }),
    }
}
