use std::{net::SocketAddr, time::Duration};

use medley_sdk::pb::{JobState, ListApiKeysRequest, WatchJobsRequest};
use medley_server::{
    auth::Scope,
    jobs::{JobState as JobStateRow, NewJob},
};
use medley_tests::{ChaosProxy, TestServer};

use crate::support::wait_for_state;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_types::StatusExt as _;

const REDIS: ([u8; 4], u16) = ([127, 0, 0, 1], 6379);

async fn wait_for_health(server: &TestServer, expected: ServingStatus) {
    let mut health = HealthClient::new(server.anonymous_client().await.channel());
    for _ in 0..150 {
        let status = health.check(HealthCheckRequest::default()).await.expect("health answers").into_inner().status();
        if status == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("health never became {expected:?}");
}

#[tokio::test]
async fn database_outage_is_unavailable_with_retry_info_then_recovers() {
    let proxy = ChaosProxy::start(medley_tests::db::server_addr()).await;
    let server = TestServer::builder().database_through(proxy.addr()).start().await;
    let mut admin = server.client().await.admin();
    admin.list_api_keys(ListApiKeysRequest::default()).await.expect("works before the outage");
    let unused_key = server.create_key(&[Scope::Admin]).await;

    proxy.cut();
    let status = admin.list_api_keys(ListApiKeysRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.get_error_details().retry_info().is_some(), "retry info attached");
    assert!(!status.message().contains("127.0.0.1"), "no connection details leak: {}", status.message());
    // A key that must be looked up cannot be checked: that is an outage, not a bad key.
    let status = server
        .client_with_key(&unused_key)
        .await
        .admin()
        .list_api_keys(ListApiKeysRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    wait_for_health(&server, ServingStatus::NotServing).await;

    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving).await;
    admin.list_api_keys(ListApiKeysRequest::default()).await.expect("works after the outage");
}

#[tokio::test]
async fn redis_outage_marks_the_server_not_serving_then_it_recovers() {
    let proxy = ChaosProxy::start(SocketAddr::from(REDIS)).await;
    let server = TestServer::builder().redis_url(format!("redis://{}", proxy.addr())).start().await;
    wait_for_health(&server, ServingStatus::Serving).await;
    let mut watch = server
        .client()
        .await
        .admin()
        .watch_jobs(medley_sdk::pb::WatchJobsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("ok").expect("snapshot");
    assert!(first.snapshot);

    proxy.cut();
    wait_for_health(&server, ServingStatus::NotServing).await;
    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving).await;
    // Events published while the subscription was down are lost: watchers get a fresh snapshot.
    let resync = tokio::time::timeout(Duration::from_secs(15), watch.message())
        .await
        .expect("a message after the outage")
        .expect("ok")
        .expect("stream open");
    assert!(resync.snapshot, "{resync:?}");
}

#[tokio::test]
async fn a_job_that_runs_to_completion_during_a_redis_outage_reaches_open_watchers_afterwards() {
    let proxy = ChaosProxy::start(SocketAddr::from(REDIS)).await;
    let server = TestServer::builder().redis_url(format!("redis://{}", proxy.addr())).start().await;
    wait_for_health(&server, ServingStatus::Serving).await;
    let request = WatchJobsRequest { job_id: 0, kinds: vec!["canary".to_owned()] };
    let mut watch = server.client().await.admin().watch_jobs(request).await.expect("watch").into_inner();
    let first = watch.message().await.expect("ok").expect("snapshot");
    assert!(first.snapshot && first.jobs.is_empty(), "{first:?}");

    proxy.cut();
    wait_for_health(&server, ServingStatus::NotServing).await;
    // Enqueued, run and finished while no event can be published.
    let payload = serde_json::json!({ "duration_ms": 10, "fail_attempts": 0 });
    let (job, _) = server.state().jobs.enqueue(&NewJob::new("canary", payload)).await.expect("enqueue in PostgreSQL");
    wait_for_state(server.state(), job.id, JobStateRow::Succeeded, 30_000).await;
    proxy.restore();
    wait_for_health(&server, ServingStatus::Serving).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let message = tokio::time::timeout(left, watch.message())
            .await
            .expect("the finished job reaches the watcher after the outage")
            .expect("ok")
            .expect("stream open");
        let seen = message.jobs.iter().find(|j| j.id == job.id);
        if seen.is_some_and(|j| j.state == JobState::Succeeded as i32) {
            assert!(message.snapshot, "learnt from the resync snapshot: {message:?}");
            break;
        }
    }
}

/// Writers that import anime until told to stop, counting what was acknowledged and how each
/// failure was answered.
#[derive(Default)]
struct Load {
    acknowledged: std::sync::Mutex<Vec<String>>,
    failures: std::sync::Mutex<Vec<tonic::Status>>,
    stop: std::sync::atomic::AtomicBool,
}

impl Load {
    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn failures(&self) -> usize {
        self.failures.lock().unwrap().len()
    }
}

/// Waits until `done` holds, polling the counters the writers update.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn a_database_cut_under_load_answers_only_unavailable_and_keeps_every_acknowledged_write() {
    use std::sync::{Arc, atomic::Ordering};

    let proxy = ChaosProxy::start(medley_tests::db::server_addr()).await;
    let server = TestServer::builder().database_through(proxy.addr()).start().await;
    let client = server.client_with_key(&server.create_key(&[Scope::Import]).await).await;
    let load = Arc::new(Load::default());
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (mut catalog, load) = (client.catalog(), load.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    if load.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let id = format!("{writer}-{i}");
                    let anime = crate::catalog::anime(&id, &format!("Load {id}"));
                    match catalog.import_anime(medley_sdk::pb::ImportAnimeRequest { anime: Some(anime) }).await {
                        Ok(_) => load.acknowledged.lock().unwrap().push(id),
                        Err(status) => load.failures.lock().unwrap().push(status),
                    }
                }
            })
        })
        .collect();

    until("writes before the outage", || load.acknowledged() >= 40).await;
    proxy.cut();
    until("writers notice the outage", || load.failures() >= 16).await;
    proxy.restore();
    let after_restore = load.acknowledged();
    until("writes after the outage", || load.acknowledged() >= after_restore + 40).await;
    load.stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }

    for status in load.failures.lock().unwrap().iter() {
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert!(status.get_error_details().retry_info().is_some(), "retry info: {status:?}");
    }
    let acknowledged = load.acknowledged.lock().unwrap().clone();
    let mut catalog = client.with_api_key(&server.admin_key).unwrap().catalog();
    for id in &acknowledged {
        let lookup = medley_sdk::pb::get_anime_request::Lookup::Source(medley_sdk::pb::SourceRef {
            source_name: "test-source".into(),
            source_id: id.clone(),
        });
        let found = catalog.get_anime(medley_sdk::pb::GetAnimeRequest { lookup: Some(lookup) }).await;
        assert!(found.is_ok(), "acknowledged write {id} is missing: {found:?}");
    }
}
