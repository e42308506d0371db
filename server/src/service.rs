//! What a service is to the rest of the server: one entry point ([`Service`]) that takes the
//! platform and the service's own settings and returns everything it contributes — tonic
//! services with their auth rules, REST routes, job handlers (which carry their schedules) —
//! plus the `medley` subcommands it adds. `app.rs` composes the contributions of the services
//! listed in `services/mod.rs`; nothing else keeps a list of services.

use std::fmt;

use axum::Router;
use tonic::{server::NamedService, service::RoutesBuilder};

pub use crate::config::ConfigEntries;
use crate::{
    auth::policy::ServiceAccess, config::Config, jobs::Registry, platform::Platform, request_guard::RequestLimits,
};

/// One service's entry point.
pub trait Service: 'static {
    /// The service's settings: flattened into `medley`'s flags and `MEDLEY_*` variables.
    type Config: clap::Args + ConfigEntries + Clone + fmt::Debug + Send + Sync + 'static;
    /// The `medley` subcommands the service adds ([`NoCommands`] for none).
    type Command: clap::Subcommand + fmt::Debug + Send + 'static;

    /// Builds what the service contributes to a server or worker process.
    fn build(platform: &Platform, config: &Self::Config) -> anyhow::Result<Contribution>;

    /// Runs one of the service's subcommands. `platform` is the platform's configuration: a
    /// command connects only if it needs to.
    fn run_command(
        platform: Config,
        config: Self::Config,
        command: Self::Command,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Everything one service adds to a process.
#[derive(Default)]
pub struct Contribution {
    /// gRPC services, each with its auth rules.
    pub grpc: Vec<GrpcService>,
    /// Routes on the HTTP port (compatibility REST APIs), with their state applied.
    pub rest: Option<Router>,
    /// Job handlers, with their schedules.
    pub jobs: Registry,
}

/// A tonic service ready to serve, its fully qualified name (for health and metrics) and what
/// each of its methods requires.
pub struct GrpcService {
    /// `package.Service`.
    pub name: &'static str,
    /// Adds it to the server's routes.
    pub add: Box<dyn FnOnce(&mut RoutesBuilder) + Send>,
    /// Its auth rules.
    pub access: ServiceAccess,
    /// How large its requests may be.
    pub limits: RequestLimits,
}

impl GrpcService {
    /// Wraps a generated tonic server; its requests get [`RequestLimits::DEFAULT`].
    pub fn new<S>(service: S, access: ServiceAccess) -> Self
    where
        S: tower::Service<http::Request<tonic::body::Body>, Error = std::convert::Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        let add = Box::new(move |routes: &mut RoutesBuilder| {
            routes.add_service(service);
        });
        Self {
            name: S::NAME,
            add,
            access: ServiceAccess { service: S::NAME, ..access },
            limits: RequestLimits::DEFAULT,
        }
    }

    /// Sets how large its requests may be (set tonic's `max_decoding_message_size` to at least
    /// [`RequestLimits::largest`]: the guard answers first, with the right code).
    pub fn with_limits(self, limits: RequestLimits) -> Self {
        Self { limits, ..self }
    }
}

/// Settings of a service that has none.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct NoConfig {}

impl ConfigEntries for NoConfig {
    fn entries(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The subcommands of a service that adds none.
#[derive(Debug)]
pub enum NoCommands {}

impl clap::FromArgMatches for NoCommands {
    fn from_arg_matches(_: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
    }

    fn update_from_arg_matches(&mut self, _: &clap::ArgMatches) -> Result<(), clap::Error> {
        match *self {}
    }
}

impl clap::Subcommand for NoCommands {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        command
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        command
    }

    fn has_subcommand(_: &str) -> bool {
        false
    }
}
