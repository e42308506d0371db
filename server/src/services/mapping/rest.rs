//! IDS.moe-compatible REST routes on the HTTP port, so existing clients keep working
//! (reference/mapping.md §3): `GET /{platform}/{id}`, the Trakt/TMDB/TVDB path forms,
//! `/redirect` (`/rd`), `/status`, `/heartbeat` (`/ping`). Errors are `{"error", "code",
//! "message"}` like the original. They answer without an API key, as IDS.moe does.
//!
//! Fixed from the original: the record never leaks internal fields and has one fixed field
//! order; `raw=false` means not raw; TMDB TV and TVDB (with seasons) work; deleted ids 404
//! instead of dangling; `/status` is live.

use std::{collections::HashMap, time::Instant};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use medley_sdk::pb::{self, Platform};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    MappingError, MappingState,
    convert::ParsedKey,
    lookup,
    platform::{PlatformSpec, by_name, canonical_id, spec_of},
};

/// The compatibility routes (merged into the HTTP router; the fallback answers record paths).
pub fn router() -> Router<MappingState> {
    Router::new()
        .route("/status", get(status))
        .route("/heartbeat", get(heartbeat))
        .route("/ping", get(heartbeat))
        .route("/redirect", get(redirect))
        .route("/rd", get(redirect))
        .fallback(record)
}

/// An error answer in IDS.moe's shape.
struct RestError {
    code: StatusCode,
    error: &'static str,
    message: String,
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "code": self.code.as_u16(), "message": self.message });
        (self.code, Json(body)).into_response()
    }
}

fn error(code: StatusCode, error: &'static str, message: impl Into<String>) -> Response {
    RestError { code, error, message: message.into() }.into_response()
}

fn not_found(message: impl Into<String>) -> RestError {
    RestError { code: StatusCode::NOT_FOUND, error: "Not found", message: message.into() }
}

fn bad_request(error: &'static str, message: impl Into<String>) -> RestError {
    RestError { code: StatusCode::BAD_REQUEST, error, message: message.into() }
}

fn internal(failure: &MappingError) -> Response {
    match failure {
        MappingError::Infra(_) => error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", "retry later"),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error", "unexpected error"),
    }
}

/// The IDS.moe record: every platform field, null when missing, in a fixed order.
#[derive(Serialize, Default)]
pub struct RestRecord {
    title: String,
    anidb: Option<Value>,
    anilist: Option<Value>,
    animenewsnetwork: Option<Value>,
    animeplanet: Option<Value>,
    anisearch: Option<Value>,
    annict: Option<Value>,
    hikka: Option<Value>,
    imdb: Option<Value>,
    kaize: Option<Value>,
    kaize_id: Option<Value>,
    kitsu: Option<Value>,
    livechart: Option<Value>,
    myanimelist: Option<Value>,
    nautiljon: Option<Value>,
    nautiljon_id: Option<Value>,
    notify: Option<Value>,
    otakotaku: Option<Value>,
    shikimori: Option<Value>,
    shoboi: Option<Value>,
    silveryasha: Option<Value>,
    simkl: Option<Value>,
    themoviedb: Option<Value>,
    themoviedb_type: Option<&'static str>,
    themoviedb_season: Option<i32>,
    thetvdb: Option<Value>,
    thetvdb_season: Option<i32>,
    trakt: Option<Value>,
    trakt_type: Option<&'static str>,
    trakt_season: Option<i32>,
}

/// Converts a record to the IDS.moe shape.
pub fn rest_record(record: &pb::MappingRecord) -> RestRecord {
    let mut out = RestRecord { title: record.title.clone(), ..RestRecord::default() };
    let first = |platform: Platform| record.ids.iter().find(|i| i.platform == platform as i32);
    let value = |platform: Platform| {
        first(platform).map(|id| match id.id.parse::<i64>() {
            Ok(n) if spec_of(platform).is_some_and(|s| s.id_kind == pb::IdKind::Numeric) => json!(n),
            _ => json!(id.id),
        })
    };
    out.anidb = value(Platform::Anidb);
    out.anilist = value(Platform::Anilist);
    out.animenewsnetwork = value(Platform::Animenewsnetwork);
    out.animeplanet = value(Platform::Animeplanet);
    out.anisearch = value(Platform::Anisearch);
    out.annict = value(Platform::Annict);
    out.hikka = value(Platform::Hikka);
    out.imdb = value(Platform::Imdb);
    out.kaize = value(Platform::Kaize);
    out.kaize_id = value(Platform::KaizeId);
    out.kitsu = value(Platform::Kitsu);
    out.livechart = value(Platform::Livechart);
    out.myanimelist = value(Platform::Myanimelist);
    out.nautiljon = value(Platform::Nautiljon);
    out.nautiljon_id = value(Platform::NautiljonId);
    out.notify = value(Platform::Notify);
    out.otakotaku = value(Platform::Otakotaku);
    out.shikimori = value(Platform::Shikimori);
    out.shoboi = value(Platform::Shoboi);
    out.silveryasha = value(Platform::Silveryasha);
    out.simkl = value(Platform::Simkl);
    if let Some(movie) = value(Platform::Themoviedb) {
        (out.themoviedb, out.themoviedb_type) = (Some(movie), Some("movie"));
    } else if let Some(tv) = value(Platform::ThemoviedbTv) {
        (out.themoviedb, out.themoviedb_type) = (Some(tv), Some("tv"));
        out.themoviedb_season = first(Platform::ThemoviedbTv).and_then(|i| i.season);
    }
    out.thetvdb = value(Platform::Thetvdb);
    out.thetvdb_season = first(Platform::Thetvdb).and_then(|i| i.season);
    if let Some(show) = value(Platform::Trakt) {
        (out.trakt, out.trakt_type) = (Some(show), Some("shows"));
        out.trakt_season = first(Platform::Trakt).and_then(|i| i.season);
    } else if let Some(movie) = value(Platform::TraktMovie) {
        (out.trakt, out.trakt_type) = (Some(movie), Some("movies"));
    }
    out
}

/// Decodes a path segment and strips IDS.moe's `.json`/`.html` suffixes.
fn segment(raw: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned();
    decoded.strip_suffix(".json").or_else(|| decoded.strip_suffix(".html")).map(str::to_owned).unwrap_or(decoded)
}

/// What a record path asks for, or the response explaining why it is wrong.
fn parse_path(path: &str) -> Result<ParsedKey, RestError> {
    let parts: Vec<String> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).map(segment).collect();
    let Some(first) = parts.first() else { return Err(not_found("Endpoint not found")) };
    let Some(spec) = by_name(first) else {
        return Err(not_found(if parts.len() == 2 {
            format!("Platform {first} with ID {} not found", parts[1])
        } else {
            "Endpoint not found".into()
        }));
    };
    let key = |spec: &'static PlatformSpec, id: &str, season: Option<i32>| -> Result<ParsedKey, RestError> {
        let id = canonical_id(spec, id).map_err(|why| bad_request("Invalid platform ID", why))?;
        Ok(ParsedKey { spec, id, season })
    };
    let season = |parts: &[String]| -> Result<Option<i32>, RestError> {
        match parts {
            [] => Ok(None),
            [word, n] if word == "season" || word == "seasons" => n
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=1000).contains(n))
                .map(Some)
                .ok_or_else(|| bad_request("Invalid season ID", format!("season must be a number, got {n:?}"))),
            _ => Err(bad_request("Invalid request", "expected /season/{n}")),
        }
    };
    let platform = |p: Platform| spec_of(p).ok_or_else(|| not_found("Endpoint not found"));
    match (spec.platform, parts.as_slice()) {
        (_, [_, id]) if !spec.stored() => {
            Err(bad_request("Invalid platform", format!("{} is a redirect target only ({id})", spec.name)))
        }
        (_, [_, id]) => key(spec, id, None),
        (Platform::Trakt | Platform::TraktMovie, [_, kind, id, rest @ ..]) => match kind.trim_end_matches('s') {
            "show" => {
                let season = season(rest)?;
                if season == Some(0) {
                    return Err(bad_request("Invalid season ID", "Trakt season 0 holds specials, not an anime"));
                }
                key(platform(Platform::Trakt)?, id, season)
            }
            "movie" if rest.is_empty() => key(platform(Platform::TraktMovie)?, id, None),
            _ => Err(bad_request("Invalid request", "expected /trakt/shows/{id}[/seasons/{n}] or /trakt/movies/{id}")),
        },
        (Platform::Themoviedb, [_, kind, id, rest @ ..]) => match kind.as_str() {
            "tv" => key(platform(Platform::ThemoviedbTv)?, id, season(rest)?),
            "movie" if rest.is_empty() => key(platform(Platform::Themoviedb)?, id, None),
            _ => Err(bad_request(
                "Invalid request",
                "expected /themoviedb/movie/{id} or /themoviedb/tv/{id}[/season/{n}]",
            )),
        },
        (Platform::Thetvdb, [_, kind, id, rest @ ..]) if kind == "series" => key(spec, id, season(rest)?),
        (Platform::Thetvdb | Platform::ThemoviedbTv, [_, id, rest @ ..]) => key(spec, id, season(rest)?),
        _ => Err(bad_request("Invalid request", format!("unknown path form for {}", spec.name))),
    }
}

async fn record(State(state): State<MappingState>, method: Method, uri: Uri) -> Response {
    if method == Method::OPTIONS {
        return StatusCode::OK.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", "only GET is supported");
    }
    if uri.path() == "/" {
        let routes = [
            "/{platform}/{id}",
            "/trakt/{shows|movies}/{id}[/seasons/{n}]",
            "/themoviedb/{movie|tv}/{id}[/season/{n}]",
            "/thetvdb/series/{id}[/seasons/{n}]",
            "/redirect?from=&id=&to=[&raw=true]",
            "/status",
            "/heartbeat",
        ];
        return Json(json!({ "name": "medley", "service": "anime id mapping (IDS.moe compatible)", "routes": routes }))
            .into_response();
    }
    let key = match parse_path(uri.path()) {
        Ok(key) => key,
        Err(response) => return response.into_response(),
    };
    match lookup::get(&state, &key).await {
        Ok(found) => Json(rest_record(&found)).into_response(),
        Err(MappingError::NotFound { platform, id }) => {
            not_found(format!("Platform {platform} with ID {id} not found")).into_response()
        }
        Err(other) => internal(&other),
    }
}

async fn redirect(State(state): State<MappingState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let pick = |names: &[&str]| names.iter().find_map(|n| query.get(*n)).map(|v| v.trim().to_owned());
    let Some(platform) = pick(&["platform", "from", "f"]).filter(|p| !p.is_empty()) else {
        return bad_request("Invalid platform", "give the source platform as platform, from or f").into_response();
    };
    let Some(id) = pick(&["mediaid", "id", "i"]).filter(|i| !i.is_empty()) else {
        return bad_request("Invalid platform ID", "give the id as mediaid, id or i").into_response();
    };
    // Unlike IDS.moe, raw=false (or 0/no) means a redirect.
    let raw =
        pick(&["israw", "raw", "r"]).is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no"));
    let Some(from) = by_name(&platform) else {
        return bad_request("Invalid platform", format!("unknown platform {platform:?}")).into_response();
    };
    if !from.stored() {
        return bad_request("Invalid platform", format!("{} is a redirect target only", from.name)).into_response();
    }
    // Trakt and TMDB source ids carry their kind and season like the record paths.
    let path = match (from.platform, id.contains('/')) {
        (Platform::Trakt | Platform::TraktMovie | Platform::Themoviedb | Platform::ThemoviedbTv, true) => {
            format!(
                "/{}/{id}",
                if matches!(from.platform, Platform::Trakt | Platform::TraktMovie) { "trakt" } else { "themoviedb" }
            )
        }
        _ => format!("/{}/{id}", from.name),
    };
    let key = match parse_path(&path) {
        Ok(key) => key,
        Err(response) => return response.into_response(),
    };
    let target = match pick(&["target", "to", "t"]).filter(|t| !t.is_empty()) {
        None => None,
        Some(name) => match by_name(&name) {
            Some(spec) => Some(spec),
            None => return bad_request("Invalid target", format!("unknown platform {name:?}")).into_response(),
        },
    };
    match lookup::redirect(&state, &key, target).await {
        Ok((url, ..)) if raw => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], url).into_response(),
        // 302 like IDS.moe (axum's `Redirect::to` would send 303).
        Ok((url, ..)) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Err(MappingError::NotFound { platform, id }) => {
            not_found(format!("Platform {platform} with ID {id} not found")).into_response()
        }
        Err(MappingError::NoTargetId { title, target, platform, id }) => {
            not_found(format!("{title} does not exist on {target} using {platform} with ID {id}")).into_response()
        }
        Err(MappingError::NotRedirectable(name)) => {
            bad_request("Invalid target", format!("{name} has no page per anime")).into_response()
        }
        Err(other) => internal(&other),
    }
}

async fn status(State(state): State<MappingState>) -> Response {
    let status = match lookup::status(&state).await {
        Ok(status) => status,
        Err(other) => return internal(&other),
    };
    let mut counts = serde_json::Map::new();
    for count in &status.counts {
        counts.insert(count.name.clone(), json!(count.records));
    }
    counts.insert("total".into(), json!(status.total_records));
    let updated = status.data_update_time.map(|t| {
        let at = chrono::DateTime::from_timestamp(t.seconds, 0).unwrap_or_default();
        json!({ "timestamp": t.seconds, "iso": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
    });
    let sources: Vec<Value> = status
        .sources
        .iter()
        .map(|s| json!({ "kind": s.kind, "location": crate::config::redact_url(&s.location), "records": s.records, "sha256": s.sha256 }))
        .collect();
    let last_run = status.last_run.as_ref().map(|run| {
        json!({
            "id": run.run_id,
            "state": pb::JobState::try_from(run.state).map(|s| s.as_str_name()).unwrap_or("JOB_STATE_UNSPECIFIED"),
            "error": run.error,
        })
    });
    Json(json!({ "updated": updated, "sources": sources, "counts": counts, "last_run": last_run })).into_response()
}

async fn heartbeat(State(state): State<MappingState>) -> Response {
    let started = Instant::now();
    let request_epoch = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    let Some(spec) = spec_of(Platform::Myanimelist) else { return not_found("Endpoint not found").into_response() };
    let key = ParsedKey { spec, id: "1".into(), season: None };
    match lookup::get(&state, &key).await {
        Ok(record) if record.ids.iter().any(|i| i.platform == Platform::Myanimelist as i32 && i.id == "1") => {
            let took = format!("{:.3}s", started.elapsed().as_secs_f64());
            Json(json!({ "status": "OK", "code": 200, "request_time": took, "response_time": took, "request_epoch": request_epoch }))
                .into_response()
        }
        _ => {
            error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error", "mapping data is missing or unavailable")
        }
    }
}
