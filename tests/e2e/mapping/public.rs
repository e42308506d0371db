//! Public mapping reads (`MEDLEY_PUBLIC_MAPPING`, on by default): lookups without an API key,
//! as IDS.moe answers them, limited per client address across instances; everything else
//! still needs its key.

use medley_sdk::pb;
use medley_server::{auth::Scope, services::mapping::config::MappingSources};
use medley_tests::{TestServer, http::request};
use tonic_types::StatusExt as _;

use super::{all_sources, key, run_pipeline};

/// A server over every fixture, run once, with public lookups on or off and anonymous calls
/// limited to `per_minute` (the minute window, so the test does not race the clock).
async fn loaded(public: bool, per_minute: u32) -> TestServer {
    let server = TestServer::builder()
        .configure(move |c| {
            c.services.mapping.sources = MappingSources(all_sources());
            c.services.mapping.public_mapping = public;
            c.platform.anonymous_rps = 0;
            c.platform.anonymous_rpm = per_minute;
        })
        .start()
        .await;
    let run = run_pipeline(&server.client().await, false).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    server
}

fn get(platform: &str, id: &str) -> pb::GetMappingRequest {
    pb::GetMappingRequest { key: Some(key(platform, id)), view: 0 }
}

#[tokio::test]
async fn lookups_answer_without_a_key_within_a_per_client_limit() {
    let server = loaded(true, 10).await;
    let mut anonymous = server.anonymous_client().await.mapping();
    // Every lookup RPC answers without a key (7 calls).
    let record = anonymous.get_mapping(get("mal", "1")).await.expect("GetMapping").into_inner().record;
    assert_eq!(record.map(|r| r.title).as_deref(), Some("Cowboy Bebop"));
    let batch = pb::BatchGetMappingsRequest { keys: vec![key("mal", "1"), key("anilist", "1")], view: 0 };
    assert_eq!(anonymous.batch_get_mappings(batch).await.expect("batch").into_inner().results.len(), 2);
    let redirect = pb::ResolveRedirectRequest { from: Some(key("mal", "1")), ..Default::default() };
    assert!(anonymous.resolve_redirect(redirect).await.expect("redirect").into_inner().url.contains("myanimelist"));
    let search = pb::SearchAnimeRequest { query: "cowboy bebop".into(), ..Default::default() };
    assert!(!anonymous.search_anime(search).await.expect("search").into_inner().results.is_empty());
    assert!(
        !anonymous
            .list_platforms(pb::ListPlatformsRequest {})
            .await
            .expect("platforms")
            .into_inner()
            .platforms
            .is_empty()
    );
    assert!(anonymous.get_status(pb::GetStatusRequest {}).await.expect("status").into_inner().total_records > 0);
    let export = pb::ExportMappingsRequest { batch_size: 1000, ..Default::default() };
    let mut stream = anonymous.export_mappings(export).await.expect("export").into_inner();
    assert!(stream.message().await.expect("a page").is_some());

    // The pipeline and overrides still need an admin key.
    let denied = anonymous.start_pipeline_run(pb::StartPipelineRunRequest { force: false }).await;
    assert_eq!(denied.expect_err("no key").code(), tonic::Code::Unauthenticated);
    let denied = anonymous.list_overrides(pb::ListOverridesRequest::default()).await;
    assert_eq!(denied.expect_err("no key").code(), tonic::Code::Unauthenticated);
    // A key that is sent must be valid: a bad one is refused, not treated as no key.
    let mut bad = server.client_with_key("mdl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await.mapping();
    assert_eq!(bad.get_mapping(get("mal", "1")).await.expect_err("bad key").code(), tonic::Code::Unauthenticated);

    // Ten anonymous calls a minute from this address: the refused ones above did not count
    // (auth refused them first); three more go, the next is refused with the wait.
    for _ in 0..3 {
        anonymous.get_mapping(get("mal", "1")).await.expect("within the limit");
    }
    let refused = anonymous.get_mapping(get("mal", "1")).await.expect_err("over the limit");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    let details = refused.get_error_details();
    assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("ANONYMOUS_RATE_LIMITED"));
    let wait = details.retry_info().and_then(|r| r.retry_delay).expect("RetryInfo");
    assert!(wait.as_secs() > 1 && wait.as_secs() <= 61, "{wait:?}");
    // A caller with a key is not limited by the anonymous budget; the REST routes stay as they
    // were (public).
    let reader = server.client_with_key(&server.create_key(&[Scope::Read]).await).await;
    reader.mapping().get_mapping(get("mal", "1")).await.expect("a read key still works");
    let rest = request(server.http_addr(), "GET", "/mal/1", &[], b"").await;
    assert_eq!(rest.status, 200, "{}", rest.text());
}

#[tokio::test]
async fn with_public_mapping_off_lookups_need_a_read_key() {
    let server = loaded(false, 600).await;
    let mut anonymous = server.anonymous_client().await.mapping();
    let status = anonymous.get_mapping(get("mal", "1")).await.expect_err("no key");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let reader = server.client_with_key(&server.create_key(&[Scope::Read]).await).await;
    reader.mapping().get_mapping(get("mal", "1")).await.expect("a read key works");
}
