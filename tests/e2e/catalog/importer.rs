//! The Kodik + Shikimori importer against fake upstreams: the reference catalog, idempotent
//! re-runs, incremental runs, resume after a killed worker, rate limits, upstream failures.

use std::time::{Duration, Instant};

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use medley_sdk::pb;
use medley_server::{Settings, services::catalog::importer::job::ImportHandler};
use medley_tests::{
    TestServer,
    fake_catalog::{
        FakeKodik, FakeShikimori, Fault, GenTitle, Limit, add_gen_anime, add_reference_anime, gen_catalog,
        gen_releases, reference_releases,
    },
};

const TOKEN: &str = "TEST_KODIK_TOKEN";

struct Upstreams {
    kodik: FakeKodik,
    shikimori: FakeShikimori,
}

fn configure(up: &Upstreams, page_size: u32) -> impl FnOnce(&mut Settings) + 'static {
    let kodik = up.kodik.handle.url();
    let shikimori = up.shikimori.handle.url();
    move |config: &mut Settings| {
        config.services.catalog.kodik_base_url = kodik;
        config.services.catalog.kodik_token = TOKEN.into();
        config.services.catalog.kodik_page_size = page_size;
        config.services.catalog.kodik_rps = 0;
        config.services.catalog.shikimori_base_url = shikimori;
        config.services.catalog.shikimori_user_agent = "MedleyTests".to_owned();
        config.services.catalog.import_http_timeout_ms = 1000;
        config.services.catalog.import_backoff_ms = 50;
        config.services.catalog.import_cron = String::new();
    }
}

async fn reference_upstreams() -> Upstreams {
    let kodik = FakeKodik::start(TOKEN, reference_releases()).await;
    let shikimori = FakeShikimori::start().await;
    add_reference_anime(&shikimori);
    Upstreams { kodik, shikimori }
}

/// Starts a run and follows it to its end; returns every message.
async fn run_import(server: &TestServer, mode: pb::ImportMode) -> Vec<pb::ImportRun> {
    let mut catalog = server.client().await.catalog();
    let started = catalog
        .start_import(pb::StartImportRequest { mode: mode as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(started.created);
    let id = started.run.unwrap().run_id;
    let mut stream = catalog.watch_import(pb::WatchImportRequest { run_id: id }).await.unwrap().into_inner();
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(message) =
        tokio::time::timeout_at(deadline.into(), stream.message()).await.expect("run ends in 60 s").unwrap()
    {
        messages.push(message.run.unwrap());
    }
    messages
}

fn last(messages: &[pb::ImportRun]) -> &pb::ImportRun {
    messages.last().expect("at least one message")
}

#[derive(QueryableByName)]
struct Fingerprint {
    #[diesel(sql_type = Text)]
    fingerprint: String,
}

/// The whole catalog as one string: every anime, episode and player with what users see.
async fn catalog_fingerprint(server: &TestServer) -> String {
    let mut conn = AsyncPgConnection::establish(&server.config.platform.database_url).await.unwrap();
    let row: Fingerprint = diesel::sql_query(
        "SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') AS fingerprint FROM ( \
           SELECT concat_ws('|', a.source_id, a.title, a.status, a.kind, a.year, array_to_string(a.genres, ','), \
                  e.source_episode_id, e.is_available, v.url, v.priority, v.translation_id) AS line \
           FROM catalog_anime a LEFT JOIN catalog_episodes e ON e.anime_id = a.id \
           LEFT JOIN catalog_videos v ON v.episode_id = e.id) lines",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    row.fingerprint
}

async fn anime_by_source(server: &TestServer, id: &str) -> pb::Anime {
    let mut catalog = server.client().await.catalog();
    catalog
        .get_anime(pb::GetAnimeRequest {
            lookup: Some(pb::get_anime_request::Lookup::Source(pb::SourceRef {
                source_name: "kodik-shikimori".into(),
                source_id: id.into(),
            })),
        })
        .await
        .unwrap()
        .into_inner()
        .anime
        .unwrap()
}

#[tokio::test]
async fn the_reference_catalog_imports_as_expected_and_reruns_change_nothing() {
    let up = reference_upstreams().await;
    let server = TestServer::builder().configure(configure(&up, 2)).start().await;
    let messages = run_import(&server, pb::ImportMode::Full).await;
    let run = last(&messages);
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    assert_eq!((run.pages, run.releases_seen, run.failed, run.skipped), (2, 4, 0, 0), "{run:?}");
    assert!(messages.windows(2).all(|w| w[0].pages <= w[1].pages), "progress is monotonic");

    let mut catalog = server.client().await.catalog();
    let cyberpunk = anime_by_source(&server, "42310").await;
    assert_eq!(cyberpunk.title, "Киберпанк: Бегущие по краю");
    assert!(cyberpunk.alternative_titles.contains(&"Cyberpunk: Edgerunners".to_owned()));
    assert_eq!((cyberpunk.year, cyberpunk.status), (Some(2022), pb::AnimeStatus::Completed as i32));
    assert_eq!(cyberpunk.genres, ["Action", "Sci-Fi"]);
    let episodes = catalog
        .list_episodes(pb::ListEpisodesRequest { anime_id: cyberpunk.id.clone(), page_size: 100, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .episodes;
    let ids: Vec<&str> = episodes.iter().map(|e| e.source_episode_id.as_str()).collect();
    assert_eq!(ids, (1..=10).map(|n| format!("42310:{n}")).collect::<Vec<_>>());
    assert!(episodes.iter().all(|e| e.is_available));
    for episode in &episodes {
        let groups = catalog
            .list_videos(pb::ListVideosRequest { episode_id: episode.id.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .groups;
        let translations: Vec<(String, i32)> = groups
            .iter()
            .map(|g| (g.translation.as_ref().unwrap().title.clone(), g.videos[0].player.as_ref().unwrap().priority))
            .collect();
        assert_eq!(
            translations,
            [("AniLibria.TV".to_owned(), 100), ("Субтитры".to_owned(), 50)],
            "{}",
            episode.source_episode_id
        );
        let player = groups[0].videos[0].player.as_ref().unwrap();
        assert!(player.url.starts_with("https://kodik.info/seria/"), "{}", player.url);
        assert_eq!(player.r#type, pb::PlayerType::Iframe as i32);
    }

    let film = anime_by_source(&server, "199").await;
    assert_eq!(film.kind, pb::AnimeKind::Movie as i32);
    let film_episodes = catalog
        .list_episodes(pb::ListEpisodesRequest { anime_id: film.id, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .episodes;
    assert_eq!(film_episodes.len(), 1);
    let groups = catalog
        .list_videos(pb::ListVideosRequest { episode_id: film_episodes[0].id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .groups;
    assert_eq!(
        groups[0].videos[0].player.as_ref().unwrap().url,
        "https://kodik.info/video/29871/fb05adde14df6876c714093c806c9dc0/720p"
    );

    let lycoris = anime_by_source(&server, "50709").await;
    assert_eq!((lycoris.status, lycoris.episodes_total), (pb::AnimeStatus::Ongoing as i32, Some(13)));
    let description = lycoris.description.unwrap_or_default();
    assert!(description.contains("Тисато") && !description.contains("[character"), "{description}");
    let lycoris_episodes = catalog
        .list_episodes(pb::ListEpisodesRequest { anime_id: lycoris.id, page_size: 100, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .episodes;
    assert_eq!(lycoris_episodes.len(), 12);

    // Shikimori etiquette: a User-Agent naming the app, and its limits kept.
    let shiki = up.shikimori.handle.seen();
    assert!(!shiki.is_empty() && shiki.iter().all(|s| s.user_agent.starts_with("MedleyTests")), "{shiki:?}");
    assert_eq!(up.shikimori.handle.violations(), 0);

    // A second full run fetches everything again and writes nothing.
    let before = catalog_fingerprint(&server).await;
    let cyberpunk_time = cyberpunk.update_time;
    let run = last(&run_import(&server, pb::ImportMode::Full).await).clone();
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    assert_eq!((run.imported, run.failed), (0, 0), "{run:?}");
    assert_eq!(run.unchanged, run.anime_seen);
    assert_eq!(catalog_fingerprint(&server).await, before);
    assert_eq!(anime_by_source(&server, "42310").await.update_time, cyberpunk_time);

    // An incremental run after it reads the listing to the watermark and asks Shikimori nothing.
    up.shikimori.handle.clear_seen();
    let run = last(&run_import(&server, pb::ImportMode::Incremental).await).clone();
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    assert_eq!(run.imported, 0);
    assert!(up.shikimori.handle.seen().is_empty(), "{:?}", up.shikimori.handle.seen());
    assert_eq!(catalog_fingerprint(&server).await, before);

    let runs = catalog.list_import_runs(pb::ListImportRunsRequest::default()).await.unwrap().into_inner().runs;
    assert_eq!(runs.len(), 3);
    assert!(runs[0].run_id > runs[1].run_id, "newest first");
}

#[tokio::test]
async fn incremental_runs_import_only_what_changed() {
    let (titles, releases) = gen_catalog(30);
    let kodik = FakeKodik::start(TOKEN, releases.clone()).await;
    let shikimori = FakeShikimori::start().await;
    add_gen_anime(&shikimori, &titles);
    let up = Upstreams { kodik, shikimori };
    let server = TestServer::builder().configure(configure(&up, 10)).start().await;
    let first = last(&run_import(&server, pb::ImportMode::Incremental).await).clone();
    assert_eq!((first.state, first.failed, first.skipped), (pb::JobState::Succeeded as i32, 0, 0), "{first:?}");
    assert_eq!(first.imported, 30);
    // Title 7 is a two-season serial: season 2 episodes get "{id}:2:{n}" ids.
    let two_seasons = anime_by_source(&server, "100008").await;
    let episodes = server
        .client()
        .await
        .catalog()
        .list_episodes(pb::ListEpisodesRequest { anime_id: two_seasons.id, page_size: 100, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .episodes;
    assert_eq!(episodes.len(), 24);
    assert_eq!(
        (episodes[12].season, episodes[12].number, episodes[12].source_episode_id.as_str()),
        (2, 1, "100008:2:1")
    );

    // Upstream changes: a new episode for one title (its release moves to the top), a new title.
    let mut changed = titles[3].clone();
    changed.seasons = vec![(1, 13)];
    changed.updated = 1_000_000;
    let newcomer = GenTitle {
        shikimori_id: Some(900_001),
        seasons: vec![(1, 3)],
        translations: vec![(610, "AniLibria.TV", "voice")],
        updated: 1_000_100,
    };
    let mut releases: Vec<_> = {
        let changed_id = titles[3].shikimori_id.unwrap().to_string();
        releases.into_iter().filter(|r| r["shikimori_id"].as_str() != Some(changed_id.as_str())).collect()
    };
    releases.extend(gen_releases(&changed, 10_003));
    releases.extend(gen_releases(&newcomer, 90_000));
    up.kodik.set_releases(releases);
    add_gen_anime(&up.shikimori, &[newcomer]);
    up.shikimori.handle.clear_seen();
    up.kodik.handle.clear_seen();

    let second = last(&run_import(&server, pb::ImportMode::Incremental).await).clone();
    assert_eq!(second.state, pb::JobState::Succeeded as i32, "{second:?}");
    assert_eq!((second.imported, second.failed), (2, 0), "{second:?}");
    assert_eq!(up.kodik.handle.seen().len(), 1, "the watermark is on the first page");
    assert_eq!(up.shikimori.handle.seen().len(), 1, "one metadata batch for the two changed titles");
    let changed_anime = anime_by_source(&server, &titles[3].shikimori_id.unwrap().to_string()).await;
    let mut catalog = server.client().await.catalog();
    let episodes = catalog
        .list_episodes(pb::ListEpisodesRequest { anime_id: changed_anime.id, page_size: 100, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .episodes;
    assert_eq!(episodes.len(), 13);
    anime_by_source(&server, "900001").await;
}

#[tokio::test]
async fn a_killed_importer_resumes_and_ends_with_the_same_catalog() {
    let (titles, releases) = gen_catalog(40);
    let build = async || {
        let kodik = FakeKodik::start(TOKEN, releases.clone()).await;
        let shikimori = FakeShikimori::start().await;
        add_gen_anime(&shikimori, &titles);
        Upstreams { kodik, shikimori }
    };
    // The uninterrupted run.
    let reference_up = build().await;
    let reference = TestServer::builder().configure(configure(&reference_up, 5)).start().await;
    let run = last(&run_import(&reference, pb::ImportMode::Full).await).clone();
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    let expected = catalog_fingerprint(&reference).await;

    // The interrupted one: pages are slow, the worker is killed after two pages, another takes
    // over once the lease expires.
    let up = build().await;
    up.kodik.handle.push_faults((0..20).map(|_| Fault::Slow(Duration::from_millis(150))));
    let configure_up = configure(&up, 5);
    let server = TestServer::builder()
        .configure(move |config| {
            configure_up(config);
            config.platform.workers = 0;
            config.platform.job_lease_ms = 600;
        })
        .start()
        .await;
    let registry = || {
        medley_server::jobs::Registry::new()
            .register(ImportHandler::new(server.state(), &server.config.services.catalog).unwrap())
    };
    let mut worker = server.spawn_worker(registry(), |_| {}).await;
    let mut catalog = server.client().await.catalog();
    let id = catalog.start_import(pb::StartImportRequest::default()).await.unwrap().into_inner().run.unwrap().run_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = medley_server::services::catalog::importer::job::current(server.state(), id).await.unwrap();
        if run.pages >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {run:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.kill();
    let mut second = server.spawn_worker(registry(), |_| {}).await;
    let mut stream = catalog.watch_import(pb::WatchImportRequest { run_id: id }).await.unwrap().into_inner();
    let mut final_run = None;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(60), stream.message()).await.unwrap().unwrap() {
        final_run = message.run;
    }
    let final_run = final_run.unwrap();
    second.stop().await;
    assert_eq!(final_run.state, pb::JobState::Succeeded as i32, "{final_run:?}");
    assert!(final_run.attempts >= 2, "the run resumed in a second attempt: {final_run:?}");
    assert_eq!(final_run.pages, run.pages, "no page was read twice after the resume point: {final_run:?}");
    assert_eq!(catalog_fingerprint(&server).await, expected);
}

#[tokio::test]
async fn upstream_failures_are_retried_and_odd_titles_skipped() {
    let mut releases = reference_releases();
    // A release without a Shikimori id, one Shikimori does not know, one only its REST API knows.
    let orphan = GenTitle {
        shikimori_id: None,
        seasons: vec![(1, 2)],
        translations: vec![(610, "AniLibria.TV", "voice")],
        updated: 1,
    };
    let unknown = GenTitle { shikimori_id: Some(777_777), ..orphan.clone() };
    let rest_only = GenTitle { shikimori_id: Some(555_555), ..orphan.clone() };
    releases.extend(gen_releases(&orphan, 1));
    releases.extend(gen_releases(&unknown, 2));
    releases.extend(gen_releases(&rest_only, 3));
    let kodik = FakeKodik::start(TOKEN, releases).await;
    let shikimori = FakeShikimori::start().await;
    add_reference_anime(&shikimori);
    shikimori.insert_rest_only(555_555, medley_tests::fake_catalog::gen_anime(555_555, false, 2).1);
    // Kodik: 429 with Retry-After, a burst of 5xx, a response slower than the timeout.
    kodik.handle.push_faults([
        Fault::Status(429, Some(1)),
        Fault::Status(502, None),
        Fault::Status(503, None),
        Fault::Slow(Duration::from_millis(1500)),
    ]);
    shikimori.handle.push_faults([Fault::Status(429, Some(1)), Fault::Status(500, None)]);
    let up = Upstreams { kodik, shikimori };
    let server = TestServer::builder().configure(configure(&up, 100)).start().await;
    let run = last(&run_import(&server, pb::ImportMode::Full).await).clone();
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    assert_eq!((run.imported, run.skipped, run.failed), (4, 2, 0), "{run:?}");
    assert!(run.upstream_retries >= 6, "{run:?}");
    let reasons: Vec<&str> = run.failures.iter().map(|f| f.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("no Shikimori id")) && reasons.iter().any(|r| r.contains("404")),
        "{reasons:?}"
    );
    anime_by_source(&server, "555555").await;

    // Retry-After was honoured: the retry after each 429 came at least a second later.
    for seen in [up.kodik.handle.seen(), up.shikimori.handle.seen()] {
        let first_429 = seen.iter().position(|s| s.status == 429).unwrap();
        assert!(seen[first_429 + 1].at.duration_since(seen[first_429].at) >= Duration::from_secs(1), "{seen:?}");
    }
    assert_eq!(up.shikimori.handle.violations(), 0);
}

#[tokio::test]
async fn shikimori_limits_hold_when_every_title_needs_its_own_request() {
    let (titles, releases) = gen_catalog(24);
    let pages = releases.len().div_ceil(4);
    let kodik = FakeKodik::start(TOKEN, releases).await;
    let shikimori = FakeShikimori::start().await;
    add_gen_anime(&shikimori, &titles);
    // Without GraphQL, every title costs one REST request: 24 requests at 5 per second.
    shikimori.set_graphql_down(true);
    // Kodik's limit is not published: the fake holds the importer to the 2 per second it is
    // configured with.
    kodik.handle.set_limits(vec![Limit { limit: 2, window: Duration::from_secs(1) }]);
    let up = Upstreams { kodik, shikimori };
    let configure_up = configure(&up, 4);
    let server = TestServer::builder()
        .configure(move |config| {
            configure_up(config);
            config.services.catalog.kodik_rps = 2;
        })
        .start()
        .await;
    let run = last(&run_import(&server, pb::ImportMode::Full).await).clone();
    assert_eq!((run.state, run.imported), (pb::JobState::Succeeded as i32, 24), "{run:?}");
    let seen: Vec<Instant> =
        up.shikimori.handle.seen().iter().filter(|s| s.path.starts_with("/api/animes/")).map(|s| s.at).collect();
    assert_eq!(seen.len(), 24);
    for (i, at) in seen.iter().enumerate() {
        let in_second = seen[i..].iter().take_while(|t| t.duration_since(*at) < Duration::from_secs(1)).count();
        assert!(in_second <= 5, "{in_second} requests within a second");
    }
    assert_eq!(up.shikimori.handle.violations(), 0);
    assert_eq!(up.kodik.handle.seen().len(), pages, "one request per page of 4 releases");
    assert_eq!(up.kodik.handle.violations(), 0);
}

#[tokio::test]
async fn a_bad_token_fails_the_run_without_leaking_it() {
    for status in [200, 403] {
        let up = reference_upstreams().await;
        up.kodik.set_bad_token_status(status);
        let configure_up = configure(&up, 2);
        let server = TestServer::builder()
            .configure(move |config| {
                configure_up(config);
                config.services.catalog.kodik_token = "wrong-secret-token".into();
            })
            .start()
            .await;
        let run = last(&run_import(&server, pb::ImportMode::Full).await).clone();
        assert_eq!(run.state, pb::JobState::Dead as i32, "{run:?}");
        assert!(
            run.error.contains("Отсутствует или неверный токен") && run.error.contains("MEDLEY_KODIK_TOKEN"),
            "{}",
            run.error
        );
        assert!(!run.error.contains("wrong-secret-token"));
        assert_eq!(run.attempts, 1, "a bad token is not retried");
    }
}

#[tokio::test]
async fn runs_are_single_cancellable_and_listed() {
    let (titles, releases) = gen_catalog(20);
    let kodik = FakeKodik::start(TOKEN, releases).await;
    kodik.handle.push_faults((0..20).map(|_| Fault::Slow(Duration::from_millis(300))));
    let shikimori = FakeShikimori::start().await;
    add_gen_anime(&shikimori, &titles);
    let up = Upstreams { kodik, shikimori };
    let server = TestServer::builder().configure(configure(&up, 2)).start().await;
    let mut catalog = server.client().await.catalog();
    let first = catalog.start_import(pb::StartImportRequest::default()).await.unwrap().into_inner();
    let again = catalog
        .start_import(pb::StartImportRequest { mode: pb::ImportMode::Full as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let id = first.run.unwrap().run_id;
    assert!(first.created && !again.created);
    assert_eq!(again.run.unwrap().run_id, id);
    let mut stream = catalog.watch_import(pb::WatchImportRequest { run_id: id }).await.unwrap().into_inner();
    // Wait for the first imported page, then cancel.
    loop {
        let message = stream.message().await.unwrap().unwrap().run.unwrap();
        if message.pages >= 1 {
            break;
        }
    }
    catalog.cancel_import(pb::CancelImportRequest { run_id: id }).await.unwrap();
    let mut state = 0;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), stream.message()).await.unwrap().unwrap() {
        state = message.run.unwrap().state;
    }
    assert_eq!(state, pb::JobState::Cancelled as i32);
    let status = catalog.cancel_import(pb::CancelImportRequest { run_id: id }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let runs = catalog
        .list_import_runs(pb::ListImportRunsRequest { page_size: 1, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(runs.runs.len(), 1);
    assert!(runs.runs[0].pages >= 1 && runs.runs[0].pages < 10, "stopped early: {:?}", runs.runs[0]);
}

#[tokio::test]
async fn watchers_on_another_instance_see_coalesced_progress() {
    let (titles, releases) = gen_catalog(30);
    let kodik = FakeKodik::start(TOKEN, releases).await;
    let shikimori = FakeShikimori::start().await;
    add_gen_anime(&shikimori, &titles);
    let up = Upstreams { kodik, shikimori };
    // One release per page: 40 pages as fast as the machine goes.
    let worker_server = TestServer::builder().configure(configure(&up, 1)).start().await;
    let configure_watcher = configure(&up, 1);
    let watcher = TestServer::builder()
        .join(&worker_server)
        .configure(move |config| {
            configure_watcher(config);
            config.platform.workers = 0;
        })
        .start()
        .await;
    let mut catalog = watcher.client().await.catalog();
    let id = catalog.start_import(pb::StartImportRequest::default()).await.unwrap().into_inner().run.unwrap().run_id;
    let mut stream = catalog.watch_import(pb::WatchImportRequest { run_id: id }).await.unwrap().into_inner();
    let started = Instant::now();
    let mut messages = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(60), stream.message()).await.unwrap().unwrap() {
        messages.push(message.run.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let last = messages.last().unwrap();
    assert_eq!(last.state, pb::JobState::Succeeded as i32, "{last:?}");
    assert_eq!(last.pages, 40, "{last:?}");
    // Counter updates come at most every 250 ms; state changes (queued → running → done) and the
    // snapshot come on top.
    let bound = (elapsed / 0.25).ceil() as usize + 5;
    assert!(messages.len() <= bound, "{} messages in {elapsed:.2} s (bound {bound})", messages.len());
    assert!(messages.windows(2).all(|w| w[0].pages <= w[1].pages));
}

#[tokio::test]
async fn a_cursor_that_does_not_move_ends_the_listing() {
    let up = reference_upstreams().await;
    up.kodik.set_stuck(true);
    let server = TestServer::builder().configure(configure(&up, 2)).start().await;
    let run = last(&run_import(&server, pb::ImportMode::Full).await).clone();
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    // Page 1, then page 1 again under the same cursor: the importer stops there.
    assert_eq!(run.pages, 2, "{run:?}");
    assert_eq!(up.kodik.handle.seen().len(), 2);
}

#[tokio::test]
async fn upstream_text_with_nul_is_imported_without_it() {
    // PostgreSQL refuses U+0000: a NUL in an upstream title, description or translation name
    // must cost the character, not the row (or the page it is written with).
    let title = GenTitle {
        shikimori_id: Some(424_242),
        seasons: vec![(1, 2)],
        translations: vec![(610, "Ani\u{0}Libria", "voice")],
        updated: 1,
    };
    let mut releases = reference_releases();
    releases.extend(gen_releases(&title, 9));
    let kodik = FakeKodik::start(TOKEN, releases).await;
    let shikimori = FakeShikimori::start().await;
    add_reference_anime(&shikimori);
    let (mut graphql, mut rest) = medley_tests::fake_catalog::gen_anime(424_242, false, 2);
    for anime in [&mut graphql, &mut rest] {
        anime["russian"] = "Тайтл\u{0} 424242".into();
        anime["name"] = "Title\u{0} 424242".into();
        anime["description"] = "История\u{0}\u{7} героя".into();
    }
    shikimori.insert(424_242, graphql, rest);
    let up = Upstreams { kodik, shikimori };
    let server = TestServer::builder().configure(configure(&up, 100)).start().await;
    let run = last(&run_import(&server, pb::ImportMode::Full).await).clone();
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    assert_eq!(run.failed, 0, "{run:?}");
    let anime = anime_by_source(&server, "424242").await;
    assert!(["Тайтл 424242", "Title 424242"].contains(&anime.title.as_str()), "{anime:?}");
    assert_eq!(anime.description.as_deref(), Some("История героя"));
}
