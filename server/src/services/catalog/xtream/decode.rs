//! Tolerant decoding of Xtream Codes answers (`player_api.php`), for both panel families
//! (classic Xtream-Codes 2.9 and XUI / XC_VM): every quirk of `../shared/reference/xtream.md`
//! section 2.2 is accepted — numbers as strings, `""` and `null` for "none", booleans as
//! `0/1/"0"/"1"/true/false`, `[]` for an empty object, lists sent as objects keyed `"0","1"`,
//! episodes as an object keyed by season, an array of arrays, a flat list, or missing. Ids stay
//! strings (they can exceed i32). Anything that is not what a panel sends (HTML, truncated JSON)
//! is an error with a short reason.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;

/// Decodes a panel's answer, saying briefly what was wrong when it is not JSON of that shape.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|error| {
        let start = String::from_utf8_lossy(&body[..body.len().min(40)]).trim().to_owned();
        if start.starts_with('<') {
            "the panel answered HTML, not Xtream JSON".to_owned()
        } else if error.is_eof() {
            format!("the answer is cut off ({} bytes)", body.len())
        } else {
            format!("the answer is not what an Xtream panel sends: {error}")
        }
    })
}

/// A value a panel may send as a string or a number (ids, counts, timestamps); `None` for
/// `null`, `""` and anything else.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flag(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        other => int(other).is_some_and(|n| n != 0),
    }
}

/// `[a, b]`, `{"0": a, "1": b}`, or nothing.
fn list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => map.values().collect(),
        _ => Vec::new(),
    }
}

/// A string field of an object, as [`text`] reads it.
fn field(object: &Value, name: &str) -> Option<String> {
    object.get(name).and_then(text)
}

macro_rules! tolerant {
    ($name:ident, $value:ident => $build:expr) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let $value = Value::deserialize(deserializer)?;
                Ok($build)
            }
        }
    };
}

/// The account part of the auth answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserInfo {
    /// 1 when the credentials are accepted.
    pub auth: bool,
    /// `Active`, `Expired`, `Banned`, `Disabled`.
    pub status: Option<String>,
    /// Expiry (Unix seconds); `None` never expires.
    pub exp_date: Option<i64>,
    /// A trial account.
    pub is_trial: bool,
    /// Connections in use.
    pub active_cons: Option<i64>,
    /// Connections allowed.
    pub max_connections: Option<i64>,
    /// Panel message.
    pub message: Option<String>,
    /// Stream formats the account may use (`m3u8`, `ts`...).
    pub allowed_output_formats: Vec<String>,
}

tolerant!(UserInfo, v => UserInfo {
    auth: v.get("auth").is_some_and(flag),
    status: field(&v, "status"),
    exp_date: v.get("exp_date").and_then(int),
    is_trial: v.get("is_trial").is_some_and(flag),
    active_cons: v.get("active_cons").and_then(int),
    max_connections: v.get("max_connections").and_then(int),
    message: field(&v, "message"),
    allowed_output_formats: list(v.get("allowed_output_formats").unwrap_or(&Value::Null)).into_iter().filter_map(text).collect(),
});

/// The server part of the auth answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerInfo {
    /// Host.
    pub url: Option<String>,
    /// HTTP port.
    pub port: Option<i64>,
    /// `http` or `https`.
    pub protocol: Option<String>,
    /// IANA time zone of the panel's local times.
    pub timezone: Option<String>,
    /// An XUI / XC_VM panel.
    pub xui: bool,
}

tolerant!(ServerInfo, v => ServerInfo {
    url: field(&v, "url"),
    port: v.get("port").and_then(int),
    protocol: field(&v, "server_protocol"),
    timezone: field(&v, "timezone"),
    xui: v.get("xui").is_some_and(flag),
});

/// The auth answer (`player_api.php` without an action).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Auth {
    /// The account.
    pub user_info: UserInfo,
    /// The server; absent on a refused login.
    pub server_info: Option<ServerInfo>,
}

tolerant!(Auth, v => Auth {
    user_info: v.get("user_info").cloned().and_then(|u| serde_json::from_value(u).ok()).unwrap_or_default(),
    server_info: v.get("server_info").filter(|s| s.is_object()).cloned().and_then(|s| serde_json::from_value(s).ok()),
});

impl Auth {
    /// Whether the account can be used: accepted and `Active` (a missing status counts as
    /// active, as classic panels omit it on some versions).
    pub fn usable(&self) -> bool {
        self.user_info.auth && self.user_info.status.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("active"))
    }
}

/// A category.
#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    /// Id (a string on the wire).
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent category id, 0 for none.
    pub parent_id: Option<String>,
}

/// A list of categories (an array, or an object keyed `"0","1"` on old panels).
pub fn categories(value: &Value) -> Vec<Category> {
    list(value)
        .into_iter()
        .filter_map(|c| {
            Some(Category {
                id: field(c, "category_id")?,
                name: field(c, "category_name").unwrap_or_default(),
                parent_id: field(c, "parent_id").filter(|p| p != "0"),
            })
        })
        .collect()
}

/// A live channel, a film or a series of a list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    /// `stream_id` (live, VOD) or `series_id`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Original title (`o_name`, kinopoisk-style panels).
    pub original_title: Option<String>,
    /// Category ids (`category_id`, plus XUI's `category_ids`).
    pub category_ids: Vec<String>,
    /// Icon or cover URL.
    pub icon: Option<String>,
    /// Container of a film (`mp4`, `mkv`...).
    pub container_extension: Option<String>,
    /// Rating out of 10.
    pub rating: Option<f64>,
    /// Added (Unix seconds).
    pub added: Option<i64>,
    /// Year: `year`, else the release date's, else a trailing `(2018)` in the name.
    pub year: Option<i64>,
    /// Genres (`genre` split on `,` `/` `|`).
    pub genres: Vec<String>,
    /// Actors (`cast` or `actors`, split on `,`).
    pub actors: Vec<String>,
    /// Director.
    pub director: Option<String>,
    /// Plot.
    pub plot: Option<String>,
    /// EPG channel id of a live channel.
    pub epg_channel_id: Option<String>,
    /// Catch-up available (live).
    pub tv_archive: bool,
}

fn split(text: Option<String>, separators: &[char]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.unwrap_or_default().split(separators) {
        let part = part.trim();
        if !part.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(part)) {
            out.push(part.to_owned());
        }
    }
    out
}

/// A year in 1900..=2100 at the start of a date, or as `(YYYY)` at the end of a name.
fn year_of(entry: &Value, name: &str) -> Option<i64> {
    let plausible = |y: i64| (1900..=2100).contains(&y).then_some(y);
    if let Some(year) = entry.get("year").and_then(int).and_then(plausible) {
        return Some(year);
    }
    let date = field(entry, "releaseDate").or_else(|| field(entry, "release_date")).or_else(|| field(entry, "releasedate"));
    if let Some(year) = date.and_then(|d| d.get(..4)?.parse().ok()).and_then(plausible) {
        return Some(year);
    }
    let tail = name.trim_end().strip_suffix(')')?;
    let (_, year) = tail.rsplit_once('(')?;
    year.trim().parse().ok().and_then(plausible)
}

fn item(entry: &Value, id: String) -> Item {
    let name = field(entry, "name").or_else(|| field(entry, "title")).unwrap_or_default();
    // XUI's `title` is the name without its year, not an original title.
    let original_title = field(entry, "o_name").filter(|title| !title.eq_ignore_ascii_case(&name));
    Item {
        original_title,
        icon: field(entry, "stream_icon").or_else(|| field(entry, "cover")),
        container_extension: field(entry, "container_extension"),
        // 0 is what panels send for "not rated".
        rating: entry.get("rating").and_then(float).filter(|r| r.is_finite() && *r > 0.0 && *r <= 10.0),
        added: entry.get("added").and_then(int).filter(|a| *a > 0),
        year: year_of(entry, &name),
        genres: split(field(entry, "genre"), &[',', '/', '|']),
        actors: split(field(entry, "cast").or_else(|| field(entry, "actors")), &[',']),
        director: field(entry, "director"),
        plot: field(entry, "plot").or_else(|| field(entry, "description")),
        epg_channel_id: field(entry, "epg_channel_id"),
        tv_archive: entry.get("tv_archive").is_some_and(flag),
        category_ids: Vec::new(),
        name,
        id,
    }
}

/// The items of a list answer (`get_live_streams`, `get_vod_streams`, `get_series`): `id_field`
/// names the id. Entries without an id are dropped; duplicates (XUI repeats a stream once per
/// category) are merged, their categories joined.
pub fn items(value: &Value, id_field: &str) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in list(value) {
        let Some(id) = field(entry, id_field) else { continue };
        let mut category_ids: Vec<String> =
            list(entry.get("category_ids").unwrap_or(&Value::Null)).into_iter().filter_map(text).collect();
        if let Some(category) = field(entry, "category_id")
            && !category_ids.contains(&category)
        {
            category_ids.insert(0, category);
        }
        if let Some(&at) = index.get(&id) {
            let existing = &mut out[at];
            for category in category_ids {
                if !existing.category_ids.contains(&category) {
                    existing.category_ids.push(category);
                }
            }
            continue;
        }
        index.insert(id.clone(), out.len());
        let mut item = item(entry, id);
        item.category_ids = category_ids;
        out.push(item);
    }
    out
}

/// The panel's details of a film (`get_vod_info`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VodInfo {
    /// The film's fields as `info` and `movie_data` give them (the id is `movie_data`'s).
    pub item: Item,
    /// The container the stream URL needs (`movie_data.container_extension`).
    pub container_extension: Option<String>,
    /// Duration in seconds (`duration_secs`, else `duration` "HH:MM:SS").
    pub duration_secs: Option<i64>,
    /// Backdrop URLs.
    pub backdrops: Vec<String>,
    /// TMDB id.
    pub tmdb_id: Option<String>,
    /// YouTube trailer id.
    pub youtube_trailer: Option<String>,
}

fn hms(text: &str) -> Option<i64> {
    let mut total = 0;
    for part in text.trim().split(':') {
        total = total * 60 + part.trim().parse::<i64>().ok()?;
    }
    Some(total)
}

/// A `get_vod_info` answer; `info` may be `[]` on films without metadata.
pub fn vod_info(value: &Value) -> VodInfo {
    let empty = Value::Object(serde_json::Map::new());
    let info = value.get("info").filter(|i| i.is_object()).unwrap_or(&empty);
    let movie = value.get("movie_data").filter(|m| m.is_object()).unwrap_or(&empty);
    let mut merged = movie.clone();
    if let (Value::Object(into), Value::Object(from)) = (&mut merged, info) {
        for (key, field) in from {
            if text(field).is_some() || field.is_array() {
                into.entry(key.clone()).or_insert_with(|| field.clone());
            }
        }
    }
    let id = field(movie, "stream_id").unwrap_or_default();
    let mut item = item(&merged, id);
    item.category_ids = field(movie, "category_id").into_iter().collect();
    if item.icon.is_none() {
        item.icon = field(info, "movie_image").or_else(|| field(info, "cover_big"));
    }
    let backdrops = match info.get("backdrop_path") {
        Some(Value::String(one)) if !one.trim().is_empty() => vec![one.trim().to_owned()],
        Some(other) => list(other).into_iter().filter_map(text).collect(),
        None => Vec::new(),
    };
    VodInfo {
        container_extension: field(movie, "container_extension"),
        duration_secs: info
            .get("duration_secs")
            .and_then(int)
            .filter(|d| *d > 0)
            .or_else(|| field(info, "duration").as_deref().and_then(hms).filter(|d| *d > 0)),
        backdrops,
        tmdb_id: field(info, "tmdb_id").filter(|t| t != "0"),
        youtube_trailer: field(info, "youtube_trailer"),
        item,
    }
}

/// The series part (`info`) of a `get_series_info` answer, as an item with `id`.
pub fn series_info(value: &Value, id: &str) -> Item {
    let empty = Value::Object(serde_json::Map::new());
    let info = value.get("info").filter(|i| i.is_object()).unwrap_or(&empty);
    let mut item = item(info, id.to_owned());
    item.category_ids = field(info, "category_id").into_iter().collect();
    item
}

/// One episode of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// The stream id used in `/series/{u}/{p}/{id}.{ext}`.
    pub id: String,
    /// Season number (0 for specials).
    pub season: i64,
    /// Episode number within the season.
    pub episode_num: Option<i64>,
    /// Title.
    pub title: String,
    /// Container of this episode (it can differ between episodes).
    pub container_extension: Option<String>,
    /// Duration in seconds.
    pub duration_secs: Option<i64>,
}

/// The episodes of a `get_series_info` answer, whatever shape they come in: an object keyed by
/// season, an array of arrays (seasons from 0), a flat list with `season` fields, an object of
/// objects, `[]`, or no key at all. Seasons are taken from the episodes, never from `seasons`.
/// Duplicate episode ids keep the first.
pub fn episodes(series_info: &Value) -> Vec<Episode> {
    let mut by_season: BTreeMap<i64, Vec<&Value>> = BTreeMap::new();
    match series_info.get("episodes") {
        Some(Value::Object(seasons)) => {
            for (key, season) in seasons {
                let number = key.trim().parse().unwrap_or(0);
                by_season.entry(number).or_default().extend(list(season));
            }
        }
        Some(Value::Array(entries)) => {
            for (index, entry) in entries.iter().enumerate() {
                match entry {
                    // An array of arrays: PHP made the season keys consecutive from 0.
                    Value::Array(_) | Value::Object(_) if entry.get("id").is_none() => {
                        by_season.entry(index as i64).or_default().extend(list(entry));
                    }
                    // A flat list: each episode names its season.
                    episode => {
                        let season = episode.get("season").and_then(int).unwrap_or(1);
                        by_season.entry(season).or_default().push(episode);
                    }
                }
            }
        }
        _ => {}
    }
    let mut out: Vec<Episode> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (key_season, entries) in by_season {
        for entry in entries {
            let Some(id) = field(entry, "id") else { continue };
            if !seen.insert(id.clone()) {
                continue;
            }
            let info = entry.get("info").filter(|i| i.is_object());
            out.push(Episode {
                season: entry.get("season").and_then(int).unwrap_or(key_season),
                episode_num: entry.get("episode_num").and_then(int),
                title: field(entry, "title").unwrap_or_default(),
                container_extension: field(entry, "container_extension"),
                duration_secs: info.and_then(|i| i.get("duration_secs")).and_then(int),
                id,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../tests/fixtures/xtream/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn value(name: &str) -> Value {
        decode(&fixture(name)).unwrap()
    }

    #[test]
    fn auth_answers_of_both_families_and_refusals() {
        let classic: Auth = decode(&fixture("classic_auth.json")).unwrap();
        assert!(classic.usable());
        assert_eq!(classic.user_info.exp_date, Some(1_893_456_000));
        assert_eq!((classic.user_info.max_connections, classic.user_info.is_trial), (Some(1), false));
        let server = classic.server_info.unwrap();
        assert_eq!((server.port, server.timezone.as_deref(), server.xui), (Some(8080), Some("Europe/London"), false));
        let unlimited: Auth = decode(&fixture("classic_auth_unlimited.json")).unwrap();
        assert_eq!(unlimited.user_info.exp_date, None, "null never expires");
        let xui: Auth = decode(&fixture("xui_auth.json")).unwrap();
        assert!(xui.usable() && xui.server_info.unwrap().xui);
        let invalid: Auth = decode(&fixture("quirks_auth_invalid.json")).unwrap();
        assert!(!invalid.usable() && invalid.server_info.is_none());
        let expired: Auth = decode(&fixture("quirks_auth_expired.json")).unwrap();
        assert!(!expired.usable());
        assert_eq!(expired.user_info.status.as_deref(), Some("Expired"));
    }

    #[test]
    fn lists_keep_string_ids_and_tolerate_every_type_quirk() {
        let categories = categories(&value("classic_get_live_categories.json"));
        assert!(!categories.is_empty() && categories.iter().all(|c| !c.id.is_empty()));
        assert_eq!(super::categories(&value("quirks_list_as_object.json")).len(), 2, "a list sent as an object");
        let live = items(&value("classic_get_live_streams.json"), "stream_id");
        assert!(!live.is_empty() && live.iter().all(|i| !i.id.is_empty() && !i.name.is_empty()));
        let vod = items(&value("classic_get_vod_streams.json"), "stream_id");
        assert!(vod.iter().all(|v| v.container_extension.is_some()));
        assert!(vod.iter().any(|v| v.rating.is_none()), "an empty rating is none");
        let xui = items(&value("xui_get_vod_streams.json"), "stream_id");
        assert!(xui.iter().any(|v| v.category_ids.len() > 1 && v.year.is_some()));
        let series = items(&value("classic_get_series.json"), "series_id");
        assert!(!series.is_empty());
    }

    #[test]
    fn episodes_come_out_whatever_shape_the_panel_sends() {
        let classic = episodes(&value("classic_get_series_info_3.json"));
        assert!(!classic.is_empty());
        let containers: std::collections::HashSet<_> = classic.iter().filter_map(|e| e.container_extension.clone()).collect();
        assert!(containers.len() > 1, "per-episode containers: {containers:?}");
        let specials = episodes(&value("quirks_series_info_specials_array.json"));
        assert_eq!(specials.first().map(|e| (e.season, e.id.as_str())), Some((0, "9000")), "an array of arrays starts at season 0");
        assert!(specials.iter().any(|e| e.duration_secs == Some(2700)), "a duration given as a string");
        assert!(episodes(&value("quirks_series_info_no_episodes_classic.json")).is_empty());
        assert!(episodes(&value("quirks_series_info_no_episodes_xui.json")).is_empty(), "no episodes key");
        let xui = episodes(&value("xui_get_series_info_1.json"));
        assert!(xui.iter().all(|e| e.episode_num.is_some()), "string episode numbers");
        let later = episodes(&value("quirks_series_info_tracker_new_episode.json"));
        assert_eq!(later.len(), classic.len() + 1, "one new episode");
        assert!(later.iter().any(|e| e.id == "1024"));
    }

    #[test]
    fn films_take_their_container_from_movie_data_and_accept_empty_info() {
        let film = vod_info(&value("classic_get_vod_info_130529.json"));
        assert_eq!(film.item.id, "130529");
        assert!(film.container_extension.is_some() && film.duration_secs.is_some());
        assert!(!film.backdrops.is_empty(), "backdrop_path as an array");
        let bare = vod_info(&value("quirks_get_vod_info_no_metadata.json"));
        assert!(bare.container_extension.is_some());
        assert_eq!(bare.duration_secs, None, "info: [] has no duration");
        let xui = vod_info(&value("xui_get_vod_info_1.json"));
        assert!(!xui.item.actors.is_empty() && xui.item.plot.is_some(), "{xui:?}");
    }

    #[test]
    fn list_items_carry_what_search_and_filters_need() {
        let vod = items(&value("classic_get_vod_streams.json"), "stream_id");
        assert_eq!(vod[0].year, Some(2018), "a year from `Name (2018)`");
        let xui = items(&value("xui_get_vod_streams.json"), "stream_id");
        assert_eq!(xui[0].genres, ["Drama", "Action", "Crime"]);
        assert_eq!(xui[0].actors.len(), 3);
        assert_eq!(xui[0].rating, Some(8.5));
        let series = items(&value("classic_get_series.json"), "series_id");
        assert_eq!(series[0].genres, ["Crime", "Drama", "Mystery"], "`Crime / Drama / Mystery`");
        assert_eq!(series[0].year, Some(2005), "from releaseDate");
        assert!(series.iter().any(|s| s.rating.is_none()), "rating \"0\" is none");
        let live = items(&value("classic_get_live_streams.json"), "stream_id");
        assert!(live.iter().any(|l| l.tv_archive && l.epg_channel_id.is_some()));
    }

    #[test]
    fn answers_that_are_not_xtream_json_say_why() {
        assert!(decode::<Auth>(b"<html><body>502 Bad Gateway</body></html>").unwrap_err().contains("HTML"));
        assert!(decode::<Auth>(b"{\"user_info\":{\"auth\":1,").unwrap_err().contains("cut off"));
    }
}
