//! anime-offline-database: the minified JSON (`{..., "data": [Anime]}`) or JSON Lines (line 1
//! metadata, then one Anime per line), both as published in the project's release assets
//! (reference/mapping.md §9.1). Ids come from the `sources` URLs.

use medley_sdk::pb::{AiringSeason, Platform};
use serde_json::Value;

use super::{Parsed, RecordBuilder, json_reason};

/// Parses either layout: a stream of JSON values whose first holds `data` (minified JSON) or is
/// metadata followed by anime (JSON Lines).
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let first = match values.next() {
        Some(Ok(value)) => value,
        Some(Err(e)) => return Err(json_reason(&e)),
        None => return Err("the file is empty".into()),
    };
    if let Some(data) = first.get("data") {
        let Value::Array(entries) = data else { return Err("`data` is not an array".into()) };
        for entry in entries {
            add(entry, &mut parsed)?;
        }
        return Ok(parsed);
    }
    if first.get("sources").is_some() {
        add(&first, &mut parsed)?;
    } else if !first.is_object() {
        return Err("neither a database object nor JSON Lines".into());
    }
    for value in values {
        add(&value.map_err(|e| json_reason(&e))?, &mut parsed)?;
    }
    Ok(parsed)
}

fn add(entry: &Value, parsed: &mut Parsed) -> Result<(), String> {
    let Value::Object(entry) = entry else { return Err("an anime entry is not an object".into()) };
    let mut builder = RecordBuilder::default();
    builder.title(entry.get("title").and_then(Value::as_str));
    builder.media_type(entry.get("type").and_then(Value::as_str));
    let record = builder.record_mut();
    record.synonyms = strings(entry.get("synonyms"));
    record.episodes =
        entry.get("episodes").and_then(Value::as_i64).filter(|n| *n > 0).and_then(|n| i32::try_from(n).ok());
    let season = entry.get("animeSeason").and_then(Value::as_object);
    record.year = season.and_then(|s| s.get("year")).and_then(Value::as_i64).and_then(|y| i32::try_from(y).ok());
    record.season = season.and_then(|s| s.get("season")).and_then(Value::as_str).and_then(airing_season);
    for url in strings(entry.get("sources")) {
        if let Some((platform, id)) = id_from_url(&url) {
            builder.id(platform, id, None, None);
        }
    }
    builder.finish_into(parsed);
    Ok(())
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn airing_season(name: &str) -> Option<AiringSeason> {
    match name {
        "WINTER" => Some(AiringSeason::Winter),
        "SPRING" => Some(AiringSeason::Spring),
        "SUMMER" => Some(AiringSeason::Summer),
        "FALL" => Some(AiringSeason::Fall),
        _ => None,
    }
}

/// Maps an AOD source URL to a platform id (§2.3 patterns; `www.` and both Kitsu hosts).
pub fn id_from_url(url: &str) -> Option<(Platform, &str)> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let (host, path) = rest.split_once('/')?;
    let last = |prefix: &str| path.strip_prefix(prefix).map(|id| id.trim_end_matches('/'));
    let found = match host {
        "anidb.net" => (Platform::Anidb, last("anime/")?),
        "anilist.co" => (Platform::Anilist, last("anime/")?),
        "anime-planet.com" => (Platform::Animeplanet, last("anime/")?),
        "anisearch.com" => (Platform::Anisearch, last("anime/")?),
        "kitsu.app" | "kitsu.io" => (Platform::Kitsu, last("anime/")?),
        "livechart.me" => (Platform::Livechart, last("anime/")?),
        "myanimelist.net" => (Platform::Myanimelist, last("anime/")?),
        "notify.moe" => (Platform::Notify, last("anime/")?),
        "simkl.com" => (Platform::Simkl, last("anime/")?),
        "animenewsnetwork.com" => (Platform::Animenewsnetwork, path.split_once("id=")?.1),
        // AnimeCountdown ids equal Simkl's; Simkl's URL is taken instead.
        _ => return None,
    };
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = r#"{"sources":["https://anidb.net/anime/23","https://anilist.co/anime/1","https://kitsu.app/anime/1",
        "https://myanimelist.net/anime/1","https://www.animenewsnetwork.com/encyclopedia/anime.php?id=13",
        "https://animecountdown.com/37089","https://simkl.com/anime/37089"],"title":"Cowboy Bebop","type":"TV",
        "episodes":26,"status":"FINISHED","animeSeason":{"season":"SPRING","year":1998},"picture":"p","thumbnail":"t",
        "synonyms":["カウボーイビバップ","Kaubōi Bibappu"],"studios":[],"producers":[],"relatedAnime":[],"tags":[]}"#;

    #[test]
    fn reads_minified_json_and_json_lines_alike() {
        let minified = format!(r#"{{"$schema":"x","lastUpdate":"2026-01-31","data":[{ENTRY}]}}"#);
        let lines = format!("{{\"$schema\":\"x\",\"lastUpdate\":\"2026-01-31\"}}\n{}\n", ENTRY.replace('\n', " "));
        for text in [minified, lines] {
            let records = parse(text.as_bytes()).map(|p| p.records).unwrap_or_default();
            assert_eq!(records.len(), 1);
            let record = &records[0];
            assert_eq!(record.year, Some(1998));
            assert_eq!(record.episodes, Some(26));
            assert_eq!(record.synonyms.len(), 2);
            assert!(record.ids.iter().any(|i| i.platform == Platform::Animenewsnetwork && i.id == "13"));
            assert_eq!(record.ids.iter().filter(|i| i.platform == Platform::Simkl).count(), 1);
        }
    }

    #[test]
    fn truncated_files_fail() {
        let text = format!(r#"{{"data":[{ENTRY}"#);
        assert!(parse(text.as_bytes()).is_err_and(|e| e.contains("truncated")));
        assert!(parse(b"").is_err());
    }
}
