//! Reads: filters, sorts, cursors, episodes paging.

use medley_sdk::pb;
use medley_tests::TestServer;

use super::{anime, episodes};
use crate::support::assert_invalid_fields;

async fn seed(catalog: &mut medley_sdk::pb::catalog_service_client::CatalogServiceClient<medley_sdk::AuthedChannel>) {
    let rows = [
        ("1", "Cyberpunk: Edgerunners", 2022, pb::AnimeStatus::Completed, pb::AnimeKind::Ona, vec!["Action", "Sci-Fi"]),
        ("2", "Lycoris Recoil", 2022, pb::AnimeStatus::Ongoing, pb::AnimeKind::Tv, vec!["Action"]),
        (
            "3",
            "Sen to Chihiro no Kamikakushi",
            2001,
            pb::AnimeStatus::Completed,
            pb::AnimeKind::Movie,
            vec!["Adventure"],
        ),
        ("4", "Ликорис Рикойл", 2023, pb::AnimeStatus::Upcoming, pb::AnimeKind::Tv, vec!["drama"]),
    ];
    for (id, title, year, status, kind, genres) in rows {
        let mut a = anime(id, title);
        a.year = Some(year);
        a.status = status as i32;
        a.kind = kind as i32;
        a.genres = genres.into_iter().map(str::to_owned).collect();
        catalog.import_anime(pb::ImportAnimeRequest { anime: Some(a) }).await.unwrap();
    }
}

fn titles(response: &pb::ListAnimeResponse) -> Vec<String> {
    response.anime.iter().map(|a| a.title.clone()).collect()
}

#[tokio::test]
async fn list_anime_filters_and_sorts() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    seed(&mut catalog).await;
    let list = async |catalog: &mut pb::catalog_service_client::CatalogServiceClient<_>, request| {
        catalog.list_anime(request).await.unwrap().into_inner()
    };
    let all = list(&mut catalog, pb::ListAnimeRequest::default()).await;
    assert_eq!(
        titles(&all),
        ["Cyberpunk: Edgerunners", "Lycoris Recoil", "Sen to Chihiro no Kamikakushi", "Ликорис Рикойл"]
    );
    let search =
        list(&mut catalog, pb::ListAnimeRequest { query: "  RECOIL lyco ".into(), ..Default::default() }).await;
    assert_eq!(titles(&search), ["Lycoris Recoil"]);
    let cyrillic = list(&mut catalog, pb::ListAnimeRequest { query: "ликорис".into(), ..Default::default() }).await;
    assert_eq!(titles(&cyrillic), ["Ликорис Рикойл"]);
    let alt = list(&mut catalog, pb::ListAnimeRequest { query: "(alt)".into(), ..Default::default() }).await;
    assert_eq!(alt.anime.len(), 4, "alternative titles are searched");
    let percent = list(&mut catalog, pb::ListAnimeRequest { query: "%".into(), ..Default::default() }).await;
    assert!(percent.anime.is_empty(), "LIKE wildcards are literal");
    let genre = list(&mut catalog, pb::ListAnimeRequest { genre: "ACTION".into(), ..Default::default() }).await;
    assert_eq!(titles(&genre), ["Cyberpunk: Edgerunners", "Lycoris Recoil"]);
    let years =
        list(&mut catalog, pb::ListAnimeRequest { year_min: Some(2022), year_max: Some(2022), ..Default::default() })
            .await;
    assert_eq!(years.anime.len(), 2);
    let status =
        list(&mut catalog, pb::ListAnimeRequest { status: pb::AnimeStatus::Ongoing as i32, ..Default::default() })
            .await;
    assert_eq!(titles(&status), ["Lycoris Recoil"]);
    let kind =
        list(&mut catalog, pb::ListAnimeRequest { kind: pb::AnimeKind::Movie as i32, ..Default::default() }).await;
    assert_eq!(titles(&kind), ["Sen to Chihiro no Kamikakushi"]);
    let by_year =
        list(&mut catalog, pb::ListAnimeRequest { order_by: pb::AnimeOrder::YearDesc as i32, ..Default::default() })
            .await;
    assert_eq!(by_year.anime.iter().map(|a| a.year.unwrap()).collect::<Vec<_>>(), [2023, 2022, 2022, 2001]);
}

#[tokio::test]
async fn cursors_walk_every_sort_without_gaps_and_bind_to_filters() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    seed(&mut catalog).await;
    for order in [pb::AnimeOrder::Title, pb::AnimeOrder::UpdatedDesc, pb::AnimeOrder::YearDesc] {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = catalog
                .list_anime(pb::ListAnimeRequest {
                    page_size: 1,
                    page_token: token,
                    order_by: order as i32,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.anime.iter().map(|a| a.id.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 4, "{order:?}");
    }
    let first =
        catalog.list_anime(pb::ListAnimeRequest { page_size: 1, ..Default::default() }).await.unwrap().into_inner();
    let status = catalog
        .list_anime(pb::ListAnimeRequest {
            page_size: 1,
            page_token: first.next_page_token,
            genre: "action".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid_fields(&status, &["page_token"]);
}

#[tokio::test]
async fn episodes_page_by_season_and_number() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let id = catalog
        .import_anime(pb::ImportAnimeRequest { anime: Some(anime("5", "Five")) })
        .await
        .unwrap()
        .into_inner()
        .anime_id;
    let mut request = episodes("5", 1..=5);
    request.episodes.push(pb::EpisodeImport {
        source_episode_id: "5:2:1".into(),
        number: 1,
        season: Some(2),
        title: Some("Second season".into()),
        is_available: Some(false),
    });
    request.episodes.push(pb::EpisodeImport {
        source_episode_id: "5:0:1".into(),
        number: 1,
        season: Some(0),
        ..Default::default()
    });
    catalog.import_episodes(request).await.unwrap();
    let mut order = Vec::new();
    let mut token = String::new();
    loop {
        let page = catalog
            .list_episodes(pb::ListEpisodesRequest {
                anime_id: id.clone(),
                page_size: 2,
                page_token: token,
                available_only: false,
            })
            .await
            .unwrap()
            .into_inner();
        order.extend(page.episodes.iter().map(|e| (e.season, e.number)));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(order, [(0, 1), (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 1)]);
    let available = catalog
        .list_episodes(pb::ListEpisodesRequest {
            anime_id: id,
            page_size: 100,
            available_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(available.episodes.len(), 6);
}
