use std::{collections::HashSet, time::Duration};

use medley_sdk::pb::{
    CreateApiKeyRequest, GetApiKeyRequest, GetServerInfoRequest, ListApiKeysRequest, RevokeApiKeyRequest, Scope,
};
use medley_tests::TestServer;

use crate::support::reason;

fn create(name: &str, scopes: &[Scope]) -> CreateApiKeyRequest {
    CreateApiKeyRequest { name: name.to_owned(), scopes: scopes.iter().map(|s| *s as i32).collect(), expire_time: None }
}

#[tokio::test]
async fn lifecycle_create_use_get_revoke() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();

    let created = admin.create_api_key(create("ops laptop", &[Scope::Admin])).await.expect("create").into_inner();
    assert!(created.secret.starts_with("mdl_"), "{}", created.secret);
    let key = created.api_key.expect("metadata");
    assert_eq!(key.name, "ops laptop");
    assert_eq!(key.scopes, [Scope::Admin as i32]);
    assert!(created.secret.starts_with(&key.prefix) && key.prefix.len() < created.secret.len());
    assert!(key.revoke_time.is_none() && key.last_use_time.is_none());

    // The new key works, and its use is recorded (asynchronously, so poll briefly).
    let mut with_new = server.client_with_key(&created.secret).await.admin();
    with_new.get_server_info(GetServerInfoRequest {}).await.expect("new key works");
    let mut used = None;
    for _ in 0..50 {
        let fetched = admin.get_api_key(GetApiKeyRequest { id: key.id.clone() }).await.expect("get").into_inner();
        used = fetched.api_key.and_then(|k| k.last_use_time);
        if used.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(used.is_some(), "last use time recorded");

    // Revoke: the key stops working at once on this instance.
    let revoked = admin.revoke_api_key(RevokeApiKeyRequest { id: key.id.clone() }).await.expect("revoke").into_inner();
    let revoke_time = revoked.api_key.and_then(|k| k.revoke_time).expect("revoke time");
    let status = with_new.get_server_info(GetServerInfoRequest {}).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(reason(&status), "API_KEY_REVOKED");

    // Revoking again is a no-op that keeps the first time, so clients may retry.
    let again =
        admin.revoke_api_key(RevokeApiKeyRequest { id: key.id.clone() }).await.expect("revoke again").into_inner();
    assert_eq!(again.api_key.and_then(|k| k.revoke_time), Some(revoke_time));
}

#[tokio::test]
async fn the_secret_is_never_stored_or_listed() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    let created = admin.create_api_key(create("ci", &[Scope::Read])).await.expect("create").into_inner();
    let listed = admin.list_api_keys(ListApiKeysRequest::default()).await.expect("list").into_inner();
    assert!(!format!("{listed:?}").contains(&created.secret));

    use diesel::{QueryableByName, sql_query, sql_types::Text};
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        dump: String,
    }
    let mut conn = server.db.connect().await;
    let rows: Vec<Row> =
        sql_query("SELECT row_to_json(api_keys)::text AS dump FROM api_keys").load(&mut conn).await.expect("dump");
    assert!(rows.iter().all(|r| !r.dump.contains(&created.secret[4..])), "secret found in the table");
}

#[tokio::test]
async fn listing_pages_newest_first_without_gaps_and_hides_revoked() {
    let server = TestServer::start().await;
    let mut admin = server.client().await.admin();
    let mut ids = Vec::new();
    for i in 0..7 {
        let created =
            admin.create_api_key(create(&format!("k{i}"), &[Scope::Read])).await.expect("create").into_inner();
        ids.push(created.api_key.expect("key").id);
    }
    // The harness's own admin key exists too: 8 in all.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = admin
            .list_api_keys(ListApiKeysRequest { page_size: 3, page_token: token.clone(), show_revoked: false })
            .await
            .expect("page")
            .into_inner();
        assert!(page.api_keys.len() <= 3);
        seen.extend(page.api_keys.into_iter().map(|k| (k.id, k.name)));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8);
    assert_eq!(seen.iter().map(|(id, _)| id).collect::<HashSet<_>>().len(), 8, "no duplicates");
    let names: Vec<&str> = seen.iter().take(7).map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["k6", "k5", "k4", "k3", "k2", "k1", "k0"], "newest first");

    admin.revoke_api_key(RevokeApiKeyRequest { id: ids[0].clone() }).await.expect("revoke");
    let active = admin
        .list_api_keys(ListApiKeysRequest { page_size: 100, ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(active.api_keys.len(), 7);
    assert!(active.next_page_token.is_empty());
    let all = admin
        .list_api_keys(ListApiKeysRequest { page_size: 100, show_revoked: true, ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.api_keys.len(), 8);
}

#[tokio::test]
async fn cli_made_keys_and_rpc_made_keys_are_the_same_keys() {
    let server = TestServer::start().await;
    // The harness made its admin key through the same function `medley keys create` uses.
    let listed =
        server.client().await.admin().list_api_keys(ListApiKeysRequest::default()).await.expect("list").into_inner();
    assert_eq!(listed.api_keys.len(), 1);
    assert!(server.admin_key.starts_with(&listed.api_keys[0].prefix));
}
