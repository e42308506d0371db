//! The services, and the one list of them.
//!
//! Each folder is one service behind one entry point (a type implementing
//! [`crate::service::Service`], in its `mod.rs`): `grpc.rs` converts and delegates, the service
//! logic owns the work, `store/` owns its SQL, one client module per outside system, its
//! `config.rs` its settings, `error.rs` its error enum. Adding a service is one folder plus one
//! line in the list at the end of this file (`folder: EntryPoint`); its module, settings,
//! subcommands, tonic services, REST routes, job handlers, auth rules and health names all
//! follow from it.

/// Generates, from the list of services, their modules, the settings of them all
/// ([`ServicesConfig`]), their subcommands ([`ServiceCommand`]) and the functions that build
/// and run them. An entry may carry `#[cfg(...)]`.
macro_rules! services {
    ($($(#[$cfg:meta])* $field:ident: $entry:ident),+ $(,)?) => {
        $(
            $(#[$cfg])*
            pub mod $field;
        )+

        services!(@impl $($(#[$cfg])* $field: $field::$entry),+);
    };
    (@impl $($(#[$cfg:meta])* $field:ident: $service:ty),+) => {
        /// The settings of every service, flattened into `medley`'s flags and `MEDLEY_*`
        /// variables.
        #[derive(Clone, Debug, clap::Args)]
        pub struct ServicesConfig {
            $(
                $(#[$cfg])*
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
                $(#[$cfg])*
                #[command(flatten)]
                #[doc = concat!("A subcommand of `", stringify!($field), "`.")]
                $field(<$service as Service>::Command),
            )+
        }

        /// Builds what every service contributes, in the order of the list.
        pub fn build_all(platform: &Platform, config: &ServicesConfig) -> anyhow::Result<Vec<Contribution>> {
            Ok(vec![$(
                $(#[$cfg])*
                <$service as Service>::build(platform, &config.$field)?,
            )+])
        }

        /// Runs a service's subcommand.
        pub async fn run_command(platform: Config, config: ServicesConfig, command: ServiceCommand) -> anyhow::Result<()> {
            match command {
                $(
                    $(#[$cfg])*
                    ServiceCommand::$field(command) => {
                        <$service as Service>::run_command(platform, config.$field, command).await
                    }
                )+
            }
        }

        impl ConfigEntries for ServicesConfig {
            fn entries(&self) -> Vec<(&'static str, String)> {
                let mut entries = Vec::new();
                $(
                    $(#[$cfg])*
                    entries.extend(self.$field.entries());
                )+
                entries
            }

            fn problems(&self) -> Vec<String> {
                let mut problems = Vec::new();
                $(
                    $(#[$cfg])*
                    problems.extend(self.$field.problems());
                )+
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
    admin: Admin,
    mapping: Mapping,
    catalog: Catalog,
    // A minimal service that exercises every kind of contribution, for the tests.
    #[cfg(feature = "skeleton")]
    skeleton: Skeleton,
}
