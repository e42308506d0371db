use medley_sdk::pb::{CreateApiKeyRequest, GetApiKeyRequest, ListApiKeysRequest, RevokeApiKeyRequest, Scope};
use medley_tests::TestServer;
use prost_types::Timestamp;
use tonic_types::StatusExt as _;

use crate::support::assert_invalid_fields;

fn request(name: &str, scopes: &[i32], expire_time: Option<Timestamp>) -> CreateApiKeyRequest {
    CreateApiKeyRequest { name: name.to_owned(), scopes: scopes.to_vec(), expire_time }
}

#[tokio::test]
async fn create_api_key_rejects_each_bad_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    let admin_scope = Scope::Admin as i32;
    let past = Timestamp { seconds: chrono::Utc::now().timestamp() - 10, nanos: 0 };
    let cases: Vec<(CreateApiKeyRequest, Vec<&str>)> = vec![
        (request("", &[admin_scope], None), vec!["name"]),
        (request("   ", &[admin_scope], None), vec!["name"]),
        (request(&"x".repeat(101), &[admin_scope], None), vec!["name"]),
        (request("bell\u{7}", &[admin_scope], None), vec!["name"]),
        (request("k", &[], None), vec!["scopes"]),
        (request("k", &[Scope::Unspecified as i32], None), vec!["scopes[0]"]),
        (request("k", &[admin_scope, 99], None), vec!["scopes[1]"]),
        (request("k", &[admin_scope], Some(past)), vec!["expire_time"]),
        (request("k", &[admin_scope], Some(Timestamp { seconds: 4_000_000_000, nanos: -5 })), vec!["expire_time"]),
        (request("", &[], Some(Timestamp { seconds: 1, nanos: 0 })), vec!["name", "scopes", "expire_time"]),
    ];
    for (bad, fields) in cases {
        let status = admin.create_api_key(bad.clone()).await.unwrap_err();
        assert_invalid_fields(&status, &fields);
    }
    let listed =
        admin.list_api_keys(ListApiKeysRequest { show_revoked: true, ..Default::default() }).await.expect("list");
    assert_eq!(listed.into_inner().api_keys.len(), 1, "only the harness's key exists");
}

#[tokio::test]
async fn a_name_of_100_characters_and_a_future_expiry_are_accepted() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    let future = Timestamp { seconds: chrono::Utc::now().timestamp() + 3600, nanos: 0 };
    let created = admin
        .create_api_key(request(&"é".repeat(100), &[Scope::Read as i32], Some(future)))
        .await
        .expect("valid request")
        .into_inner();
    assert_eq!(created.api_key.and_then(|k| k.expire_time).map(|t| t.seconds), Some(future.seconds));
}

#[tokio::test]
async fn key_ids_must_be_uuids_and_exist() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    for id in ["", "42", "not-a-uuid", "'; DROP TABLE api_keys; --"] {
        let status = admin.get_api_key(GetApiKeyRequest { id: id.to_owned() }).await.unwrap_err();
        assert_invalid_fields(&status, &["id"]);
        let status = admin.revoke_api_key(RevokeApiKeyRequest { id: id.to_owned() }).await.unwrap_err();
        assert_invalid_fields(&status, &["id"]);
    }
    let missing = uuid::Uuid::new_v4().to_string();
    for status in [
        admin.get_api_key(GetApiKeyRequest { id: missing.clone() }).await.unwrap_err(),
        admin.revoke_api_key(RevokeApiKeyRequest { id: missing.clone() }).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), tonic::Code::NotFound);
        let details = status.get_error_details();
        let resource = details.resource_info().expect("resource info");
        assert_eq!(resource.resource_type, "api_key");
        assert_eq!(resource.resource_name, missing);
    }
}

#[tokio::test]
async fn list_api_keys_rejects_bad_page_sizes_and_tokens() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    for page_size in [-1, i32::MIN] {
        let status = admin.list_api_keys(ListApiKeysRequest { page_size, ..Default::default() }).await.unwrap_err();
        assert_invalid_fields(&status, &["page_size"]);
    }
    // Above the maximum is the maximum (AIP-158), not an error.
    for page_size in [1001, i32::MAX] {
        admin.list_api_keys(ListApiKeysRequest { page_size, ..Default::default() }).await.expect("coerced");
    }
    for token in ["garbage", "eyJmIjoxfQ", &"A".repeat(4096)] {
        let status = admin
            .list_api_keys(ListApiKeysRequest { page_token: token.to_owned(), ..Default::default() })
            .await
            .unwrap_err();
        assert_invalid_fields(&status, &["page_token"]);
    }
    // A token is bound to the filters it was issued for.
    for _ in 0..2 {
        admin.create_api_key(request("k", &[Scope::Read as i32], None)).await.expect("create");
    }
    let page = admin
        .list_api_keys(ListApiKeysRequest { page_size: 1, ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    let status = admin
        .list_api_keys(ListApiKeysRequest { page_size: 1, page_token: page.next_page_token, show_revoked: true })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["page_token"]);
}
