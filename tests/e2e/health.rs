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
async fn shutdown_reports_not_serving_then_stops_cleanly() {
    let mut server = TestServer::start().await;
    let url = server.url.clone();
    server.stop().await;
    let connect = medley_sdk::Client::connect(url).await;
    assert!(connect.is_err(), "the port is closed after shutdown");
}
