//! The services, and the one list of them.
//!
//! Each folder is one service behind one entry point (a type implementing
//! [`crate::service::Service`], in its `mod.rs`): `grpc.rs` converts and delegates, the service
//! logic owns the work, `store/` owns its SQL, one client module per outside system, its
//! `config.rs` its settings, `error.rs` its error enum. Adding a service is one folder plus one
//! line in [`services!`] below; the settings, subcommands, tonic services, REST routes, job
//! handlers, auth rules and health names all follow from it.

pub mod admin;
pub mod catalog;
pub mod mapping;

/// Generates, from the list of services, the settings of them all ([`ServicesConfig`]), their
/// subcommands ([`ServiceCommand`]) and the functions that build and run them.
macro_rules! services {
    ($($field:ident: $service:ty),+ $(,)?) => {
        /// The settings of every service, flattened into `medley`'s flags and `MEDLEY_*`
        /// variables.
        #[derive(Clone, Debug, clap::Args)]
        pub struct ServicesConfig {
            $(
                #[command(flatten)]
                #[doc = concat!("Settings of `", stringify!($field), "`.")]
                pub $field: <$service as Service>::Config,
            )+
        }

        /// The subcommands the services add to `medley`.
        #[derive(Debug, clap::Subcommand)]
        #[expect(non_camel_case_types, reason = "one variant per service, named like its settings")]
        pub enum ServiceCommand {
            $(
                #[command(flatten)]
                #[doc = concat!("A subcommand of `", stringify!($field), "`.")]
                $field(<$service as Service>::Command),
            )+
        }

        /// Builds what every service contributes, in the order of the list.
        pub fn build_all(platform: &Platform, config: &ServicesConfig) -> anyhow::Result<Vec<Contribution>> {
            Ok(vec![$(<$service as Service>::build(platform, &config.$field)?),+])
        }

        /// Runs a service's subcommand.
        pub async fn run_command(platform: Config, config: ServicesConfig, command: ServiceCommand) -> anyhow::Result<()> {
            match command {
                $(ServiceCommand::$field(command) => <$service as Service>::run_command(platform, config.$field, command).await,)+
            }
        }

        impl ConfigEntries for ServicesConfig {
            fn entries(&self) -> Vec<(&'static str, String)> {
                let mut entries = Vec::new();
                $(entries.extend(self.$field.entries());)+
                entries
            }

            fn problems(&self) -> Vec<String> {
                let mut problems = Vec::new();
                $(problems.extend(self.$field.problems());)+
                problems
            }
        }
    };
}

use crate::{
    config::{Config, ConfigEntries},
    platform::Platform,
    service::{Contribution, Service},
};

services! {
    admin: admin::Admin,
    mapping: mapping::Mapping,
    catalog: catalog::Catalog,
}
