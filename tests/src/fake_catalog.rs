//! Fake Kodik and Shikimori servers for the catalog importer, on free local ports.
//!
//! They replay the reference payloads (`tests/fixtures/catalog/`, shapes of the real APIs) plus
//! generated titles, page like the real `/list` (base64 `[updated_at_ms, id]` cursors, absolute
//! `next_page` URLs on the real host), check the token the way Kodik does (an `error` body), and
//! misbehave on demand: scripted 429 with `Retry-After`, 5xx bursts, slow answers. Each counts
//! requests against the upstream's published limits and records every request that would
//! have exceeded them (answered with 429), so tests can assert the importer never does.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::fixture;

/// A scripted misbehaviour for the next request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (and `Retry-After` seconds, if given).
    Status(u16, Option<u64>),
    /// Wait this long before answering normally.
    Slow(Duration),
}

/// Limits the fake enforces: at most `limit` requests in any `window`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// Requests allowed.
    pub limit: usize,
    /// Window.
    pub window: Duration,
}

/// What a fake saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Request path.
    pub path: String,
    /// When it arrived.
    pub at: Instant,
    /// Its User-Agent.
    pub user_agent: String,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct Core {
    faults: VecDeque<Fault>,
    seen: Vec<Seen>,
    limits: Vec<Limit>,
    violations: usize,
}

impl Core {
    /// Records the request; returns the status to answer instead of the normal one, if any,
    /// and a delay.
    fn admit(&mut self, path: &str, headers: &HeaderMap) -> (Option<(u16, Option<u64>)>, Option<Duration>) {
        let now = Instant::now();
        let over = self
            .limits
            .iter()
            .any(|limit| self.seen.iter().filter(|s| now.duration_since(s.at) < limit.window).count() >= limit.limit);
        let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let (answer, delay) = if over {
            self.violations += 1;
            (Some((429, Some(1))), None)
        } else {
            match self.faults.pop_front() {
                Some(Fault::Status(code, retry_after)) => (Some((code, retry_after)), None),
                Some(Fault::Slow(delay)) => (None, Some(delay)),
                None => (None, None),
            }
        };
        let status = answer.map_or(200, |(code, _)| code);
        self.seen.push(Seen { path: path.to_owned(), at: now, user_agent, status });
        (answer, delay)
    }
}

fn fault_response(code: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, "<html><body>upstream error</body></html>").into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.to_string().parse().expect("header value"));
    }
    response
}

/// Handles shared by both fakes.
#[derive(Clone)]
pub struct FakeHandle {
    addr: SocketAddr,
    core: Arc<Mutex<Core>>,
}

impl FakeHandle {
    /// Returns the base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next requests, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.core.lock().unwrap().faults.extend(faults);
    }

    /// Enforces these limits from now on.
    pub fn set_limits(&self, limits: Vec<Limit>) {
        self.core.lock().unwrap().limits = limits;
    }

    /// Returns the requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.core.lock().unwrap().seen.clone()
    }

    /// Returns how many requests exceeded the limits.
    pub fn violations(&self) -> usize {
        self.core.lock().unwrap().violations
    }

    /// Forgets the requests seen.
    pub fn clear_seen(&self) {
        self.core.lock().unwrap().seen.clear();
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

fn form_or_query(query: Option<&str>, body: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for part in [query.unwrap_or(""), body] {
        for pair in part.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode =
                |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
            params.insert(decode(name), decode(value));
        }
    }
    params
}

// ------------------------------------------------------------------------------------- Kodik

#[derive(Default)]
struct KodikData {
    token: String,
    /// Releases, newest update first.
    releases: Vec<Value>,
    /// Answer a bad token with this HTTP status (Kodik's own is undocumented).
    bad_token_status: u16,
    /// Answer every page with the first page and the same `next` (a broken upstream).
    stuck: bool,
}

/// The fake Kodik API.
#[derive(Clone)]
pub struct FakeKodik {
    /// Requests, faults and limits.
    pub handle: FakeHandle,
    data: Arc<Mutex<KodikData>>,
}

fn updated_ms(release: &Value) -> i64 {
    release["updated_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp_millis())
}

fn sort_releases(releases: &mut [Value]) {
    releases.sort_by(|a, b| {
        updated_ms(b)
            .cmp(&updated_ms(a))
            .then_with(|| b["id"].as_str().unwrap_or("").cmp(a["id"].as_str().unwrap_or("")))
    });
}

impl FakeKodik {
    /// Starts a fake accepting `token`, holding `releases`.
    pub async fn start(token: &str, mut releases: Vec<Value>) -> Self {
        sort_releases(&mut releases);
        let data =
            Arc::new(Mutex::new(KodikData { token: token.to_owned(), releases, bad_token_status: 200, stuck: false }));
        let core: Arc<Mutex<Core>> = Arc::default();
        let state = (core.clone(), data.clone());
        let router = Router::new().route("/list", get(kodik_list).post(kodik_list)).with_state(state);
        let addr = serve(router).await;
        Self { handle: FakeHandle { addr, core }, data }
    }

    /// Replaces the releases (an upstream update).
    pub fn set_releases(&self, mut releases: Vec<Value>) {
        sort_releases(&mut releases);
        self.data.lock().unwrap().releases = releases;
    }

    /// Makes every page the first one, with the same `next` cursor.
    pub fn set_stuck(&self, stuck: bool) {
        self.data.lock().unwrap().stuck = stuck;
    }

    /// Answers bad tokens with this status.
    pub fn set_bad_token_status(&self, status: u16) {
        self.data.lock().unwrap().bad_token_status = status;
    }
}

type KodikState = (Arc<Mutex<Core>>, Arc<Mutex<KodikData>>);

async fn kodik_list(
    State((core, data)): State<KodikState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    let (fault, delay) = core.lock().unwrap().admit("/list", &headers);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((code, retry_after)) = fault {
        return fault_response(code, retry_after);
    }
    let params = form_or_query(query.as_deref(), &body);
    let data = data.lock().unwrap();
    if params.get("token") != Some(&data.token) {
        let status = StatusCode::from_u16(data.bad_token_status).unwrap_or(StatusCode::OK);
        let error = std::fs::read_to_string(fixture("catalog/kodik_error_token.json")).expect("fixture");
        return (status, [("content-type", "application/json")], error).into_response();
    }
    let limit: usize = params.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50).min(100);
    let after = params
        .get("next")
        .and_then(|n| STANDARD.decode(n).ok())
        .and_then(|b| serde_json::from_slice::<(i64, String)>(&b).ok());
    let start = match &after {
        _ if data.stuck => 0,
        None => 0,
        Some((ms, id)) => data
            .releases
            .iter()
            .position(|r| (updated_ms(r), r["id"].as_str().unwrap_or("").to_owned()) < (*ms, id.clone()))
            .unwrap_or(data.releases.len()),
    };
    let page: Vec<Value> = data.releases.iter().skip(start).take(limit).cloned().collect();
    let more = start + page.len() < data.releases.len();
    let next_page = match page.last() {
        Some(last) if more => {
            let cursor =
                STANDARD.encode(serde_json::to_vec(&json!([updated_ms(last), last["id"]])).unwrap_or_default());
            // Like the real API: an absolute URL on the real host, with the token in it.
            Value::String(format!(
                "https://kodikapi.com/list?token={}&types=anime-serial%2Canime&limit={limit}&with_material_data=true&with_episodes=true&next={cursor}",
                data.token
            ))
        }
        _ => Value::Null,
    };
    let body = json!({ "time": "3ms", "total": data.releases.len(), "prev_page": null, "next_page": next_page, "results": page });
    (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
}

// --------------------------------------------------------------------------------- Shikimori

#[derive(Default)]
struct ShikiData {
    /// GraphQL-shaped anime by id.
    graphql: HashMap<i64, Value>,
    /// REST-shaped anime by id.
    rest: HashMap<i64, Value>,
    /// Answer `/api/graphql` with 404 (forces the REST fallback).
    graphql_down: bool,
}

/// The fake Shikimori API.
#[derive(Clone)]
pub struct FakeShikimori {
    /// Requests, faults and limits.
    pub handle: FakeHandle,
    data: Arc<Mutex<ShikiData>>,
}

impl FakeShikimori {
    /// Starts a fake with Shikimori's limits (5 per second, 90 per minute) enforced.
    pub async fn start() -> Self {
        let data: Arc<Mutex<ShikiData>> = Arc::default();
        let core: Arc<Mutex<Core>> = Arc::new(Mutex::new(Core {
            limits: vec![
                Limit { limit: 5, window: Duration::from_secs(1) },
                Limit { limit: 90, window: Duration::from_secs(60) },
            ],
            ..Core::default()
        }));
        let state = (core.clone(), data.clone());
        let router = Router::new()
            .route("/api/graphql", post(shiki_graphql))
            .route("/api/animes/{id}", get(shiki_rest))
            .with_state(state);
        let addr = serve(router).await;
        Self { handle: FakeHandle { addr, core }, data }
    }

    /// Adds an anime in both shapes.
    pub fn insert(&self, id: i64, graphql: Value, rest: Value) {
        let mut data = self.data.lock().unwrap();
        data.graphql.insert(id, graphql);
        data.rest.insert(id, rest);
    }

    /// Adds an anime known only to the REST API (GraphQL leaves it out).
    pub fn insert_rest_only(&self, id: i64, rest: Value) {
        self.data.lock().unwrap().rest.insert(id, rest);
    }

    /// Makes `/api/graphql` answer 404.
    pub fn set_graphql_down(&self, down: bool) {
        self.data.lock().unwrap().graphql_down = down;
    }
}

type ShikiState = (Arc<Mutex<Core>>, Arc<Mutex<ShikiData>>);

async fn shiki_graphql(State((core, data)): State<ShikiState>, headers: HeaderMap, body: String) -> Response {
    let (fault, delay) = core.lock().unwrap().admit("/api/graphql", &headers);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((code, retry_after)) = fault {
        return fault_response(code, retry_after);
    }
    let data = data.lock().unwrap();
    if data.graphql_down {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let ids = request["variables"]["ids"].as_str().unwrap_or("");
    // Real GraphQL does not promise the order of `ids`: answer in reverse.
    let animes: Vec<Value> = ids
        .split(',')
        .rev()
        .filter_map(|id| id.trim().parse::<i64>().ok())
        .filter_map(|id| data.graphql.get(&id).cloned())
        .collect();
    let body = json!({ "data": { "animes": animes } });
    (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
}

async fn shiki_rest(State((core, data)): State<ShikiState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (fault, delay) = core.lock().unwrap().admit(&format!("/api/animes/{id}"), &headers);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((code, retry_after)) = fault {
        return fault_response(code, retry_after);
    }
    match id.parse::<i64>().ok().and_then(|id| data.lock().unwrap().rest.get(&id).cloned()) {
        Some(anime) => (StatusCode::OK, [("content-type", "application/json")], anime.to_string()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            json!({"message": "Not found", "code": 404}).to_string(),
        )
            .into_response(),
    }
}

// ------------------------------------------------------------------------------- catalogs

/// Reads a JSON fixture of `tests/fixtures/catalog/`.
pub fn catalog_fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("catalog/{name}"))).expect("fixture")).expect("json")
}

/// The reference releases (both listing pages): 42310 in two translations, the film 199, the
/// ongoing 50709.
pub fn reference_releases() -> Vec<Value> {
    ["kodik_list_page1.json", "kodik_list_page2.json"]
        .iter()
        .flat_map(|name| catalog_fixture(name)["results"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Adds the reference Shikimori anime (GraphQL and REST shapes) to `shikimori`.
pub fn add_reference_anime(shikimori: &FakeShikimori) {
    let graphql = catalog_fixture("shikimori_graphql_animes.json");
    for anime in graphql["data"]["animes"].as_array().cloned().unwrap_or_default() {
        let id: i64 = anime["id"].as_str().and_then(|i| i.parse().ok()).expect("id");
        let rest = catalog_fixture(&format!("shikimori_anime_{id}.json"));
        shikimori.insert(id, anime, rest);
    }
}

/// A generated title: Shikimori metadata and one Kodik release per translation.
#[derive(Clone, Debug)]
pub struct GenTitle {
    /// Shikimori id; `None` makes releases without one.
    pub shikimori_id: Option<i64>,
    /// Episodes per season (empty = a film).
    pub seasons: Vec<(i32, i32)>,
    /// Translations: (id, title, "voice" | "subtitles").
    pub translations: Vec<(i64, &'static str, &'static str)>,
    /// Seconds since 2024-01-01 of the releases' updated_at (later = newer).
    pub updated: i64,
}

/// Releases of a generated title (one per translation), in the real shape.
pub fn gen_releases(title: &GenTitle, release_base: i64) -> Vec<Value> {
    let sid = title.shikimori_id;
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").expect("date").timestamp();
    title
        .translations
        .iter()
        .enumerate()
        .map(|(i, (tid, ttitle, ttype))| {
            let id_num = release_base * 10 + i as i64;
            let updated = chrono::DateTime::from_timestamp(base + title.updated + i as i64, 0).expect("time").to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let film = title.seasons.is_empty();
            let mut release = json!({
                "id": if film { format!("movie-{id_num}") } else { format!("serial-{id_num}") },
                "type": if film { "anime" } else { "anime-serial" },
                "link": format!("//kodik.info/{}/{id_num}/h{id_num}/720p", if film { "video" } else { "serial" }),
                "title": format!("Тайтл {}", sid.unwrap_or(0)),
                "title_orig": format!("Title {}", sid.unwrap_or(0)),
                "other_title": "",
                "translation": { "id": tid, "title": ttitle, "type": ttype },
                "year": 2024,
                "quality": "WEB-DLRip 720p",
                "camrip": false,
                "lgbt": false,
                "blocked_countries": [],
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": updated,
                "screenshots": [],
                "material_data": { "anime_kind": if film { "movie" } else { "tv" }, "episodes_total": title.seasons.iter().map(|s| s.1).sum::<i32>(), "shikimori_rating": 7.5, "shikimori_votes": 1000 + id_num }
            });
            if let Some(sid) = sid {
                release["shikimori_id"] = Value::String(sid.to_string());
            }
            if !film {
                let seasons: serde_json::Map<String, Value> = title
                    .seasons
                    .iter()
                    .map(|(season, episodes)| {
                        let eps: serde_json::Map<String, Value> = (1..=*episodes)
                            .map(|n| (n.to_string(), Value::String(format!("//kodik.info/seria/{id_num}{season:02}{n:03}/h/720p"))))
                            .collect();
                        (season.to_string(), json!({ "link": format!("//kodik.info/season/{id_num}{season}/h/720p"), "episodes": eps }))
                    })
                    .collect();
                release["seasons"] = Value::Object(seasons);
                release["last_season"] = json!(title.seasons.last().map(|s| s.0));
                release["last_episode"] = json!(title.seasons.last().map(|s| s.1));
                release["blocked_seasons"] = json!({});
            }
            release
        })
        .collect()
}

/// Shikimori metadata of a generated title, in (GraphQL, REST) shapes.
pub fn gen_anime(id: i64, film: bool, episodes: i32) -> (Value, Value) {
    let kind = if film { "movie" } else { "tv" };
    let description = format!("История [character={id}]героя {id}[/character].");
    let graphql = json!({
        "id": id.to_string(), "malId": id.to_string(), "name": format!("Title {id}"), "russian": format!("Тайтл {id}"),
        "english": format!("Title {id} EN"), "japanese": null, "synonyms": [], "kind": kind, "status": "released",
        "episodes": episodes, "airedOn": { "year": 2024, "month": 1, "day": 1, "date": "2024-01-01" },
        "poster": { "originalUrl": format!("https://desu.shikimori.one/uploads/poster/animes/{id}/p.jpeg") },
        "genres": [{ "id": "1", "name": "Action", "russian": "Экшен", "kind": "genre" }], "description": description,
    });
    let rest = json!({
        "id": id, "name": format!("Title {id}"), "russian": format!("Тайтл {id}"), "english": [format!("Title {id} EN")],
        "japanese": [null], "synonyms": [], "kind": kind, "status": "released", "episodes": episodes,
        "aired_on": "2024-01-01", "image": { "original": format!("/system/animes/original/{id}.jpg?1") },
        "genres": [{ "id": 1, "name": "Action", "russian": "Экшен", "kind": "genre", "entry_type": "Anime" }],
        "description": description,
    });
    (graphql, rest)
}

/// A generated catalog of `count` titles (ids from 100,001): every fifth a film, every
/// seventh two seasons, every third with a second (subtitles) translation.
pub fn gen_catalog(count: i64) -> (Vec<GenTitle>, Vec<Value>) {
    let titles: Vec<GenTitle> = (0..count)
        .map(|i| {
            let seasons = if i % 5 == 0 {
                vec![]
            } else if i % 7 == 0 {
                vec![(1, 12), (2, 12)]
            } else {
                vec![(1, 12)]
            };
            let mut translations = vec![(610, "AniLibria.TV", "voice")];
            if i % 3 == 0 {
                translations.push((869, "Субтитры", "subtitles"));
            }
            GenTitle { shikimori_id: Some(100_001 + i), seasons, translations, updated: i * 10 }
        })
        .collect();
    let releases = titles.iter().enumerate().flat_map(|(i, t)| gen_releases(t, 10_000 + i as i64)).collect();
    (titles, releases)
}

/// Adds generated titles' metadata to `shikimori`.
pub fn add_gen_anime(shikimori: &FakeShikimori, titles: &[GenTitle]) {
    for title in titles {
        if let Some(id) = title.shikimori_id {
            let (graphql, rest) = gen_anime(id, title.seasons.is_empty(), title.seasons.iter().map(|s| s.1).sum());
            shikimori.insert(id, graphql, rest);
        }
    }
}
