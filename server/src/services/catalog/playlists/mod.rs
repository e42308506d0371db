//! IPTV playlists: Xtream Codes accounts, their synced catalogs, browsing, favorites and
//! stream URLs (replaces the playlist side of xtreme-downloader; reference/xtream.md).
//!
//! - [`service`] — create (after the panel accepted the account), get, list, update, delete.
//! - [`sync`] — sync runs as jobs: sections in their own transactions, diffs, the schedule.
//! - [`browse`] — categories, item lists with search and filters, facets, favorites.
//! - [`details`] — film and series details from the panel (cached), stream URLs.
//! - [`names`] — resource names; [`fold`] — items to rows; [`convert`] — rows to proto.
//! - [`cli`] — `medley playlist add|list|sync|rm`.
//!
//! The panel client is `catalog::xtream`; the SQL is `catalog::store::playlist*`.

pub mod browse;
pub mod cli;
pub mod convert;
pub mod details;
pub mod fold;
pub mod names;
pub mod service;
pub mod sync;

use std::time::Duration;

use uuid::Uuid;

use super::{
    CatalogError,
    config::CatalogConfig,
    store::playlists::{self as store, PlaylistRow},
    xtream::{Credentials, Panel, XtreamClient},
};
use crate::{
    auth::{Caller, Scope},
    platform::Platform,
};

/// What the playlist operations need. Cheap to clone.
#[derive(Clone)]
pub struct Playlists {
    /// The platform.
    pub platform: Platform,
    /// The panel client.
    pub client: XtreamClient,
    /// Time between scheduled syncs.
    pub sync_interval: Duration,
    /// How long panel details are cached.
    pub details_ttl: Duration,
}

impl Playlists {
    /// Builds the panel client (through the platform's URL guard).
    pub fn new(platform: &Platform, config: &CatalogConfig) -> anyhow::Result<Self> {
        Ok(Self {
            client: XtreamClient::new(&platform.url_guard)?,
            platform: platform.clone(),
            sync_interval: Duration::from_secs(u64::from(config.playlist_sync_hours) * 3600),
            details_ttl: Duration::from_secs(config.playlist_details_ttl_secs),
        })
    }

    /// The playlist `id` if `principal` may see it (NOT_FOUND otherwise, so ids of others'
    /// playlists reveal nothing).
    pub async fn owned(&self, principal: &Principal, id: i64) -> Result<PlaylistRow, CatalogError> {
        let mut conn = self.platform.db.get().await?;
        match store::find(&mut conn, id).await? {
            Some(row) if principal.may_see(&row) => Ok(row),
            _ => Err(CatalogError::PlaylistNotFound(names::playlist_name(id))),
        }
    }

    /// Opens the playlist's credentials: the panel account to call.
    pub async fn panel(&self, row: &PlaylistRow) -> Result<Panel, CatalogError> {
        let mut conn = self.platform.db.get().await?;
        let sealed = self.platform.vault.read(&mut conn, row.credentials_secret).await?;
        let credentials = Credentials::from_sealed_text(&sealed).ok_or(CatalogError::Bug("sealed credentials unreadable"))?;
        let base = url::Url::parse(&row.server_url).map_err(|_| CatalogError::Bug("stored server URL unreadable"))?;
        Ok(Panel { base, credentials })
    }
}

/// Who calls: the API key and whether it is an admin's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The key's id (owner of what it creates).
    pub key_id: Uuid,
    /// Admin keys see every playlist.
    pub admin: bool,
}

impl Principal {
    /// The principal of a verified call; `None` for an anonymous one (the playlist RPCs all
    /// need a key, so the auth layer never lets one through).
    pub fn of(caller: Option<&Caller>) -> Result<Self, CatalogError> {
        let caller = caller.ok_or(CatalogError::Bug("a playlist RPC reached the service without a caller"))?;
        Ok(Self { key_id: caller.key_id, admin: Scope::Admin.is_granted_by(&caller.scopes) })
    }

    /// Whether it may see `row`.
    pub fn may_see(&self, row: &PlaylistRow) -> bool {
        self.admin || row.owner_key_id == self.key_id
    }
}
