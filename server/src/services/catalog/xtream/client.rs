//! The client of Xtream Codes panels (`player_api.php`), on the outbound platform with the URL
//! guard: every panel URL is one a user gave.
//!
//! Fixes of the reference app (xtream.md 4.3): credentials are URL-encoded (query and path) and
//! never part of an error or log line; TLS is verified; big lists get a stall timeout instead of
//! a whole-answer timeout; the auth call is never retried (panels ban addresses that retry bad
//! logins), and a list call answered with a refused login stops there.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use url::Url;

use super::decode::{self, Auth};
use crate::outbound::{Upstream, UpstreamConfig, UpstreamError, UrlGuard};

/// Longest silence inside an answer before the call fails.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest list answer (big providers send tens of MB).
const MAX_LIST_BODY: usize = 256 << 20;

/// An account's user name and password.
#[derive(Clone)]
pub struct Credentials {
    /// User name.
    pub username: SecretString,
    /// Password.
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

impl Credentials {
    /// The one text the vault seals (JSON, so any character is safe in either part).
    pub fn to_sealed_text(&self) -> SecretString {
        let json = serde_json::json!([self.username.expose_secret(), self.password.expose_secret()]);
        SecretString::from(json.to_string())
    }

    /// Reads what [`Self::to_sealed_text`] made.
    pub fn from_sealed_text(text: &SecretString) -> Option<Self> {
        let [username, password]: [String; 2] = serde_json::from_str(text.expose_secret()).ok()?;
        Some(Self { username: username.into(), password: password.into() })
    }
}

/// One account on one panel.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The panel's base URL (what the user gave).
    pub base: Url,
    /// The account.
    pub credentials: Credentials,
}

/// What a stream URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamPath {
    /// `/live/…`.
    Live,
    /// `/movie/…`.
    Movie,
    /// `/series/…`.
    Episode,
}

impl Panel {
    fn api_url(&self, action: Option<&str>, params: &[(&str, &str)]) -> Url {
        let mut url = self.endpoint("player_api.php");
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("username", self.credentials.username.expose_secret());
            query.append_pair("password", self.credentials.password.expose_secret());
            if let Some(action) = action {
                query.append_pair("action", action);
            }
            for (key, value) in params {
                query.append_pair(key, value);
            }
        }
        url
    }

    /// `{base}/{file}`, keeping a path the panel lives under.
    fn endpoint(&self, file: &str) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(file);
        }
        url
    }

    /// The URL that plays `id` (`{base}/{live|movie|series}/{u}/{p}/{id}.{ext}`), credentials
    /// percent-encoded as path segments. It holds the password: never log it.
    pub fn stream_url(&self, path: StreamPath, id: &str, extension: &str) -> Url {
        let mut url = self.endpoint("x");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop();
            segments.push(match path {
                StreamPath::Live => "live",
                StreamPath::Movie => "movie",
                StreamPath::Episode => "series",
            });
            segments.push(self.credentials.username.expose_secret());
            segments.push(self.credentials.password.expose_secret());
            segments.push(&format!("{id}.{extension}"));
        }
        url
    }
}

/// Why a panel call failed.
#[derive(Debug, thiserror::Error)]
pub enum XtreamError {
    /// The panel refused the user name or password.
    #[error("the panel refused the user name or password")]
    AuthFailed,
    /// The account exists but cannot be used (expired, banned, disabled).
    #[error("the panel account is {status}")]
    Unusable {
        /// The panel's status word.
        status: String,
    },
    /// No usable answer: unreachable, an error status, too large.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// An answer that is not what an Xtream panel sends (HTML, cut off, another shape).
    #[error("{0}")]
    NotXtream(String),
}

impl XtreamError {
    /// Whether it is about the account (stop, never retry: panels ban retried logins).
    pub fn is_account(&self) -> bool {
        matches!(self, Self::AuthFailed | Self::Unusable { .. })
    }
}

/// Calls panels. Cheap to clone.
#[derive(Clone, Debug)]
pub struct XtreamClient {
    /// Auth checks: one attempt only.
    auth: Upstream,
    /// Lists and details: retried on 429/5xx/transport, stall timeout, large bodies.
    lists: Upstream,
}

impl XtreamClient {
    /// Builds the client; every address it connects to passes `guard`.
    pub fn new(guard: &UrlGuard) -> reqwest::Result<Self> {
        let auth = UpstreamConfig {
            max_attempts: 1,
            timeout: Duration::from_secs(20),
            max_body: 1 << 20,
            ..UpstreamConfig::new("xtream panel")
        };
        let lists = UpstreamConfig {
            concurrency: 8,
            timeout: Duration::from_secs(600),
            stall_timeout: Some(STALL_TIMEOUT),
            max_attempts: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15),
            max_body: MAX_LIST_BODY,
            ..UpstreamConfig::new("xtream panel")
        };
        Ok(Self { auth: Upstream::guarded(auth, guard)?, lists: Upstream::guarded(lists, guard)? })
    }

    /// Asks the panel about the account; `Ok` only for a usable one (accepted and `Active`).
    pub async fn auth(&self, panel: &Panel) -> Result<Auth, XtreamError> {
        let url = panel.api_url(None, &[]);
        let reply = self.auth.send(|client| client.get(url.clone())).await?;
        if matches!(reply.status.as_u16(), 401 | 403) {
            return Err(XtreamError::AuthFailed);
        }
        if !reply.status.is_success() {
            return Err(UpstreamError::Status { upstream: "xtream panel", status: reply.status.as_u16() }.into());
        }
        // XUI answers a bad login with a bare INVALID_CREDENTIALS (or an error page).
        if reply.body.windows(19).any(|w| w.eq_ignore_ascii_case(b"INVALID_CREDENTIALS")) {
            return Err(XtreamError::AuthFailed);
        }
        let auth: Auth = decode::decode(&reply.body).map_err(XtreamError::NotXtream)?;
        if auth.usable() {
            return Ok(auth);
        }
        match auth.user_info.status.as_deref() {
            Some(status) if !status.eq_ignore_ascii_case("active") => {
                Err(XtreamError::Unusable { status: status.to_owned() })
            }
            _ => Err(XtreamError::AuthFailed),
        }
    }

    /// Calls `action` and returns its JSON. An answer that is a refused login (the password
    /// changed since the last check) is [`XtreamError::AuthFailed`].
    pub async fn action(&self, panel: &Panel, action: &str, params: &[(&str, &str)]) -> Result<Value, XtreamError> {
        let url = panel.api_url(Some(action), params);
        let reply = self.lists.send(|client| client.get(url.clone())).await?;
        if matches!(reply.status.as_u16(), 401 | 403) {
            return Err(XtreamError::AuthFailed);
        }
        if !reply.status.is_success() {
            return Err(UpstreamError::Status { upstream: "xtream panel", status: reply.status.as_u16() }.into());
        }
        let value: Value = decode::decode(&reply.body).map_err(XtreamError::NotXtream)?;
        if let Some(user) = value.get("user_info") {
            let auth: Auth = serde_json::from_value(serde_json::json!({ "user_info": user })).unwrap_or_default();
            if !auth.usable() {
                return Err(match auth.user_info.status {
                    Some(status) if !status.eq_ignore_ascii_case("active") => XtreamError::Unusable { status },
                    _ => XtreamError::AuthFailed,
                });
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(base: &str, username: &str, password: &str) -> Panel {
        Panel {
            base: Url::parse(base).unwrap(),
            credentials: Credentials { username: username.into(), password: password.into() },
        }
    }

    #[test]
    fn credentials_are_url_encoded_in_queries_and_paths() {
        let panel = panel("http://iptv.example.test:8080/", "dé mo&x", "p/a?s#s");
        let api = panel.api_url(Some("get_vod_streams"), &[("category_id", "7")]);
        assert_eq!(
            api.as_str(),
            "http://iptv.example.test:8080/player_api.php?username=d%C3%A9+mo%26x&password=p%2Fa%3Fs%23s&action=get_vod_streams&category_id=7"
        );
        let url = panel.stream_url(StreamPath::Movie, "130529", "mkv");
        assert_eq!(url.as_str(), "http://iptv.example.test:8080/movie/d%C3%A9%20mo&x/p%2Fa%3Fs%23s/130529.mkv");
        assert_eq!(url.path_segments().unwrap().count(), 4, "the password stays one segment");
    }

    #[test]
    fn a_panel_under_a_path_keeps_it() {
        let panel = panel("https://host.test/xc/?junk=1", "u", "p");
        assert_eq!(panel.api_url(None, &[]).as_str(), "https://host.test/xc/player_api.php?username=u&password=p");
        assert_eq!(panel.stream_url(StreamPath::Live, "1", "ts").as_str(), "https://host.test/xc/live/u/p/1.ts");
        let bare = self::panel("http://host.test", "u", "p");
        assert_eq!(bare.stream_url(StreamPath::Episode, "9", "mp4").as_str(), "http://host.test/series/u/p/9.mp4");
    }

    #[test]
    fn sealed_credentials_round_trip_and_debug_shows_nothing() {
        let credentials = Credentials { username: "a\"b".into(), password: "pässword\n".into() };
        let back = Credentials::from_sealed_text(&credentials.to_sealed_text()).unwrap();
        assert_eq!(back.username.expose_secret(), "a\"b");
        assert_eq!(back.password.expose_secret(), "pässword\n");
        assert!(!format!("{credentials:?}").contains("pässword"));
        assert!(Credentials::from_sealed_text(&"nonsense".into()).is_none());
    }
}
