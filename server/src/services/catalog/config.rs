//! Settings of the catalog importer (Kodik + Shikimori).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MEDLEY_KODIK_BASE_URL` | `https://kodikapi.com` | Kodik API |
//! | `MEDLEY_KODIK_TOKEN` | (none) | Kodik API token; secret, never logged; the importer needs it |
//! | `MEDLEY_KODIK_RPS` | `4` | Kodik requests per second (0 = unlimited) |
//! | `MEDLEY_KODIK_PAGE_SIZE` | `100` | releases per Kodik listing page (1 to 100) |
//! | `MEDLEY_SHIKIMORI_BASE_URL` | `https://shikimori.one` | Shikimori (GraphQL at `/api/graphql`, REST at `/api/animes`) |
//! | `MEDLEY_SHIKIMORI_USER_AGENT` | `Medley` | User-Agent sent to Shikimori: set it to your registered OAuth application name |
//! | `MEDLEY_SHIKIMORI_RPS` / `MEDLEY_SHIKIMORI_RPM` | `5` / `90` | Shikimori's documented limits (0 = unlimited) |
//! | `MEDLEY_IMPORT_CONCURRENCY` | `4` | requests in flight per upstream |
//! | `MEDLEY_IMPORT_HTTP_TIMEOUT_MS` | `30000` | timeout of one upstream request |
//! | `MEDLEY_IMPORT_MAX_ATTEMPTS` | `5` | attempts per upstream request (429, 5xx, timeouts are retried) |
//! | `MEDLEY_IMPORT_BACKOFF_MS` | `500` | first retry delay, doubled per retry (full jitter, 30 s at most) |
//! | `MEDLEY_IMPORT_CRON` | `15 */6 * * *` | schedule of the incremental import (UTC; empty = none; only with a token) |
//! | `MEDLEY_PLAYLIST_SYNC_HOURS` | `6` | hours between scheduled syncs of each playlist (each jittered by up to a tenth) |
//! | `MEDLEY_PLAYLIST_DETAILS_TTL_SECS` | `3600` | how long GetVod / GetSeries answers of a panel are cached |
//! | `MEDLEY_CATALOG_TITLE_LANGUAGE` | `russian` | display title of imported anime: `russian` (Shikimori's Russian title, else the romaji one) or `romaji` |

use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::{ConfigEntries, parse_secret, redact_url};

/// Which Shikimori title becomes the display title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TitleLanguage {
    /// The Russian title, else the romaji one (Kodik's audience reads Russian).
    Russian,
    /// The romaji ("name") title.
    Romaji,
}

/// The catalog's settings: the anime importer's and the playlists'.
#[derive(Clone, Debug, Args)]
pub struct CatalogConfig {
    /// Kodik API base URL.
    #[arg(long, env = "MEDLEY_KODIK_BASE_URL", default_value = "https://kodikapi.com", value_parser = parse_base_url)]
    pub kodik_base_url: String,

    /// Kodik API token (secret).
    #[arg(long, env = "MEDLEY_KODIK_TOKEN", default_value = "", hide_env_values = true, hide_default_value = true, value_parser = parse_secret)]
    pub kodik_token: SecretString,

    /// Kodik requests per second; 0 = unlimited.
    #[arg(long, env = "MEDLEY_KODIK_RPS", default_value_t = 4)]
    pub kodik_rps: u32,

    /// Releases per Kodik listing page.
    #[arg(long, env = "MEDLEY_KODIK_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub kodik_page_size: u32,

    /// Shikimori base URL.
    #[arg(long, env = "MEDLEY_SHIKIMORI_BASE_URL", default_value = "https://shikimori.one", value_parser = parse_base_url)]
    pub shikimori_base_url: String,

    /// User-Agent sent to Shikimori (its API rules ask for the OAuth application's name).
    #[arg(long, env = "MEDLEY_SHIKIMORI_USER_AGENT", default_value = "Medley")]
    pub shikimori_user_agent: String,

    /// Shikimori requests per second; 0 = unlimited.
    #[arg(long, env = "MEDLEY_SHIKIMORI_RPS", default_value_t = 5)]
    pub shikimori_rps: u32,

    /// Shikimori requests per minute; 0 = unlimited.
    #[arg(long, env = "MEDLEY_SHIKIMORI_RPM", default_value_t = 90)]
    pub shikimori_rpm: u32,

    /// Requests in flight per upstream.
    #[arg(long, env = "MEDLEY_IMPORT_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub import_concurrency: u16,

    /// Timeout of one upstream request, in milliseconds.
    #[arg(long, env = "MEDLEY_IMPORT_HTTP_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub import_http_timeout_ms: u64,

    /// Attempts per upstream request.
    #[arg(long, env = "MEDLEY_IMPORT_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub import_max_attempts: u32,

    /// First retry delay in milliseconds (doubled per retry, jittered).
    #[arg(long, env = "MEDLEY_IMPORT_BACKOFF_MS", default_value_t = 500)]
    pub import_backoff_ms: u64,

    /// Cron schedule (UTC) of the incremental import; empty for none.
    #[arg(long, env = "MEDLEY_IMPORT_CRON", default_value = "15 */6 * * *")]
    pub import_cron: String,

    /// Display title of imported anime.
    #[arg(long, env = "MEDLEY_CATALOG_TITLE_LANGUAGE", value_enum, default_value_t = TitleLanguage::Russian)]
    pub catalog_title_language: TitleLanguage,

    /// Hours between scheduled syncs of each playlist (jittered by up to a tenth).
    #[arg(long, env = "MEDLEY_PLAYLIST_SYNC_HOURS", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=168))]
    pub playlist_sync_hours: u32,

    /// Seconds a panel's film and series details are cached.
    #[arg(long, env = "MEDLEY_PLAYLIST_DETAILS_TTL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub playlist_details_ttl_secs: u64,
}

impl CatalogConfig {
    /// Whether a Kodik token is configured (the importer needs one).
    pub fn has_kodik_token(&self) -> bool {
        !self.kodik_token.expose_secret().is_empty()
    }

    /// Returns the upstream request timeout.
    pub fn import_http_timeout(&self) -> Duration {
        Duration::from_millis(self.import_http_timeout_ms)
    }
}

impl ConfigEntries for CatalogConfig {
    fn entries(&self) -> Vec<(&'static str, String)> {
        let token = if self.has_kodik_token() { "***" } else { "(not set)" };
        vec![
            ("MEDLEY_KODIK_BASE_URL", redact_url(&self.kodik_base_url)),
            ("MEDLEY_KODIK_TOKEN", token.to_owned()),
            ("MEDLEY_KODIK_RPS", self.kodik_rps.to_string()),
            ("MEDLEY_KODIK_PAGE_SIZE", self.kodik_page_size.to_string()),
            ("MEDLEY_SHIKIMORI_BASE_URL", redact_url(&self.shikimori_base_url)),
            ("MEDLEY_SHIKIMORI_USER_AGENT", self.shikimori_user_agent.clone()),
            ("MEDLEY_SHIKIMORI_RPS", self.shikimori_rps.to_string()),
            ("MEDLEY_SHIKIMORI_RPM", self.shikimori_rpm.to_string()),
            ("MEDLEY_IMPORT_CONCURRENCY", self.import_concurrency.to_string()),
            ("MEDLEY_IMPORT_HTTP_TIMEOUT_MS", self.import_http_timeout_ms.to_string()),
            ("MEDLEY_IMPORT_MAX_ATTEMPTS", self.import_max_attempts.to_string()),
            ("MEDLEY_IMPORT_BACKOFF_MS", self.import_backoff_ms.to_string()),
            ("MEDLEY_IMPORT_CRON", self.import_cron.clone()),
            ("MEDLEY_PLAYLIST_SYNC_HOURS", self.playlist_sync_hours.to_string()),
            ("MEDLEY_PLAYLIST_DETAILS_TTL_SECS", self.playlist_details_ttl_secs.to_string()),
            ("MEDLEY_CATALOG_TITLE_LANGUAGE", format!("{:?}", self.catalog_title_language).to_lowercase()),
        ]
    }

    fn problems(&self) -> Vec<String> {
        let cron = self.import_cron.trim();
        match crate::jobs::schedule::parse_cron(cron) {
            Err(error) if !cron.is_empty() => vec![format!("MEDLEY_IMPORT_CRON: {error}")],
            _ => Vec::new(),
        }
    }
}

/// Accepts an absolute http(s) URL and drops a trailing '/'.
fn parse_base_url(value: &str) -> Result<String, String> {
    let trimmed = value.trim().trim_end_matches('/');
    let ok = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && trimmed.len() > "https://".len()
        && !trimmed.contains(char::is_whitespace);
    if ok { Ok(trimmed.to_owned()) } else { Err("an absolute http(s) URL".to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_redacted() {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            catalog: CatalogConfig,
        }
        let mut config = <Only as clap::Parser>::try_parse_from(["medley"]).unwrap().catalog;
        config.kodik_token = SecretString::from("secret-token");
        let entries = config.entries();
        assert!(entries.iter().all(|(_, value)| !value.contains("secret-token")));
        assert!(!format!("{config:?}").contains("secret-token"), "Debug never prints the token");
        assert!(entries.contains(&("MEDLEY_KODIK_TOKEN", "***".to_owned())));
    }

    #[test]
    fn base_urls_are_absolute_and_trimmed() {
        assert_eq!(parse_base_url("https://kodikapi.com/").as_deref(), Ok("https://kodikapi.com"));
        assert!(parse_base_url("kodikapi.com").is_err());
        assert!(parse_base_url("https://").is_err());
    }
}
