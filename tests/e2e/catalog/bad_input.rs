//! Every RPC's bad input: precise codes and named fields; scopes.

use medley_sdk::pb;
use medley_server::auth::Scope;
use medley_tests::TestServer;

use super::{anime, episodes, video};
use crate::support::assert_invalid_fields;

#[tokio::test]
async fn imports_name_every_bad_field() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let status = catalog.import_anime(pb::ImportAnimeRequest { anime: None }).await.unwrap_err();
    assert_invalid_fields(&status, &["anime"]);
    let mut bad = anime("x y", "");
    bad.source_name = String::new();
    bad.year = Some(1800);
    bad.status = 42;
    bad.kind = -1;
    bad.poster = Some("javascript:alert(1)".into());
    bad.genres = vec![String::new()];
    bad.alternative_titles = vec!["a".repeat(501)];
    bad.episodes_total = Some(-1);
    let status = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(bad) }).await.unwrap_err();
    assert_invalid_fields(
        &status,
        &[
            "anime.source_name",
            "anime.title",
            "anime.year",
            "anime.status",
            "anime.kind",
            "anime.poster",
            "anime.genres[0]",
            "anime.alternative_titles[0]",
            "anime.episodes_total",
        ],
    );

    let mut request = episodes("1", 1..=2);
    request.episodes[1].source_episode_id = "1:1".into();
    request.episodes[0].season = Some(-1);
    let status = catalog.import_episodes(request).await.unwrap_err();
    assert_invalid_fields(&status, &["episodes[1].source_episode_id", "episodes[0].season"]);
    let status = catalog
        .import_episodes(pb::ImportEpisodesRequest { episodes: vec![], ..episodes("1", 1..=1) })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["episodes"]);

    let mut request = video("1", 1, "610", pb::TranslationType::Voice, 2_000_000);
    let player = request.player.as_mut().unwrap();
    player.r#type = pb::PlayerType::Unspecified as i32;
    player.url = "//kodik.info/no-scheme".into();
    player.provider = String::new();
    let status = catalog.import_video(request).await.unwrap_err();
    assert_invalid_fields(&status, &["player.type", "player.url", "player.provider", "player.priority"]);
    let status = catalog
        .import_video(pb::ImportVideoRequest { player: None, ..video("1", 1, "610", pb::TranslationType::Voice, 1) })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["player"]);
}

#[tokio::test]
async fn reads_and_edits_reject_bad_ids_and_filters() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let status = catalog.get_anime(pb::GetAnimeRequest { lookup: None }).await.unwrap_err();
    assert_invalid_fields(&status, &["lookup"]);
    let status = catalog
        .get_anime(pb::GetAnimeRequest { lookup: Some(pb::get_anime_request::Lookup::Id("nope".into())) })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["id"]);
    let status = catalog
        .get_anime(pb::GetAnimeRequest {
            lookup: Some(pb::get_anime_request::Lookup::Id(uuid::Uuid::new_v4().to_string())),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let status = catalog
        .list_anime(pb::ListAnimeRequest {
            page_size: -1,
            status: 9,
            kind: 99,
            year_min: Some(2020),
            year_max: Some(2010),
            order_by: 7,
            page_token: "garbage".into(),
            query: "q".repeat(201),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["page_size", "status", "kind", "year_max", "order_by", "page_token", "query"]);
    let status = catalog
        .list_episodes(pb::ListEpisodesRequest { anime_id: uuid::Uuid::new_v4().to_string(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let status =
        catalog.list_videos(pb::ListVideosRequest { episode_id: "x".into(), ..Default::default() }).await.unwrap_err();
    assert_invalid_fields(&status, &["episode_id"]);
    let status = catalog
        .list_videos(pb::ListVideosRequest { episode_id: uuid::Uuid::new_v4().to_string(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);

    let id = catalog
        .import_anime(pb::ImportAnimeRequest { anime: Some(anime("1", "One")) })
        .await
        .unwrap()
        .into_inner()
        .anime_id;
    let status = catalog
        .update_anime(pb::UpdateAnimeRequest {
            id: id.clone(),
            anime: Some(pb::AnimeImport { year: Some(1), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["year".into(), "source_id".into()] }),
            unlock_fields: Some(prost_types::FieldMask { paths: vec!["nope".into()] }),
        })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["anime.year", "update_mask.paths[1]", "unlock_fields.paths[0]"]);
    let status = catalog.update_anime(pb::UpdateAnimeRequest { id, ..Default::default() }).await.unwrap_err();
    assert_invalid_fields(&status, &["update_mask"]);

    let status = catalog
        .start_import(pb::StartImportRequest { source: "anilibria".into(), mode: 9, max_pages: -1 })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["source", "mode", "max_pages"]);
    let status = catalog.start_import(pb::StartImportRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "no Kodik token is configured: {status:?}");
    assert!(status.message().contains("MEDLEY_KODIK_TOKEN"));
    let status = catalog.cancel_import(pb::CancelImportRequest { run_id: 0 }).await.unwrap_err();
    assert_invalid_fields(&status, &["run_id"]);
    let status = catalog.cancel_import(pb::CancelImportRequest { run_id: 999_999 }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let status = catalog.watch_import(pb::WatchImportRequest { run_id: -1 }).await.map(|_| ()).unwrap_err();
    assert_invalid_fields(&status, &["run_id"]);
    let mut watch = catalog.watch_import(pb::WatchImportRequest { run_id: 999_999 }).await;
    assert_eq!(watch.as_mut().map(|_| ()).unwrap_err().code(), tonic::Code::NotFound);
    let status =
        catalog.list_import_runs(pb::ListImportRunsRequest { page_size: -5, ..Default::default() }).await.unwrap_err();
    assert_invalid_fields(&status, &["page_size"]);
    catalog
        .list_import_runs(pb::ListImportRunsRequest { page_size: 5000, ..Default::default() })
        .await
        .expect("above the maximum is the maximum");
}

#[tokio::test]
async fn scopes_guard_imports_edits_and_the_importer() {
    let server = TestServer::start().await;
    let read = server.create_key(&[Scope::Read]).await;
    let import = server.create_key(&[Scope::Import]).await;
    let mut reader = server.client_with_key(&read).await.catalog();
    let mut importer = server.client_with_key(&import).await.catalog();
    let request = pb::ImportAnimeRequest { anime: Some(anime("1", "One")) };
    assert_eq!(reader.import_anime(request.clone()).await.unwrap_err().code(), tonic::Code::PermissionDenied);
    let id = importer.import_anime(request).await.unwrap().into_inner().anime_id;
    reader.list_anime(pb::ListAnimeRequest::default()).await.unwrap();
    let unlock = Some(prost_types::FieldMask { paths: vec!["title".into()] });
    let edit = pb::UpdateAnimeRequest { id, unlock_fields: unlock, ..Default::default() };
    assert_eq!(importer.update_anime(edit).await.unwrap_err().code(), tonic::Code::PermissionDenied);
    assert_eq!(
        importer.start_import(pb::StartImportRequest::default()).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    let mut anonymous = server.anonymous_client().await.catalog();
    assert_eq!(
        anonymous.list_anime(pb::ListAnimeRequest::default()).await.unwrap_err().code(),
        tonic::Code::Unauthenticated
    );
}
