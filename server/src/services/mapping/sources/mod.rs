//! Source formats of mapping data and how each becomes [`SourceRecord`]s.
//!
//! - [`aod`] — anime-offline-database: minified JSON or JSON Lines (reference/mapping.md §9.1).
//! - [`fribb`] — Fribb/anime-lists, the old format and the three 2026 changes (§9.2).
//! - [`animeapi`] — AnimeAPI dumps: TSV (CSV-quoted) or JSON (§9.3).
//! - [`arm`] — kawaiioverflow/arm `arm.json`.
//! - [`fetch`] — reading a location: a file, or a URL with a conditional GET.
//!
//! Readers are defensive: a record with one bad id keeps its other ids (the bad one is
//! counted), but a file that is not the format at all — truncated, malformed, HTML instead of
//! JSON — fails with an error naming the source, and the run keeps the previous data.

pub mod animeapi;
pub mod aod;
pub mod arm;
pub mod fetch;
pub mod fribb;

use std::fmt;

use medley_sdk::pb::{AiringSeason, MediaType, Platform};
use serde_json::Value;

use super::platform::{canonical_id, spec_of};
use crate::text;

/// The formats a source can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// anime-offline-database.
    Aod,
    /// Fribb/anime-lists.
    Fribb,
    /// kawaiioverflow/arm.
    Arm,
    /// AnimeAPI dumps.
    AnimeApi,
}

impl SourceKind {
    /// Returns the name used in `MEDLEY_MAPPING_SOURCES`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aod => "aod",
            Self::Fribb => "fribb",
            Self::Arm => "arm",
            Self::AnimeApi => "animeapi",
        }
    }

    /// Parses a kind name.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "aod" => Some(Self::Aod),
            "fribb" => Some(Self::Fribb),
            "arm" => Some(Self::Arm),
            "animeapi" => Some(Self::AnimeApi),
            _ => None,
        }
    }

    /// Merge priority of the kind: lower wins a conflict. AOD is the base the other lists are
    /// derived from; Fribb adds TVDB/TMDB/IMDb to AOD; ARM is the source of Annict and
    /// Syobocal; AnimeAPI is itself a merge of all of these plus scrapers, so it comes last.
    pub fn rank(self) -> u8 {
        match self {
            Self::Aod => 0,
            Self::Fribb => 1,
            Self::Arm => 2,
            Self::AnimeApi => 3,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One configured source: `kind=location`. `Debug` and `Display` redact credentials in the
/// location.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The format.
    pub kind: SourceKind,
    /// A `http(s)://` URL or a file path.
    pub location: String,
}

impl SourceSpec {
    /// Parses `kind=location`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, location) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not kind=location (e.g. fribb=/data/list.json)"))?;
        let kind = SourceKind::parse(kind)
            .ok_or_else(|| format!("unknown source kind {kind:?} (known: aod, fribb, animeapi, arm)"))?;
        let location = location.trim();
        if location.is_empty() {
            return Err(format!("source {kind} has no location"));
        }
        Ok(Self { kind, location: location.to_owned() })
    }

    /// Parses a comma-separated list.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Self::parse).collect()
    }

    /// `kind=location` as given, credentials included: for job payloads, never for printing.
    pub fn to_raw(&self) -> String {
        format!("{}={}", self.kind, self.location)
    }

    /// Returns whether the location is a URL.
    pub fn is_url(&self) -> bool {
        self.location.starts_with("http://") || self.location.starts_with("https://")
    }
}

impl SourceSpec {
    /// The location fit to print: credentials in a URL redacted.
    pub fn shown_location(&self) -> String {
        crate::config::redact_url(&self.location)
    }
}

impl fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceSpec({self})")
    }
}

/// `kind=location`, credentials in the location redacted.
impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind, self.shown_location())
    }
}

/// An id as a source gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId {
    /// The platform.
    pub platform: Platform,
    /// Canonical id.
    pub id: String,
    /// Season, on seasonal platforms.
    pub season: Option<i32>,
    /// Episode offset within that season.
    pub episode_offset: Option<i32>,
}

/// One entry of a source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceRecord {
    /// Main title.
    pub title: Option<String>,
    /// Other titles.
    pub synonyms: Vec<String>,
    /// Kind of work.
    pub media_type: Option<MediaType>,
    /// First year aired.
    pub year: Option<i32>,
    /// Season of the year.
    pub season: Option<AiringSeason>,
    /// Episode count.
    pub episodes: Option<i32>,
    /// Ids on every platform the source gives.
    pub ids: Vec<SourceId>,
}

/// What a reader returns.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The records.
    pub records: Vec<SourceRecord>,
    /// Ids skipped because they had the wrong shape.
    pub bad_ids: u64,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The location could not be read.
    #[error("cannot read {location}: {reason}")]
    Fetch { location: String, reason: String },
    /// The content is not the expected format.
    #[error("{kind} source {location} is malformed: {reason}")]
    Malformed { kind: SourceKind, location: String, reason: String },
}

/// Builds [`SourceRecord`]s, dropping ids of the wrong shape.
#[derive(Default)]
pub(crate) struct RecordBuilder {
    record: SourceRecord,
    bad_ids: u64,
}

impl RecordBuilder {
    pub(crate) fn title(&mut self, title: Option<&str>) -> &mut Self {
        self.record.title = title.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        self
    }

    pub(crate) fn media_type(&mut self, name: Option<&str>) -> &mut Self {
        self.record.media_type = name.and_then(parse_media_type);
        self
    }

    /// Adds an id given as a JSON number or string; null, empty, zero and "unknown" mean none.
    pub(crate) fn id_value(&mut self, platform: Platform, value: Option<&Value>) -> &mut Self {
        match value {
            Some(Value::Number(n)) => self.id(platform, &n.to_string(), None, None),
            Some(Value::String(s)) => self.id(platform, s, None, None),
            _ => self,
        }
    }

    pub(crate) fn id(
        &mut self,
        platform: Platform,
        raw: &str,
        season: Option<i32>,
        episode_offset: Option<i32>,
    ) -> &mut Self {
        let raw = raw.trim();
        if raw.is_empty() || raw == "0" || raw.eq_ignore_ascii_case("unknown") || raw.eq_ignore_ascii_case("null") {
            return self;
        }
        let Some(spec) = spec_of(platform) else { return self };
        match canonical_id(spec, raw) {
            Ok(id) => self.record.ids.push(SourceId { platform, id, season, episode_offset }),
            Err(_) => self.bad_ids += 1,
        }
        self
    }

    pub(crate) fn record_mut(&mut self) -> &mut SourceRecord {
        &mut self.record
    }

    /// Adds the record to `parsed` if it has any id. Its text loses control characters
    /// (PostgreSQL refuses NUL, and one bad title must not fail a run).
    pub(crate) fn finish_into(mut self, parsed: &mut Parsed) {
        parsed.bad_ids += self.bad_ids;
        if !self.record.ids.is_empty() {
            self.record.title = self.record.title.take().map(text::cleaned);
            for synonym in &mut self.record.synonyms {
                *synonym = text::cleaned(std::mem::take(synonym));
            }
            for id in &mut self.record.ids {
                id.id = text::cleaned(std::mem::take(&mut id.id));
            }
            self.record.ids.sort();
            self.record.ids.dedup_by(|a, b| a.platform == b.platform && a.id == b.id && a.season == b.season);
            parsed.records.push(self.record);
        }
    }
}

/// Parses a media type name of any source ("TV", "movie", "tv special"...).
pub fn parse_media_type(name: &str) -> Option<MediaType> {
    match name.trim().to_ascii_uppercase().as_str() {
        "TV" | "TV SERIES" => Some(MediaType::Tv),
        "MOVIE" => Some(MediaType::Movie),
        "OVA" => Some(MediaType::Ova),
        "ONA" | "WEB" => Some(MediaType::Ona),
        "SPECIAL" | "TV SPECIAL" => Some(MediaType::Special),
        _ => None,
    }
}

/// Returns a JSON value as an integer (numbers, or strings of digits).
pub(crate) fn as_i32(value: Option<&Value>) -> Option<i32> {
    match value? {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Turns a serde_json error into a readable reason, calling out truncation.
pub(crate) fn json_reason(error: &serde_json::Error) -> String {
    if error.is_eof() {
        format!("the JSON ends early ({error}); the file is probably truncated")
    } else {
        format!("not valid JSON: {error}")
    }
}

/// Parses a JSON array of objects, naming the first entry that is not one.
pub(crate) fn json_objects(bytes: &[u8]) -> Result<Vec<serde_json::Map<String, Value>>, String> {
    let entries: Vec<Value> = serde_json::from_slice(bytes).map_err(|e| json_reason(&e))?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| match entry {
            Value::Object(object) => Ok(object),
            _ => Err(format!("entry {index} is not an object")),
        })
        .collect()
}

/// Parses `bytes` in the format of `kind`.
pub fn parse(kind: SourceKind, location: &str, bytes: &[u8]) -> Result<Parsed, SourceError> {
    let result = match kind {
        SourceKind::Aod => aod::parse(bytes),
        SourceKind::Fribb => fribb::parse(bytes),
        SourceKind::Arm => arm::parse(bytes),
        SourceKind::AnimeApi => animeapi::parse(bytes),
    };
    result.map_err(|reason| SourceError::Malformed { kind, location: location.to_owned(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_reject() {
        let list = SourceSpec::parse_list("fribb=/a.json, animeapi=https://x/y.tsv").unwrap_or_default();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].kind, SourceKind::Fribb);
        assert!(list[1].is_url());
        assert!(SourceSpec::parse("nope=/a").is_err());
        assert!(SourceSpec::parse("fribb").is_err());
        assert!(SourceSpec::parse("fribb=").is_err());
    }
}
