//! The Kodik API client: the `/list` listing of anime releases, paged by Kodik's opaque `next`
//! cursor (reference/kodik-shikimori.md §3).
//!
//! Requests are POSTs with a form body, so the token never appears in a URL (nor in a log line
//! that prints one). Kodik reports errors in the body (`{"error": "..."}`) with statuses that
//! are not documented, so the body decides. The `next_page` URL Kodik returns is not followed:
//! its `next` value is sent again, with the same filters, to the configured base URL.
//! Every field is optional and every enum open: one odd row must not fail a page.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use crate::outbound::{Upstream, UpstreamError};

const NAME: &str = "kodik";

/// The Kodik client.
#[derive(Clone, Debug)]
pub struct KodikClient {
    upstream: Upstream,
    base_url: String,
    token: SecretString,
    page_size: u32,
}

/// One page of the listing.
#[derive(Debug)]
pub struct ListPage {
    /// Cursor of the next page; `None` on the last.
    pub next: Option<String>,
    /// The releases (one per title and translation), newest update first.
    pub results: Vec<Release>,
}

/// A Kodik release: one title in one translation.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Release {
    /// Release id, e.g. "serial-45534".
    pub id: String,
    /// Release type, e.g. "anime-serial".
    #[serde(rename = "type")]
    pub kind: String,
    /// Player of the whole release (protocol-relative).
    pub link: String,
    /// Russian title.
    pub title: String,
    /// Original title.
    pub title_orig: String,
    /// The translation.
    pub translation: KodikTranslation,
    /// Release year.
    pub year: Option<i32>,
    /// The Shikimori id (Kodik sends a string; some clients saw numbers).
    #[serde(deserialize_with = "string_or_number")]
    pub shikimori_id: Option<String>,
    /// Quality label.
    pub quality: String,
    /// Whether it is a camera recording.
    pub camrip: bool,
    /// Last change.
    #[serde(skip_serializing)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Seasons by number (as strings), with episodes.
    pub seasons: Option<BTreeMap<String, Season>>,
    /// Episodes planned, from Kodik's material data.
    #[serde(skip_serializing)]
    pub material_data: Option<MaterialData>,
}

/// A translation as Kodik describes it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct KodikTranslation {
    /// Id, e.g. 610.
    #[serde(deserialize_with = "string_or_number")]
    pub id: Option<String>,
    /// Name, e.g. "AniLibria.TV".
    pub title: String,
    /// "voice" or "subtitles".
    #[serde(rename = "type")]
    pub kind: String,
}

/// A season of a release.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Season {
    /// Player of the season.
    pub link: String,
    /// Episodes by number (as strings).
    pub episodes: BTreeMap<String, EpisodeLink>,
}

/// An episode: a bare link (`with_episodes`) or an object (`with_episodes_data`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum EpisodeLink {
    /// The player link.
    Link(String),
    /// Link and title.
    Data {
        /// The player link.
        #[serde(default)]
        link: String,
        /// Episode title.
        #[serde(default)]
        title: Option<String>,
    },
}

impl EpisodeLink {
    /// Returns the player link.
    pub fn link(&self) -> &str {
        match self {
            Self::Link(link) | Self::Data { link, .. } => link,
        }
    }

    /// Returns the episode title, when sent.
    pub fn title(&self) -> Option<&str> {
        match self {
            Self::Link(_) => None,
            Self::Data { title, .. } => title.as_deref().filter(|t| !t.trim().is_empty()),
        }
    }
}

/// The part of Kodik's material data the importer uses.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MaterialData {
    /// Episodes planned.
    pub episodes_total: Option<i32>,
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(i64),
    }
    Ok(match Option::<Either>::deserialize(deserializer)? {
        Some(Either::Text(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Some(Either::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    next_page: Option<String>,
    #[serde(default)]
    results: Option<Vec<serde_json::Value>>,
}

impl KodikClient {
    /// A client of `base_url` with `token`, reading `page_size` releases per page.
    pub fn new(upstream: Upstream, base_url: &str, token: SecretString, page_size: u32) -> Self {
        Self { upstream, base_url: base_url.to_owned(), token, page_size }
    }

    /// Returns the upstream (for statistics).
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Reads one page of anime releases, newest update first, from `cursor` (the first page
    /// when `None`).
    pub async fn list_page(&self, cursor: Option<&str>) -> Result<ListPage, UpstreamError> {
        let page_size = self.page_size.to_string();
        let mut form = vec![
            ("token", self.token.expose_secret()),
            ("types", "anime-serial,anime"),
            ("limit", page_size.as_str()),
            ("sort", "updated_at"),
            ("order", "desc"),
            ("with_material_data", "true"),
            ("with_episodes", "true"),
        ];
        if let Some(cursor) = cursor {
            form.push(("next", cursor));
        }
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("{}/list", self.base_url);
        let reply = self
            .upstream
            .send(|http| {
                http.post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            })
            .await?;
        let raw: RawPage = serde_json::from_slice(&reply.body).map_err(|e| UpstreamError::Malformed {
            upstream: NAME,
            reason: format!("HTTP {}, not a listing: {e}", reply.status.as_u16()),
        })?;
        if let Some(message) = raw.error {
            return Err(UpstreamError::Rejected { upstream: NAME, message });
        }
        if !reply.status.is_success() {
            return Err(UpstreamError::Status { upstream: NAME, status: reply.status.as_u16() });
        }
        let results = raw
            .results
            .ok_or_else(|| UpstreamError::Malformed { upstream: NAME, reason: "listing without results".to_owned() })?;
        // Rows are decoded one by one: a row of an unexpected shape is dropped, not the page.
        let results = results
            .into_iter()
            .filter_map(|row| match serde_json::from_value::<Release>(row) {
                Ok(release) if !release.id.is_empty() => Some(release),
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(%error, "kodik release of an unexpected shape skipped");
                    None
                }
            })
            .collect();
        Ok(ListPage { next: raw.next_page.as_deref().and_then(next_cursor), results })
    }
}

/// Extracts the `next` parameter of a `next_page` URL.
pub fn next_cursor(next_page: &str) -> Option<String> {
    let query = next_page.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "next" && !value.is_empty()).then(|| percent_decode_str(value).decode_utf8_lossy().into_owned())
    })
}

/// Makes a protocol-relative Kodik link absolute over https.
pub fn absolute_link(link: &str) -> String {
    let link = link.trim();
    if let Some(rest) = link.strip_prefix("//") {
        format!("https://{rest}")
    } else if let Some(rest) = link.strip_prefix("http://") {
        format!("https://{rest}")
    } else {
        link.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_come_from_next_page_urls() {
        let url = "https://kodikapi.com/list?token=T&types=anime-serial%2Canime&limit=3&next=WzE2NjM2OTY5MzEwMDAsInNlcmlhbC00NTUxMiJd";
        assert_eq!(next_cursor(url).as_deref(), Some("WzE2NjM2OTY5MzEwMDAsInNlcmlhbC00NTUxMiJd"));
        assert_eq!(next_cursor("https://kodikapi.com/list?next=a%3D%3D").as_deref(), Some("a=="));
        assert_eq!(next_cursor("https://kodikapi.com/list?token=T"), None);
    }

    #[test]
    fn links_become_https() {
        assert_eq!(absolute_link("//kodik.info/seria/1/h/720p"), "https://kodik.info/seria/1/h/720p");
        assert_eq!(absolute_link("http://kodik.cc/video/1"), "https://kodik.cc/video/1");
    }

    #[test]
    fn releases_decode_both_episode_shapes_and_both_id_types() {
        let release: Release = serde_json::from_value(serde_json::json!({
            "id": "serial-1", "shikimori_id": 42, "translation": {"id": "610", "title": "A", "type": "voice"},
            "seasons": {"1": {"link": "//s", "episodes": {"1": "//e1", "2": {"link": "//e2", "title": "Two"}}}},
            "blocked_seasons": "all", "updated_at": "2022-09-23T22:31:33Z"
        }))
        .unwrap();
        assert_eq!(release.shikimori_id.as_deref(), Some("42"));
        assert_eq!(release.translation.id.as_deref(), Some("610"));
        let season = &release.seasons.as_ref().unwrap()["1"];
        assert_eq!(season.episodes["1"].link(), "//e1");
        assert_eq!(season.episodes["2"].title(), Some("Two"));
        assert!(release.updated_at.is_some());
    }
}
