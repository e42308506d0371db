use std::{net::SocketAddr, time::Duration};

use medley_sdk::pb::ListApiKeysRequest;
use medley_server::auth::Scope;
use medley_tests::{ChaosProxy, TestServer};
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
