//! `ImportBatch`: mixed items, per-item results, order, repeats, failures that stay alone.

use medley_sdk::pb::{self, import_batch_request::Item, import_item_result::Result as R};
use medley_tests::TestServer;

use super::{anime, episodes, video};

fn item(item: Item) -> pb::ImportBatchRequest {
    pb::ImportBatchRequest { item: Some(item) }
}

#[tokio::test]
async fn mixed_items_get_one_result_each_in_order() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let mut bad = anime("bad", "");
    bad.year = Some(3000);
    let items = vec![
        item(Item::Anime(anime("1", "One"))),
        item(Item::Episodes(episodes("1", 1..=12))),
        item(Item::Video(video("1", 1, "610", pb::TranslationType::Voice, 100))),
        item(Item::Anime(bad)),
        item(Item::Episodes(episodes("missing", 1..=2))),
        pb::ImportBatchRequest { item: None },
        // The same anime again in the same stream: applied after the first, unchanged.
        item(Item::Anime(anime("1", "One"))),
        item(Item::Video(video("1", 2, "610", pb::TranslationType::Voice, 100))),
    ];
    let response = catalog.import_batch(tokio_stream::iter(items)).await.unwrap().into_inner();
    assert_eq!(response.results.len(), 8);
    assert!(response.results.iter().enumerate().all(|(i, r)| r.index == i as i64));
    let result = |i: usize| response.results[i].result.clone().unwrap();
    assert!(matches!(result(0), R::Anime(a) if a.outcome == pb::ImportOutcome::Created as i32));
    assert!(matches!(result(1), R::Episodes(e) if e.created == 12));
    assert!(matches!(result(2), R::Video(v) if v.outcome == pb::ImportOutcome::Created as i32));
    let R::Error(error) = result(3) else { panic!("bad anime must fail") };
    assert_eq!(error.code, tonic::Code::InvalidArgument as i32);
    assert!(
        error.fields.contains(&"anime.title".to_owned()) && error.fields.contains(&"anime.year".to_owned()),
        "{error:?}"
    );
    let R::Error(error) = result(4) else { panic!("unknown anime must fail") };
    assert_eq!(error.code, tonic::Code::FailedPrecondition as i32);
    let R::Error(error) = result(5) else { panic!("empty item must fail") };
    assert_eq!(error.fields, ["item"]);
    assert!(matches!(result(6), R::Anime(a) if a.outcome == pb::ImportOutcome::Unchanged as i32));
    assert!(matches!(result(7), R::Video(v) if v.outcome == pb::ImportOutcome::Created as i32));
    assert_eq!((response.created, response.updated, response.unchanged, response.failed), (4, 0, 1, 3));

    // Nothing of the failed items was written.
    let source = |id: &str| pb::GetAnimeRequest {
        lookup: Some(pb::get_anime_request::Lookup::Source(pb::SourceRef {
            source_name: "test-source".into(),
            source_id: id.into(),
        })),
    };
    assert_eq!(catalog.get_anime(source("bad")).await.unwrap_err().code(), tonic::Code::NotFound);
    assert_eq!(catalog.get_anime(source("missing")).await.unwrap_err().code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn a_large_batch_spans_chunks_and_a_rerun_changes_nothing() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let build = || {
        (0..300).flat_map(|i| {
            let id = i.to_string();
            let mut items =
                vec![item(Item::Anime(anime(&id, &format!("Title {i}")))), item(Item::Episodes(episodes(&id, 1..=12)))];
            for n in 1..=12 {
                items.push(item(Item::Video(video(&id, n, "610", pb::TranslationType::Voice, 100))));
            }
            items
        })
    };
    let first = catalog.import_batch(tokio_stream::iter(build())).await.unwrap().into_inner();
    assert_eq!(first.results.len(), 300 * 14);
    assert_eq!((first.created, first.failed), (300 * 14, 0));
    let second = catalog.import_batch(tokio_stream::iter(build())).await.unwrap().into_inner();
    assert_eq!((second.unchanged, second.created, second.updated, second.failed), (300 * 14, 0, 0, 0));
}

#[tokio::test]
async fn a_database_outage_fails_items_as_unavailable_and_a_resend_applies_them() {
    let proxy = medley_tests::ChaosProxy::start(medley_tests::db::server_addr()).await;
    let server = TestServer::builder().database_through(proxy.addr()).start().await;
    let mut catalog = server.client().await.catalog();
    // The first call also caches the key, so calls during the outage reach the service.
    catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime("0", "Zero")) }).await.unwrap();
    let items = || vec![item(Item::Anime(anime("1", "One"))), item(Item::Episodes(episodes("1", 1..=3)))];

    proxy.cut();
    let status = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime("1", "One")) }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let response = catalog.import_batch(tokio_stream::iter(items())).await.unwrap().into_inner();
    assert_eq!(response.failed, 2);
    for result in &response.results {
        let Some(R::Error(error)) = &result.result else { panic!("{result:?}") };
        assert_eq!(error.code, tonic::Code::Unavailable as i32, "{error:?}");
    }

    proxy.restore();
    // Pooled connections broken by the cut are replaced on use; resend until the pool is back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let response = loop {
        let response = catalog.import_batch(tokio_stream::iter(items())).await.unwrap().into_inner();
        if response.failed == 0 {
            break response;
        }
        assert!(std::time::Instant::now() < deadline, "the database never came back: {response:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(response.created, 2, "nothing of the failed attempts was written: {response:?}");
}

#[tokio::test]
async fn an_item_with_a_nul_fails_alone_and_the_rest_of_its_chunk_is_applied() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let mut nul = anime("3", "Three");
    nul.description = Some("broken\u{0}description".into());
    let mut player = video("1", 2, "610", pb::TranslationType::Voice, 100);
    player.player.as_mut().expect("a player").quality = Some("720p\u{0}".into());
    let items = vec![
        item(Item::Anime(anime("1", "One"))),
        item(Item::Anime(anime("2", "Two"))),
        item(Item::Anime(nul)),
        item(Item::Episodes(episodes("1", 1..=3))),
        item(Item::Video(video("1", 1, "610", pb::TranslationType::Voice, 100))),
        item(Item::Video(player)),
    ];
    let response = catalog.import_batch(tokio_stream::iter(items)).await.unwrap().into_inner();
    assert_eq!((response.created, response.failed), (4, 2), "{response:?}");
    let result = |i: usize| response.results[i].result.clone().unwrap();
    let R::Error(error) = result(2) else { panic!("the NUL item must fail") };
    assert_eq!(error.code, tonic::Code::InvalidArgument as i32);
    assert_eq!(error.fields, ["anime.description"]);
    let R::Error(error) = result(5) else { panic!("the NUL player must fail") };
    assert_eq!(error.fields, ["video.player.quality"]);
    for i in [0, 1, 4] {
        assert!(!matches!(result(i), R::Error(_)), "item {i} applied: {:?}", result(i));
    }
    assert!(matches!(result(3), R::Episodes(e) if e.created == 3));
}
