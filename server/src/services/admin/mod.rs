//! AdminService: server info, API keys, jobs and schedules (the keys themselves, their SQL and
//! their checks are the platform's `auth`).
//!
//! - `grpc.rs` — the tonic service: converts requests, delegates, converts answers.
//! - `keys.rs` — the API-key RPCs; `jobs.rs` — the job and schedule RPCs; `watch.rs` — the `WatchJobs` stream.
//! - `convert.rs` — request validation and proto conversions.
//! - `error.rs` — [`AdminError`] and its mapping to statuses.
//! - `cli.rs` — `medley keys`.

pub mod cli;
pub mod convert;
pub mod error;
pub mod grpc;
pub mod jobs;
pub mod keys;
pub mod watch;

pub use error::AdminError;
pub use grpc::AdminApi;
use medley_sdk::pb::admin_service_server::AdminServiceServer;

use self::cli::AdminCli;
use crate::{
    auth::{
        Scope,
        policy::{Access, ServiceAccess},
    },
    config::Config,
    platform::Platform,
    service::{Contribution, GrpcService, NoConfig, Service},
};

/// The entry point of AdminService: every method needs `admin`.
pub struct Admin;

impl Service for Admin {
    type Config = NoConfig;
    type Command = AdminCli;

    fn build(platform: &Platform, _config: &NoConfig) -> anyhow::Result<Contribution> {
        Ok(Contribution {
            grpc: vec![GrpcService::new(
                AdminServiceServer::new(AdminApi::new(platform.clone())),
                ServiceAccess::all(Access::Scope(Scope::Admin)),
            )],
            ..Contribution::default()
        })
    }

    async fn run_command(platform: Config, _config: NoConfig, command: AdminCli) -> anyhow::Result<()> {
        cli::run(&platform, command).await
    }
}
