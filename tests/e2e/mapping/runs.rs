//! Pipeline runs through the run vocabulary: StartPipelineRun (and its deprecated alias
//! RunPipeline), ListPipelineRuns, CancelPipelineRun, and runs in GetStatus.

use medley_sdk::pb;
use medley_server::{
    jobs::NewJob,
    services::mapping::{
        config::MappingSources,
        sources::{SourceKind, SourceSpec},
    },
};
use medley_tests::{FakeSource, Reply, TestServer, fixture};
use tonic_types::StatusExt as _;

use super::{follow, follow_until, get, key, run_pipeline, spec};
use crate::support::assert_invalid_fields;

/// A server that runs no jobs: started runs stay queued.
async fn server_without_workers() -> TestServer {
    TestServer::builder()
        .configure(|c| {
            c.platform.workers = 0;
            c.services.mapping.sources = MappingSources(vec![spec(SourceKind::Aod, "aod.sample.jsonl")]);
        })
        .start()
        .await
}

#[tokio::test]
async fn runs_are_listed_newest_first_page_by_page_and_a_queued_run_is_cancelled() {
    let server = server_without_workers().await;
    let mut mapping = server.client().await.mapping();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let started = mapping.start_pipeline_run(pb::StartPipelineRunRequest { force: true }).await.expect("start");
        let started = started.into_inner();
        assert!(started.created);
        let run = started.run.expect("run");
        assert_eq!(run.state, pb::JobState::Queued as i32);
        // Retried while queued: the same run, not a second one.
        let again = mapping.start_pipeline_run(pb::StartPipelineRunRequest { force: true }).await.expect("again");
        let again = again.into_inner();
        assert!(!again.created);
        assert_eq!(again.run.map(|r| r.run_id), Some(run.run_id));
        // Cancelling a queued run ends it at once; the next start makes a new run.
        let cancelled = mapping
            .cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id: run.run_id })
            .await
            .expect("cancel")
            .into_inner()
            .run
            .expect("run");
        assert_eq!(cancelled.state, pb::JobState::Cancelled as i32, "{cancelled:?}");
        ids.push(run.run_id);
    }
    ids.reverse();

    let first = mapping
        .list_pipeline_runs(pb::ListPipelineRunsRequest { page_size: 2, page_token: String::new() })
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.runs.iter().map(|r| r.run_id).collect::<Vec<_>>(), ids[..2]);
    assert!(!first.next_page_token.is_empty());
    let second = mapping
        .list_pipeline_runs(pb::ListPipelineRunsRequest { page_size: 2, page_token: first.next_page_token })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.runs.iter().map(|r| r.run_id).collect::<Vec<_>>(), ids[2..]);
    assert!(second.next_page_token.is_empty());
    assert!(second.runs.iter().all(|r| r.state == pb::JobState::Cancelled as i32));
}

#[tokio::test]
async fn cancelling_names_the_run_and_refuses_bad_ids_finished_runs_and_other_jobs() {
    let server = server_without_workers().await;
    let mut mapping = server.client().await.mapping();

    for run_id in [0, -7] {
        let status = mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id }).await.unwrap_err();
        assert_invalid_fields(&status, &["run_id"]);
    }
    let status = mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id: 999_999 }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let resource = status.get_error_details().resource_info().cloned().expect("ResourceInfo");
    assert_eq!((resource.resource_type.as_str(), resource.resource_name.as_str()), ("pipeline_run", "999999"));

    // A job of another kind is not a pipeline run, and is left alone.
    let (other, _) = server.state().jobs.enqueue(&NewJob::new("canary", serde_json::json!({}))).await.expect("job");
    let status = mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id: other.id }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let status = mapping.watch_pipeline_run(pb::WatchPipelineRunRequest { run_id: other.id }).await.map(|_| ());
    assert_eq!(status.unwrap_err().code(), tonic::Code::NotFound);
    let untouched = server.state().jobs.get(other.id).await.expect("read").expect("job");
    assert_eq!(untouched.state, "queued");

    let run = mapping
        .start_pipeline_run(pb::StartPipelineRunRequest { force: false })
        .await
        .expect("start")
        .into_inner()
        .run
        .expect("run");
    mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id: run.run_id }).await.expect("cancel");
    let status = mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id: run.run_id }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(&run.run_id.to_string()), "{status:?}");

    let status = mapping
        .list_pipeline_runs(pb::ListPipelineRunsRequest { page_size: -1, page_token: "garbage".into() })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["page_size", "page_token"]);
}

#[tokio::test]
async fn a_run_cancelled_while_fetching_stops_and_the_served_data_stays() {
    let fake = FakeSource::start().await;
    let body = std::fs::read(fixture("mapping/fribb-anime-lists-reduced.2026-06-30.extract.json")).expect("fixture");
    fake.set("/fribb.json", Reply::Body { body: body.clone(), etag: "\"v1\"".into() });
    let sources = vec![SourceSpec { kind: SourceKind::Fribb, location: fake.url("/fribb.json") }];
    let server =
        TestServer::builder().configure(move |c| c.services.mapping.sources = MappingSources(sources)).start().await;
    let client = server.client().await;
    let first = run_pipeline(&client, false).await;
    assert_eq!(first.state, pb::JobState::Succeeded as i32, "{first:?}");
    let served = get(&client, key("anidb", "1")).await.expect("AniDB 1");

    // The next run would change the data, but the source answers slowly and the run is
    // cancelled while it waits.
    let changed = String::from_utf8(body).expect("utf-8").replacen("\"tvdb_id\" : 72025,", "\"tvdb_id\" : 4242,", 1);
    fake.set("/fribb.json", Reply::Body { body: changed.into_bytes(), etag: "\"v2\"".into() });
    fake.hold();
    let mut mapping = client.mapping();
    let started = mapping.start_pipeline_run(pb::StartPipelineRunRequest { force: false }).await.expect("start");
    let run_id = started.into_inner().run.expect("run").run_id;
    let running = |run: &pb::PipelineRun| run.stage == pb::PipelineStage::Fetch as i32;
    follow_until(&client, run_id, running).await;
    let cancelled = mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id }).await.expect("cancel");
    assert_ne!(cancelled.into_inner().run.expect("run").state, pb::JobState::Succeeded as i32);
    fake.release();
    let last = follow(&client, run_id).await.pop().expect("messages");
    assert_eq!(last.state, pb::JobState::Cancelled as i32, "{last:?}");
    assert_eq!(get(&client, key("anidb", "1")).await.expect("still served"), served);

    // The status names both runs by their ids; the cancelled one published nothing.
    let status = mapping.get_status(pb::GetStatusRequest {}).await.expect("status").into_inner();
    assert_eq!(status.last_run.map(|r| r.run_id), Some(run_id));
    assert_eq!(status.last_successful_run.map(|r| r.run_id), Some(first.run_id));
}

#[tokio::test]
#[expect(deprecated, reason = "the deprecated alias is still served, and checked")]
async fn the_deprecated_run_pipeline_starts_the_same_run() {
    let server = server_without_workers().await;
    let mut mapping = server.client().await.mapping();
    let old = mapping.run_pipeline(pb::RunPipelineRequest { force: false }).await.expect("RunPipeline").into_inner();
    assert!(old.created);
    let new =
        mapping.start_pipeline_run(pb::StartPipelineRunRequest { force: false }).await.expect("start").into_inner();
    assert!(!new.created);
    assert_eq!(new.run.map(|r| r.run_id), old.run.map(|r| r.run_id));
}
