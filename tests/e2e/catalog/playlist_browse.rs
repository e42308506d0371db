//! Browsing a synced playlist: search (case- and accent-insensitive, names and original
//! titles), filters, sort orders and cursors, categories, genres and actors, favorites,
//! details fetched from the panel and cached, stream URLs, and bad input.

use medley_sdk::pb::{self, PlaylistItemKind, PlaylistItemOrder};
use medley_server::auth::Scope;
use medley_tests::fake_xtream::{Answer, FakePanel, Family, PASSWORD, USERNAME};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt as _;

use super::playlist_support::{Catalog, playlist_server, synced_playlist};

async fn vod(
    catalog: &mut Catalog,
    parent: &str,
    filter: pb::PlaylistItemFilter,
    order: PlaylistItemOrder,
) -> Vec<String> {
    let request = pb::ListVodRequest {
        parent: parent.into(),
        filter: Some(filter),
        order_by: order as i32,
        page_size: 100,
        page_token: String::new(),
    };
    catalog.list_vod(request).await.unwrap().into_inner().vod.into_iter().map(|f| f.item_id).collect()
}

/// A panel whose films carry everything the filters look at.
async fn rich_panel() -> FakePanel {
    let panel = FakePanel::start(Family::Xui).await;
    let film = |id: i64,
                name: &str,
                o_name: Option<&str>,
                year: i64,
                rating: f64,
                added: i64,
                genre: &str,
                cast: &str| {
        let mut film = json!({"num": id, "name": name, "title": name, "year": year, "stream_type": "movie", "stream_id": id,
            "rating": rating, "added": added, "genre": genre, "cast": cast, "category_id": "1", "category_ids": [1],
            "container_extension": "mkv"});
        if let Some(o_name) = o_name {
            film["o_name"] = json!(o_name);
        }
        film
    };
    panel.set_list(
        "get_vod_streams",
        &json!([
            film(
                1,
                "Le Fabuleux Destin d'Amélie Poulain",
                Some("Amélie"),
                2001,
                8.3,
                1_700_000_300,
                "Comedy, Romance",
                "Audrey Tautou, Mathieu Kassovitz"
            ),
            film(
                2,
                "The Dark Knight",
                None,
                2008,
                9.0,
                1_700_000_100,
                "Drama, Action, Crime",
                "Christian Bale, Heath Ledger"
            ),
            film(
                3,
                "Léon",
                Some("Léon: The Professional"),
                1994,
                8.5,
                1_700_000_200,
                "Crime, Drama",
                "Jean Reno, Natalie Portman"
            ),
            film(4, "Untitled", None, 0, 0.0, 0, "", ""),
        ]),
    );
    panel
}

#[tokio::test]
async fn search_is_case_and_accent_insensitive_over_names_and_original_titles() {
    let server = playlist_server().await;
    let panel = rich_panel().await;
    let mut catalog = server.client().await.catalog();
    let parent = synced_playlist(&mut catalog, &panel).await.name;
    let search = |q: &str| pb::PlaylistItemFilter { query: q.into(), ..Default::default() };
    let order = PlaylistItemOrder::Name;
    assert_eq!(vod(&mut catalog, &parent, search("amelie"), order).await, ["1"]);
    assert_eq!(vod(&mut catalog, &parent, search("AMÉLIE poulain"), order).await, ["1"]);
    assert_eq!(vod(&mut catalog, &parent, search("professional"), order).await, ["3"], "original title");
    assert_eq!(vod(&mut catalog, &parent, search("leon"), order).await, ["3"]);
    assert!(vod(&mut catalog, &parent, search("amelie knight"), order).await.is_empty(), "every word must match");
    assert_eq!(
        vod(&mut catalog, &parent, search("100%_"), order).await,
        Vec::<String>::new(),
        "LIKE characters are literal"
    );
}

#[tokio::test]
async fn filters_sorts_and_cursors() {
    let server = playlist_server().await;
    let panel = rich_panel().await;
    let mut catalog = server.client().await.catalog();
    let parent = synced_playlist(&mut catalog, &panel).await.name;
    let all = pb::PlaylistItemFilter::default();
    // "le fabuleux…" < "leon" < "the dark knight" < "untitled".
    assert_eq!(vod(&mut catalog, &parent, all.clone(), PlaylistItemOrder::Name).await, ["1", "3", "2", "4"]);
    assert_eq!(vod(&mut catalog, &parent, all.clone(), PlaylistItemOrder::Rating).await, ["2", "3", "1", "4"]);
    assert_eq!(vod(&mut catalog, &parent, all.clone(), PlaylistItemOrder::Added).await, ["1", "3", "2", "4"]);
    assert_eq!(vod(&mut catalog, &parent, all.clone(), PlaylistItemOrder::Year).await, ["2", "1", "3", "4"]);
    let only = |f: pb::PlaylistItemFilter| f;
    assert_eq!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { genre: "drama".into(), ..Default::default() }),
            PlaylistItemOrder::Name
        )
        .await,
        ["3", "2"]
    );
    assert_eq!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { actor: "jean reno".into(), ..Default::default() }),
            PlaylistItemOrder::Name
        )
        .await,
        ["3"]
    );
    assert_eq!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { year_min: 1995, year_max: 2005, ..Default::default() }),
            PlaylistItemOrder::Name
        )
        .await,
        ["1"]
    );
    assert_eq!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { min_rating: 8.4, ..Default::default() }),
            PlaylistItemOrder::Rating
        )
        .await,
        ["2", "3"]
    );
    let after = prost_types::Timestamp { seconds: 1_700_000_150, nanos: 0 };
    assert_eq!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { added_after: Some(after), ..Default::default() }),
            PlaylistItemOrder::Added
        )
        .await,
        ["1", "3"]
    );
    assert_eq!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { category_id: "1".into(), ..Default::default() }),
            PlaylistItemOrder::Name
        )
        .await
        .len(),
        4
    );
    assert!(
        vod(
            &mut catalog,
            &parent,
            only(pb::PlaylistItemFilter { category_id: "9".into(), ..Default::default() }),
            PlaylistItemOrder::Name
        )
        .await
        .is_empty()
    );

    // One item per page, in every order, gives the same sequence as one page.
    for order in [PlaylistItemOrder::Name, PlaylistItemOrder::Rating, PlaylistItemOrder::Added, PlaylistItemOrder::Year]
    {
        let mut token = String::new();
        let mut paged = Vec::new();
        loop {
            let request = pb::ListVodRequest {
                parent: parent.clone(),
                order_by: order as i32,
                page_size: 1,
                page_token: token,
                ..Default::default()
            };
            let page = catalog.list_vod(request).await.unwrap().into_inner();
            paged.extend(page.vod.into_iter().map(|f| f.item_id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(paged, vod(&mut catalog, &parent, all.clone(), order).await, "{order:?}");
    }
    // A token is bound to its filters.
    let first = catalog
        .list_vod(pb::ListVodRequest { parent: parent.clone(), page_size: 1, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let misused = pb::ListVodRequest {
        parent: parent.clone(),
        order_by: PlaylistItemOrder::Rating as i32,
        page_size: 1,
        page_token: first.next_page_token,
        ..Default::default()
    };
    assert_eq!(catalog.list_vod(misused).await.unwrap_err().code(), Code::InvalidArgument);
}

#[tokio::test]
async fn categories_genres_actors_and_favorites() {
    let server = playlist_server().await;
    let panel = rich_panel().await;
    let mut catalog = server.client().await.catalog();
    let parent = synced_playlist(&mut catalog, &panel).await.name;
    let categories = catalog
        .list_categories(pb::ListCategoriesRequest { parent: parent.clone(), kind: PlaylistItemKind::Live as i32 })
        .await
        .unwrap()
        .into_inner()
        .categories;
    assert_eq!(
        categories.iter().map(|c| c.category_id.as_str()).collect::<Vec<_>>(),
        ["36", "35", "32", "6"],
        "the panel's order"
    );
    assert!(categories.iter().all(|c| c.kind == PlaylistItemKind::Live as i32));
    assert_eq!(categories[0].item_count, 1);
    assert_eq!(categories[1].item_count, 1, "the stream XUI repeated under 35 counts there");

    let genres = catalog
        .list_genres(pb::ListGenresRequest {
            parent: parent.clone(),
            kind: PlaylistItemKind::Vod as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .genres;
    let shown: Vec<(String, i64)> = genres.into_iter().map(|g| (g.value, g.item_count)).collect();
    assert_eq!(
        shown,
        [
            ("Action".to_owned(), 1),
            ("Comedy".to_owned(), 1),
            ("Crime".to_owned(), 2),
            ("Drama".to_owned(), 2),
            ("Romance".to_owned(), 1)
        ]
    );
    let actors = catalog
        .list_actors(pb::ListActorsRequest { parent: parent.clone(), query: "AUDRÉY".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .actors;
    assert_eq!(actors.iter().map(|a| a.value.as_str()).collect::<Vec<_>>(), ["Audrey Tautou"]);
    let mut token = String::new();
    let mut names = Vec::new();
    loop {
        let page = catalog
            .list_actors(pb::ListActorsRequest {
                parent: parent.clone(),
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        names.extend(page.actors.into_iter().map(|a| a.value));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    // The films' eight actors and the series' three, A to Z, each once.
    assert_eq!(names.len(), 11, "{names:?}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");

    let item = format!("{parent}/vod/2");
    let set = catalog
        .set_favorite(pb::SetFavoriteRequest { item: item.clone() })
        .await
        .unwrap()
        .into_inner()
        .favorite
        .unwrap();
    let again = catalog
        .set_favorite(pb::SetFavoriteRequest { item: item.clone() })
        .await
        .unwrap()
        .into_inner()
        .favorite
        .unwrap();
    assert_eq!(set.create_time, again.create_time, "marking twice changes nothing");
    catalog.set_favorite(pb::SetFavoriteRequest { item: format!("{parent}/live/112233") }).await.unwrap();
    let listed = catalog.list_favorites(pb::ListFavoritesRequest::default()).await.unwrap().into_inner().favorites;
    assert_eq!(listed.len(), 2, "across kinds");
    let films = catalog
        .list_favorites(pb::ListFavoritesRequest { kind: PlaylistItemKind::Vod as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .favorites;
    assert_eq!((films.len(), films[0].display_name.as_str(), films[0].gone), (1, "The Dark Knight", false));
    let marked = catalog
        .list_vod(pb::ListVodRequest { parent: parent.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .vod;
    assert_eq!(marked.iter().filter(|f| f.favorite).map(|f| f.item_id.as_str()).collect::<Vec<_>>(), ["2"]);
    // Favorites are per key.
    let mut other = server.client_with_key(&server.create_key(&[Scope::Admin]).await).await.catalog();
    assert!(other.list_favorites(pb::ListFavoritesRequest::default()).await.unwrap().into_inner().favorites.is_empty());
    catalog.delete_favorite(pb::DeleteFavoriteRequest { item: item.clone() }).await.unwrap();
    catalog.delete_favorite(pb::DeleteFavoriteRequest { item }).await.unwrap();
    let missing = catalog.set_favorite(pb::SetFavoriteRequest { item: format!("{parent}/vod/999") }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn details_come_from_the_panel_once_per_ttl_and_stream_urls_follow_the_account() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let parent = synced_playlist(&mut catalog, &panel).await.name;
    let film = catalog
        .get_vod(pb::GetVodRequest { name: format!("{parent}/vod/130529") })
        .await
        .unwrap()
        .into_inner()
        .vod
        .unwrap();
    assert_eq!(film.item.as_ref().unwrap().display_name, "The Equalizer 2 (2018)");
    assert!(film.duration_seconds > 0 && !film.container_extension.is_empty() && !film.backdrop_urls.is_empty());
    catalog.get_vod(pb::GetVodRequest { name: format!("{parent}/vod/130529") }).await.unwrap();
    assert_eq!(panel.count("get_vod_info"), 1, "the second answer came from the cache");
    let bare = catalog
        .get_vod(pb::GetVodRequest { name: format!("{parent}/vod/303099") })
        .await
        .unwrap()
        .into_inner()
        .vod
        .unwrap();
    assert_eq!(bare.duration_seconds, 0, "info: [] has no details");

    let series = catalog
        .get_series(pb::GetSeriesRequest { name: format!("{parent}/series/3") })
        .await
        .unwrap()
        .into_inner()
        .series
        .unwrap();
    assert!(!series.seasons.is_empty());
    let episodes: Vec<&pb::SeriesEpisode> = series.seasons.iter().flat_map(|s| &s.episodes).collect();
    let containers: std::collections::HashSet<&str> = episodes.iter().map(|e| e.container_extension.as_str()).collect();
    assert!(containers.len() > 1, "per-episode containers: {containers:?}");
    let empty = catalog
        .get_series(pb::GetSeriesRequest { name: format!("{parent}/series/2") })
        .await
        .unwrap()
        .into_inner()
        .series
        .unwrap();
    assert!(empty.seasons.is_empty());

    let url = |name: String, format: pb::StreamFormat| pb::GetStreamUrlRequest { name, format: format as i32 };
    let live = catalog
        .get_stream_url(url(format!("{parent}/live/112233"), pb::StreamFormat::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(live.url, format!("{}/live/{USERNAME}/{PASSWORD}/112233.m3u8", panel.url()));
    assert_eq!(live.format, pb::StreamFormat::Hls as i32);
    let ts =
        catalog.get_stream_url(url(format!("{parent}/live/112233"), pb::StreamFormat::Ts)).await.unwrap().into_inner();
    assert!(ts.url.ends_with("/112233.ts"));
    let movie = catalog
        .get_stream_url(url(format!("{parent}/vod/303099"), pb::StreamFormat::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(movie.url, format!("{}/movie/{USERNAME}/{PASSWORD}/303099.mkv", panel.url()));
    let episode = episodes[0];
    let played =
        catalog.get_stream_url(url(episode.name.clone(), pb::StreamFormat::Unspecified)).await.unwrap().into_inner();
    assert_eq!(
        played.url,
        format!("{}/series/{USERNAME}/{PASSWORD}/{}.{}", panel.url(), episode.episode_id, episode.container_extension)
    );
    let unknown = catalog
        .get_stream_url(url(format!("{parent}/episodes/424242"), pb::StreamFormat::Unspecified))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let wrong = catalog.get_stream_url(url(format!("{parent}/vod/303099"), pb::StreamFormat::Ts)).await.unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    let whole_series =
        catalog.get_stream_url(url(format!("{parent}/series/3"), pb::StreamFormat::Unspecified)).await.unwrap_err();
    assert_eq!(whole_series.code(), Code::InvalidArgument);
    // Another key sees nothing of it.
    let mut other = server.client_with_key(&server.create_key(&[Scope::Read]).await).await.catalog();
    let hidden =
        other.get_stream_url(url(format!("{parent}/live/112233"), pb::StreamFormat::Unspecified)).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    // A panel failing on details is a precise error, not a crash.
    panel.answer("get_series_info", Answer::Html);
    let failing = catalog.get_series(pb::GetSeriesRequest { name: format!("{parent}/series/3000") }).await.unwrap_err();
    assert_eq!(failing.code(), Code::NotFound, "series 3000 is not in the catalog");
}

#[tokio::test]
async fn bad_browse_requests_are_invalid_arguments() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;

    let mut catalog = server.client().await.catalog();
    let parent = synced_playlist(&mut catalog, &panel).await.name;
    let filter = |f: pb::PlaylistItemFilter| pb::ListVodRequest {
        parent: parent.clone(),
        filter: Some(f),
        ..Default::default()
    };
    for (request, field) in [
        (filter(pb::PlaylistItemFilter { year_min: 3000, ..Default::default() }), "filter.year_min"),
        (filter(pb::PlaylistItemFilter { year_min: 2010, year_max: 2000, ..Default::default() }), "filter.year_max"),
        (filter(pb::PlaylistItemFilter { min_rating: 11.0, ..Default::default() }), "filter.min_rating"),
        (filter(pb::PlaylistItemFilter { min_rating: f64::NAN, ..Default::default() }), "filter.min_rating"),
        (filter(pb::PlaylistItemFilter { query: "x".repeat(201), ..Default::default() }), "filter.query"),
        (
            filter(pb::PlaylistItemFilter {
                added_after: Some(prost_types::Timestamp { seconds: -5, nanos: 0 }),
                ..Default::default()
            }),
            "filter.added_after",
        ),
        (pb::ListVodRequest { parent: parent.clone(), order_by: 99, ..Default::default() }, "order_by"),
        (pb::ListVodRequest { parent: parent.clone(), page_size: -1, ..Default::default() }, "page_size"),
        (
            pb::ListVodRequest { parent: parent.clone(), page_token: "garbage".into(), ..Default::default() },
            "page_token",
        ),
        (pb::ListVodRequest { parent: "playlists/x".into(), ..Default::default() }, "parent"),
    ] {
        let status = catalog.list_vod(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        let fields: Vec<String> =
            status.get_details_bad_request().unwrap().field_violations.into_iter().map(|v| v.field).collect();
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    for name in ["playlists/1", "playlists/1/vod", "playlists/1/movie/1", format!("{parent}/live/1").as_str()] {
        assert_eq!(
            catalog.get_vod(pb::GetVodRequest { name: name.into() }).await.unwrap_err().code(),
            Code::InvalidArgument,
            "{name}"
        );
    }
    let kind =
        catalog.list_categories(pb::ListCategoriesRequest { parent: parent.clone(), kind: 7 }).await.unwrap_err();
    assert_eq!(kind.code(), Code::InvalidArgument);
    let favorites = catalog
        .list_favorites(pb::ListFavoritesRequest { parent: "nope".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(favorites.code(), Code::InvalidArgument);
    let missing = catalog.get_vod(pb::GetVodRequest { name: format!("{parent}/vod/1") }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}
