//! Shared helpers of the playlist tests: a server that may call loopback panels and seal
//! credentials, creating a playlist, waiting for a sync.

use medley_sdk::{AuthedChannel, pb, pb::catalog_service_client::CatalogServiceClient};
use medley_server::secrets;
use medley_tests::{
    TestServer,
    fake_xtream::{FakePanel, PASSWORD, USERNAME},
};
use secrecy::SecretString;
use tokio_stream::StreamExt as _;

/// The catalog client type.
pub type Catalog = CatalogServiceClient<AuthedChannel>;

/// A server with a secret key that may call panels on loopback.
pub async fn playlist_server() -> TestServer {
    let key = SecretString::from(secrets::new_key().expect("key"));
    TestServer::builder()
        .configure(move |settings| {
            settings.platform.secret_key = key;
            settings.platform.outbound_allow = "127.0.0.0/8".to_owned();
        })
        .start()
        .await
}

/// A playlist on `panel` for its active account.
pub fn new_playlist(panel: &FakePanel, name: &str) -> pb::CreatePlaylistRequest {
    pb::CreatePlaylistRequest {
        playlist: Some(pb::Playlist {
            display_name: name.to_owned(),
            server_url: panel.url(),
            credentials: Some(pb::PlaylistCredentials { username: USERNAME.into(), password: PASSWORD.into() }),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// Creates a playlist on `panel` and waits for its first sync; returns it as it is then.
pub async fn synced_playlist(catalog: &mut Catalog, panel: &FakePanel) -> pb::Playlist {
    let playlist =
        catalog.create_playlist(new_playlist(panel, "Test")).await.expect("create").into_inner().playlist.unwrap();
    assert!(playlist.last_sync_run_id > 0, "create starts the first sync");
    let run = wait_sync(catalog, playlist.last_sync_run_id).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    get(catalog, &playlist.name).await
}

/// Gets a playlist.
pub async fn get(catalog: &mut Catalog, name: &str) -> pb::Playlist {
    catalog
        .get_playlist(pb::GetPlaylistRequest { name: name.to_owned() })
        .await
        .expect("get")
        .into_inner()
        .playlist
        .unwrap()
}

/// Follows a sync run to its end; returns every message.
pub async fn watch_sync(catalog: &mut Catalog, run_id: i64) -> Vec<pb::PlaylistSyncRun> {
    let mut stream =
        catalog.watch_playlist_sync(pb::WatchPlaylistSyncRequest { run_id }).await.expect("watch").into_inner();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Some(message) = tokio::time::timeout_at(deadline, stream.next()).await.expect("the sync ends in time") {
        seen.push(message.expect("message").run.expect("run"));
    }
    seen
}

/// Follows a sync run to its end; returns its last state.
pub async fn wait_sync(catalog: &mut Catalog, run_id: i64) -> pb::PlaylistSyncRun {
    watch_sync(catalog, run_id).await.pop().expect("a message")
}

/// Starts a sync and waits for it.
pub async fn sync(catalog: &mut Catalog, name: &str) -> pb::PlaylistSyncRun {
    let started =
        catalog.sync_playlist(pb::SyncPlaylistRequest { name: name.to_owned() }).await.expect("sync").into_inner();
    wait_sync(catalog, started.run.unwrap().run_id).await
}

/// A section's report.
pub fn section(run: &pb::PlaylistSyncRun, section: pb::SyncSection) -> pb::SyncSectionReport {
    run.sections.iter().find(|s| s.section == section as i32).cloned().expect("section reported")
}

/// Every film of a playlist, by name.
pub async fn all_vod(catalog: &mut Catalog, parent: &str) -> Vec<pb::PlaylistItem> {
    catalog
        .list_vod(pb::ListVodRequest { parent: parent.to_owned(), page_size: 1000, ..Default::default() })
        .await
        .expect("list vod")
        .into_inner()
        .vod
}
