use diesel::sql_query;
use diesel_async::RunQueryDsl;
use medley_sdk::pb::{GetServerInfoRequest, ListApiKeysRequest};
use medley_server::auth::Scope;
use medley_tests::TestServer;
use tonic::{Code, Request};
use tonic_types::StatusExt as _;

use crate::support::reason;

/// Calls GetServerInfo with a raw `authorization` value (or none).
async fn call_with_header(server: &TestServer, header: Option<&str>) -> Result<(), tonic::Status> {
    let channel = server.anonymous_client().await.channel();
    let mut client = medley_sdk::pb::admin_service_client::AdminServiceClient::new(channel);
    let mut request = Request::new(GetServerInfoRequest {});
    if let Some(value) = header {
        request.metadata_mut().insert("authorization", value.parse().expect("ascii"));
    }
    client.get_server_info(request).await.map(drop)
}

#[tokio::test]
async fn every_way_of_not_being_authenticated() {
    let server = TestServer::start().await;
    let unknown = format!("mdl_{}", "A".repeat(32));
    let cases: [(Option<&str>, &str); 6] = [
        (None, "API_KEY_MISSING"),
        (Some("Basic dXNlcjpwYXNz"), "AUTHORIZATION_MALFORMED"),
        (Some("Bearer"), "AUTHORIZATION_MALFORMED"),
        (Some("Bearer not-a-medley-key"), "API_KEY_MALFORMED"),
        (Some(&format!("Bearer {}x", &unknown)), "API_KEY_MALFORMED"),
        (Some(&format!("Bearer {unknown}")), "API_KEY_UNKNOWN"),
    ];
    for (header, expected) in cases {
        let status = call_with_header(&server, header).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{header:?}: {status:?}");
        assert_eq!(reason(&status), expected, "{header:?}");
        assert!(!status.message().is_empty());
    }
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let server = TestServer::start().await;
    let key = server.create_key(&[Scope::Admin]).await;
    let mut conn = server.db.connect().await;
    sql_query("UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE prefix = $1")
        .bind::<diesel::sql_types::Text, _>(&key[..12])
        .execute(&mut conn)
        .await
        .expect("expire key");
    let status = call_with_header(&server, Some(&format!("Bearer {key}"))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "API_KEY_EXPIRED");
}

#[tokio::test]
async fn lower_scopes_are_permission_denied_on_admin_rpcs() {
    let server = TestServer::start().await;
    for scopes in [vec![Scope::Read], vec![Scope::Import], vec![Scope::Read, Scope::Import]] {
        let key = server.create_key(&scopes).await;
        let mut admin = server.client_with_key(&key).await.admin();
        let status = admin.list_api_keys(ListApiKeysRequest::default()).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{scopes:?}");
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "SCOPE_MISSING");
        assert_eq!(info.metadata.get("required_scope").map(String::as_str), Some("admin"));
        assert!(status.message().contains("admin"), "{}", status.message());
    }
    let admin_key = server.create_key(&[Scope::Admin]).await;
    server
        .client_with_key(&admin_key)
        .await
        .admin()
        .list_api_keys(ListApiKeysRequest::default())
        .await
        .expect("admin may");
}

#[tokio::test]
async fn health_and_reflection_need_no_key_but_admin_does() {
    let server = TestServer::start().await;
    let anonymous = server.anonymous_client().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(anonymous.channel());
    health.check(tonic_health::pb::HealthCheckRequest::default()).await.expect("health is public");
    let status = anonymous.admin().get_server_info(GetServerInfoRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
