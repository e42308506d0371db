//! Unary imports: outcomes, idempotency, unknown parents, admin locks, player order.

use medley_sdk::pb;
use medley_tests::TestServer;
use tonic_types::StatusExt as _;

use super::{anime, episodes, video};

const CREATED: i32 = pb::ImportOutcome::Created as i32;
const UPDATED: i32 = pb::ImportOutcome::Updated as i32;
const UNCHANGED: i32 = pb::ImportOutcome::Unchanged as i32;

#[tokio::test]
async fn imports_answer_created_then_unchanged_then_updated() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let request = pb::ImportAnimeRequest { anime: Some(anime("1", "Alpha")) };
    let first = catalog.import_anime(request.clone()).await.unwrap().into_inner();
    assert_eq!(first.outcome, CREATED);
    let stored = catalog
        .get_anime(pb::GetAnimeRequest { lookup: Some(pb::get_anime_request::Lookup::Id(first.anime_id.clone())) })
        .await
        .unwrap()
        .into_inner()
        .anime
        .unwrap();
    let again = catalog.import_anime(request).await.unwrap().into_inner();
    assert_eq!((again.anime_id.as_str(), again.outcome), (first.anime_id.as_str(), UNCHANGED));
    // Unchanged means not written: the row's update time did not move.
    let after = catalog
        .get_anime(pb::GetAnimeRequest {
            lookup: Some(pb::get_anime_request::Lookup::Source(pb::SourceRef {
                source_name: "test-source".into(),
                source_id: "1".into(),
            })),
        })
        .await
        .unwrap()
        .into_inner()
        .anime
        .unwrap();
    assert_eq!(after.update_time, stored.update_time);

    // An import that leaves optional fields out keeps them.
    let sparse = pb::AnimeImport {
        source_name: "test-source".into(),
        source_id: "1".into(),
        title: "Alpha Renamed".into(),
        ..Default::default()
    };
    let updated = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(sparse) }).await.unwrap().into_inner();
    assert_eq!(updated.outcome, UPDATED);
    let after = catalog
        .get_anime(pb::GetAnimeRequest { lookup: Some(pb::get_anime_request::Lookup::Id(first.anime_id)) })
        .await
        .unwrap()
        .into_inner()
        .anime
        .unwrap();
    assert_eq!(after.title, "Alpha Renamed");
    assert_eq!(after.description.as_deref(), Some("About Alpha."));
    assert_eq!(after.year, Some(2020));
    assert_eq!(after.genres, ["Action", "Drama"]);
    assert_eq!(after.status, pb::AnimeStatus::Completed as i32);
}

#[tokio::test]
async fn unknown_parents_are_failed_precondition_and_write_nothing() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let status = catalog.import_episodes(episodes("404", 1..=3)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    let resource = status.get_error_details().resource_info().map(|r| r.resource_name.clone());
    assert_eq!(resource.as_deref(), Some("test-source/404"));

    catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime("7", "Seven")) }).await.unwrap();
    let status = catalog.import_video(video("7", 1, "610", pb::TranslationType::Voice, 100)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("7:1"), "{status:?}");

    let anime_id = catalog
        .import_anime(pb::ImportAnimeRequest { anime: Some(anime("7", "Seven")) })
        .await
        .unwrap()
        .into_inner()
        .anime_id;
    let listed =
        catalog.list_episodes(pb::ListEpisodesRequest { anime_id, ..Default::default() }).await.unwrap().into_inner();
    assert!(listed.episodes.is_empty());
}

#[tokio::test]
async fn players_come_back_grouped_by_translation_best_first() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime("42", "Answer")) }).await.unwrap();
    let imported = catalog.import_episodes(episodes("42", 1..=2)).await.unwrap().into_inner();
    assert_eq!((imported.created, imported.results.len()), (2, 2));
    let episode_id = imported.results[0].episode_id.clone();
    // Subtitles first with a low priority, then two voice players: order must follow priority.
    let subs =
        catalog.import_video(video("42", 1, "869", pb::TranslationType::Subtitles, 50)).await.unwrap().into_inner();
    assert_eq!((subs.outcome, subs.episode_id.as_str()), (CREATED, episode_id.as_str()));
    catalog.import_video(video("42", 1, "610", pb::TranslationType::Voice, 100)).await.unwrap();
    let mut second_voice = video("42", 1, "610", pb::TranslationType::Voice, 90);
    second_voice.player.as_mut().unwrap().url.push_str("/backup");
    catalog.import_video(second_voice).await.unwrap();
    // Without anime_source_id the episode id alone finds the episode (it is unique).
    let mut no_anime = video("42", 1, "869", pb::TranslationType::Subtitles, 50);
    no_anime.anime_source_id.clear();
    assert_eq!(catalog.import_video(no_anime).await.unwrap().into_inner().outcome, UNCHANGED);

    let list = |page_size: i32, page_token: String| pb::ListVideosRequest {
        episode_id: episode_id.clone(),
        page_size,
        page_token,
    };
    let groups = catalog.list_videos(list(0, String::new())).await.unwrap().into_inner().groups;
    let summary: Vec<(String, Vec<i32>)> = groups
        .iter()
        .map(|g| {
            (
                g.translation.as_ref().unwrap().id.clone(),
                g.videos.iter().map(|v| v.player.as_ref().unwrap().priority).collect(),
            )
        })
        .collect();
    assert_eq!(summary, [("610".to_owned(), vec![100, 90]), ("869".to_owned(), vec![50])]);
    assert_eq!(groups[1].translation.as_ref().unwrap().r#type, pb::TranslationType::Subtitles as i32);

    // One group per page: whole groups, in the same order.
    let first = catalog.list_videos(list(1, String::new())).await.unwrap().into_inner();
    assert_eq!(first.groups, groups[..1]);
    let second = catalog.list_videos(list(1, first.next_page_token.clone())).await.unwrap().into_inner();
    assert_eq!(second.groups, groups[1..]);
    assert!(second.next_page_token.is_empty());
    let other_episode =
        pb::ListVideosRequest { episode_id: imported.results[1].episode_id.clone(), ..list(1, first.next_page_token) };
    let refused = catalog.list_videos(other_episode).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "a token only works for its episode: {refused:?}");

    // Raising the subtitles' priority updates in place and moves the group first.
    let raised =
        catalog.import_video(video("42", 1, "869", pb::TranslationType::Subtitles, 200)).await.unwrap().into_inner();
    assert_eq!((raised.outcome, raised.video_id), (UPDATED, subs.video_id));
}

#[tokio::test]
async fn episode_ids_shared_by_two_anime_need_the_anime() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    for id in ["a", "b"] {
        catalog.import_anime(pb::ImportAnimeRequest { anime: Some(anime(id, id)) }).await.unwrap();
        let mut request = episodes(id, 1..=1);
        request.episodes[0].source_episode_id = "ep-1".into();
        catalog.import_episodes(request).await.unwrap();
    }
    let mut request = video("a", 1, "610", pb::TranslationType::Voice, 1);
    request.source_episode_id = "ep-1".into();
    request.anime_source_id.clear();
    let status = catalog.import_video(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("anime_source_id"), "{status:?}");
    request.anime_source_id = "b".into();
    assert_eq!(catalog.import_video(request).await.unwrap().into_inner().outcome, CREATED);
}

#[tokio::test]
async fn admin_edits_survive_imports_until_unlocked() {
    let server = TestServer::start().await;
    let mut catalog = server.client().await.catalog();
    let id = catalog
        .import_anime(pb::ImportAnimeRequest { anime: Some(anime("9", "Nine")) })
        .await
        .unwrap()
        .into_inner()
        .anime_id;
    let edit = pb::UpdateAnimeRequest {
        id: id.clone(),
        anime: Some(pb::AnimeImport { title: "Nine (edited)".into(), description: None, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["title".into(), "description".into()] }),
        unlock_fields: None,
    };
    let edited = catalog.update_anime(edit).await.unwrap().into_inner().anime.unwrap();
    assert_eq!(edited.title, "Nine (edited)");
    assert_eq!(edited.description, None, "a masked unset field is cleared");
    assert_eq!(edited.admin_locked_fields, ["title", "description"]);

    let mut changed = anime("9", "Nine v2");
    changed.year = Some(2021);
    assert_eq!(
        catalog
            .import_anime(pb::ImportAnimeRequest { anime: Some(changed.clone()) })
            .await
            .unwrap()
            .into_inner()
            .outcome,
        UPDATED
    );
    let get = || pb::GetAnimeRequest { lookup: Some(pb::get_anime_request::Lookup::Id(id.clone())) };
    let after = catalog.get_anime(get()).await.unwrap().into_inner().anime.unwrap();
    assert_eq!(after.title, "Nine (edited)", "locked title kept");
    assert_eq!(after.description, None, "locked description kept");
    assert_eq!(after.year, Some(2021), "unlocked fields follow imports");

    // The same upstream data again: unchanged, the admin's title stays.
    let again = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(changed.clone()) }).await.unwrap();
    assert_eq!(again.into_inner().outcome, UNCHANGED);
    assert_eq!(catalog.get_anime(get()).await.unwrap().into_inner().anime.unwrap().title, "Nine (edited)");

    catalog
        .update_anime(pb::UpdateAnimeRequest {
            id: id.clone(),
            unlock_fields: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
            ..Default::default()
        })
        .await
        .unwrap();
    // Unlocked, the next import hands the title back to the source even though the source sends
    // exactly what it sent before; the still-locked description stays the admin's.
    let back = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(changed.clone()) }).await.unwrap();
    assert_eq!(back.into_inner().outcome, UPDATED);
    let after = catalog.get_anime(get()).await.unwrap().into_inner().anime.unwrap();
    assert_eq!(after.title, "Nine v2");
    assert_eq!(after.description, None, "locked description kept");
    assert_eq!(after.admin_locked_fields, ["description"]);
    let settled = catalog.import_anime(pb::ImportAnimeRequest { anime: Some(changed) }).await.unwrap();
    assert_eq!(settled.into_inner().outcome, UNCHANGED);
}
