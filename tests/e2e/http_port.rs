use medley_sdk::pb::GetServerInfoRequest;
use medley_tests::{TestServer, http::request};

#[tokio::test]
async fn metrics_count_calls_by_method_and_code() {
    let server = TestServer::start().await;
    let admin = server.client().await.admin();
    admin.clone().get_server_info(GetServerInfoRequest {}).await.expect("ok call");
    let status = server.anonymous_client().await.admin().get_server_info(GetServerInfoRequest {}).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    let response = request(server.http_addr(), "GET", "/metrics", &[], b"").await;
    assert_eq!(response.status, 200);
    let text = response.text();
    assert!(
        text.contains(
            r#"medley_grpc_calls_total{service="medley.v1.AdminService",method="GetServerInfo",code="OK"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"method="GetServerInfo",code="UNAUTHENTICATED"} 1"#), "{text}");
    assert!(text.contains("medley_db_pool_connections"), "{text}");
}

#[tokio::test]
async fn livez_answers() {
    let server = TestServer::start().await;
    let response = request(server.http_addr(), "GET", "/livez", &[], b"").await;
    assert_eq!((response.status, response.text().as_str()), (200, "ok"));
}

#[tokio::test]
async fn grpc_web_calls_work_over_http1_with_cors() {
    let server = TestServer::start().await;
    let grpc_addr: std::net::SocketAddr = server.running().grpc_addr;
    // An empty HealthCheckRequest: one uncompressed frame of length 0.
    let frame = [0_u8, 0, 0, 0, 0];
    let response = request(
        grpc_addr,
        "POST",
        "/grpc.health.v1.Health/Check",
        &[("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1"), ("origin", "https://app.example")],
        &frame,
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert!(response.header("x-request-id").is_some(), "request ids are propagated");
    // Data frame (flag 0) with status SERVING (field 1 = 1), then a trailer frame (flag 0x80).
    assert_eq!(&response.body[..7], &[0, 0, 0, 0, 2, 8, 1]);
    let trailers = String::from_utf8_lossy(&response.body[7 + 5..]).to_ascii_lowercase();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    let preflight = request(
        grpc_addr,
        "OPTIONS",
        "/medley.v1.AdminService/GetServerInfo",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization,content-type,x-grpc-web"),
        ],
        b"",
    )
    .await;
    assert!(preflight.status == 200 || preflight.status == 204, "{preflight:?}");
    assert!(preflight.header("access-control-allow-origin").is_some());
}
