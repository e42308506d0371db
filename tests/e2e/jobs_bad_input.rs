use medley_sdk::pb::{
    CancelJobRequest, EnqueueCanaryJobRequest, GetJobRequest, JobState, ListJobsRequest, PauseScheduleRequest,
    ResumeScheduleRequest, RetryJobRequest, WatchJobsRequest,
};
use medley_server::jobs::NewJob;
use medley_tests::TestServer;
use tonic_types::StatusExt as _;

use crate::support::assert_invalid_fields;

#[tokio::test]
async fn job_ids_must_be_positive_and_exist() {
    let server = TestServer::builder().configure(|c| c.platform.workers = 0).start().await;
    let mut admin = server.client().await.admin();
    for id in [0, -1, i64::MIN] {
        assert_invalid_fields(&admin.get_job(GetJobRequest { id }).await.unwrap_err(), &["id"]);
        assert_invalid_fields(&admin.retry_job(RetryJobRequest { id }).await.unwrap_err(), &["id"]);
        assert_invalid_fields(&admin.cancel_job(CancelJobRequest { id }).await.unwrap_err(), &["id"]);
    }
    let missing = i64::MAX;
    for status in [
        admin.get_job(GetJobRequest { id: missing }).await.unwrap_err(),
        admin.retry_job(RetryJobRequest { id: missing }).await.unwrap_err(),
        admin.cancel_job(CancelJobRequest { id: missing }).await.unwrap_err(),
        admin.watch_jobs(WatchJobsRequest { job_id: missing, kinds: vec![] }).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        assert_eq!(status.get_error_details().resource_info().map(|r| r.resource_type.clone()).as_deref(), Some("job"));
    }
    assert_invalid_fields(
        &admin.watch_jobs(WatchJobsRequest { job_id: -5, kinds: vec![] }).await.unwrap_err(),
        &["job_id"],
    );
}

#[tokio::test]
async fn list_jobs_rejects_bad_filters_pages_and_tokens() {
    let server = TestServer::builder().configure(|c| c.platform.workers = 0).start().await;
    let mut admin = server.client().await.admin();
    let bad_kinds = ListJobsRequest { kinds: vec![String::new(), "x".repeat(101)], ..Default::default() };
    assert_invalid_fields(&admin.list_jobs(bad_kinds).await.unwrap_err(), &["kinds[0]", "kinds[1]"]);
    let many_kinds = ListJobsRequest { kinds: (0..51).map(|n| format!("k{n}")).collect(), ..Default::default() };
    assert_invalid_fields(&admin.list_jobs(many_kinds).await.unwrap_err(), &["kinds"]);
    let bad_states = ListJobsRequest { states: vec![JobState::Unspecified as i32, 42], ..Default::default() };
    assert_invalid_fields(&admin.list_jobs(bad_states).await.unwrap_err(), &["states[0]", "states[1]"]);
    assert_invalid_fields(
        &admin.list_jobs(ListJobsRequest { page_size: -1, ..Default::default() }).await.unwrap_err(),
        &["page_size"],
    );
    admin.list_jobs(ListJobsRequest { page_size: 5000, ..Default::default() }).await.expect("coerced to 1000");
    assert_invalid_fields(
        &admin.list_jobs(ListJobsRequest { page_token: "nope".to_owned(), ..Default::default() }).await.unwrap_err(),
        &["page_token"],
    );
    assert_invalid_fields(
        &admin.watch_jobs(WatchJobsRequest { job_id: 0, kinds: vec![String::new()] }).await.unwrap_err(),
        &["kinds[0]"],
    );
}

#[tokio::test]
async fn list_jobs_pages_and_filters() {
    let server = TestServer::builder().configure(|c| c.platform.workers = 0).start().await;
    let jobs = &server.state().jobs;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(jobs.enqueue(&NewJob::new("alpha", serde_json::json!({ "n": n }))).await.expect("enqueue").0.id);
    }
    jobs.enqueue(&NewJob::new("beta", serde_json::json!({}))).await.expect("enqueue");
    jobs.cancel(ids[0]).await.expect("cancel");
    let mut admin = server.client().await.admin();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_jobs(ListJobsRequest {
                kinds: vec!["alpha".to_owned()],
                states: vec![],
                page_size: 2,
                page_token: token,
            })
            .await
            .expect("list")
            .into_inner();
        seen.extend(page.jobs.iter().map(|j| j.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, every alpha job once");
    let cancelled = admin
        .list_jobs(ListJobsRequest { states: vec![JobState::Cancelled as i32], ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(cancelled.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0]]);
}

#[tokio::test]
async fn canary_and_schedule_requests_are_validated() {
    let server = TestServer::builder().configure(|c| c.platform.workers = 0).start().await;
    let mut admin = server.client().await.admin();
    let status =
        admin.enqueue_canary_job(EnqueueCanaryJobRequest { duration_ms: 60_001, fail_attempts: 11 }).await.unwrap_err();
    assert_invalid_fields(&status, &["duration_ms", "fail_attempts"]);
    for name in ["", "   ", &"n".repeat(101)] {
        assert_invalid_fields(
            &admin.pause_schedule(PauseScheduleRequest { name: name.to_owned() }).await.unwrap_err(),
            &["name"],
        );
        assert_invalid_fields(
            &admin.resume_schedule(ResumeScheduleRequest { name: name.to_owned() }).await.unwrap_err(),
            &["name"],
        );
    }
    let status = admin.pause_schedule(PauseScheduleRequest { name: "ghost".to_owned() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let status = admin.resume_schedule(ResumeScheduleRequest { name: "ghost".to_owned() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn job_rpcs_need_the_admin_scope() {
    let server = TestServer::builder().configure(|c| c.platform.workers = 0).start().await;
    let key = server.create_key(&[medley_server::auth::Scope::Import]).await;
    let mut admin = server.client_with_key(&key).await.admin();
    let status = admin.list_jobs(ListJobsRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let status = admin.watch_jobs(WatchJobsRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
}
