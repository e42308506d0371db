//! Pipeline runs: real data merged consistently, unchanged and changed re-runs, HTTP sources
//! with ETags, and bad files that must leave the previous data serving.

use std::collections::HashMap;

use medley_sdk::pb::{self, Platform};
use medley_server::{
    services::mapping::config::MappingSources,
    services::mapping::sources::{SourceKind, SourceSpec},
};
use medley_tests::{FakeSource, Reply, TestServer, fixture};
use redis::AsyncCommands as _;

use super::{
    export_all, follow, follow_until, get, ids_on, key, real_sources, run_pipeline, season_key, server_with, spec,
};

#[tokio::test]
async fn real_data_sets_merge_into_one_consistent_set() {
    let server = server_with(real_sources()).await;
    let client = server.client().await;
    let run = run_pipeline(&client, false).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    assert_eq!(run.stage, pb::PipelineStage::Done as i32);
    let summary = run.summary.expect("a summary");
    assert_eq!(summary.sources.len(), 3);
    assert!(summary.sources.iter().all(|s| s.outcome == pb::SourceOutcome::Changed as i32 && s.records > 0));
    assert_eq!(summary.records_read, 94 + 413 + 394);
    assert!(summary.records_merged > 400 && summary.records_merged < 700, "{summary:?}");
    assert_eq!(summary.records_inserted, summary.records_merged);

    // Known answers across the three sets: ids from Fribb 2024 (MAL, AniList, Kitsu), the 2026
    // list (TVDB and TMDB TV with season) and AnimeAPI (Trakt, Annict) on one record.
    let bebop = get(&client, key("mal", "1")).await.expect("MAL 1");
    assert_eq!(bebop.title, "Cowboy Bebop");
    assert_eq!(ids_on(&bebop, Platform::Anilist), [("1".to_owned(), None)]);
    assert_eq!(ids_on(&bebop, Platform::Anidb), [("23".to_owned(), None)]);
    assert_eq!(ids_on(&bebop, Platform::Kitsu), [("1".to_owned(), None)]);
    assert_eq!(ids_on(&bebop, Platform::Thetvdb), [("76885".to_owned(), Some(1))]);
    assert_eq!(ids_on(&bebop, Platform::ThemoviedbTv), [("30991".to_owned(), Some(1))]);
    assert_eq!(ids_on(&bebop, Platform::Trakt), [("30857".to_owned(), Some(1))]);
    assert_eq!(ids_on(&bebop, Platform::Shikimori), [("1".to_owned(), None)]);
    for lookup in [key("anidb", "23"), key("kitsu", "1"), season_key("tvdb", "76885", 1), key("tmdb_tv", "30991")] {
        assert_eq!(get(&client, lookup).await.expect("same record").id, bebop.id);
    }

    // One TVDB show, several AniDB entries: each season is its own record; the bare id is
    // season 1.
    let s1 = get(&client, key("anidb", "1")).await.expect("AniDB 1");
    let s2 = get(&client, season_key("thetvdb", "72025", 2)).await.expect("TVDB 72025 s2");
    assert_eq!(ids_on(&s2, Platform::Anidb), [("4".to_owned(), None)]);
    assert_eq!(get(&client, key("thetvdb", "72025")).await.expect("bare").id, s1.id);
    assert_ne!(s1.id, s2.id);

    // AnimeAPI's duplicate MAL 23579 (two rows) and AOD's split pair end up as one record.
    let twelve = get(&client, key("mal", "23579")).await.expect("MAL 23579");
    assert_eq!(get(&client, key("anilist", "20716")).await.expect("AniList 20716").id, twelve.id);
    assert_eq!(get(&client, key("anidb", "10584")).await.expect("AniDB 10584").id, twelve.id);
    assert!(twelve.synonyms.iter().any(|s| s == "12-sai. Kiss, Kirai, Suki"), "{twelve:?}");

    // No (platform, id) is on two records.
    let records = export_all(&client, Platform::Unspecified).await;
    assert_eq!(records.len() as i64, summary.records_merged);
    let mut owners: HashMap<(i32, String, Option<i32>), i64> = HashMap::new();
    for record in &records {
        for id in &record.ids {
            let unique = !matches!(
                Platform::try_from(id.platform),
                Ok(Platform::Thetvdb
                    | Platform::ThemoviedbTv
                    | Platform::Themoviedb
                    | Platform::Imdb
                    | Platform::Trakt
                    | Platform::TraktMovie)
            );
            if unique && let Some(other) = owners.insert((id.platform, id.id.clone(), id.season), record.id) {
                panic!("{:?} {} is on records {other} and {}", id.platform, id.id, record.id);
            }
        }
    }
    let status = client.mapping().get_status(pb::GetStatusRequest {}).await.expect("status").into_inner();
    assert_eq!(status.total_records, summary.records_merged);
    let mal = status.counts.iter().find(|c| c.name == "myanimelist").expect("MAL count");
    assert_eq!(mal.records, records.iter().filter(|r| !ids_on(r, Platform::Myanimelist).is_empty()).count() as i64);
    assert_eq!(status.sources.len(), 3);
    assert_eq!(status.last_successful_run.map(|r| r.run_id), Some(run.run_id));
}

#[tokio::test]
async fn an_unchanged_rerun_skips_and_one_changed_row_changes_exactly_that() {
    let dir = tempdir();
    let tsv = dir.join("animeapi.tsv");
    let original = std::fs::read_to_string(fixture("mapping/animeapi.2025-02-03.extract.tsv")).expect("fixture");
    // Two rows only AnimeAPI knows: one to change, one to remove.
    let extra = "Medley Row A\t\t\t\t\t\t\tmedley-row-a\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n\
                 Medley Row B\t\t\t\t\t\t\tmedley-row-b\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n";
    std::fs::write(&tsv, format!("{original}{extra}")).expect("write tsv");
    let mut sources = real_sources();
    sources[2] = SourceSpec { kind: SourceKind::AnimeApi, location: tsv.display().to_string() };
    let server = server_with(sources).await;
    let client = server.client().await;
    let first = run_pipeline(&client, false).await.summary.expect("summary");
    let row_a = get(&client, key("kaize", "medley-row-a")).await.expect("row A");
    let row_b = get(&client, key("kaize", "medley-row-b")).await.expect("row B");
    let bebop = get(&client, key("mal", "1")).await.expect("MAL 1");

    // Unchanged sources: nothing merged nor written.
    let second = run_pipeline(&client, false).await.summary.expect("summary");
    assert!(second.skipped, "{second:?}");
    assert!(second.sources.iter().all(|s| s.outcome == pb::SourceOutcome::Unchanged as i32));
    // Forced: everything compared, nothing changed.
    let forced = run_pipeline(&client, true).await.summary.expect("summary");
    assert!(!forced.skipped);
    assert_eq!((forced.records_inserted, forced.records_updated, forced.records_deleted), (0, 0, 0));
    assert_eq!(forced.records_unchanged, first.records_merged);

    // Warm the cache for the keys about to change.
    let state = server.state();
    let mut redis = state.redis.clone();
    let kaize = Platform::Kaize as i16;
    let key_b = state.keys.mapping_key(kaize, "medley-row-b");
    assert!(redis.exists::<_, bool>(&key_b).await.expect("redis"), "the run filled the cache");

    // Row A gets a Nautiljon id; row B vanishes.
    let changed = "Medley Row A\t\t\t\t\t\t\tmedley-row-a\t\t\t\t\tmedley+row+a\t\t\t\t\t\t\t\t\t\t\n";
    std::fs::write(&tsv, format!("{original}{changed}")).expect("write tsv");
    let third = run_pipeline(&client, false).await.summary.expect("summary");
    assert_eq!((third.records_inserted, third.records_updated, third.records_deleted), (0, 1, 1), "{third:?}");
    assert_eq!(third.records_unchanged, first.records_merged - 2);

    let row_a_now = get(&client, key("kaize", "medley-row-a")).await.expect("row A");
    assert_eq!(row_a_now.id, row_a.id, "ids are stable");
    assert_eq!(ids_on(&row_a_now, Platform::Nautiljon), [("medley+row+a".to_owned(), None)]);
    assert_eq!(get(&client, key("nautiljon", "medley+row+a")).await.expect("new key").id, row_a.id);
    let gone = get(&client, key("kaize", "medley-row-b")).await.expect_err("row B is gone");
    assert_eq!(gone.code(), tonic::Code::NotFound);
    assert!(!redis.exists::<_, bool>(&key_b).await.expect("redis"), "the vanished key left the cache");
    assert!(!redis.exists::<_, bool>(state.keys.mapping_record(row_b.id)).await.expect("redis"));
    // Untouched records keep their update time.
    assert_eq!(get(&client, key("mal", "1")).await.expect("MAL 1").update_time, bebop.update_time);
}

#[tokio::test]
async fn http_sources_use_etags_and_bad_files_keep_the_previous_data_serving() {
    let fake = FakeSource::start().await;
    let body = std::fs::read(fixture("mapping/fribb-anime-lists-reduced.2026-06-30.extract.json")).expect("fixture");
    fake.set("/fribb.json", Reply::Body { body: body.clone(), etag: "\"v1\"".into() });
    let tsv = std::fs::read(fixture("mapping/animeapi.2025-02-03.extract.tsv")).expect("fixture");
    // Served zstd-compressed, as AOD's release assets are.
    let compressed = ruzstd::encoding::compress_to_vec(tsv.as_slice(), ruzstd::encoding::CompressionLevel::Fastest);
    fake.set("/animeapi.tsv.zst", Reply::Body { body: compressed, etag: "\"t1\"".into() });
    let sources = vec![
        SourceSpec { kind: SourceKind::Fribb, location: fake.url("/fribb.json") },
        spec(SourceKind::Fribb, "fribb-anime-list-mini.2024-05-07.extract.json"),
        SourceSpec { kind: SourceKind::AnimeApi, location: fake.url("/animeapi.tsv.zst") },
    ];
    let server =
        TestServer::builder().configure(move |c| c.services.mapping.sources = MappingSources(sources)).start().await;
    let client = server.client().await;
    let first = run_pipeline(&client, false).await;
    assert_eq!(first.state, pb::JobState::Succeeded as i32, "{first:?}");
    let seen = fake.take_seen();
    assert!(seen.iter().all(|s| s.if_none_match.is_none() && s.status == 200), "{seen:?}");
    let served = get(&client, key("mal", "1")).await.expect("MAL 1");
    assert_eq!(ids_on(&served, Platform::Trakt).len(), 1, "the zstd TSV was read");

    // Second run: conditional requests, 304s, nothing to do.
    let second = run_pipeline(&client, false).await.summary.expect("summary");
    assert!(second.skipped, "{second:?}");
    let seen = fake.take_seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.status == 304 && s.if_none_match.is_some()), "{seen:?}");

    // Bad upstream answers fail the run with the reason and keep the data serving.
    for (reply, expected) in [
        (Reply::Truncated { body: body.clone() }, "cut off"),
        (Reply::Body { body: b"<html>Too many requests</html>".to_vec(), etag: "\"v2\"".into() }, "malformed"),
        (Reply::Body { body: body[..body.len() / 2].to_vec(), etag: "\"v3\"".into() }, "truncated"),
        (Reply::Status(502), "HTTP 502"),
    ] {
        fake.set("/fribb.json", reply);
        let started =
            client.mapping().start_pipeline_run(pb::StartPipelineRunRequest { force: false }).await.expect("run");
        let run_id = started.into_inner().run.expect("run").run_id;
        let retrying = |run: &pb::PipelineRun| run.state == pb::JobState::Retrying as i32;
        let failed = follow_until(&client, run_id, retrying).await.pop().expect("messages");
        let error = &failed.error;
        assert!(
            failed.state == pb::JobState::Retrying as i32 || failed.state == pb::JobState::Dead as i32,
            "{failed:?}"
        );
        assert!(error.contains(expected) && error.contains("/fribb.json"), "{error}");
        if failed.state == pb::JobState::Retrying as i32 {
            // Network failures are retried later; cancel so the next case starts fresh.
            client.admin().cancel_job(pb::CancelJobRequest { id: failed.run_id }).await.expect("cancel");
        }
        assert_eq!(get(&client, key("mal", "1")).await.expect("still served"), served);
    }
}

#[tokio::test]
async fn watchers_see_every_stage_and_a_second_start_returns_the_same_run() {
    let server = server_with(real_sources()).await;
    let client = server.client().await;
    let a = client
        .mapping()
        .start_pipeline_run(pb::StartPipelineRunRequest { force: false })
        .await
        .expect("run")
        .into_inner();
    let b = client
        .mapping()
        .start_pipeline_run(pb::StartPipelineRunRequest { force: false })
        .await
        .expect("run")
        .into_inner();
    let (a, b) = (a, b);
    let run_id = a.run.as_ref().map(|r| r.run_id).expect("run id");
    assert!(a.created);
    // A second start while the first is queued or running returns it (unless it already ended).
    if !b.created {
        assert_eq!(b.run.map(|r| r.run_id), Some(run_id));
    }
    let messages = follow(&client, run_id).await;
    let last = messages.last().expect("messages");
    assert_eq!(last.state, pb::JobState::Succeeded as i32);
    assert!(last.summary.is_some());
    // Watching a finished run returns it at once.
    let again = follow(&client, run_id).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].state, pb::JobState::Succeeded as i32);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("medley-mapping-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
