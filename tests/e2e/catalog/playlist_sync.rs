//! Playlist syncs against fake panels of both families: the same catalog from each, diffs
//! that write nothing when nothing changed, removals, failing sections, refused accounts,
//! one sync per playlist at a time, and the schedule on an injected clock.

use chrono::{Duration, Utc};
use diesel_async::RunQueryDsl as _;
use medley_sdk::pb::{self, SyncSection, SyncSectionState};
use medley_server::services::catalog::{
    config::CatalogConfig,
    playlists::{Playlists, sync::schedule},
};
use medley_tests::fake_xtream::{Answer, FakePanel, Family};
use serde_json::json;

use super::playlist_support::{Catalog, all_vod, playlist_server, section, sync, synced_playlist, watch_sync};

const DONE: i32 = SyncSectionState::Done as i32;
const FAILED: i32 = SyncSectionState::Failed as i32;

/// Everything a list shows that both families must agree on.
async fn catalog_of(catalog: &mut Catalog, parent: &str) -> Vec<String> {
    let mut out = Vec::new();
    let live = catalog
        .list_live_streams(pb::ListLiveStreamsRequest { parent: parent.into(), page_size: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .live_streams;
    let series = catalog
        .list_series(pb::ListSeriesRequest { parent: parent.into(), page_size: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .series;
    let vod = all_vod(catalog, parent).await;
    for item in live.into_iter().chain(vod).chain(series) {
        out.push(format!(
            "{}|{}|{}|{:.1}|{}|{}|{:?}|{:?}|{}|{}",
            item.kind,
            item.item_id,
            item.display_name,
            item.rating,
            item.year,
            item.container_extension,
            item.genres,
            item.actors,
            item.epg_channel_id,
            item.add_time.map_or(0, |t| t.seconds)
        ));
    }
    let categories = catalog
        .list_categories(pb::ListCategoriesRequest { parent: parent.into(), kind: 0 })
        .await
        .unwrap()
        .into_inner()
        .categories;
    out.extend(categories.into_iter().map(|c| format!("{}|{}|{}", c.kind, c.category_id, c.display_name)));
    out
}

#[tokio::test]
async fn both_panel_families_build_the_same_catalog() {
    let server = playlist_server().await;
    let mut catalog = server.client().await.catalog();
    let classic_panel = FakePanel::start(Family::Classic).await;
    let xui_panel = FakePanel::start(Family::Xui).await;
    let classic = synced_playlist(&mut catalog, &classic_panel).await;
    let xui = synced_playlist(&mut catalog, &xui_panel).await;
    let (a, b) = (catalog_of(&mut catalog, &classic.name).await, catalog_of(&mut catalog, &xui.name).await);
    assert!(a.len() > 15, "{a:#?}");
    assert_eq!(a, b);
    // XUI repeated the first live stream under a second category: one item, both categories.
    let live = catalog
        .list_live_streams(pb::ListLiveStreamsRequest { parent: xui.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .live_streams;
    let first = live.iter().find(|l| l.item_id == "112233").unwrap();
    assert_eq!(first.category_ids, ["36", "35"]);
    assert_eq!(
        (classic.live_count, classic.vod_count, classic.series_count),
        (xui.live_count, xui.vod_count, xui.series_count)
    );
}

#[derive(diesel::QueryableByName, PartialEq, Debug)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// The row versions (`xmin`, `ctid`) of a playlist's catalog: they move when a row is written.
async fn versions(server: &medley_tests::TestServer) -> Vec<Version> {
    diesel::sql_query(
        "SELECT item_id || ':' || xmin::text || ':' || ctid::text AS version FROM playlist_items \
         UNION ALL SELECT category_id || ':' || xmin::text || ':' || ctid::text FROM playlist_categories ORDER BY 1",
    )
    .load(&mut server.db.connect().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_resync_without_change_writes_no_row_and_removals_keep_favorites_as_gone() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let before = versions(&server).await;
    let again = sync(&mut catalog, &playlist.name).await;
    for report in &again.sections {
        assert_eq!((report.state, report.added, report.changed, report.removed), (DONE, 0, 0, 0), "{report:?}");
        assert!(report.unchanged > 0);
    }
    assert_eq!(versions(&server).await, before, "no row was written");

    // A favorite film leaves the panel; another film's rating changes; a new one arrives.
    let gone = format!("{}/vod/303099", playlist.name);
    catalog.set_favorite(pb::SetFavoriteRequest { item: gone.clone() }).await.unwrap();
    let mut films = panel.list("get_vod_streams");
    let list = films.as_array_mut().unwrap();
    list.retain(|f| f["stream_id"] != json!(303099));
    list[0]["rating"] = json!("7.9");
    list.push(json!({"num": 9, "name": "Amélie (2001)", "stream_type": "movie", "stream_id": 777, "rating": "8", "added": "1700000000", "category_id": "324", "container_extension": "mkv"}));
    panel.set_list("get_vod_streams", &films);
    let run = sync(&mut catalog, &playlist.name).await;
    let vod = section(&run, SyncSection::Vod);
    assert_eq!((vod.added, vod.changed, vod.removed, vod.favorites_gone), (1, 1, 1, 1), "{vod:?}");
    let names: Vec<String> = all_vod(&mut catalog, &playlist.name).await.into_iter().map(|f| f.item_id).collect();
    assert!(!names.contains(&"303099".to_owned()) && names.contains(&"777".to_owned()), "{names:?}");
    let favorites = catalog.list_favorites(pb::ListFavoritesRequest::default()).await.unwrap().into_inner().favorites;
    assert_eq!(favorites.len(), 1);
    assert!(favorites[0].gone && favorites[0].item == gone && favorites[0].display_name.starts_with("Madagascar"));
}

#[tokio::test]
async fn a_failing_section_leaves_the_others_synced_and_says_why() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let films = all_vod(&mut catalog, &playlist.name).await;
    for (answer, says) in [
        (Answer::Html, "HTML"),
        (Answer::Truncated(40), "cut off"),
        (Answer::Status(404), "HTTP 404"),
        (Answer::Body(bytes::Bytes::from_static(b"\"maintenance\"")), "instead of a list"),
    ] {
        panel.answer("get_vod_streams", answer);
        let live_before = panel.count("get_live_streams");
        let run = sync(&mut catalog, &playlist.name).await;
        assert_eq!(run.state, pb::JobState::Succeeded as i32, "one failed section does not fail the run");
        let vod = section(&run, SyncSection::Vod);
        assert_eq!(vod.state, FAILED);
        assert!(vod.error.contains(says), "{says}: {}", vod.error);
        for other in [SyncSection::Categories, SyncSection::Live, SyncSection::Series] {
            assert_eq!(section(&run, other).state, DONE, "{other:?}");
        }
        assert_eq!(panel.count("get_live_streams"), live_before + 1);
        let kept = all_vod(&mut catalog, &playlist.name).await;
        assert_eq!(kept.len(), films.len(), "the previous films stay");
    }
}

#[tokio::test]
async fn a_refused_account_stops_the_sync_for_good() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    panel.answer("get_live_streams", Answer::Body(bytes::Bytes::from_static(br#"{"user_info":{"auth":0}}"#)));
    let run = sync(&mut catalog, &playlist.name).await;
    assert_eq!(run.state, pb::JobState::Dead as i32);
    assert!(run.error.contains("refused") && run.error.contains("not retried"), "{}", run.error);
    assert_eq!(section(&run, SyncSection::Categories).state, DONE);
    assert_eq!(section(&run, SyncSection::Live).state, FAILED);
    for skipped in [SyncSection::Vod, SyncSection::Series] {
        assert_eq!(section(&run, skipped).state, SyncSectionState::Skipped as i32);
    }
    assert_eq!(panel.count("get_live_streams"), 2, "asked once in this run: never retried");
    let job = server.state().jobs.get(run.run_id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1);
}

#[tokio::test]
async fn one_sync_per_playlist_at_a_time_and_watchers_see_each_section() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    panel.answer("get_vod_streams", Answer::Slow(std::time::Duration::from_millis(700)));
    let first =
        catalog.sync_playlist(pb::SyncPlaylistRequest { name: playlist.name.clone() }).await.unwrap().into_inner();
    let second =
        catalog.sync_playlist(pb::SyncPlaylistRequest { name: playlist.name.clone() }).await.unwrap().into_inner();
    assert!(first.created && !second.created);
    let run_id = first.run.unwrap().run_id;
    assert_eq!(second.run.unwrap().run_id, run_id);
    let seen = watch_sync(&mut catalog, run_id).await;
    // While VOD was fetched slowly, a watcher saw live done and VOD running.
    assert!(
        seen.iter().any(|r| section(r, SyncSection::Live).state == DONE
            && section(r, SyncSection::Vod).state == SyncSectionState::Running as i32),
        "{seen:#?}"
    );
    assert_eq!(seen.last().unwrap().state, pb::JobState::Succeeded as i32);
    let after = super::playlist_support::get(&mut catalog, &playlist.name).await;
    assert_eq!(after.last_sync_run_id, run_id);
    assert_eq!(after.last_sync_state, pb::JobState::Succeeded as i32);
}

#[tokio::test]
async fn the_schedule_syncs_each_playlist_every_interval_with_jitter() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let config: CatalogConfig = server.config.services.catalog.clone();
    let playlists = Playlists::new(server.state(), &config).unwrap();
    let now = Utc::now();
    let next = playlist.next_sync_time.unwrap().seconds;
    let (low, high) =
        ((now + Duration::hours(6)).timestamp(), (now + Duration::hours(6) + Duration::minutes(37)).timestamp());
    assert!((low - 5..=high).contains(&next), "6 h + up to 36 min: {next} not in {low}..{high}");
    assert!(schedule::start_due(&playlists, now).await.unwrap().is_empty(), "not due yet");
    let later = now + Duration::hours(7);
    let started = schedule::start_due(&playlists, later).await.unwrap();
    assert_eq!(started.len(), 1);
    assert!(schedule::start_due(&playlists, later).await.unwrap().is_empty(), "its next time moved on");
    let run = super::playlist_support::wait_sync(&mut catalog, started[0]).await;
    assert!(run.scheduled && run.state == pb::JobState::Succeeded as i32);
    // Playlists with the schedule off are left alone.
    let off = pb::Playlist { name: playlist.name.clone(), sync_enabled: false, ..Default::default() };
    catalog
        .update_playlist(pb::UpdatePlaylistRequest {
            playlist: Some(off),
            update_mask: Some(prost_types::FieldMask { paths: vec!["sync_enabled".into()] }),
        })
        .await
        .unwrap();
    assert!(schedule::start_due(&playlists, later + Duration::days(2)).await.unwrap().is_empty());
}

#[derive(diesel::QueryableByName)]
struct Kinds {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn a_deleted_playlist_cancels_its_sync() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    panel.answer("get_live_streams", Answer::Slow(std::time::Duration::from_millis(500)));
    let run =
        catalog.sync_playlist(pb::SyncPlaylistRequest { name: playlist.name.clone() }).await.unwrap().into_inner();
    catalog.delete_playlist(pb::DeletePlaylistRequest { name: playlist.name }).await.unwrap();
    let job = server.state().jobs.get(run.run.unwrap().run_id).await.unwrap().unwrap();
    assert!(job.state().is_terminal() || job.cancel_requested, "{job:?}");
    let left: Vec<Kinds> = diesel::sql_query("SELECT count(*) AS n FROM playlist_items")
        .load(&mut server.db.connect().await)
        .await
        .unwrap();
    assert_eq!(left[0].n, 0);
}

fn fixture(name: &str) -> bytes::Bytes {
    bytes::Bytes::from(std::fs::read(medley_tests::fixture(&format!("xtream/{name}"))).unwrap())
}

#[tokio::test]
async fn every_quirk_fixture_goes_through_the_server() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    // An old panel's categories as a numbered object; XUI's film list on a classic panel.
    let as_object: serde_json::Value = serde_json::from_slice(&fixture("quirks_list_as_object.json")).unwrap();
    panel.set_list("get_vod_categories", &as_object);
    let xui_films: serde_json::Value = serde_json::from_slice(&fixture("xui_get_vod_streams.json")).unwrap();
    panel.set_list("get_vod_streams", &xui_films);
    panel.set_info("get_series_info", "3", fixture("quirks_series_info_specials_array.json"));
    panel.set_info("get_series_info", "2", fixture("quirks_series_info_no_episodes_xui.json"));
    panel.set_info("get_vod_info", "1", fixture("xui_get_vod_info_1.json"));
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let categories = catalog
        .list_categories(pb::ListCategoriesRequest {
            parent: playlist.name.clone(),
            kind: pb::PlaylistItemKind::Vod as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .categories;
    assert_eq!(categories.len(), 2, "a list sent as an object");
    let films = all_vod(&mut catalog, &playlist.name).await;
    assert_eq!(films.len(), 1);
    let film = &films[0];
    assert_eq!((film.year, film.category_ids.clone(), film.rating), (2008, vec!["1".to_owned(), "2".to_owned()], 8.5));
    assert_eq!(film.genres, ["Drama", "Action", "Crime"]);
    let details =
        catalog.get_vod(pb::GetVodRequest { name: film.name.clone() }).await.unwrap().into_inner().vod.unwrap();
    assert_eq!((details.container_extension.as_str(), details.tmdb_id.as_str()), ("mp4", "155"));
    let specials = catalog
        .get_series(pb::GetSeriesRequest { name: format!("{}/series/3", playlist.name) })
        .await
        .unwrap()
        .into_inner()
        .series
        .unwrap();
    assert_eq!(specials.seasons.iter().map(|s| s.number).next(), Some(0), "an array of arrays starts at season 0");
    let no_key = catalog
        .get_series(pb::GetSeriesRequest { name: format!("{}/series/2", playlist.name) })
        .await
        .unwrap()
        .into_inner()
        .series
        .unwrap();
    assert!(no_key.seasons.is_empty(), "no episodes key at all");
    // Live streams: null categories, created_live and radio types, archive durations as ints and strings.
    let live = catalog
        .list_live_streams(pb::ListLiveStreamsRequest { parent: playlist.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .live_streams;
    assert_eq!(live.len(), panel.list("get_live_streams").as_array().unwrap().len());
    assert!(live.iter().any(|l| l.category_ids.is_empty()), "a null category_id");
}
