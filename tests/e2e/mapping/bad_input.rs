//! Bad input on every MappingService RPC: precise codes and field violations, never a panic.

use medley_sdk::pb::{self, mapping_override::Change};

use super::{key, loaded_server, season_key};
use crate::support::assert_invalid_fields;

#[tokio::test]
async fn lookups_reject_bad_keys_with_field_violations() {
    let server = loaded_server().await;
    let client = server.client().await;
    let get = |k: Option<pb::MappingKey>| {
        let client = client.clone();
        async move { client.mapping().get_mapping(pb::GetMappingRequest { key: k, view: 0 }).await.expect_err("invalid") }
    };
    assert_invalid_fields(&get(None).await, &["key"]);
    assert_invalid_fields(&get(Some(key("netflix", "1"))).await, &["key.platform_name"]);
    assert_invalid_fields(&get(Some(key("mal", "abc"))).await, &["key.id"]);
    assert_invalid_fields(&get(Some(key("mal", ""))).await, &["key.id"]);
    assert_invalid_fields(&get(Some(key("mal", "99999999999999999999"))).await, &["key.id"]);
    assert_invalid_fields(&get(Some(key("imdb", "12345"))).await, &["key.id"]);
    assert_invalid_fields(&get(Some(key("animeplanet", "a/b"))).await, &["key.id"]);
    assert_invalid_fields(&get(Some(season_key("mal", "1", 1))).await, &["key.season"]);
    assert_invalid_fields(&get(Some(season_key("tvdb", "1", -1))).await, &["key.season"]);
    assert_invalid_fields(&get(Some(key("kurozora", "1"))).await, &["key.platform"]);
    let unknown_enum = pb::MappingKey {
        platform_ref: Some(pb::mapping_key::PlatformRef::Platform(999)),
        id: "1".into(),
        season: None,
    };
    assert_invalid_fields(&get(Some(unknown_enum)).await, &["key.platform"]);
    let no_platform = pb::MappingKey { platform_ref: None, id: "1".into(), season: None };
    assert_invalid_fields(&get(Some(no_platform)).await, &["key.platform"]);

    let batch = |keys: Vec<pb::MappingKey>| {
        let client = client.clone();
        async move {
            client
                .mapping()
                .batch_get_mappings(pb::BatchGetMappingsRequest { keys, view: 0 })
                .await
                .expect_err("invalid")
        }
    };
    assert_invalid_fields(&batch(vec![]).await, &["keys"]);
    assert_invalid_fields(&batch((0..1001).map(|n| key("mal", &(n + 1).to_string())).collect()).await, &["keys"]);
    assert_invalid_fields(
        &batch(vec![key("mal", "1"), key("mal", "x"), key("zzz", "1")]).await,
        &["keys[1].id", "keys[2].platform_name"],
    );

    let bad_view = client
        .mapping()
        .get_mapping(pb::GetMappingRequest { key: Some(key("mal", "1")), view: 42 })
        .await
        .expect_err("bad view");
    assert_invalid_fields(&bad_view, &["view"]);

    let redirect = client
        .mapping()
        .resolve_redirect(pb::ResolveRedirectRequest {
            from: Some(key("mal", "1")),
            target: Some(pb::resolve_redirect_request::Target::ToPlatformName("nope".into())),
        })
        .await
        .expect_err("bad target");
    assert_invalid_fields(&redirect, &["to.platform_name"]);
    let no_from = client.mapping().resolve_redirect(pb::ResolveRedirectRequest { from: None, target: None }).await;
    assert_invalid_fields(&no_from.expect_err("no from"), &["from"]);
}

#[tokio::test]
async fn search_export_watch_and_overrides_reject_bad_input() {
    let server = loaded_server().await;
    let client = server.client().await;
    let search = |query: &str, r#type: i32, year: Option<i32>, page_size: i32| {
        let client = client.clone();
        let query = query.to_owned();
        async move {
            client
                .mapping()
                .search_anime(pb::SearchAnimeRequest { query, r#type, year, page_size, page_token: String::new() })
                .await
                .expect_err("invalid")
        }
    };
    assert_invalid_fields(&search("", 0, None, 0).await, &["query"]);
    assert_invalid_fields(&search("!!!", 0, None, 0).await, &["query"]);
    assert_invalid_fields(&search(&"a".repeat(201), 0, None, 0).await, &["query"]);
    assert_invalid_fields(&search("bebop", 42, Some(1), -1).await, &["type", "year", "page_size"]);
    // A token from another search is refused, not applied to this one.
    let page = |query: &str, page_token: String| {
        let request = pb::SearchAnimeRequest { query: query.into(), page_size: 1, page_token, ..Default::default() };
        let client = client.clone();
        async move { client.mapping().search_anime(request).await }
    };
    let first = page("cowboy bebop", String::new()).await.expect("search").into_inner();
    assert!(!first.next_page_token.is_empty());
    assert_invalid_fields(&page("bebop", first.next_page_token).await.expect_err("other query"), &["page_token"]);
    assert_invalid_fields(&page("bebop", "garbage".into()).await.expect_err("garbage"), &["page_token"]);

    let mut export = client
        .mapping()
        .export_mappings(pb::ExportMappingsRequest { platform: 999, batch_size: -1, resume_token: "garbage".into() })
        .await
        .map(|_| ())
        .expect_err("invalid");
    assert_invalid_fields(&export, &["platform", "batch_size", "resume_token"]);
    export = client
        .mapping()
        .watch_pipeline_run(pb::WatchPipelineRunRequest { run_id: 0 })
        .await
        .map(|_| ())
        .expect_err("invalid");
    assert_invalid_fields(&export, &["run_id"]);
    let unknown = client.mapping().watch_pipeline_run(pb::WatchPipelineRunRequest { run_id: 987_654 }).await;
    assert_eq!(unknown.map(|_| ()).expect_err("absent").code(), tonic::Code::NotFound);

    let put = |item: Option<pb::MappingOverride>| {
        let client = client.clone();
        async move { client.mapping().put_override(pb::PutOverrideRequest { r#override: item }).await.expect_err("invalid") }
    };
    assert_invalid_fields(&put(None).await, &["override"]);
    let base = pb::MappingOverride {
        subject: Some(key("mal", "1")),
        change: Some(Change::Title("X".into())),
        ..Default::default()
    };
    assert_invalid_fields(
        &put(Some(pb::MappingOverride { subject: None, ..base.clone() })).await,
        &["override.subject"],
    );
    assert_invalid_fields(&put(Some(pb::MappingOverride { change: None, ..base.clone() })).await, &["override.change"]);
    assert_invalid_fields(
        &put(Some(pb::MappingOverride { id: "nope".into(), ..base.clone() })).await,
        &["override.id"],
    );
    assert_invalid_fields(
        &put(Some(pb::MappingOverride { subject: Some(key("tvdb", "76885")), ..base.clone() })).await,
        &["override.subject.platform"],
    );
    assert_invalid_fields(
        &put(Some(pb::MappingOverride { change: Some(Change::Title(" ".into())), ..base.clone() })).await,
        &["override.title"],
    );
    assert_invalid_fields(
        &put(Some(pb::MappingOverride { change: Some(Change::Unlink(999)), ..base.clone() })).await,
        &["override.unlink"],
    );
    let bad_link = pb::PlatformId { platform: pb::Platform::Imdb as i32, id: "x".into(), ..Default::default() };
    assert_invalid_fields(
        &put(Some(pb::MappingOverride { change: Some(Change::Link(bad_link)), ..base })).await,
        &["override.link.id"],
    );
    let delete = client.mapping().delete_override(pb::DeleteOverrideRequest { id: "x".into() }).await;
    assert_invalid_fields(&delete.expect_err("invalid"), &["id"]);
    let list =
        client.mapping().list_overrides(pb::ListOverridesRequest { page_size: -1, page_token: "zz".into() }).await;
    assert_invalid_fields(&list.expect_err("invalid"), &["page_size", "page_token"]);
}
