//! The Kodik + Shikimori importer (replaces the reference "parser service").
//!
//! - [`kodik`], [`shikimori`] — the upstream clients (one each, base URLs from config).
//! - [`items`] — upstream data → import items (titles, episodes, players, priorities).
//! - [`run`] — one run page by page, resumable; [`job`] — runs as jobs and the importer RPCs.

pub mod job;
pub mod kodik;
pub mod items;
pub mod run;
pub mod shikimori;

use std::sync::Arc;

use super::config::{CatalogConfig, TitleLanguage};
use crate::{
    db::DbPool,
    outbound::{Upstream, UpstreamConfig, Window},
    platform::Platform,
    progress::ProgressHub,
};

/// What a run needs.
#[derive(Clone)]
pub struct ImportDeps {
    /// PostgreSQL.
    pub db: DbPool,
    /// Progress fan-out.
    pub hub: Arc<ProgressHub>,
    /// Kodik.
    pub kodik: kodik::KodikClient,
    /// Shikimori.
    pub shikimori: shikimori::ShikimoriClient,
    /// Display title language.
    pub title_language: TitleLanguage,
    /// Metadata batches in flight.
    pub concurrency: usize,
}

impl ImportDeps {
    /// Builds the clients from the configuration.
    pub fn new(platform: &Platform, config: &CatalogConfig) -> reqwest::Result<Self> {
        let upstream = |name, windows: Vec<Window>, user_agent: Option<&str>| {
            let mut upstream = UpstreamConfig::new(name);
            upstream.windows = windows;
            upstream.concurrency = usize::from(config.import_concurrency);
            upstream.timeout = config.import_http_timeout();
            upstream.max_attempts = config.import_max_attempts;
            upstream.backoff_base = std::time::Duration::from_millis(config.import_backoff_ms);
            if let Some(user_agent) = user_agent {
                upstream.user_agent = format!("{user_agent} ({})", crate::outbound::USER_AGENT);
            }
            // Limits are the upstream's per account: every worker of the deployment counts
            // against the same window.
            Ok::<_, reqwest::Error>(
                Upstream::new(upstream)?.shared_through(platform.redis.clone(), platform.keys.rate_limit(name)),
            )
        };
        let kodik = upstream("kodik", vec![Window::per_second(config.kodik_rps)], None)?;
        let shikimori = upstream(
            "shikimori",
            vec![Window::per_second(config.shikimori_rps), Window::per_minute(config.shikimori_rpm)],
            Some(&config.shikimori_user_agent),
        )?;
        Ok(Self {
            db: platform.db.clone(),
            hub: platform.hub.clone(),
            kodik: kodik::KodikClient::new(kodik, &config.kodik_base_url, config.kodik_token.clone(), config.kodik_page_size),
            shikimori: shikimori::ShikimoriClient::new(shikimori, &config.shikimori_base_url),
            title_language: config.catalog_title_language,
            concurrency: usize::from(config.import_concurrency),
        })
    }
}
