use medley_tests::TestServer;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

#[tokio::test]
async fn server_and_each_service_report_serving_without_a_key() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.anonymous_client().await.channel());
    for service in ["", "medley.v1.AdminService"] {
        let response =
            health.check(HealthCheckRequest { service: service.to_owned() }).await.expect("check").into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "service {service:?}");
    }
}

#[tokio::test]
async fn unknown_services_are_not_found() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.anonymous_client().await.channel());
    let status = health.check(HealthCheckRequest { service: "medley.v1.Nope".to_owned() }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn shutdown_reports_not_serving_to_watchers_then_closes_the_port() {
    // A Health/Watch stream never ends by itself: shutdown cuts it after the request timeout.
    let mut server = TestServer::builder().configure(|c| c.platform.request_timeout_ms = 1000).start().await;
    let url = server.url.clone();
    let client = server.client().await;
    let mut health = HealthClient::new(client.channel());
    let request = HealthCheckRequest { service: String::new() };
    let mut watch = health.watch(request).await.expect("watch").into_inner();
    let first = watch.message().await.expect("a status").expect("a message");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    // Load balancers watching the health service learn of the drain before the port closes.
    server.running().shutdown();
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), watch.message()).await;
    let next = next.expect("an answer within 10 s").expect("a status").map(|m| m.status);
    assert_eq!(next, Some(ServingStatus::NotServing as i32));
    server.stop().await;
    let connect = medley_sdk::Client::connect(url).await;
    assert!(connect.is_err(), "the port is closed after shutdown");
}
