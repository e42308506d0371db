//! Manual corrections survive runs and apply on the next one.

use medley_sdk::pb::{self, Platform, mapping_override::Change};

use super::{get, ids_on, key, loaded_server, run_pipeline};

#[tokio::test]
async fn overrides_apply_at_the_next_run_and_survive_later_ones() {
    let server = loaded_server().await;
    let client = server.client().await;
    let put = |subject: pb::MappingKey, change: Change| {
        let client = client.clone();
        async move {
            let item = pb::MappingOverride {
                subject: Some(subject),
                change: Some(change),
                note: "test".into(),
                ..Default::default()
            };
            client
                .mapping()
                .put_override(pb::PutOverrideRequest { r#override: Some(item) })
                .await
                .expect("put")
                .into_inner()
        }
    };
    let link = pb::PlatformId { platform: Platform::Imdb as i32, id: "tt0213338".into(), ..Default::default() };
    let linked = put(key("mal", "1"), Change::Link(link.clone())).await.r#override.expect("override");
    let again = put(key("mal", "1"), Change::Link(link)).await.r#override.expect("override");
    assert_eq!(linked.id, again.id, "putting the same override twice is idempotent");
    put(key("mal", "1"), Change::Title("Cowboy Bebop (fixed)".into())).await;
    put(key("mal", "1"), Change::Unlink(Platform::Trakt as i32)).await;

    let run = run_pipeline(&client, false).await;
    assert_eq!(run.summary.as_ref().map(|s| s.overrides_applied), Some(3), "{run:?}");
    let bebop = get(&client, key("mal", "1")).await.expect("MAL 1");
    assert_eq!(bebop.title, "Cowboy Bebop (fixed)");
    assert!(bebop.synonyms.iter().any(|s| s == "Cowboy Bebop"));
    assert_eq!(ids_on(&bebop, Platform::Imdb), [("tt0213338".to_owned(), None)]);
    assert!(ids_on(&bebop, Platform::Trakt).is_empty());
    assert_eq!(get(&client, key("imdb", "tt0213338")).await.expect("imdb key").id, bebop.id);

    // A later forced run keeps them.
    run_pipeline(&client, true).await;
    assert_eq!(get(&client, key("mal", "1")).await.expect("MAL 1").title, "Cowboy Bebop (fixed)");

    let page =
        client.mapping().list_overrides(pb::ListOverridesRequest { page_size: 2, page_token: String::new() }).await;
    let page = page.expect("list").into_inner();
    assert_eq!(page.overrides.len(), 2);
    let rest = client
        .mapping()
        .list_overrides(pb::ListOverridesRequest { page_size: 2, page_token: page.next_page_token })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.overrides.len(), 1);
    assert!(rest.next_page_token.is_empty());

    for item in page.overrides.iter().chain(&rest.overrides) {
        client.mapping().delete_override(pb::DeleteOverrideRequest { id: item.id.clone() }).await.expect("delete");
    }
    // Deleting again succeeds (retries are harmless).
    client.mapping().delete_override(pb::DeleteOverrideRequest { id: linked.id }).await.expect("delete twice");
    run_pipeline(&client, false).await;
    let restored = get(&client, key("mal", "1")).await.expect("MAL 1");
    assert_eq!(restored.title, "Cowboy Bebop");
    assert_eq!(ids_on(&restored, Platform::Trakt).len(), 1);
}
