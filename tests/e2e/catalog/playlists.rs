//! Playlists themselves: the account check on create and update, precise refusals that store
//! nothing and are never retried, ownership, idempotent creates, cascading deletes, and
//! credentials that never leave the vault.

use diesel_async::RunQueryDsl as _;
use medley_sdk::pb;
use medley_server::auth::Scope;
use medley_tests::{
    TestServer,
    fake_xtream::{Answer, FakePanel, Family, ODD_PASSWORD, ODD_USERNAME, PASSWORD, USERNAME},
};
use prost_types::FieldMask;
use tonic::Code;
use tonic_types::StatusExt as _;

use super::playlist_support::{new_playlist, playlist_server, synced_playlist, wait_sync};

fn with_credentials(panel: &FakePanel, username: &str, password: &str) -> pb::CreatePlaylistRequest {
    let mut request = new_playlist(panel, "Other");
    request.playlist.as_mut().unwrap().credentials =
        Some(pb::PlaylistCredentials { username: username.into(), password: password.into() });
    request
}

fn reason(status: &tonic::Status) -> String {
    status.get_details_error_info().map(|info| info.reason).unwrap_or_default()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(server: &TestServer, sql: &str) -> i64 {
    let rows: Vec<Count> = diesel::sql_query(sql).load(&mut server.db.connect().await).await.expect("count");
    rows[0].n
}

#[tokio::test]
async fn create_checks_the_account_and_keeps_what_the_panel_says() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let created =
        catalog.create_playlist(new_playlist(&panel, "  Living room ")).await.unwrap().into_inner().playlist.unwrap();
    assert!(created.name.starts_with("playlists/"));
    assert_eq!(created.display_name, "Living room");
    assert!(created.credentials.is_none(), "credentials are never returned");
    let account = created.account.clone().unwrap();
    assert_eq!(account.status, "Active");
    assert_eq!(account.expire_time.map(|t| t.seconds), Some(1_893_456_000));
    assert_eq!((account.max_connections, account.active_connections, account.trial), (1, 0, false));
    assert_eq!(account.server_time_zone, "Europe/London");
    assert_eq!(account.panel_family, pb::PanelFamily::Classic as i32);
    assert_eq!(account.allowed_output_formats, ["m3u8", "ts", "rtmp"]);
    assert!(created.sync_enabled && created.next_sync_time.is_some());
    // The first sync starts with the create.
    let run = wait_sync(&mut catalog, created.last_sync_run_id).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32);
    assert_eq!(run.playlist, created.name);

    let xui = FakePanel::start(Family::Xui).await;
    let other = catalog.create_playlist(new_playlist(&xui, "XUI")).await.unwrap().into_inner().playlist.unwrap();
    let account = other.account.unwrap();
    assert_eq!((account.panel_family, account.expire_time), (pb::PanelFamily::Xui as i32, None), "null never expires");

    // The credentials went to the panel URL-encoded and are sealed at rest.
    let odd = catalog.create_playlist(with_credentials(&panel, ODD_USERNAME, ODD_PASSWORD)).await.unwrap().into_inner();
    assert!(odd.playlist.is_some());
    let sent = panel.seen().into_iter().find(|r| r.query.get("username").map(String::as_str) == Some(ODD_USERNAME));
    assert!(sent.is_some_and(|r| r.query["password"] == ODD_PASSWORD && !r.raw_query.contains(' ')));
    let clear =
        count(&server, "SELECT count(*) AS n FROM secrets WHERE position('s3cret' in encode(sealed, 'escape')) > 0")
            .await;
    assert_eq!(clear, 0, "sealed, not stored in clear");
    assert_eq!(count(&server, "SELECT count(*) AS n FROM secrets").await, 3);
}

#[tokio::test]
async fn refused_accounts_are_precise_errors_store_nothing_and_are_asked_once() {
    let server = playlist_server().await;
    let mut catalog = server.client().await.catalog();
    for family in [Family::Classic, Family::Xui] {
        let panel = FakePanel::start(family).await;
        let wrong = catalog.create_playlist(with_credentials(&panel, USERNAME, "wrong")).await.unwrap_err();
        assert_eq!(
            (wrong.code(), reason(&wrong).as_str()),
            (Code::FailedPrecondition, "PLAYLIST_AUTH_FAILED"),
            "{family:?}: {wrong:?}"
        );
        assert!(!wrong.message().contains("wrong"), "the password is not echoed");
        assert_eq!(panel.count(""), 1, "{family:?}: a refused login is never retried");
    }
    let panel = FakePanel::start(Family::Classic).await;
    for (user, status) in [("expired", "Expired"), ("banned", "Banned")] {
        let refused = catalog.create_playlist(with_credentials(&panel, user, user)).await.unwrap_err();
        assert_eq!(
            (refused.code(), reason(&refused).as_str()),
            (Code::FailedPrecondition, "PLAYLIST_ACCOUNT_UNUSABLE")
        );
        let info = refused.get_details_error_info().unwrap();
        assert_eq!(info.metadata["status"], status);
    }
    panel.answer("", Answer::Html);
    let html = catalog.create_playlist(new_playlist(&panel, "html")).await.unwrap_err();
    assert_eq!((html.code(), reason(&html).as_str()), (Code::FailedPrecondition, "PANEL_ANSWER_INVALID"));
    assert!(html.message().contains("HTML"), "{}", html.message());
    panel.answer("", Answer::Status(502));
    let down = catalog.create_playlist(new_playlist(&panel, "down")).await.unwrap_err();
    assert_eq!(down.code(), Code::Unavailable);
    assert!(down.get_details_retry_info().is_some());
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut request = new_playlist(&panel, "closed");
    request.playlist.as_mut().unwrap().server_url = format!("http://{closed}");
    assert_eq!(catalog.create_playlist(request).await.unwrap_err().code(), Code::Unavailable);

    let listed = catalog.list_playlists(pb::ListPlaylistsRequest::default()).await.unwrap().into_inner();
    assert!(listed.playlists.is_empty(), "nothing stored");
    assert_eq!(count(&server, "SELECT count(*) AS n FROM secrets").await, 0);
}

#[tokio::test]
async fn bad_requests_name_every_field_and_call_no_panel() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let bad = pb::CreatePlaylistRequest {
        playlist: Some(pb::Playlist {
            display_name: " ".into(),
            server_url: "ftp://iptv.example.test/".into(),
            credentials: Some(pb::PlaylistCredentials { username: String::new(), password: "x".repeat(300) }),
            ..Default::default()
        }),
        request_id: "not-a-uuid".into(),
    };
    let status = catalog.create_playlist(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> =
        status.get_details_bad_request().unwrap().field_violations.into_iter().map(|v| v.field).collect();
    for field in [
        "playlist.display_name",
        "playlist.server_url",
        "playlist.credentials.username",
        "playlist.credentials.password",
        "request_id",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    for url in ["http://user:pw@127.0.0.1/", "http://10.1.2.3/", "http://169.254.169.254/", "not a url"] {
        let mut request = new_playlist(&panel, "x");
        request.playlist.as_mut().unwrap().server_url = url.into();
        assert_eq!(catalog.create_playlist(request).await.unwrap_err().code(), Code::InvalidArgument, "{url}");
    }
    let mut missing = new_playlist(&panel, "x");
    missing.playlist.as_mut().unwrap().credentials = None;
    assert_eq!(catalog.create_playlist(missing).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(
        catalog.create_playlist(pb::CreatePlaylistRequest::default()).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    for name in ["", "playlists/0", "playlists/abc", "anime/1", "playlists/1/extra"] {
        let status = catalog.get_playlist(pb::GetPlaylistRequest { name: name.into() }).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{name}");
    }
    let status = catalog.get_playlist(pb::GetPlaylistRequest { name: "playlists/999".into() }).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(panel.seen().len(), 0, "no panel call for a bad request");
}

#[tokio::test]
async fn a_retried_create_returns_the_first_playlist() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let mut request = new_playlist(&panel, "Once");
    request.request_id = uuid::Uuid::new_v4().to_string();
    let first = catalog.create_playlist(request.clone()).await.unwrap().into_inner().playlist.unwrap();
    let second = catalog.create_playlist(request).await.unwrap().into_inner().playlist.unwrap();
    assert_eq!(first.name, second.name);
    assert_eq!(panel.count(""), 1, "the retry did not ask the panel again");
    assert_eq!(
        catalog.list_playlists(pb::ListPlaylistsRequest::default()).await.unwrap().into_inner().playlists.len(),
        1
    );
}

#[tokio::test]
async fn playlists_belong_to_their_key_and_admins_see_all() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let alice = server.client_with_key(&server.create_key(&[Scope::Import]).await).await.catalog();
    let bob = server.client_with_key(&server.create_key(&[Scope::Import]).await).await.catalog();
    let reader = server.client_with_key(&server.create_key(&[Scope::Read]).await).await.catalog();
    let (mut alice, mut bob, mut reader) = (alice, bob, reader);
    let mine = alice.create_playlist(new_playlist(&panel, "Alice's")).await.unwrap().into_inner().playlist.unwrap();
    wait_sync(&mut alice, mine.last_sync_run_id).await;
    let name = mine.name.clone();
    let code = |r: Result<tonic::Response<pb::GetPlaylistResponse>, tonic::Status>| r.unwrap_err().code();
    assert_eq!(code(bob.get_playlist(pb::GetPlaylistRequest { name: name.clone() }).await), Code::NotFound);
    let sync = bob.sync_playlist(pb::SyncPlaylistRequest { name: name.clone() }).await.unwrap_err();
    assert_eq!(sync.code(), Code::NotFound);
    let watch = bob.watch_playlist_sync(pb::WatchPlaylistSyncRequest { run_id: mine.last_sync_run_id }).await;
    assert_eq!(watch.unwrap_err().code(), Code::NotFound, "another key's run is not found");
    let list = bob.list_vod(pb::ListVodRequest { parent: name.clone(), ..Default::default() }).await.unwrap_err();
    assert_eq!(list.code(), Code::NotFound);
    assert!(bob.list_playlists(pb::ListPlaylistsRequest::default()).await.unwrap().into_inner().playlists.is_empty());
    let denied = reader.create_playlist(new_playlist(&panel, "Reader's")).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "managing playlists needs the import scope");
    let mut admin = server.client().await.catalog();
    let all = admin.list_playlists(pb::ListPlaylistsRequest::default()).await.unwrap().into_inner().playlists;
    assert_eq!(all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [name.as_str()]);
    assert!(admin.get_playlist(pb::GetPlaylistRequest { name }).await.is_ok());
}

#[tokio::test]
async fn updates_recheck_new_credentials_and_change_nothing_when_refused() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let update = |playlist: pb::Playlist, paths: &[&str]| pb::UpdatePlaylistRequest {
        playlist: Some(playlist),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let renamed = pb::Playlist {
        name: playlist.name.clone(),
        display_name: "Renamed".into(),
        sync_enabled: false,
        ..Default::default()
    };
    let updated = catalog
        .update_playlist(update(renamed, &["display_name", "sync_enabled"]))
        .await
        .unwrap()
        .into_inner()
        .playlist
        .unwrap();
    assert_eq!((updated.display_name.as_str(), updated.sync_enabled, updated.next_sync_time), ("Renamed", false, None));
    let checks = panel.count("");
    let wrong = pb::Playlist {
        name: playlist.name.clone(),
        credentials: Some(pb::PlaylistCredentials { username: USERNAME.into(), password: "wrong".into() }),
        ..Default::default()
    };
    let refused = catalog.update_playlist(update(wrong, &["credentials"])).await.unwrap_err();
    assert_eq!(reason(&refused), "PLAYLIST_AUTH_FAILED");
    assert_eq!(panel.count(""), checks + 1);
    // The old credentials still work.
    let run = super::playlist_support::sync(&mut catalog, &playlist.name).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32);
    let odd = pb::Playlist {
        name: playlist.name.clone(),
        credentials: Some(pb::PlaylistCredentials { username: ODD_USERNAME.into(), password: ODD_PASSWORD.into() }),
        ..Default::default()
    };
    catalog.update_playlist(update(odd, &["credentials"])).await.unwrap();
    super::playlist_support::sync(&mut catalog, &playlist.name).await;
    let last = panel.seen().pop().unwrap();
    assert_eq!(last.query["username"], ODD_USERNAME, "syncs use the new credentials");
    for (paths, field) in
        [(&[][..], "update_mask"), (&["password"][..], "update_mask"), (&["display_name"][..], "playlist.display_name")]
    {
        let empty = pb::Playlist { name: playlist.name.clone(), ..Default::default() };
        let status = catalog.update_playlist(update(empty, paths)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.get_details_bad_request().unwrap().field_violations.iter().any(|v| v.field == field),
            "{paths:?}"
        );
    }
}

#[tokio::test]
async fn delete_removes_the_catalog_favorites_and_credentials() {
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    assert!(playlist.vod_count > 0 && playlist.live_count > 0 && playlist.series_count > 0, "{playlist:?}");
    let item = format!("{}/vod/130529", playlist.name);
    catalog.set_favorite(pb::SetFavoriteRequest { item }).await.unwrap();
    catalog.delete_playlist(pb::DeletePlaylistRequest { name: playlist.name.clone() }).await.unwrap();
    for table in
        ["playlists", "playlist_items", "playlist_categories", "playlist_favorites", "playlist_sync_runs", "secrets"]
    {
        assert_eq!(count(&server, &format!("SELECT count(*) AS n FROM {table}")).await, 0, "{table}");
    }
    let again = catalog.delete_playlist(pb::DeletePlaylistRequest { name: playlist.name.clone() }).await.unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn without_a_secret_key_nothing_is_asked_or_stored() {
    let server = TestServer::builder()
        .configure(|settings| settings.platform.outbound_allow = "127.0.0.0/8".to_owned())
        .start()
        .await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let status = catalog.create_playlist(new_playlist(&panel, "x")).await.unwrap_err();
    assert_eq!((status.code(), reason(&status).as_str()), (Code::FailedPrecondition, "SECRET_KEY_MISSING"));
    assert_eq!(panel.seen().len(), 0);
}

#[tokio::test]
async fn credentials_never_reach_logs_errors_or_job_rows() {
    let (captured, _guard) = medley_tests::logs::capture();

    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let mut errors = Vec::new();
    errors.push(format!(
        "{:?}",
        catalog.create_playlist(with_credentials(&panel, USERNAME, "wrong-s3cret")).await.unwrap_err()
    ));
    panel.answer("get_live_categories", Answer::Body(bytes::Bytes::from_static(br#"{"user_info":{"auth":0}}"#)));
    let dead = super::playlist_support::sync(&mut catalog, &playlist.name).await;
    assert_eq!(dead.state, pb::JobState::Dead as i32);
    errors.push(format!("{dead:?}"));
    panel.answer("get_vod_info", Answer::Status(404));
    let item = format!("{}/vod/130529", playlist.name);
    errors.push(format!("{:?}", catalog.get_vod(pb::GetVodRequest { name: item }).await.unwrap_err()));

    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        dump: String,
    }
    let rows: Vec<Dump> = diesel::sql_query(
        "SELECT concat_ws(' ', payload::text, result::text, last_error, dedupe_key) AS dump FROM jobs \
         UNION ALL SELECT sections::text FROM playlist_sync_runs \
         UNION ALL SELECT row_to_json(p)::text FROM playlists p",
    )
    .load(&mut server.db.connect().await)
    .await
    .expect("dump");
    drop(server);
    let logs = captured.text();
    assert!(logs.contains("playlist created"), "the capture works");
    let stored: String = rows.into_iter().map(|r| r.dump).collect::<Vec<_>>().join("\n");
    assert!(stored.contains("refused"), "the dump holds the runs: {stored}");
    for (what, text) in [("logs", &logs), ("errors", &errors.join("\n")), ("database rows", &stored)] {
        assert!(!text.contains(PASSWORD), "the password in the {what}: {text}");
        assert!(!text.contains("username=demo"), "the user name in a URL in the {what}");
    }
}

#[tokio::test]
async fn operators_list_sync_and_remove_playlists_from_the_cli() {
    use medley_server::services::catalog::playlists::cli::{self, PlaylistCommand};
    let server = playlist_server().await;
    let panel = FakePanel::start(Family::Classic).await;
    let mut catalog = server.client().await.catalog();
    let playlist = synced_playlist(&mut catalog, &panel).await;
    let config = server.config.services.catalog.clone();
    let id = playlist.name.trim_start_matches("playlists/").to_owned();
    cli::run(server.state(), &config, PlaylistCommand::List).await.unwrap();
    let syncs = panel.count("get_vod_streams");
    cli::run(server.state(), &config, PlaylistCommand::Sync { playlist: id.clone() }).await.unwrap();
    assert_eq!(panel.count("get_vod_streams"), syncs + 1, "the CLI ran a sync to its end");
    panel.answer("get_live_categories", Answer::Body(bytes::Bytes::from_static(br#"{"user_info":{"auth":0}}"#)));
    let failed = cli::run(server.state(), &config, PlaylistCommand::Sync { playlist: id.clone() }).await.unwrap_err();
    assert!(failed.to_string().contains("JOB_STATE_DEAD"), "{failed}");
    cli::run(server.state(), &config, PlaylistCommand::Rm { playlist: playlist.name.clone() }).await.unwrap();
    let gone = cli::run(server.state(), &config, PlaylistCommand::Rm { playlist: id }).await.unwrap_err();
    assert!(gone.to_string().contains("not found"), "{gone}");
}
