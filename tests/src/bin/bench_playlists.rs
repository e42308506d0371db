//! Playlist benchmark: a first sync of a large fake Xtream panel (default 20,000 live channels,
//! 50,000 films, 5,000 series), a re-sync with no change, a re-sync with 1 % of the films
//! changed, then `ListVod` with a text search under load (64 calls in flight) side by side with
//! the first page of `ListVod` without a filter and `ListPlaylists` (the cheapest authenticated
//! call: the server's ceiling on this machine).
//!
//! Runs against the local PostgreSQL and Redis with a fresh database, like the tests:
//!
//! ```sh
//! cargo run --release -p medley-tests --bin bench-playlists -- [LIVE] [VOD] [SERIES] [SECONDS]
//! ```

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use medley_sdk::pb;
use medley_tests::{
    TestServer,
    fake_xtream::{FakePanel, Family, PASSWORD, USERNAME, generated_catalog, generated_word},
    grpc_load::{self, frame},
};
use secrecy::SecretString;
use tokio_stream::StreamExt as _;

fn arg(n: usize, default: usize) -> usize {
    std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default)
}

async fn wait(
    catalog: &mut pb::catalog_service_client::CatalogServiceClient<medley_sdk::AuthedChannel>,
    run_id: i64,
) -> pb::PlaylistSyncRun {
    let mut stream =
        catalog.watch_playlist_sync(pb::WatchPlaylistSyncRequest { run_id }).await.expect("watch").into_inner();
    let mut last = None;
    while let Some(message) = stream.next().await {
        last = message.expect("message").run;
    }
    last.expect("a run")
}

fn print_run(label: &str, seconds: f64, run: &pb::PlaylistSyncRun) {
    let sections: Vec<String> = run
        .sections
        .iter()
        .map(|s| {
            let name = pb::SyncSection::try_from(s.section)
                .map_or("?", |s| s.as_str_name())
                .trim_start_matches("SYNC_SECTION_")
                .to_lowercase();
            format!("{name} +{} ~{} -{} ={} in {} ms", s.added, s.changed, s.removed, s.unchanged, s.duration_ms)
        })
        .collect();
    let state = pb::JobState::try_from(run.state).map_or("?", |s| s.as_str_name());
    println!("{label}: {seconds:.2} s, {state}; {}", sections.join("; "));
}

#[tokio::main]
async fn main() {
    let (live, vod, series, seconds) = (arg(1, 20_000), arg(2, 50_000), arg(3, 5_000), arg(4, 10) as u64);
    let key = SecretString::from(medley_server::secrets::new_key().expect("key"));
    let server = TestServer::builder()
        .configure(move |settings| {
            settings.platform.secret_key = key;
            settings.platform.outbound_allow = "127.0.0.0/8".to_owned();
            settings.platform.database_pool_size = 16;
        })
        .start()
        .await;
    let panel = FakePanel::start(Family::Classic).await;
    generated_catalog(&panel, live, vod, series);
    let bytes: usize =
        ["get_live_streams", "get_vod_streams", "get_series"].iter().map(|a| panel.list(a).to_string().len()).sum();
    println!("panel: {live} live, {vod} films, {series} series ({:.1} MB of lists)", bytes as f64 / 1e6);
    let mut catalog = server.client().await.catalog();

    let started = Instant::now();
    let request = pb::CreatePlaylistRequest {
        playlist: Some(pb::Playlist {
            display_name: "Bench".into(),
            server_url: panel.url(),
            credentials: Some(pb::PlaylistCredentials { username: USERNAME.into(), password: PASSWORD.into() }),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let playlist = catalog.create_playlist(request).await.expect("create").into_inner().playlist.expect("playlist");
    let run = wait(&mut catalog, playlist.last_sync_run_id).await;
    print_run("first sync (create + sync)", started.elapsed().as_secs_f64(), &run);

    let sync = async |catalog: &mut pb::catalog_service_client::CatalogServiceClient<medley_sdk::AuthedChannel>| {
        let started = Instant::now();
        let run = catalog
            .sync_playlist(pb::SyncPlaylistRequest { name: playlist.name.clone() })
            .await
            .expect("sync")
            .into_inner()
            .run
            .expect("run");
        let run = wait(catalog, run.run_id).await;
        (started.elapsed().as_secs_f64(), run)
    };
    let (took, run) = sync(&mut catalog).await;
    print_run("re-sync, no change", took, &run);
    let mut films = panel.list("get_vod_streams");
    for (i, film) in films.as_array_mut().expect("list").iter_mut().enumerate() {
        if i % 100 == 0 {
            film["rating"] = serde_json::json!("9.9");
        }
    }
    panel.set_list("get_vod_streams", &films);
    let (took, run) = sync(&mut catalog).await;
    print_run("re-sync, 1 % of films changed", took, &run);

    let addr = server.running().grpc_addr;
    let key = server.admin_key.clone();
    let searches: Vec<bytes::Bytes> = (0..200)
        .map(|i| {
            let query = if i % 2 == 0 {
                generated_word(i).to_owned()
            } else {
                format!("{} {}", generated_word(i), generated_word(i / 24 + 5))
            };
            frame(&pb::ListVodRequest {
                parent: playlist.name.clone(),
                filter: Some(pb::PlaylistItemFilter { query: query.to_lowercase(), ..Default::default() }),
                page_size: 50,
                ..Default::default()
            })
        })
        .collect();
    let first_page =
        vec![frame(&pb::ListVodRequest { parent: playlist.name.clone(), page_size: 50, ..Default::default() })];
    let ceiling = vec![frame(&pb::ListPlaylistsRequest::default())];
    for (label, path, bodies) in [
        ("ListPlaylists (ceiling)", "/medley.v1.CatalogService/ListPlaylists", ceiling),
        ("ListVod, first page, no filter", "/medley.v1.CatalogService/ListVod", first_page),
        ("ListVod, text search", "/medley.v1.CatalogService/ListVod", searches),
    ] {
        let report =
            grpc_load::run(addr, path, Some(&key), Arc::new(bodies), 4, 64, Duration::from_secs(seconds)).await;
        println!(
            "{label}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} calls, {} failed, 64 in flight, {:.1} s)",
            report.ok as f64 / report.seconds,
            report.p50_ms,
            report.p99_ms,
            report.ok,
            report.failed,
            report.seconds
        );
    }
}
