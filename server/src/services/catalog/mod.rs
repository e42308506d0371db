//! CatalogService: the anime catalog, its idempotent imports and the Kodik + Shikimori
//! importer (replaces the reference backend's internal import API and its parser service;
//! reference/kodik-shikimori.md). IPTV playlists join later.
//!
//! - [`grpc`] — the RPCs (convert and delegate); [`batch`] — the `ImportBatch` stream.
//! - [`validate`] — requests to model inputs, every violation at once; [`convert`] — rows and
//!   outcomes to proto; [`model`] — inputs, outcomes, rows.
//! - [`upsert`] — the one import path (bulk upserts of a chunk of items) used by every RPC and
//!   by the importer.
//! - [`service`] — reads and admin edits; [`store`] — SQL; [`error`] — [`CatalogError`].
//! - [`importer`] — Kodik and Shikimori clients, runs as resumable jobs.
//! - [`playlists`] — Xtream Codes IPTV playlists: accounts, syncs, browsing, favorites;
//!   [`xtream`] — the panel client.

pub mod batch;
pub mod cli;
pub mod config;
pub mod convert;
pub mod error;
pub mod grpc;
pub mod importer;
pub mod model;
pub mod playlists;
pub mod service;
pub mod store;
pub mod upsert;
pub mod validate;
pub mod xtream;

pub use error::CatalogError;
pub use grpc::CatalogApi;
use medley_sdk::pb::catalog_service_server::CatalogServiceServer;

use self::{
    cli::CatalogCli,
    config::CatalogConfig,
    importer::job::ImportHandler,
    playlists::{
        Playlists,
        sync::{SyncHandler, schedule::ScheduleHandler},
    },
};
use crate::{
    auth::{
        Scope,
        policy::{Access, ServiceAccess},
    },
    config::Config,
    jobs::Registry,
    platform::Platform,
    request_guard::RequestLimits,
    service::{Contribution, GrpcService, Service},
};

/// Imports and playlist management need `import`, reads and browsing `read`; edits and the
/// importer `admin`. Playlists are further limited to their owner (or an admin) by the service.
const ACCESS: ServiceAccess = ServiceAccess::new(
    &[
        ("CreatePlaylist", Access::Scope(Scope::Import)),
        ("UpdatePlaylist", Access::Scope(Scope::Import)),
        ("DeletePlaylist", Access::Scope(Scope::Import)),
        ("SyncPlaylist", Access::Scope(Scope::Import)),
        ("GetPlaylist", Access::Scope(Scope::Read)),
        ("ListPlaylists", Access::Scope(Scope::Read)),
        ("WatchPlaylistSync", Access::Scope(Scope::Read)),
        ("ListCategories", Access::Scope(Scope::Read)),
        ("ListLiveStreams", Access::Scope(Scope::Read)),
        ("ListVod", Access::Scope(Scope::Read)),
        ("ListSeries", Access::Scope(Scope::Read)),
        ("GetVod", Access::Scope(Scope::Read)),
        ("GetSeries", Access::Scope(Scope::Read)),
        ("ListGenres", Access::Scope(Scope::Read)),
        ("ListActors", Access::Scope(Scope::Read)),
        ("SetFavorite", Access::Scope(Scope::Read)),
        ("DeleteFavorite", Access::Scope(Scope::Read)),
        ("ListFavorites", Access::Scope(Scope::Read)),
        ("GetStreamUrl", Access::Scope(Scope::Read)),
        ("ImportAnime", Access::Scope(Scope::Import)),
        ("ImportEpisodes", Access::Scope(Scope::Import)),
        ("ImportVideo", Access::Scope(Scope::Import)),
        ("ImportBatch", Access::Scope(Scope::Import)),
        ("GetAnime", Access::Scope(Scope::Read)),
        ("ListAnime", Access::Scope(Scope::Read)),
        ("ListEpisodes", Access::Scope(Scope::Read)),
        ("ListVideos", Access::Scope(Scope::Read)),
    ],
    Access::Scope(Scope::Admin),
);

/// Reads and edits are small; imports carry thousands of episodes (about 200 bytes each), and
/// a description up to a few kilobytes. `ImportBatch` items are checked one by one by the
/// handler, so one bad item fails alone.
const LIMITS: RequestLimits = RequestLimits::new(
    256 << 10,
    &[("ImportAnime", 1 << 20), ("ImportEpisodes", 4 << 20), ("ImportBatch", 4 << 20), ("UpdateAnime", 1 << 20)],
)
.checked_by_handler(&["ImportBatch"]);

/// The entry point of CatalogService.
pub struct Catalog;

impl Service for Catalog {
    type Config = CatalogConfig;
    type Command = CatalogCli;

    fn build(platform: &Platform, config: &CatalogConfig) -> anyhow::Result<Contribution> {
        let importer_ready = config.has_kodik_token();
        let playlists = Playlists::new(platform, config)?;
        let api = CatalogApi::new(platform.clone(), importer_ready, playlists.clone())?;
        // Workers claim only the kinds they run: a process without a Kodik token leaves import
        // runs to one that has it (e.g. `medley catalog import` with its own settings) instead
        // of failing them.
        // Syncs open the sealed credentials: a process without the secret key leaves them to
        // one that has it instead of failing them (the schedule only enqueues, so any may run it).
        let jobs = Registry::new().register(ScheduleHandler::new(playlists.clone()));
        let jobs = if platform.vault.is_configured() { jobs.register(SyncHandler::new(playlists)) } else { jobs };
        let jobs = if importer_ready { jobs.register(ImportHandler::new(platform, config)?) } else { jobs };
        Ok(Contribution {
            grpc: vec![
                GrpcService::new(CatalogServiceServer::new(api).max_decoding_message_size(LIMITS.largest()), ACCESS)
                    .with_limits(LIMITS),
            ],
            rest: None,
            jobs,
        })
    }

    async fn run_command(platform: Config, config: CatalogConfig, command: CatalogCli) -> anyhow::Result<()> {
        cli::run(platform, config, command).await
    }
}
