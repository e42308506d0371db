//! Fribb/anime-lists: `anime-list-full.json`, `anime-list-mini.json` and
//! `anime-lists-reduced.json`, in the old format and in each 2026 variant (reference/mapping.md
//! §9.2). The formats are told apart field by field, not by date: `thetvdb_id` or `tvdb_id` +
//! `season`; `themoviedb_id` as a number, a comma string or an object; `imdb_id` as a string or
//! an array.

use medley_sdk::pb::{MediaType, Platform};
use serde_json::{Map, Value};

use super::{Parsed, RecordBuilder, as_i32, json_objects};

/// Parses a Fribb list: a JSON array of objects.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    for entry in json_objects(bytes)? {
        record(&entry).finish_into(&mut parsed);
    }
    Ok(parsed)
}

fn record(entry: &Map<String, Value>) -> RecordBuilder {
    let mut builder = RecordBuilder::default();
    builder.media_type(entry.get("type").and_then(Value::as_str));
    for (field, platform) in [
        ("anidb_id", Platform::Anidb),
        ("anilist_id", Platform::Anilist),
        ("anisearch_id", Platform::Anisearch),
        ("kitsu_id", Platform::Kitsu),
        ("livechart_id", Platform::Livechart),
        ("mal_id", Platform::Myanimelist),
        // Some old entries carry anime-planet slugs as numbers; both are accepted.
        ("anime-planet_id", Platform::Animeplanet),
        ("notify.moe_id", Platform::Notify),
        ("animenewsnetwork_id", Platform::Animenewsnetwork),
        ("simkl_id", Platform::Simkl),
        ("animecountdown_id", Platform::Simkl),
    ] {
        builder.id_value(platform, entry.get(field));
    }

    let seasons = entry.get("season").and_then(Value::as_object);
    let offsets = entry.get("episode_offset").and_then(Value::as_object);
    let season_of = |site: &str| as_i32(seasons.and_then(|s| s.get(site)));
    let offset_of = |site: &str| as_i32(offsets.and_then(|s| s.get(site)));

    // TVDB: `tvdb_id` (2026) or `thetvdb_id` (old, no season).
    if let Some(tvdb) = entry.get("tvdb_id").or_else(|| entry.get("thetvdb_id")).and_then(as_number) {
        builder.id(Platform::Thetvdb, &tvdb, season_of("tvdb"), offset_of("tvdb"));
    }

    match entry.get("themoviedb_id") {
        // 2026: {"tv": 123} or {"movie": [1, 2]}.
        Some(Value::Object(tmdb)) => {
            if let Some(tv) = tmdb.get("tv").and_then(as_number) {
                builder.id(Platform::ThemoviedbTv, &tv, season_of("tmdb"), offset_of("tmdb"));
            }
            match tmdb.get("movie") {
                Some(Value::Array(movies)) => {
                    for movie in movies.iter().filter_map(as_number) {
                        builder.id(Platform::Themoviedb, &movie, None, None);
                    }
                }
                Some(movie) => {
                    if let Some(movie) = as_number(movie) {
                        builder.id(Platform::Themoviedb, &movie, None, None);
                    }
                }
                None => {}
            }
        }
        // Old: a number or a comma string of several. The old lists did not say whether the
        // id is a film or a show; Anime-Lists' `tmdbid` holds films, and a show's id there is
        // only given for TV entries.
        Some(value) => {
            let is_tv = builder.record_mut().media_type == Some(MediaType::Tv);
            let platform = if is_tv { Platform::ThemoviedbTv } else { Platform::Themoviedb };
            let text = match value {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            for id in text.split(',') {
                builder.id(platform, id, if is_tv { season_of("tmdb") } else { None }, None);
            }
        }
        None => {}
    }

    match entry.get("imdb_id") {
        Some(Value::Array(ids)) => {
            for id in ids.iter().filter_map(Value::as_str) {
                builder.id(Platform::Imdb, id, None, None);
            }
        }
        Some(Value::String(ids)) => {
            for id in ids.split(',') {
                builder.id(Platform::Imdb, id, None, None);
            }
        }
        _ => {}
    }
    builder
}

fn as_number(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::mapping::sources::SourceId;

    fn ids(json: &str) -> Vec<SourceId> {
        parse(json.as_bytes()).map(|p| p.records.into_iter().flat_map(|r| r.ids).collect()).unwrap_or_default()
    }

    #[test]
    fn reads_the_2026_format() {
        let found = ids(r#"[{"anidb_id":23,"themoviedb_id":{"tv":30991},"tvdb_id":76885,"season":{"tvdb":1,"tmdb":1},
                "imdb_id":["tt0213338"],"episode_offset":{"tvdb":2}}]"#);
        assert!(found.contains(&SourceId {
            platform: Platform::Thetvdb,
            id: "76885".into(),
            season: Some(1),
            episode_offset: Some(2)
        }));
        assert!(found.iter().any(|i| i.platform == Platform::ThemoviedbTv && i.id == "30991" && i.season == Some(1)));
        assert!(found.iter().any(|i| i.platform == Platform::Imdb && i.id == "tt0213338"));
    }

    #[test]
    fn reads_the_old_format_with_comma_strings_and_numeric_slugs() {
        let found = ids(
            r#"[{"anidb_id":5,"type":"MOVIE","themoviedb_id":"968868,968870","anime-planet_id":1108,"thetvdb_id":7}]"#,
        );
        assert_eq!(found.iter().filter(|i| i.platform == Platform::Themoviedb).count(), 2);
        assert!(found.iter().any(|i| i.platform == Platform::Animeplanet && i.id == "1108"));
        assert!(found.iter().any(|i| i.platform == Platform::Thetvdb && i.season.is_none()));
    }

    #[test]
    fn truncated_and_malformed_files_fail_clearly() {
        let truncated = parse(br#"[{"anidb_id":1},{"anidb_"#);
        assert!(truncated.is_err_and(|e| e.contains("truncated")));
        assert!(parse(b"<html>rate limited</html>").is_err());
        assert!(parse(br#"[1, 2]"#).is_err());
    }
}
