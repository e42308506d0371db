//! A service added by one folder and one line (`services/skeleton`, feature `skeleton`): its
//! settings, subcommand, REST route, job handler and schedule all reach the server.

use clap::{FromArgMatches as _, Subcommand as _};
use medley_sdk::pb::ListSchedulesRequest;
use medley_server::{
    Settings,
    config::ConfigEntries as _,
    jobs::{JobState, NewJob},
    services::{
        ServiceCommand,
        skeleton::{KIND, SCHEDULE, SkeletonCli, SkeletonCommand},
    },
};
use medley_tests::{TestServer, http::request};

use crate::support::wait_for_state;

#[tokio::test]
async fn a_service_added_by_one_line_contributes_settings_routes_jobs_schedules_and_commands() {
    let server = TestServer::builder()
        .configure(|c: &mut Settings| c.services.skeleton.skeleton_greeting = "bonjour".to_owned())
        .start()
        .await;

    // Settings: listed by `config check`, and checked.
    assert!(server.config.entries().contains(&("MEDLEY_SKELETON_GREETING", "bonjour".to_owned())));
    let mut empty = server.config.clone();
    empty.services.skeleton.skeleton_greeting = String::new();
    assert!(empty.problems().iter().any(|p| p.starts_with("MEDLEY_SKELETON_GREETING")), "{:?}", empty.problems());

    // REST route on the HTTP port.
    let response = request(server.http_addr(), "GET", "/skeleton/greeting", &[], b"").await;
    assert_eq!((response.status, response.text()), (200, "bonjour".to_owned()));

    // Job handler, run by the server's worker.
    let (job, _) = server.state().jobs.enqueue(&NewJob::new(KIND, serde_json::json!({}))).await.expect("enqueue");
    let done = wait_for_state(server.state(), job.id, JobState::Succeeded, 10_000).await;
    assert_eq!(done.result, Some(serde_json::json!({ "greeting": "bonjour" })));

    // Schedule, registered by the worker that runs the kind.
    let schedules =
        server.client().await.admin().list_schedules(ListSchedulesRequest {}).await.expect("list").into_inner();
    assert!(schedules.schedules.iter().any(|s| s.name == SCHEDULE && s.kind == KIND), "{schedules:?}");

    // Subcommand of `medley`.
    let cli = ServiceCommand::augment_subcommands(clap::Command::new("medley"));
    let matches = cli.try_get_matches_from(["medley", "skeleton", "greet"]).expect("parses");
    let command = ServiceCommand::from_arg_matches(&matches).expect("a service command");
    assert!(matches!(command, ServiceCommand::skeleton(SkeletonCli::Skeleton(SkeletonCommand::Greet))), "{command:?}");
}
