//! A fake Xtream Codes panel on a free local port, for playlist tests.
//!
//! It serves the reference fixtures (`tests/fixtures/xtream/`) byte for byte as a classic
//! Xtream-Codes 2.9 panel, or the same catalog the way an XUI / XC_VM panel sends it (ints
//! instead of numeric strings, `category_ids` arrays, unescaped slashes, a stream repeated per
//! category, `INVALID_CREDENTIALS` for a bad login). Accounts pick the scenario, as in IPTVnator's
//! mock server: `demo` / `s3cret` is active, `expired` / `expired` expired, `banned` / `banned`
//! banned; anything else is a bad login. Answers can be replaced per action (HTML, cut-off
//! JSON, an error status, a slow answer), lists replaced (items gone or added), and every
//! request is recorded with its decoded query.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use crate::fixture;

/// The user name and password of the active account.
pub const USERNAME: &str = "demo";
/// Its password.
pub const PASSWORD: &str = "s3cret";
/// Another active account whose name and password need URL-encoding everywhere.
pub const ODD_USERNAME: &str = "dé mo&x=1";
/// Its password.
pub const ODD_PASSWORD: &str = "p/a ss#?&+%";

/// Which panel software to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Xtream-Codes 2.9.
    Classic,
    /// XUI.one / XC_VM.
    Xui,
}

/// An answer that replaces the normal one of an action.
#[derive(Clone, Debug)]
pub enum Answer {
    /// This status with a short body.
    Status(u16),
    /// An HTML error page with 200 (what a panel behind a broken proxy sends).
    Html,
    /// The normal JSON cut after this many bytes.
    Truncated(usize),
    /// The normal answer after this delay.
    Slow(Duration),
    /// This body with 200.
    Body(Bytes),
}

/// A request the panel saw.
#[derive(Clone, Debug)]
pub struct PanelRequest {
    /// The action (empty for the auth call).
    pub action: String,
    /// The decoded query.
    pub query: HashMap<String, String>,
    /// The raw query string as sent.
    pub raw_query: String,
}

struct Panel {
    family: Family,
    lists: HashMap<String, Bytes>,
    infos: HashMap<(String, String), Bytes>,
    answers: HashMap<String, Answer>,
    seen: Vec<PanelRequest>,
}

/// A running fake panel; it stops when dropped with the test's runtime.
#[derive(Clone)]
pub struct FakePanel {
    addr: SocketAddr,
    state: Arc<Mutex<Panel>>,
}

fn read(name: &str) -> Bytes {
    let path = fixture(&format!("xtream/{name}"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn parse(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).expect("fixture JSON")
}

/// Numbers sent as strings become numbers, as XUI panels send them (ids stay strings where
/// XUI keeps them: `category_id`, episode `id`).
fn xuify_value(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(xuify_value),
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let keep_string = matches!(key.as_str(), "category_id" | "id" | "name" | "title");
                match field {
                    Value::String(text) if !keep_string => {
                        if let Ok(n) = text.parse::<i64>() {
                            *field = json!(n);
                        } else if let Ok(f) = text.parse::<f64>()
                            && text.contains('.')
                        {
                            *field = json!(f);
                        }
                    }
                    other => xuify_value(other),
                }
            }
            if let Some(category) = map.get("category_id").and_then(Value::as_str).and_then(|c| c.parse::<i64>().ok()) {
                map.insert("category_ids".to_owned(), json!([category]));
            }
        }
        _ => {}
    }
}

/// A list the way an XUI panel sends it; the first live stream is repeated under a second
/// category (`show_category_duplicates`).
pub fn xuify(action: &str, classic: &Bytes) -> Bytes {
    let mut value = parse(classic);
    xuify_value(&mut value);
    if action == "get_series"
        && let Value::Array(items) = &mut value
    {
        for item in items.iter_mut() {
            item["stream_type"] = json!("series");
        }
    }
    if action == "get_live_streams"
        && let Value::Array(items) = &mut value
        && let Some(first) = items.first().cloned()
    {
        let mut repeated = first;
        repeated["category_id"] = json!("35");
        repeated["category_ids"] = json!([35]);
        items.push(repeated);
    }
    Bytes::from(serde_json::to_vec(&value).expect("JSON"))
}

const LISTS: [(&str, &str); 6] = [
    ("get_live_categories", "classic_get_live_categories.json"),
    ("get_live_streams", "classic_get_live_streams.json"),
    ("get_vod_categories", "classic_get_vod_categories.json"),
    ("get_vod_streams", "classic_get_vod_streams.json"),
    ("get_series_categories", "classic_get_series_categories.json"),
    ("get_series", "classic_get_series.json"),
];

impl FakePanel {
    /// Starts a panel of `family` with the reference catalog.
    pub async fn start(family: Family) -> Self {
        let mut lists = HashMap::new();
        for (action, file) in LISTS {
            let classic = read(file);
            lists.insert(action.to_owned(), if family == Family::Xui { xuify(action, &classic) } else { classic });
        }
        let mut infos = HashMap::new();
        for (action, id, file) in [
            ("get_vod_info", "130529", "classic_get_vod_info_130529.json"),
            ("get_vod_info", "303099", "quirks_get_vod_info_no_metadata.json"),
            ("get_series_info", "3", "classic_get_series_info_3.json"),
            ("get_series_info", "2", "quirks_series_info_no_episodes_classic.json"),
        ] {
            infos.insert((action.to_owned(), id.to_owned()), read(file));
        }
        let state = Arc::new(Mutex::new(Panel { family, lists, infos, answers: HashMap::new(), seen: Vec::new() }));
        let router = Router::new().route("/player_api.php", get(api).post(api)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, state }
    }

    /// The panel's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the answer of `action` (empty for the auth call) until [`Self::restore`].
    pub fn answer(&self, action: &str, answer: Answer) {
        self.state.lock().expect("panel").answers.insert(action.to_owned(), answer);
    }

    /// Restores the normal answer of `action`.
    pub fn restore(&self, action: &str) {
        self.state.lock().expect("panel").answers.remove(action);
    }

    /// Replaces a list (`get_vod_streams`...), as JSON the panel then sends.
    pub fn set_list(&self, action: &str, list: &Value) {
        let bytes = Bytes::from(serde_json::to_vec(list).expect("JSON"));
        self.state.lock().expect("panel").lists.insert(action.to_owned(), bytes);
    }

    /// The list `action` sends now, parsed.
    pub fn list(&self, action: &str) -> Value {
        parse(&self.state.lock().expect("panel").lists[action])
    }

    /// Sets the `get_series_info` / `get_vod_info` answer of one id.
    pub fn set_info(&self, action: &str, id: &str, body: Bytes) {
        self.state.lock().expect("panel").infos.insert((action.to_owned(), id.to_owned()), body);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<PanelRequest> {
        self.state.lock().expect("panel").seen.clone()
    }

    /// Requests of `action` so far (empty for the auth call).
    pub fn count(&self, action: &str) -> usize {
        self.seen().iter().filter(|r| r.action == action).count()
    }
}

fn json_response(body: Bytes) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

async fn api(State(state): State<Arc<Mutex<Panel>>>, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let raw = raw.unwrap_or_default();
    let mut query: HashMap<String, String> =
        url_pairs(&raw).into_iter().chain(url_pairs(&String::from_utf8_lossy(&body))).collect();
    let action = query.remove("action").unwrap_or_default();
    let (answer, normal, family) = {
        let mut panel = state.lock().expect("panel");
        panel.seen.push(PanelRequest { action: action.clone(), query: query.clone(), raw_query: raw.clone() });
        let family = panel.family;
        let user = (query.get("username").map(String::as_str), query.get("password").map(String::as_str));
        let account = match user {
            (Some(USERNAME), Some(PASSWORD)) | (Some(ODD_USERNAME), Some(ODD_PASSWORD)) => None,
            (Some("expired"), Some("expired")) => Some(read("quirks_auth_expired.json")),
            (Some("banned"), Some("banned")) => {
                Some(Bytes::from_static(br#"{"user_info":{"auth":0,"status":"Banned"}}"#))
            }
            _ if family == Family::Xui => {
                return (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").into_response();
            }
            _ => Some(read("quirks_auth_invalid.json")),
        };
        if let Some(refusal) = account {
            return json_response(refusal);
        }
        let normal = match action.as_str() {
            "" => Some(read(if family == Family::Xui { "xui_auth.json" } else { "classic_auth.json" })),
            "get_vod_info" | "get_series_info" => {
                let id = query
                    .get(if action == "get_vod_info" { "vod_id" } else { "series_id" })
                    .cloned()
                    .unwrap_or_default();
                panel.infos.get(&(action.clone(), id)).cloned()
            }
            other => panel.lists.get(other).cloned(),
        };
        (panel.answers.get(&action).cloned(), normal, family)
    };
    // Unknown actions answer user and server info, as real panels do.
    let normal =
        normal.unwrap_or_else(|| read(if family == Family::Xui { "xui_auth.json" } else { "classic_auth.json" }));
    match answer {
        None => json_response(normal),
        Some(Answer::Status(status)) => {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "error").into_response()
        }
        Some(Answer::Html) => (
            [("content-type", "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        )
            .into_response(),
        Some(Answer::Truncated(bytes)) => json_response(normal.slice(..bytes.min(normal.len()))),
        Some(Answer::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            json_response(normal)
        }
        Some(Answer::Body(body)) => json_response(body),
    }
}

fn url_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode =
                |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
            (decode(key), decode(value))
        })
        .collect()
}

const WORDS: [&str; 24] = [
    "Night", "Amélie", "River", "Crown", "Shadow", "Garden", "Ocean", "Storm", "Léon", "Winter", "Empire", "Echo",
    "Harbor", "Silver", "Forest", "Mirror", "Falcon", "Desert", "Velvet", "Canyon", "Signal", "Orbit", "Ember",
    "Atlas",
];
const GENRES: [&str; 8] = ["Drama", "Action", "Comedy", "Crime", "Thriller", "Romance", "Documentary", "Animation"];

fn title(i: usize) -> String {
    format!("{} {} {}", WORDS[i % 24], WORDS[(i / 24) % 24], i)
}

/// A large classic-panel catalog for benchmarks: `live` channels, `vod` films and `series`
/// series spread over 50 categories per kind, with genres, casts, years and ratings.
pub fn generated_catalog(panel: &FakePanel, live: usize, vod: usize, series: usize) {
    let categories = |offset: usize| -> Value {
        (0..50).map(|c| json!({"category_id": (offset + c).to_string(), "category_name": format!("Category {c}"), "parent_id": 0})).collect()
    };
    panel.set_list("get_live_categories", &categories(1000));
    panel.set_list("get_vod_categories", &categories(2000));
    panel.set_list("get_series_categories", &categories(3000));
    let live_list: Value = (0..live)
        .map(|i| {
            json!({"num": i + 1, "name": format!("UK: {}", title(i)), "stream_type": "live", "stream_id": 100_000 + i,
                "stream_icon": format!("http://iptv.example.test/i/{i}.png"), "epg_channel_id": format!("ch{i}.uk"),
                "added": (1_600_000_000 + i).to_string(), "category_id": (1000 + i % 50).to_string(), "custom_sid": "",
                "tv_archive": i % 3 == 0, "direct_source": "", "tv_archive_duration": if i % 3 == 0 { "7" } else { "0" }})
        })
        .collect();
    panel.set_list("get_live_streams", &live_list);
    let vod_list: Value = (0..vod)
        .map(|i| {
            json!({"num": i + 1, "name": format!("{} ({})", title(i), 1950 + i % 75), "stream_type": "movie",
                "stream_id": 500_000 + i, "stream_icon": format!("http://iptv.example.test/v/{i}.jpg"),
                "rating": format!("{:.1}", (i % 100) as f64 / 10.0), "rating_5based": (i % 100) as f64 / 20.0,
                "added": (1_600_000_000 + i).to_string(), "category_id": (2000 + i % 50).to_string(),
                "container_extension": if i % 2 == 0 { "mkv" } else { "mp4" }, "custom_sid": null, "direct_source": "",
                "genre": format!("{}, {}", GENRES[i % 8], GENRES[(i / 8) % 8]),
                "cast": format!("Actor {}, Actor {}", i % 997, i % 991)})
        })
        .collect();
    panel.set_list("get_vod_streams", &vod_list);
    let series_list: Value = (0..series)
        .map(|i| {
            json!({"num": i + 1, "name": title(i), "stream_type": null, "series_id": 900_000 + i,
                "cover": format!("http://iptv.example.test/s/{i}.jpg"), "plot": "A plot.", "cast": format!("Actor {}", i % 500),
                "director": "", "genre": GENRES[i % 8], "releaseDate": format!("{}-01-01", 1980 + i % 45),
                "last_modified": "1530461599", "rating": format!("{}", i % 10), "rating_5based": 0,
                "backdrop_path": [], "youtube_trailer": null, "episode_run_time": "42",
                "category_id": (3000 + i % 50).to_string()})
        })
        .collect();
    panel.set_list("get_series", &series_list);
}

/// A word that occurs in the generated titles (for search load).
pub fn generated_word(i: usize) -> &'static str {
    WORDS[i % 24]
}
