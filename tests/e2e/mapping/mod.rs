//! MappingService end to end: pipeline runs over the real data extracts, lookups, search,
//! redirects, REST compatibility, overrides, bad input.

mod bad_input;
mod export;
mod lookups;
mod overrides;
mod pipeline;
mod public;
mod rest;
mod runs;

use std::time::Duration;

use medley_sdk::{
    Client,
    pb::{self, Platform, mapping_key::PlatformRef},
};
use medley_server::{
    services::mapping::config::MappingSources,
    services::mapping::sources::{SourceKind, SourceSpec},
};
use medley_tests::{TestServer, fixture};

/// The three real data sets (extracts), newest Fribb format first.
pub fn real_sources() -> Vec<SourceSpec> {
    vec![
        spec(SourceKind::Fribb, "fribb-anime-lists-reduced.2026-06-30.extract.json"),
        spec(SourceKind::Fribb, "fribb-anime-list-mini.2024-05-07.extract.json"),
        spec(SourceKind::AnimeApi, "animeapi.2025-02-03.extract.tsv"),
    ]
}

/// Every fixture: the real extracts plus the AOD and ARM samples.
pub fn all_sources() -> Vec<SourceSpec> {
    let mut sources = real_sources();
    sources.push(spec(SourceKind::Aod, "aod.sample.jsonl"));
    sources.push(spec(SourceKind::Arm, "arm.sample.json"));
    sources
}

/// A fixture as a source.
pub fn spec(kind: SourceKind, name: &str) -> SourceSpec {
    SourceSpec { kind, location: fixture(&format!("mapping/{name}")).display().to_string() }
}

/// Starts a server reading `sources`.
pub async fn server_with(sources: Vec<SourceSpec>) -> TestServer {
    TestServer::builder().configure(move |c| c.services.mapping.sources = MappingSources(sources)).start().await
}

/// Starts a server over every fixture and runs the pipeline once.
pub async fn loaded_server() -> TestServer {
    let server = server_with(all_sources()).await;
    let run = run_pipeline(&server.client().await, false).await;
    assert_eq!(run.state, pb::JobState::Succeeded as i32, "{run:?}");
    server
}

/// Starts a run and follows it to its end through WatchPipelineRun.
pub async fn run_pipeline(client: &Client, force: bool) -> pb::PipelineRun {
    let started =
        client.mapping().start_pipeline_run(pb::StartPipelineRunRequest { force }).await.expect("StartPipelineRun");
    let run_id = started.into_inner().run.expect("a run").run_id;
    follow(client, run_id).await.pop().expect("at least one message")
}

/// Every message of WatchPipelineRun for `run_id`, until the run ends.
pub async fn follow(client: &Client, run_id: i64) -> Vec<pb::PipelineRun> {
    follow_until(client, run_id, |_| false).await
}

/// Like [`follow`], stopping early at the first message `stop` accepts.
pub async fn follow_until(
    client: &Client,
    run_id: i64,
    stop: impl Fn(&pb::PipelineRun) -> bool,
) -> Vec<pb::PipelineRun> {
    let mut stream = client
        .mapping()
        .watch_pipeline_run(pb::WatchPipelineRunRequest { run_id })
        .await
        .expect("WatchPipelineRun")
        .into_inner();
    let mut seen = Vec::new();
    let collect = async {
        while let Some(message) = stream.message().await.expect("stream message") {
            let run = message.run.expect("a run");
            let done = stop(&run);
            seen.push(run);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), collect).await.expect("the run ends within 60 s");
    seen
}

/// A key by platform name.
pub fn key(platform: &str, id: &str) -> pb::MappingKey {
    pb::MappingKey { platform_ref: Some(PlatformRef::PlatformName(platform.into())), id: id.into(), season: None }
}

/// A key with a season.
pub fn season_key(platform: &str, id: &str, season: i32) -> pb::MappingKey {
    pb::MappingKey { season: Some(season), ..key(platform, id) }
}

/// Looks one key up.
pub async fn get(client: &Client, key: pb::MappingKey) -> Result<pb::MappingRecord, tonic::Status> {
    let response = client.mapping().get_mapping(pb::GetMappingRequest { key: Some(key), view: 0 }).await?;
    Ok(response.into_inner().record.expect("a record"))
}

/// The ids of a record on one platform, with seasons.
pub fn ids_on(record: &pb::MappingRecord, platform: Platform) -> Vec<(String, Option<i32>)> {
    record.ids.iter().filter(|i| i.platform == platform as i32).map(|i| (i.id.clone(), i.season)).collect()
}

/// Every record, through ExportMappings.
pub async fn export_all(client: &Client, platform: Platform) -> Vec<pb::MappingRecord> {
    let mut stream = client
        .mapping()
        .export_mappings(pb::ExportMappingsRequest { platform: platform as i32, batch_size: 100, ..Default::default() })
        .await
        .expect("ExportMappings")
        .into_inner();
    let mut records = Vec::new();
    while let Some(batch) = stream.message().await.expect("export batch") {
        assert!(batch.records.len() <= 100);
        records.extend(batch.records);
    }
    records
}
