//! A minimal service for the tests (feature `skeleton`): it contributes one of each thing a
//! service can — settings, a subcommand, a REST route, a job handler with a schedule — and is
//! added to the server by its folder and one line in `services/mod.rs`, as every service is.
//! It has no gRPC service: those need a proto file, and the public contract has none for it.

use axum::{Router, extract::State, routing::get};
use serde_json::{Value, json};

use crate::{
    config::{Config, ConfigEntries},
    jobs::{JobContext, JobError, JobHandler, Registry, schedule::ScheduleSpec},
    platform::Platform,
    service::{Contribution, Service},
};

/// The job kind of the skeleton.
pub const KIND: &str = "skeleton-greet";
/// Its schedule.
pub const SCHEDULE: &str = "skeleton-daily";

/// The skeleton's settings.
#[derive(Clone, Debug, clap::Args)]
pub struct SkeletonConfig {
    /// What the skeleton says. Hidden: a test-only service stays out of help and the
    /// configuration reference.
    #[arg(long, env = "MEDLEY_SKELETON_GREETING", default_value = "hello", hide = true)]
    pub skeleton_greeting: String,
}

impl ConfigEntries for SkeletonConfig {
    fn entries(&self) -> Vec<(&'static str, String)> {
        vec![("MEDLEY_SKELETON_GREETING", self.skeleton_greeting.clone())]
    }

    fn problems(&self) -> Vec<String> {
        if self.skeleton_greeting.is_empty() {
            vec!["MEDLEY_SKELETON_GREETING: must not be empty".to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// `medley skeleton ...`
#[derive(Debug, clap::Subcommand)]
pub enum SkeletonCli {
    /// The skeleton's commands.
    #[command(subcommand)]
    Skeleton(SkeletonCommand),
}

/// `medley skeleton` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SkeletonCommand {
    /// Print the greeting.
    Greet,
}

/// Greets, as a job.
struct GreetHandler {
    greeting: String,
}

#[tonic::async_trait]
impl JobHandler for GreetHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn schedule(&self) -> Option<ScheduleSpec> {
        Some(ScheduleSpec {
            name: SCHEDULE.to_owned(),
            kind: KIND.to_owned(),
            cron: "0 0 * * *".to_owned(),
            payload: json!({}),
        })
    }

    async fn run(&self, _ctx: JobContext) -> Result<Value, JobError> {
        Ok(json!({ "greeting": self.greeting }))
    }
}

/// The entry point of the skeleton.
pub struct Skeleton;

impl Service for Skeleton {
    type Config = SkeletonConfig;
    type Command = SkeletonCli;

    fn build(_platform: &Platform, config: &SkeletonConfig) -> anyhow::Result<Contribution> {
        let greeting = config.skeleton_greeting.clone();
        let rest = Router::new()
            .route("/skeleton/greeting", get(async |State(greeting): State<String>| greeting))
            .with_state(greeting.clone());
        Ok(Contribution {
            grpc: Vec::new(),
            rest: Some(rest),
            jobs: Registry::new().register(GreetHandler { greeting }),
        })
    }

    async fn run_command(_platform: Config, config: SkeletonConfig, command: SkeletonCli) -> anyhow::Result<()> {
        let SkeletonCli::Skeleton(SkeletonCommand::Greet) = command;
        println!("{}", config.skeleton_greeting);
        Ok(())
    }
}
