//! Lookups over gRPC: single and batch, redirects, search, platforms, export, auth.

use medley_sdk::pb::{self, Platform, resolve_redirect_request::Target};
use medley_server::auth::Scope;

use super::{export_all, get, ids_on, key, loaded_server, season_key};

#[tokio::test]
async fn lookups_accept_every_alias_and_enum_and_batches_stay_aligned() {
    let server = loaded_server().await;
    let client = server.client().await;
    let bebop = get(&client, key("mal", "1")).await.expect("MAL 1");
    for alias in ["myanimelist", "MAL", "ma", "ml", "myanimelist.net"] {
        assert_eq!(get(&client, key(alias, "1")).await.expect(alias).id, bebop.id);
    }
    let by_enum = pb::MappingKey {
        platform_ref: Some(pb::mapping_key::PlatformRef::Platform(Platform::Anilist as i32)),
        id: "0001".into(),
        season: None,
    };
    assert_eq!(get(&client, by_enum).await.expect("enum + leading zeros").id, bebop.id);
    // AOD adds the year, the type, synonyms and ANN/Simkl; ARM adds Annict and Syoboi.
    assert_eq!(bebop.year, Some(1998));
    assert_eq!(bebop.r#type, pb::MediaType::Tv as i32);
    assert!(bebop.synonyms.iter().any(|s| s == "カウボーイビバップ"));
    assert_eq!(ids_on(&bebop, Platform::Annict), [("360".to_owned(), None)]);
    assert_eq!(ids_on(&bebop, Platform::Animenewsnetwork), [("13".to_owned(), None)]);
    let ann = bebop.ids.iter().find(|i| i.platform == Platform::Animenewsnetwork as i32).expect("ANN");
    assert_eq!(ann.url, "https://www.animenewsnetwork.com/encyclopedia/anime.php?id=13");

    let compact = client
        .mapping()
        .get_mapping(pb::GetMappingRequest { key: Some(key("mal", "1")), view: pb::RecordView::Ids as i32 })
        .await
        .expect("ids view")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(compact.ids.len(), bebop.ids.len());
    assert!(compact.synonyms.is_empty() && compact.ids.iter().all(|i| i.url.is_empty()));
    assert_eq!(compact.title, bebop.title);

    let missing = get(&client, key("anilist", "999999999")).await.expect_err("absent");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert!(missing.message().contains("anilist"), "{missing:?}");

    let keys = vec![key("mal", "1"), key("kitsu", "999999999"), season_key("tvdb", "72025", 2), key("mal", "1")];
    let batch = client
        .mapping()
        .batch_get_mappings(pb::BatchGetMappingsRequest { keys: keys.clone(), view: 0 })
        .await
        .expect("batch")
        .into_inner()
        .results;
    assert_eq!(batch.len(), 4);
    assert_eq!(batch.iter().map(|r| r.found).collect::<Vec<_>>(), [true, false, true, true]);
    assert_eq!(batch.iter().map(|r| r.key.clone().expect("key")).collect::<Vec<_>>(), keys);
    assert_eq!(batch[0].record.as_ref().map(|r| r.id), Some(bebop.id));
    assert!(batch[1].record.is_none());

    let thousand: Vec<_> = (1..=1000).map(|n| key("mal", &n.to_string())).collect();
    let request = pb::BatchGetMappingsRequest { keys: thousand, view: pb::RecordView::Ids as i32 };
    let big = client.mapping().batch_get_mappings(request).await.expect("1000");
    assert_eq!(big.into_inner().results.len(), 1000);
}

#[tokio::test]
async fn redirects_search_platforms_and_export() {
    let server = loaded_server().await;
    let client = server.client().await;
    let redirect = |from: pb::MappingKey, target: Option<Target>| {
        let client = client.clone();
        async move { client.mapping().resolve_redirect(pb::ResolveRedirectRequest { from: Some(from), target }).await }
    };
    let to = |name: &str| Some(Target::ToPlatformName(name.into()));
    let url = |r: tonic::Response<pb::ResolveRedirectResponse>| r.into_inner().url;
    assert_eq!(url(redirect(key("mal", "1"), to("anilist")).await.expect("anilist")), "https://anilist.co/anime/1");
    assert_eq!(url(redirect(key("mal", "1"), None).await.expect("own page")), "https://myanimelist.net/anime/1");
    assert_eq!(
        url(redirect(key("anidb", "23"), to("kurozora")).await.expect("kurozora")),
        "https://kurozora.app/myanimelist.net/anime/1"
    );
    assert_eq!(
        url(redirect(key("mal", "1"), to("trakt")).await.expect("trakt")),
        "https://trakt.tv/shows/30857/seasons/1"
    );
    assert_eq!(
        url(redirect(key("mal", "1"), Some(Target::ToPlatform(Platform::ThemoviedbTv as i32))).await.expect("tmdb")),
        "https://www.themoviedb.org/tv/30991/season/1"
    );
    let no_id = redirect(key("mal", "1"), to("letterboxd")).await.expect_err("no TMDB movie id");
    assert_eq!(no_id.code(), tonic::Code::NotFound);
    let no_page = redirect(key("mal", "1"), to("kaize_id")).await.expect_err("no page per id");
    assert_eq!(no_page.code(), tonic::Code::FailedPrecondition);

    let search = |query: &str, year: Option<i32>| {
        let client = client.clone();
        let query = query.to_owned();
        async move {
            client
                .mapping()
                .search_anime(pb::SearchAnimeRequest { query, year, page_size: 5, ..Default::default() })
                .await
                .expect("search")
                .into_inner()
                .results
        }
    };
    let hits = search("cowboy bebop", None).await;
    assert_eq!(hits.first().and_then(|h| h.record.as_ref()).map(|r| r.title.as_str()), Some("Cowboy Bebop"));
    assert!(hits[0].score > 0.9);
    let typo = search("Cowboy Bebpo", None).await;
    assert_eq!(typo.first().and_then(|h| h.record.as_ref()).map(|r| r.title.as_str()), Some("Cowboy Bebop"));
    let synonym = search("medley sample alt title", None).await;
    assert_eq!(synonym.first().map(|h| h.matched_title.as_str()), Some("Medley Sample Alt Title"));
    assert!(search("cowboy bebop", Some(2001)).await.is_empty(), "the year filter applies");

    // Page by page, the hits are those of one big page, in the same order, none twice; a page
    // size above the maximum is taken as the maximum.
    let mut mapping = client.mapping();
    let request = |page_size, page_token| pb::SearchAnimeRequest {
        query: "cowboy bebop".into(),
        page_size,
        page_token,
        ..Default::default()
    };
    let all = mapping.search_anime(request(5000, String::new())).await.expect("search").into_inner();
    assert!(all.results.len() >= 2 && all.next_page_token.is_empty(), "{}", all.results.len());
    let ids = |results: &[pb::SearchAnimeResult]| -> Vec<i64> {
        results.iter().map(|r| r.record.as_ref().map_or(0, |r| r.id)).collect()
    };
    let (mut paged, mut token) = (Vec::new(), String::new());
    loop {
        let page = mapping.search_anime(request(1, token)).await.expect("page").into_inner();
        assert!(page.results.len() <= 1);
        paged.extend(ids(&page.results));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, ids(&all.results));

    let platforms = client.mapping().list_platforms(pb::ListPlatformsRequest {}).await.expect("platforms").into_inner();
    assert_eq!(platforms.platforms.len(), 29);
    let tvdb = platforms.platforms.iter().find(|p| p.name == "thetvdb").expect("tvdb");
    assert!(tvdb.seasonal && tvdb.aliases.iter().any(|a| a == "tvdb"));
    let kurozora = platforms.platforms.iter().find(|p| p.name == "kurozora").expect("kurozora");
    assert!(!kurozora.lookup);
    assert_eq!(kurozora.via, Platform::Myanimelist as i32);

    let all = export_all(&client, Platform::Unspecified).await;
    let with_trakt = export_all(&client, Platform::Trakt).await;
    assert!(!with_trakt.is_empty() && with_trakt.len() < all.len());
    assert!(with_trakt.iter().all(|r| !ids_on(r, Platform::Trakt).is_empty()));
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
}

#[tokio::test]
#[expect(deprecated, reason = "the deprecated alias is still served, and checked")]
async fn pipeline_operations_need_an_admin_key() {
    let server = loaded_server().await;
    let reader = server.client_with_key(&server.create_key(&[Scope::Read]).await).await;
    assert!(get(&reader, key("mal", "1")).await.is_ok());
    let mut mapping = reader.mapping();
    let denied = [
        mapping.start_pipeline_run(pb::StartPipelineRunRequest { force: false }).await.map(|_| ()),
        mapping.run_pipeline(pb::RunPipelineRequest { force: false }).await.map(|_| ()),
        mapping.list_pipeline_runs(pb::ListPipelineRunsRequest::default()).await.map(|_| ()),
        mapping.cancel_pipeline_run(pb::CancelPipelineRunRequest { run_id: 1 }).await.map(|_| ()),
    ];
    for result in denied {
        assert_eq!(result.expect_err("admin only").code(), tonic::Code::PermissionDenied);
    }
    let anonymous = server.anonymous_client().await;
    let mut anonymous = anonymous.mapping();
    let status = anonymous.start_pipeline_run(pb::StartPipelineRunRequest { force: false }).await;
    assert_eq!(status.expect_err("no key").code(), tonic::Code::Unauthenticated);
}
