//! Mapping benchmark: a full pipeline run over the real data sets, then a gRPC load client —
//! `GetMapping` throughput and latency with N calls in flight, `BatchGetMappings` of 1,000 ids,
//! and the same client against `GetServerInfo` (a trivial RPC through the same stack: auth,
//! metrics, tracing) as the ceiling of this machine.
//!
//! Runs against the local PostgreSQL and Redis with a fresh database, like the tests:
//!
//! ```sh
//! cargo run --release -p medley-tests --bin bench-mapping -- [DATA_DIR] [IN_FLIGHT] [SECONDS]
//! ```
//!
//! `DATA_DIR` holds the three data sets of `../shared/data` (default: that directory, else the
//! extracts in `tests/fixtures/mapping`); defaults 64 calls in flight for 10 s per phase.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use medley_sdk::{
    Client,
    pb::{self, mapping_key::PlatformRef},
};
use medley_server::{
    redis::keys::Topic,
    services::mapping::config::MappingSources,
    services::mapping::sources::{SourceKind, SourceSpec},
};
use medley_tests::{TestServer, fixture, grpc_load};
use tokio::sync::Mutex;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

fn sources(dir: &Path) -> Vec<SourceSpec> {
    let full = [
        (SourceKind::Fribb, "fribb-anime-lists-reduced.2026-06-30.json"),
        (SourceKind::Fribb, "fribb-anime-list-mini.2024-05-07.json"),
        (SourceKind::AnimeApi, "animeapi.2025-02-03.tsv"),
    ];
    if full.iter().all(|(_, name)| dir.join(name).exists()) {
        return full
            .iter()
            .map(|(kind, name)| SourceSpec { kind: *kind, location: dir.join(name).display().to_string() })
            .collect();
    }
    println!("(data sets not found in {}: using the test extracts)", dir.display());
    [
        (SourceKind::Fribb, "fribb-anime-lists-reduced.2026-06-30.extract.json"),
        (SourceKind::Fribb, "fribb-anime-list-mini.2024-05-07.extract.json"),
        (SourceKind::AnimeApi, "animeapi.2025-02-03.extract.tsv"),
    ]
    .iter()
    .map(|(kind, name)| SourceSpec { kind: *kind, location: fixture(&format!("mapping/{name}")).display().to_string() })
    .collect()
}

/// Runs `call` from `in_flight` tasks for `seconds`; prints throughput and latency percentiles.
async fn load<F, Fut>(label: &str, in_flight: usize, seconds: u64, call: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..in_flight {
        let (call, latencies) = (call.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let at = Instant::now();
                call(n).await;
                mine.push(at.elapsed().as_secs_f64() * 1000.0);
                n += in_flight;
            }
            latencies.lock().await.extend(mine);
        }));
    }
    for task in tasks {
        task.await.expect("load task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = std::mem::take(&mut *latencies.lock().await);
    all.sort_by(f64::total_cmp);
    println!(
        "{label}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} calls, {in_flight} in flight, {elapsed:.1} s)",
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.len()
    );
}

fn mal_key(id: &str) -> pb::MappingKey {
    pb::MappingKey { platform_ref: Some(PlatformRef::PlatformName("mal".into())), id: id.to_owned(), season: None }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir =
        args.next().map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"), PathBuf::from);
    let in_flight: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let specs = sources(&dir);
    let server = TestServer::builder()
        .configure(move |c| {
            c.services.mapping.sources = MappingSources(specs);
            c.platform.concurrency_limit = 4096;
        })
        .start()
        .await;
    let client = server.client().await;

    // Full run, then an unchanged run, then a forced one (merge + compare, nothing written).
    for (label, force) in [("full run", false), ("unchanged re-run", false), ("forced re-run", true)] {
        let started = Instant::now();
        let run =
            client.mapping().start_pipeline_run(pb::StartPipelineRunRequest { force }).await.expect("run").into_inner();
        let id = run.run.expect("run").run_id;
        let mut stream = client
            .mapping()
            .watch_pipeline_run(pb::WatchPipelineRunRequest { run_id: id })
            .await
            .expect("watch")
            .into_inner();
        let mut last = None;
        while let Some(message) = stream.message().await.expect("message") {
            last = message.run;
        }
        let summary = last.and_then(|r| r.summary).expect("a successful run");
        println!(
            "{label}: {:.2} s end to end (run {} ms): {} read → {} records, {} inserted, {} conflicts",
            started.elapsed().as_secs_f64(),
            summary.duration_ms,
            summary.records_read,
            summary.records_merged,
            summary.records_inserted,
            summary.conflict_count
        );
    }

    // Every MAL id served, as the lookup keys.
    let mut stream = client
        .mapping()
        .export_mappings(pb::ExportMappingsRequest {
            platform: pb::Platform::Myanimelist as i32,
            batch_size: 1000,
            ..Default::default()
        })
        .await
        .expect("export")
        .into_inner();
    let mut ids = Vec::new();
    while let Some(batch) = stream.message().await.expect("batch") {
        for record in batch.records {
            ids.extend(record.ids.into_iter().filter(|i| i.platform == pb::Platform::Myanimelist as i32).map(|i| i.id));
        }
    }
    let ids = Arc::new(ids);
    println!("{} MAL ids to look up", ids.len());

    // Several connections, as a real client pool would use.
    let mut clients: Vec<Client> = Vec::new();
    for _ in 0..4 {
        clients.push(server.client().await);
    }
    let clients = Arc::new(clients);

    let (c, k) = (clients.clone(), ids.clone());
    load("GetMapping (cold: Redis/PostgreSQL, then in-process)", in_flight, seconds, move |n| {
        let (client, id) = (c[n % c.len()].clone(), k[n % k.len()].clone());
        async move {
            client
                .mapping()
                .get_mapping(pb::GetMappingRequest { key: Some(mal_key(&id)), view: 0 })
                .await
                .expect("get");
        }
    })
    .await;
    for (label, view) in
        [("GetMapping (warm)", pb::RecordView::Full), ("GetMapping (warm, ids view)", pb::RecordView::Ids)]
    {
        let (c, k) = (clients.clone(), ids.clone());
        load(label, in_flight, seconds, move |n| {
            let (client, id) = (c[n % c.len()].clone(), k[n % k.len()].clone());
            async move {
                let request = pb::GetMappingRequest { key: Some(mal_key(&id)), view: view as i32 };
                client.mapping().get_mapping(request).await.expect("get");
            }
        })
        .await;
    }
    let c = clients.clone();
    load("GetServerInfo (ceiling)", in_flight, seconds, move |n| {
        let client = c[n % c.len()].clone();
        async move {
            client.admin().get_server_info(pb::GetServerInfoRequest {}).await.expect("info");
        }
    })
    .await;

    // The same client on health checks: no auth lookup and the smallest messages, to tell the
    // cost of the shared layers from the cost of the machine.
    let c = clients.clone();
    load("Health/Check (no auth)", in_flight, seconds, move |n| {
        let mut health = tonic_health::pb::health_client::HealthClient::new(c[n % c.len()].channel());
        async move {
            health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("health");
        }
    })
    .await;

    // The same phases with the lean client (raw HTTP/2, requests encoded once, answers not
    // decoded): the tonic client above costs about as much CPU per call as the server, and both
    // share the machine's 2 cores.
    let addr = server.running().grpc_addr;
    let key = server.admin_key.clone();
    let lean = async |label: &str, path: &str, bodies: Vec<bytes::Bytes>, auth: bool, in_flight: usize| {
        let report = grpc_load::run(
            addr,
            path,
            auth.then_some(key.as_str()),
            Arc::new(bodies),
            4,
            in_flight,
            Duration::from_secs(seconds),
        )
        .await;
        println!(
            "{label}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} calls, {} failed, {in_flight} in flight, {:.1} s)",
            report.ok as f64 / report.seconds,
            report.p50_ms,
            report.p99_ms,
            report.ok,
            report.failed,
            report.seconds
        );
        // A fast run with failures measures nothing: every call must succeed.
        assert_eq!(report.failed, 0, "{label}: {} calls failed", report.failed);
    };
    let get_bodies = |view: pb::RecordView| -> Vec<bytes::Bytes> {
        ids.iter()
            .map(|id| grpc_load::frame(&pb::GetMappingRequest { key: Some(mal_key(id)), view: view as i32 }))
            .collect()
    };
    lean(
        "GetMapping (warm, lean client)",
        "/medley.v1.MappingService/GetMapping",
        get_bodies(pb::RecordView::Full),
        true,
        in_flight,
    )
    .await;
    lean(
        "GetMapping (warm, ids view, lean client)",
        "/medley.v1.MappingService/GetMapping",
        get_bodies(pb::RecordView::Ids),
        true,
        in_flight,
    )
    .await;
    lean(
        "GetServerInfo (lean client, ceiling)",
        "/medley.v1.AdminService/GetServerInfo",
        vec![grpc_load::frame(&pb::GetServerInfoRequest {})],
        true,
        in_flight,
    )
    .await;
    lean(
        "Health/Check (lean client, no auth)",
        "/grpc.health.v1.Health/Check",
        vec![grpc_load::frame(&tonic_health::pb::HealthCheckRequest { service: String::new() })],
        false,
        in_flight,
    )
    .await;
    for (label, view) in [
        ("BatchGetMappings x1000 (in-process, lean client, one at a time)", pb::RecordView::Full),
        ("BatchGetMappings x1000 (in-process, ids view, lean client, one at a time)", pb::RecordView::Ids),
    ] {
        let batches = (0..10)
            .map(|round| {
                let keys = (0..1000).map(|i| mal_key(&ids[(round * 1000 + i) % ids.len()])).collect();
                grpc_load::frame(&pb::BatchGetMappingsRequest { keys, view: view as i32 })
            })
            .collect();
        lean(label, "/medley.v1.MappingService/BatchGetMappings", batches, true, 1).await;
    }

    // Batches of 1,000 distinct ids, one at a time: "in-process" cycles through the same 10,000
    // ids (cached after the first 10 batches); "Redis" clears the in-process cache before each.
    let cases = [
        ("BatchGetMappings x1000 (in-process)", pb::RecordView::Full, false),
        ("BatchGetMappings x1000 (in-process, ids view)", pb::RecordView::Ids, false),
        ("BatchGetMappings x1000 (Redis)", pb::RecordView::Full, true),
    ];
    for (label, view, clear) in cases {
        let mut latencies = Vec::new();
        for round in 0..110 {
            let keys: Vec<_> = (0..1000).map(|i| mal_key(&ids[((round % 10) * 1000 + i) % ids.len()])).collect();
            if clear {
                // The server's cache clears itself on a mapping announcement (as after a run);
                // the wait is outside the timed part.
                server.state().hub.publish(Topic::Mapping, Vec::new()).await.expect("announce");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let at = Instant::now();
            let request = pb::BatchGetMappingsRequest { keys, view: view as i32 };
            let response = client.mapping().batch_get_mappings(request).await.expect("batch");
            // The first 10 batches warm the cache.
            if round >= 10 {
                latencies.push(at.elapsed().as_secs_f64() * 1000.0);
            }
            assert_eq!(response.into_inner().results.len(), 1000);
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "{label}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (100 batches)",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default()
        );
    }
}
