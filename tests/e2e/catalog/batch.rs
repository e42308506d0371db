//! `ImportBatch`: mixed items, per-item results, order, repeats, failures that stay alone,
//! answers per chunk while the client is still sending.

use std::time::Duration;

use medley_sdk::pb::{self, import_batch_request::Item, import_item_result::Result as R};
use medley_tests::TestServer;
use prost::Message as _;
use tokio_stream::{StreamExt as _, wrappers::ReceiverStream};

use super::{anime, episodes, video};

fn item(item: Item) -> pb::ImportBatchRequest {
    pb::ImportBatchRequest { item: Some(item) }
}

/// The fields a failed item's BadRequest names.
fn fields(status: &tonic_types::pb::Status) -> Vec<String> {
    status
        .details
        .iter()
        .filter(|any| any.type_url.ends_with("google.rpc.BadRequest"))
        .flat_map(|any| {
            tonic_types::pb::BadRequest::decode(any.value.as_slice()).expect("a BadRequest").field_violations
        })
        .map(|violation| violation.field)
        .collect()
}

#[tokio::test]
async fn mixed_items_get_one_result_each_in_order() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let mut catalog = client.catalog();
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
    let response = client.import_batch_all(items).await.unwrap();
    assert_eq!(response.results.len(), 8);
    assert!(response.results.iter().enumerate().all(|(i, r)| r.index == i as i64));
    let result = |i: usize| response.results[i].result.clone().unwrap();
    assert!(matches!(result(0), R::Anime(a) if a.outcome == pb::ImportOutcome::Created as i32));
    assert!(matches!(result(1), R::Episodes(e) if e.created == 12));
    assert!(matches!(result(2), R::Video(v) if v.outcome == pb::ImportOutcome::Created as i32));
    let R::Status(error) = result(3) else { panic!("bad anime must fail") };
    assert_eq!(error.code, tonic::Code::InvalidArgument as i32);
    assert_eq!(fields(&error), ["anime.title", "anime.year"], "{error:?}");
    let R::Status(error) = result(4) else { panic!("unknown anime must fail") };
    assert_eq!(error.code, tonic::Code::FailedPrecondition as i32);
    // The same details as alone: a ResourceInfo naming the missing anime.
    assert!(error.details.iter().any(|any| any.type_url.ends_with("google.rpc.ResourceInfo")), "{error:?}");
    let R::Status(error) = result(5) else { panic!("empty item must fail") };
    assert_eq!(fields(&error), ["item"]);
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
async fn a_large_batch_is_answered_chunk_by_chunk_and_a_rerun_changes_nothing() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let mut catalog = client.catalog();
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
    let mut answers = catalog.import_batch(tokio_stream::iter(build())).await.unwrap().into_inner();
    let mut next = 0;
    let mut messages = 0;
    while let Some(answer) = answers.message().await.unwrap() {
        // Each answer covers the next consecutive items, at most one chunk of them.
        assert!(!answer.results.is_empty() && answer.results.len() <= 1000, "{}", answer.results.len());
        for result in &answer.results {
            assert_eq!(result.index, next);
            next += 1;
        }
        assert_eq!((answer.created, answer.failed), (answer.results.len() as i64, 0));
        messages += 1;
    }
    assert_eq!(next, 300 * 14);
    assert!(messages >= 5, "4,200 items come in at least 5 answers, got {messages}");
    let second = client.import_batch_all(build()).await.unwrap();
    assert_eq!((second.unchanged, second.created, second.updated, second.failed), (300 * 14, 0, 0, 0));
}

#[tokio::test]
async fn a_database_outage_fails_items_as_unavailable_and_a_resend_applies_them() {
    let proxy = medley_tests::ChaosProxy::start(medley_tests::db::server_addr()).await;
    let server = TestServer::builder().database_through(proxy.addr()).start().await;
    let client = server.client().await;
    let mut catalog = client.catalog();
    // The first call also caches the key, so calls during the outage reach the service.
    catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime("0", "Zero")) }).await.unwrap();
    let items = || vec![item(Item::Anime(anime("1", "One"))), item(Item::Episodes(episodes("1", 1..=3)))];

    proxy.cut();
    let status = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime("1", "One")) }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let response = client.import_batch_all(items()).await.unwrap();
    assert_eq!(response.failed, 2);
    for result in &response.results {
        let Some(R::Status(error)) = &result.result else { panic!("{result:?}") };
        assert_eq!(error.code, tonic::Code::Unavailable as i32, "{error:?}");
        assert!(error.details.iter().any(|any| any.type_url.ends_with("google.rpc.RetryInfo")), "{error:?}");
    }

    proxy.restore();
    // Pooled connections broken by the cut are replaced on use; resend until the pool is back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let response = loop {
        let response = client.import_batch_all(items()).await.unwrap();
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
    let client = server.client().await;
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
    let response = client.import_batch_all(items).await.unwrap();
    assert_eq!((response.created, response.failed), (4, 2), "{response:?}");
    let result = |i: usize| response.results[i].result.clone().unwrap();
    let R::Status(error) = result(2) else { panic!("the NUL item must fail") };
    assert_eq!(error.code, tonic::Code::InvalidArgument as i32);
    assert_eq!(fields(&error), ["anime.description"]);
    let R::Status(error) = result(5) else { panic!("the NUL player must fail") };
    assert_eq!(fields(&error), ["video.player.quality"]);
    for i in [0, 1, 4] {
        assert!(!matches!(result(i), R::Status(_)), "item {i} applied: {:?}", result(i));
    }
    assert!(matches!(result(3), R::Episodes(e) if e.created == 3));
}

#[tokio::test]
async fn a_chunk_is_answered_while_the_client_is_still_sending() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let (items, receiver) = tokio::sync::mpsc::channel(2048);
    let mut answers = catalog.import_batch(ReceiverStream::new(receiver)).await.unwrap().into_inner();
    // 1,001 anime: the 1,001st closes the first chunk, whose answer comes while the stream is
    // still open.
    for i in 0..1001 {
        items.send(item(Item::Anime(anime(&i.to_string(), &format!("Title {i}"))))).await.unwrap();
    }
    let first = tokio::time::timeout(Duration::from_secs(30), answers.message()).await;
    let first = first.expect("the first chunk is answered before the stream ends").unwrap().expect("an answer");
    assert_eq!(first.results.len(), 1000);
    assert_eq!(first.created, 1000);
    assert_eq!(first.results.last().map(|r| r.index), Some(999));
    // Applied already: readable by anyone.
    let source = pb::SourceRef { source_name: "test-source".into(), source_id: "999".into() };
    let lookup = pb::GetAnimeRequest { lookup: Some(pb::get_anime_request::Lookup::Source(source)) };
    assert_eq!(catalog.get_anime(lookup).await.unwrap().into_inner().anime.expect("anime").title, "Title 999");

    drop(items);
    let rest: Vec<_> = answers.collect().await;
    let rest: Vec<pb::ImportBatchResponse> = rest.into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(rest.iter().map(|a| a.results.len()).sum::<usize>(), 1);
    assert_eq!(rest[0].results[0].index, 1000);
}
