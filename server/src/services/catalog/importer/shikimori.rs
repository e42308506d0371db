//! The Shikimori client: anime metadata by id, in GraphQL batches of up to 50 with the REST
//! API as fallback (reference/kodik-shikimori.md §4).
//!
//! GraphQL and REST disagree on shapes (string vs number ids, scalar vs array `english`,
//! structured vs plain dates, absolute vs relative images); both are read into [`ShikiAnime`].

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::outbound::{Upstream, UpstreamError};

const NAME: &str = "shikimori";

/// Ids per GraphQL request (Shikimori's `limit` maximum).
pub const BATCH: usize = 50;

const QUERY: &str = "query ($ids: String!) { animes(ids: $ids, limit: 50) { id name russian english japanese \
synonyms kind status episodes airedOn { date } poster { originalUrl mainUrl } genres { name } description } }";

/// Anime metadata, whichever API it came from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShikiAnime {
    /// Shikimori id (= MyAnimeList id).
    pub id: i64,
    /// Romaji title.
    pub name: String,
    /// Russian title.
    pub russian: String,
    /// English titles.
    pub english: Vec<String>,
    /// Japanese titles.
    pub japanese: Vec<String>,
    /// Synonyms.
    pub synonyms: Vec<String>,
    /// Kind (tv, movie, ova, ...).
    pub kind: String,
    /// anons, ongoing or released.
    pub status: String,
    /// Episodes planned (0 = unknown).
    pub episodes: i32,
    /// First airing date, "YYYY-MM-DD".
    pub aired_on: Option<String>,
    /// Absolute poster URL.
    pub poster: Option<String>,
    /// Genre names (English).
    pub genres: Vec<String>,
    /// Synopsis (BBCode).
    pub description: Option<String>,
}

/// The Shikimori client.
#[derive(Clone, Debug)]
pub struct ShikimoriClient {
    upstream: Upstream,
    base_url: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Option<String>),
    Many(Vec<Option<String>>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(value) => value.into_iter().collect::<Vec<_>>(),
            Self::Many(values) => values.into_iter().flatten().collect(),
        }
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .collect()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct GqlDate {
    date: Option<String>,
}

#[derive(Deserialize)]
struct GqlPoster {
    #[serde(rename = "originalUrl")]
    original_url: Option<String>,
    #[serde(rename = "mainUrl")]
    main_url: Option<String>,
}

#[derive(Deserialize)]
struct RestImage {
    original: Option<String>,
    preview: Option<String>,
}

/// Both APIs' anime, with every field optional.
#[derive(Deserialize)]
struct RawAnime {
    id: Id,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    russian: Option<String>,
    #[serde(default)]
    english: Option<OneOrMany>,
    #[serde(default)]
    japanese: Option<OneOrMany>,
    #[serde(default)]
    synonyms: Option<Vec<Option<String>>>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    episodes: Option<i32>,
    #[serde(default, rename = "airedOn")]
    aired_on_gql: Option<GqlDate>,
    #[serde(default)]
    aired_on: Option<String>,
    #[serde(default)]
    poster: Option<GqlPoster>,
    #[serde(default)]
    image: Option<RestImage>,
    #[serde(default)]
    genres: Option<Vec<Named>>,
    #[serde(default)]
    description: Option<String>,
}

impl ShikimoriClient {
    /// A client of `base_url` (e.g. `https://shikimori.one`).
    pub fn new(upstream: Upstream, base_url: &str) -> Self {
        Self { upstream, base_url: base_url.to_owned() }
    }

    /// Returns the upstream (for statistics).
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Fetches up to [`BATCH`] anime. Ids Shikimori does not know are absent from the map.
    /// GraphQL first; ids it did not return, or all of them when GraphQL itself fails (other
    /// than by exhausting retries), are asked of the REST API one by one.
    pub async fn animes(&self, ids: &[i64]) -> Result<HashMap<i64, ShikiAnime>, UpstreamError> {
        let mut found = match self.graphql(ids).await {
            Ok(found) => found,
            Err(error) if error.is_retryable() => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "shikimori graphql failed: falling back to REST");
                HashMap::new()
            }
        };
        for id in ids {
            if !found.contains_key(id)
                && let Some(anime) = self.rest(*id).await?
            {
                found.insert(*id, anime);
            }
        }
        Ok(found)
    }

    async fn graphql(&self, ids: &[i64]) -> Result<HashMap<i64, ShikiAnime>, UpstreamError> {
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let body = serde_json::to_vec(&json!({ "query": QUERY, "variables": { "ids": joined } })).unwrap_or_default();
        let url = format!("{}/api/graphql", self.base_url);
        let reply = self
            .upstream
            .send(|http| http.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone()))
            .await?;
        if !reply.status.is_success() {
            return Err(UpstreamError::Status { upstream: NAME, status: reply.status.as_u16() });
        }
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| UpstreamError::Malformed { upstream: NAME, reason: format!("graphql answer: {e}") })?;
        if let Some(errors) = value.get("errors").filter(|e| !e.is_null()) {
            return Err(UpstreamError::Rejected { upstream: NAME, message: format!("graphql errors: {errors}") });
        }
        let animes = value.pointer("/data/animes").cloned().unwrap_or(Value::Null);
        let animes: Vec<Value> = serde_json::from_value(animes)
            .map_err(|e| UpstreamError::Malformed { upstream: NAME, reason: format!("graphql animes: {e}") })?;
        // GraphQL does not promise the order of `ids`: index by id.
        Ok(animes.into_iter().filter_map(|a| self.read(a)).map(|a| (a.id, a)).collect())
    }

    async fn rest(&self, id: i64) -> Result<Option<ShikiAnime>, UpstreamError> {
        let url = format!("{}/api/animes/{id}", self.base_url);
        let reply = self.upstream.send(|http| http.get(&url)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(UpstreamError::Status { upstream: NAME, status: reply.status.as_u16() });
        }
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| UpstreamError::Malformed { upstream: NAME, reason: format!("anime {id}: {e}") })?;
        Ok(self.read(value).filter(|a| a.id == id))
    }

    fn read(&self, value: Value) -> Option<ShikiAnime> {
        let raw: RawAnime = match serde_json::from_value(value) {
            Ok(raw) => raw,
            Err(error) => {
                tracing::warn!(%error, "shikimori anime of an unexpected shape skipped");
                return None;
            }
        };
        let id = match raw.id {
            Id::Text(text) => text.parse().ok()?,
            Id::Number(n) => n,
        };
        let poster = raw
            .poster
            .and_then(|p| p.original_url.or(p.main_url))
            .or_else(|| raw.image.and_then(|i| i.original.or(i.preview)))
            .filter(|p| !p.contains("missing_"))
            .map(|p| if p.starts_with('/') { format!("{}{p}", self.base_url) } else { p });
        Some(ShikiAnime {
            id,
            name: raw.name.unwrap_or_default(),
            russian: raw.russian.unwrap_or_default(),
            english: raw.english.map(OneOrMany::into_vec).unwrap_or_default(),
            japanese: raw.japanese.map(OneOrMany::into_vec).unwrap_or_default(),
            synonyms: raw.synonyms.unwrap_or_default().into_iter().flatten().collect(),
            kind: raw.kind.unwrap_or_default(),
            status: raw.status.unwrap_or_default(),
            episodes: raw.episodes.unwrap_or(0),
            aired_on: raw.aired_on_gql.and_then(|d| d.date).or(raw.aired_on),
            poster,
            genres: raw.genres.unwrap_or_default().into_iter().map(|g| g.name).filter(|n| !n.is_empty()).collect(),
            description: raw.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::UpstreamConfig;

    fn client() -> ShikimoriClient {
        ShikimoriClient::new(Upstream::new(UpstreamConfig::new(NAME)).unwrap(), "https://shikimori.one")
    }

    #[test]
    fn reads_the_graphql_shape() {
        let anime = client()
            .read(json!({
                "id": "42310", "name": "Cyberpunk: Edgerunners", "russian": "Киберпанк", "english": "Cyberpunk: Edgerunners",
                "japanese": null, "synonyms": [], "kind": "ona", "status": "released", "episodes": 10,
                "airedOn": {"date": "2022-09-13"}, "poster": {"originalUrl": "https://desu/p.jpeg"},
                "genres": [{"name": "Action"}]
            }))
            .unwrap();
        assert_eq!(anime.id, 42310);
        assert_eq!(anime.english, ["Cyberpunk: Edgerunners"]);
        assert!(anime.japanese.is_empty());
        assert_eq!(anime.aired_on.as_deref(), Some("2022-09-13"));
        assert_eq!(anime.poster.as_deref(), Some("https://desu/p.jpeg"));
    }

    #[test]
    fn reads_the_rest_shape_with_relative_images() {
        let anime = client()
            .read(json!({
                "id": 199, "name": "Sen to Chihiro", "english": [null], "japanese": ["千と千尋の神隠し"],
                "aired_on": "2001-07-20", "image": {"original": "/system/animes/original/199.jpg?1"},
                "genres": [{"name": "Adventure", "kind": "anime"}]
            }))
            .unwrap();
        assert!(anime.english.is_empty());
        assert_eq!(anime.japanese, ["千と千尋の神隠し"]);
        assert_eq!(anime.poster.as_deref(), Some("https://shikimori.one/system/animes/original/199.jpg?1"));
        let missing = client().read(json!({"id": 1, "image": {"original": "/assets/globals/missing_original.jpg"}}));
        assert_eq!(missing.unwrap().poster, None);
    }
}
