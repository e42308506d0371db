//! MappingService: cross-platform anime ids (replaces IDS.moe; reference/mapping.md).
//!
//! - [`platform`] — every platform: names, aliases, id shapes, URL templates, merge role.
//! - [`sources`] — the source formats (AOD, Fribb, AnimeAPI, ARM) and fetching them.
//! - [`merge`] — union-find merge with conflict detection and title matching (the rules).
//! - [`snapshot`] — stable internal ids, lookup keys, content hashes, the diff with what is
//!   served.
//! - [`pipeline`] — a run end to end; [`runs`] — runs as jobs: start, watch, list, cancel.
//! - [`cache`] — the lookup path: in-process, Redis two-tier, PostgreSQL.
//! - [`lookup`] — read operations shared by [`grpc`] and the REST routes in [`rest`];
//!   [`export`] — `ExportMappings`, page by page with resume tokens.
//! - [`overrides`] — manual corrections; [`store`] — SQL; [`convert`] — validation and proto
//!   conversions; [`error`] — [`MappingError`]; [`config`] — settings; [`cli`] — `medley mapping`.

pub mod cache;
pub mod cli;
pub mod config;
pub mod convert;
pub mod error;
pub mod export;
pub mod grpc;
pub mod lookup;
pub mod merge;
pub mod overrides;
pub mod pipeline;
pub mod platform;
pub mod rest;
pub mod runs;
pub mod snapshot;
pub mod sources;
pub mod store;

use std::sync::Arc;

use anyhow::Context as _;
pub use error::MappingError;
pub use grpc::MappingApi;
use medley_sdk::pb::mapping_service_server::MappingServiceServer;

use self::{
    cache::MappingCache, cli::MappingCli, config::MappingConfig, pipeline::PipelineDeps, runs::PipelineHandler,
};
use crate::{
    auth::{
        Scope,
        policy::{Access, ServiceAccess},
    },
    config::Config,
    jobs::Registry,
    platform::Platform,
    request_guard::{DEFAULT_MAX_REQUEST_BYTES, RequestLimits},
    service::{Contribution, GrpcService, Service},
};

/// Lookups need `read`; the pipeline and overrides `admin`.
const ACCESS: ServiceAccess = ServiceAccess::new(&lookups(Access::Scope(Scope::Read)), Access::Scope(Scope::Admin));

/// With `MEDLEY_PUBLIC_MAPPING`: lookups also without a key (rate-limited per client).
const PUBLIC_ACCESS: ServiceAccess =
    ServiceAccess::new(&lookups(Access::ScopeOrAnonymous(Scope::Read)), Access::Scope(Scope::Admin));

/// The lookup methods, all needing `access`.
const fn lookups(access: Access) -> [(&'static str, Access); 7] {
    [
        ("GetMapping", access),
        ("BatchGetMappings", access),
        ("ResolveRedirect", access),
        ("SearchAnime", access),
        ("ListPlatforms", access),
        ("GetStatus", access),
        ("ExportMappings", access),
    ]
}

/// What the mapping service's parts share. Cheap to clone.
#[derive(Clone)]
pub struct MappingState {
    /// The shared platform.
    pub platform: Platform,
    /// Lookups: in-process, Redis, PostgreSQL.
    pub cache: Arc<MappingCache>,
}

impl MappingState {
    /// Starts the lookup cache (it follows pipeline runs through the hub).
    pub fn new(platform: &Platform) -> Self {
        let cache = MappingCache::start(
            platform.db.clone(),
            platform.redis.clone(),
            platform.keys.clone(),
            &platform.hub,
            platform.shutdown.clone(),
        );
        Self { platform: platform.clone(), cache }
    }

    /// What a pipeline run needs.
    pub fn pipeline_deps(&self) -> anyhow::Result<PipelineDeps> {
        Ok(PipelineDeps {
            db: self.platform.db.clone(),
            cache: self.cache.clone(),
            hub: self.platform.hub.clone(),
            sources: sources::fetch::upstream().context("cannot build the HTTP client of the mapping sources")?,
        })
    }
}

/// A batch lookup holds up to 1,000 keys; every other request is small.
const LIMITS: RequestLimits = RequestLimits::new(DEFAULT_MAX_REQUEST_BYTES, &[("BatchGetMappings", 256 << 10)]);

/// The entry point of MappingService.
pub struct Mapping;

impl Service for Mapping {
    type Config = MappingConfig;
    type Command = MappingCli;

    fn build(platform: &Platform, config: &MappingConfig) -> anyhow::Result<Contribution> {
        let state = MappingState::new(platform);
        let handler =
            PipelineHandler { deps: state.pipeline_deps()?, sources: config.sources.0.clone(), scheduled: true };
        Ok(Contribution {
            grpc: vec![
                GrpcService::new(
                    MappingServiceServer::new(MappingApi::new(state.clone())),
                    if config.public_mapping { PUBLIC_ACCESS } else { ACCESS },
                )
                .with_limits(LIMITS),
            ],
            rest: Some(rest::router().with_state(state)),
            jobs: Registry::new().register(handler),
        })
    }

    async fn run_command(platform: Config, config: MappingConfig, command: MappingCli) -> anyhow::Result<()> {
        cli::run(platform, config, command).await
    }
}
