//! Catalog benchmark: `ImportBatch` throughput (anime + 12 episodes + 2 players per episode),
//! first import and an unchanged re-import, then a full importer run over a fake Kodik +
//! Shikimori catalog with the rate limiters disabled.
//!
//! Runs against the local PostgreSQL and Redis with a fresh database, like the tests:
//!
//! ```sh
//! cargo run --release -p medley-tests --bin bench-catalog -- [ANIME] [STREAMS] [IMPORTER_ANIME]
//! ```
//!
//! Defaults: 5,000 anime over 4 concurrent streams, then an importer run over 2,000 anime.

use std::time::{Duration, Instant};

use medley_sdk::pb::{self, import_batch_request::Item};
use medley_tests::{
    TestServer,
    fake_catalog::{FakeKodik, FakeShikimori, add_gen_anime, gen_catalog},
};

fn items(from: usize, to: usize) -> Vec<pb::ImportBatchRequest> {
    let item = |item| pb::ImportBatchRequest { item: Some(item) };
    let mut out = Vec::with_capacity((to - from) * 26);
    for i in from..to {
        let id = format!("bench-{i}");
        out.push(item(Item::Anime(pb::AnimeImport {
            source_name: "bench".into(),
            source_id: id.clone(),
            title: format!("Benchmark Anime {i}"),
            alternative_titles: vec![format!("Бенчмарк {i}"), format!("ベンチ {i}")],
            description: Some(format!("Synopsis of anime {i}, long enough to look like a real one.")),
            year: Some(2000 + (i % 25) as i32),
            status: pb::AnimeStatus::Completed as i32,
            kind: pb::AnimeKind::Tv as i32,
            poster: Some(format!("https://img.example/{i}.jpg")),
            genres: vec!["Action".into(), "Drama".into()],
            episodes_total: Some(12),
        })));
        out.push(item(Item::Episodes(pb::ImportEpisodesRequest {
            source_name: "bench".into(),
            anime_source_id: id.clone(),
            episodes: (1..=12)
                .map(|n| pb::EpisodeImport {
                    source_episode_id: format!("{id}:{n}"),
                    number: n,
                    title: Some(format!("Episode {n}")),
                    is_available: None,
                    season: None,
                })
                .collect(),
        })));
        for n in 1..=12 {
            for (translation, kind, priority) in
                [("610", pb::TranslationType::Voice, 100), ("869", pb::TranslationType::Subtitles, 50)]
            {
                out.push(item(Item::Video(pb::ImportVideoRequest {
                    source_name: "bench".into(),
                    source_episode_id: format!("{id}:{n}"),
                    anime_source_id: id.clone(),
                    player: Some(pb::Player {
                        r#type: pb::PlayerType::Iframe as i32,
                        url: format!("https://kodik.info/seria/{i}{n:03}{translation}/hash/720p"),
                        provider: "kodik".into(),
                        priority,
                        translation: Some(pb::Translation {
                            id: translation.into(),
                            title: format!("T{translation}"),
                            r#type: kind as i32,
                        }),
                        quality: Some("WEB-DLRip 720p".into()),
                    }),
                })));
            }
        }
    }
    out
}

async fn import_all(server: &TestServer, anime: usize, streams: usize) -> (f64, pb::ImportBatchResponse) {
    let per_stream = anime.div_ceil(streams);
    let batches: Vec<Vec<pb::ImportBatchRequest>> =
        (0..streams).map(|s| items(s * per_stream, ((s + 1) * per_stream).min(anime))).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for batch in batches {
        let client = server.client().await;
        tasks.push(tokio::spawn(async move { client.import_batch_all(batch).await.expect("import batch") }));
    }
    let mut total = pb::ImportBatchResponse::default();
    for task in tasks {
        let response = task.await.expect("task");
        total.created += response.created;
        total.updated += response.updated;
        total.unchanged += response.unchanged;
        total.failed += response.failed;
    }
    (started.elapsed().as_secs_f64(), total)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let anime: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let streams: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4).max(1);
    let importer_anime: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let server = TestServer::builder().configure(|c| c.platform.database_pool_size = 16).start().await;
    for label in ["first import", "unchanged re-import"] {
        let (seconds, total) = import_all(&server, anime, streams).await;
        println!(
            "ImportBatch {label}: {anime} anime (+12 episodes, 24 players each) in {seconds:.2} s = {:.0} anime/s \
             ({:.0} items/s; created {}, updated {}, unchanged {}, failed {})",
            anime as f64 / seconds,
            (anime * 26) as f64 / seconds,
            total.created,
            total.updated,
            total.unchanged,
            total.failed
        );
        assert_eq!(total.failed, 0, "items failed");
    }

    let (titles, releases) = gen_catalog(importer_anime);
    let kodik = FakeKodik::start("BENCH", releases).await;
    let shikimori = FakeShikimori::start().await;
    shikimori.handle.set_limits(vec![]);
    add_gen_anime(&shikimori, &titles);
    let (kodik_url, shikimori_url) = (kodik.handle.url(), shikimori.handle.url());
    let importer = TestServer::builder()
        .configure(move |c| {
            c.services.catalog.kodik_base_url = kodik_url;
            c.services.catalog.kodik_token = "BENCH".into();
            c.services.catalog.kodik_rps = 0;
            c.services.catalog.shikimori_base_url = shikimori_url;
            c.services.catalog.shikimori_rps = 0;
            c.services.catalog.shikimori_rpm = 0;
            c.services.catalog.import_cron = String::new();
        })
        .start()
        .await;
    let client = importer.client().await;
    for mode in [pb::ImportMode::Full, pb::ImportMode::Full] {
        let started = Instant::now();
        let run = client
            .catalog()
            .start_import(pb::StartImportRequest { mode: mode as i32, ..Default::default() })
            .await
            .expect("start")
            .into_inner();
        let id = run.run.expect("run").run_id;
        let mut stream =
            client.catalog().watch_import(pb::WatchImportRequest { run_id: id }).await.expect("watch").into_inner();
        let mut last = None;
        while let Some(message) =
            tokio::time::timeout(Duration::from_secs(600), stream.message()).await.expect("ends").expect("message")
        {
            last = message.run;
        }
        let run = last.expect("a run");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "importer full run over {importer_anime} anime: {seconds:.2} s = {:.0} anime/s ({} pages, {} imported, {} unchanged, {} failed, {} upstream requests)",
            importer_anime as f64 / seconds,
            run.pages,
            run.imported,
            run.unchanged,
            run.failed,
            run.upstream_requests
        );
        assert_eq!(run.state, pb::JobState::Succeeded as i32, "the importer run failed: {run:?}");
        assert_eq!(run.failed, 0, "titles failed: {:?}", run.failures);
    }
}
