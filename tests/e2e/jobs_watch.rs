use std::time::Duration;

use medley_sdk::pb::{EnqueueCanaryJobRequest, JobState, WatchJobsRequest, WatchJobsResponse};
use medley_server::{jobs::NewJob, redis::keys::Topic};
use medley_tests::{
    TestServer,
    handlers::{COUNTING, Recorder, test_registry},
};
use tokio_stream::StreamExt as _;
use tonic::Streaming;

/// Reads the next message, failing after 10 s.
async fn next(stream: &mut Streaming<WatchJobsResponse>) -> Option<WatchJobsResponse> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a message within 10 s")
        .map(|m| m.expect("ok"))
}

fn state_rank(state: i32) -> i32 {
    match JobState::try_from(state).unwrap_or(JobState::Unspecified) {
        JobState::Queued => 1,
        JobState::Running => 2,
        JobState::Succeeded | JobState::Dead | JobState::Cancelled => 3,
        _ => 0,
    }
}

#[tokio::test]
async fn watching_one_canary_goes_from_snapshot_to_success_then_ends() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    let job = admin
        .enqueue_canary_job(EnqueueCanaryJobRequest { duration_ms: 600, fail_attempts: 0 })
        .await
        .expect("enqueue")
        .into_inner()
        .job
        .expect("job");
    let mut stream =
        admin.watch_jobs(WatchJobsRequest { job_id: job.id, kinds: vec![] }).await.expect("watch").into_inner();
    let started = std::time::Instant::now();
    let first = next(&mut stream).await.expect("snapshot");
    assert!(first.snapshot);
    assert_eq!(first.jobs.len(), 1);
    let mut rank = state_rank(first.jobs[0].state);
    let mut progress_updates = 0;
    let mut last = first.jobs[0].clone();
    while let Some(message) = next(&mut stream).await {
        assert!(!message.snapshot);
        let job = message.jobs.into_iter().next().expect("one job");
        let this = state_rank(job.state);
        assert!(this >= rank, "state went backwards: {last:?} then {job:?}");
        if job.state == JobState::Running as i32 && job.progress.is_some() {
            progress_updates += 1;
        }
        rank = this;
        last = job;
    }
    assert_eq!(last.state, JobState::Succeeded as i32, "the stream ends at the terminal state: {last:?}");
    assert!(last.result_json.contains("worker"), "{}", last.result_json);
    // 11 reports over ~600 ms, coalesced to at most one per 250 ms (plus the first and the
    // final one), however long the run took on this machine.
    let allowed = started.elapsed().as_millis() / 250 + 2;
    assert!(
        progress_updates >= 1 && progress_updates as u128 <= allowed,
        "{progress_updates} updates, {allowed} allowed"
    );
}

#[tokio::test]
async fn a_watcher_on_b_sees_a_job_enqueued_on_a_and_run_by_a_third_worker() {
    let recorder = Recorder::default();
    let a =
        TestServer::builder().registry(test_registry(&recorder)).configure(|c| c.platform.workers = 0).start().await;
    let b = TestServer::builder()
        .registry(test_registry(&recorder))
        .configure(|c| c.platform.workers = 0)
        .join(&a)
        .start()
        .await;
    let worker = a.spawn_worker(medley_server::jobs::default_registry(&a.state().db), |_| {}).await;

    let mut watch = b
        .client()
        .await
        .admin()
        .watch_jobs(WatchJobsRequest { job_id: 0, kinds: vec!["canary".to_owned()] })
        .await
        .expect("watch")
        .into_inner();
    let snapshot = next(&mut watch).await.expect("snapshot");
    assert!(snapshot.snapshot && snapshot.jobs.is_empty(), "{snapshot:?}");

    let job = a
        .client()
        .await
        .admin()
        .enqueue_canary_job(EnqueueCanaryJobRequest { duration_ms: 100, fail_attempts: 0 })
        .await
        .expect("enqueue")
        .into_inner()
        .job
        .expect("job");
    let mut states = Vec::new();
    let mut worker_seen = String::new();
    while states.last() != Some(&(JobState::Succeeded as i32)) {
        let message = next(&mut watch).await.expect("stream goes on");
        for update in message.jobs {
            assert_eq!(update.id, job.id);
            if !update.worker.is_empty() {
                worker_seen = update.worker.clone();
            }
            if states.last() != Some(&update.state) {
                states.push(update.state);
            }
        }
    }
    assert_eq!(states, [JobState::Queued as i32, JobState::Running as i32, JobState::Succeeded as i32]);
    assert_eq!(worker_seen, format!("worker-{}", worker.state.info.instance_id));
    assert_ne!(worker_seen, format!("worker-{}", a.state().info.instance_id));
    assert_ne!(worker_seen, format!("worker-{}", b.state().info.instance_id));
}

#[tokio::test]
async fn a_watcher_that_never_reads_neither_blocks_workers_nor_grows_memory() {
    let recorder = Recorder::default();
    let server =
        TestServer::builder().registry(test_registry(&recorder)).configure(|c| c.platform.workers = 16).start().await;
    // Clients with small HTTP/2 windows, so unread messages back up into the server instead of
    // being absorbed by the client's buffers (2 MB per stream by default).
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let channel = tonic::transport::Endpoint::from_shared(server.url.clone())
            .expect("url")
            .initial_stream_window_size(Some(16 * 1024))
            .initial_connection_window_size(Some(16 * 1024))
            .connect()
            .await
            .expect("connect");
        let header: tonic::metadata::MetadataValue<_> = format!("Bearer {}", server.admin_key).parse().expect("ascii");
        let mut admin = medley_sdk::pb::admin_service_client::AdminServiceClient::with_interceptor(
            channel.clone(),
            move |mut request: tonic::Request<()>| {
                request.metadata_mut().insert("authorization", header.clone());
                Ok(request)
            },
        );
        let mut stream = admin.watch_jobs(WatchJobsRequest::default()).await.expect("watch").into_inner();
        assert!(next(&mut stream).await.expect("snapshot").snapshot);
        // The channel must outlive the stream: dropping it would stall the stream client-side.
        stalled.push((channel, stream));
    }
    // ~3 events per job: several times what the stalled streams' buffers hold.
    let jobs: Vec<NewJob> = (0..3000).map(|n| NewJob::new(COUNTING, serde_json::json!({ "n": n }))).collect();
    server.state().jobs.enqueue_many(&jobs).await.expect("enqueue");
    // Workers blocked by a stalled watcher would never get here (no timing assertion: a slow
    // machine is not a blocked worker).
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    loop {
        let depth = server.state().jobs.depth().await.expect("depth");
        if !depth.iter().any(|(kind, _, _)| kind == COUNTING) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "workers stopped: {depth:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recorder.runs().len(), 3000);
    // What is held for the stalled watchers is bounded by the hub's capacity.
    assert!(server.state().hub.backlog(Topic::Jobs) <= medley_server::progress::TOPIC_CAPACITY);
    // A stalled watcher that reads again gets what its buffers held, then a fresh snapshot
    // instead of the thousands of changes it missed.
    let (_channel, stream) = &mut stalled[0];
    let mut read = 0;
    let snapshot = loop {
        let message = next(stream).await.expect("stream open");
        read += 1;
        if message.snapshot {
            break message;
        }
        assert!(read < 6000, "no resynchronising snapshot after {read} messages");
    };
    assert!(read < 6000, "{read}");
    assert!(snapshot.jobs.len() <= 1000);
}

#[tokio::test]
async fn open_watch_streams_end_with_unavailable_when_the_server_shuts_down() {
    let mut server = TestServer::start().await;
    let mut watch =
        server.client().await.admin().watch_jobs(WatchJobsRequest::default()).await.expect("watch").into_inner();
    assert!(next(&mut watch).await.expect("snapshot").snapshot);
    server.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(10), watch.message()).await.expect("the stream ends");
    let status = end.expect_err("not a clean end: the client must watch again elsewhere");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
}
