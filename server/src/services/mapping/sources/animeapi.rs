//! AnimeAPI dumps (`animeapi.tsv`, `animeapi.json`): one row per anime with a column per
//! platform (reference/mapping.md §9.3). Columns are found by header name, so the 2025 TSV (23
//! columns) and the 2026 dumps (TVDB, TMDB type and season, Hikka...) read alike. TSV cells
//! holding `"` are CSV-quoted, so rows go through a CSV reader, never a line split.

use medley_sdk::pb::Platform;
use serde_json::Value;

use super::{Parsed, RecordBuilder, json_objects};

/// Simple columns: the column name is the platform's canonical name.
const COLUMNS: &[(&str, Platform)] = &[
    ("anidb", Platform::Anidb),
    ("anilist", Platform::Anilist),
    ("animenewsnetwork", Platform::Animenewsnetwork),
    ("animeplanet", Platform::Animeplanet),
    ("anisearch", Platform::Anisearch),
    ("annict", Platform::Annict),
    ("hikka", Platform::Hikka),
    ("kaize", Platform::Kaize),
    ("kaize_id", Platform::KaizeId),
    ("kitsu", Platform::Kitsu),
    ("livechart", Platform::Livechart),
    ("myanimelist", Platform::Myanimelist),
    ("nautiljon", Platform::Nautiljon),
    ("nautiljon_id", Platform::NautiljonId),
    ("notify", Platform::Notify),
    ("otakotaku", Platform::Otakotaku),
    ("shoboi", Platform::Shoboi),
    ("silveryasha", Platform::Silveryasha),
    ("simkl", Platform::Simkl),
];

/// Parses a TSV dump, or a JSON array dump when the content starts with `[`.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') { parse_json(bytes) } else { parse_tsv(bytes) }
}

fn parse_json(bytes: &[u8]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    for row in json_objects(bytes)? {
        let cell = |name: &str| match row.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        record(&cell).finish_into(&mut parsed);
    }
    Ok(parsed)
}

fn parse_tsv(bytes: &[u8]) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new().delimiter(b'\t').has_headers(true).flexible(false).from_reader(bytes);
    let headers = reader.headers().map_err(|e| format!("cannot read the header row: {e}"))?.clone();
    if !headers.iter().any(|h| h == "title") || !headers.iter().any(|h| h == "myanimelist") {
        return Err(format!("the header row has no title/myanimelist column (got {} columns)", headers.len()));
    }
    let mut parsed = Parsed::default();
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(format!("bad row: {e}")),
        }
        let cell = |name: &str| {
            headers.iter().position(|h| h == name).and_then(|i| row.get(i)).filter(|v| !v.is_empty()).map(str::to_owned)
        };
        record(&cell).finish_into(&mut parsed);
    }
    Ok(parsed)
}

fn record(cell: &dyn Fn(&str) -> Option<String>) -> RecordBuilder {
    let number = |name: &str| cell(name).and_then(|v| v.trim().parse::<i32>().ok());
    let mut builder = RecordBuilder::default();
    builder.title(cell("title").as_deref());
    for (column, platform) in COLUMNS {
        if let Some(value) = cell(column) {
            builder.id(*platform, &value, None, None);
        }
    }
    if let Some(imdb) = cell("imdb") {
        builder.id(Platform::Imdb, &imdb, None, None);
    }
    if let Some(tvdb) = cell("thetvdb") {
        let season = number("thetvdb_season_id").or_else(|| number("thetvdb_season"));
        builder.id(Platform::Thetvdb, &tvdb, season, None);
    }
    if let Some(tmdb) = cell("themoviedb") {
        // Before 2026 the column held films only.
        if cell("themoviedb_type").as_deref() == Some("tv") {
            let season = number("themoviedb_season_id").or_else(|| number("themoviedb_season"));
            builder.id(Platform::ThemoviedbTv, &tmdb, season, None);
        } else {
            builder.id(Platform::Themoviedb, &tmdb, None, None);
        }
    }
    if let Some(trakt) = cell("trakt") {
        match cell("trakt_type").as_deref() {
            Some("movies" | "movie") => builder.id(Platform::TraktMovie, &trakt, None, None),
            _ => builder.id(Platform::Trakt, &trakt, number("trakt_season"), None),
        };
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "title\tanidb\tanilist\tanimeplanet\tanisearch\tannict\timdb\tkaize\tkaize_id\tkitsu\tlivechart\tmyanimelist\tnautiljon\tnautiljon_id\tnotify\totakotaku\tshikimori\tshoboi\tsilveryasha\tthemoviedb\ttrakt\ttrakt_type\ttrakt_season\n";

    #[test]
    fn reads_quoted_titles_and_trakt_seasons() {
        let tsv = format!(
            "{HEADER}\"\"\"0\"\"\"\t10143\t102416\tchiaki-kuriyama-0\t9010\t\t\t0\t2371\t8925\t\t20707\t\t\tFf1bpKmmR\t\t20707\t\t\t\t\t\t\n\
             Cowboy Bebop\t23\t1\tcowboy-bebop\t1572\t360\t\tcowboy-bebop\t265\t1\t3418\t1\t\t\tTk3ccKimg\t1149\t1\t538\t2652\t\t30857\tshows\t1\n"
        );
        let parsed = parse(tsv.as_bytes());
        let records = parsed.map(|p| p.records).unwrap_or_default();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].title.as_deref(), Some("\"0\""));
        assert!(records[1].ids.iter().any(|i| i.platform == Platform::Trakt && i.id == "30857" && i.season == Some(1)));
        assert!(!records[1].ids.iter().any(|i| i.platform == Platform::Shikimori), "shikimori is derived, not read");
    }

    #[test]
    fn reads_json_dumps_of_2026() {
        let json = r#"[{"title":"Cowboy Bebop","myanimelist":1,"thetvdb":76885,"thetvdb_season_id":1,
                        "themoviedb":30991,"themoviedb_type":"tv","themoviedb_season_id":1,"hikka":"cowboy-bebop-d572ee"}]"#;
        let records = parse(json.as_bytes()).map(|p| p.records).unwrap_or_default();
        let ids = &records[0].ids;
        assert!(ids.iter().any(|i| i.platform == Platform::ThemoviedbTv && i.season == Some(1)));
        assert!(ids.iter().any(|i| i.platform == Platform::Hikka));
    }

    #[test]
    fn rejects_files_that_are_not_dumps() {
        assert!(parse(b"<!DOCTYPE html><html>").is_err());
        let ragged = format!("{HEADER}Only a title\t1\n");
        assert!(parse(ragged.as_bytes()).is_err());
    }
}
