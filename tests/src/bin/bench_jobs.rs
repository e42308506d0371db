//! Job queue benchmark: throughput of trivial jobs through enqueue → claim → run → done, and
//! fan-out latency of job events to many concurrent `WatchJobs` streams.
//!
//! Runs against the local PostgreSQL and Redis with a fresh database, like the tests:
//!
//! ```sh
//! cargo run --release -p medley-tests --bin bench-jobs -- [JOBS] [WATCHERS]
//! ```
//!
//! Defaults: 20,000 jobs and 1,000 watchers.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use medley_sdk::pb::{WatchJobsRequest, WatchJobsResponse};
use medley_server::jobs::{JobContext, JobError, JobHandler, NewJob, Registry};
use medley_tests::TestServer;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_stream::StreamExt as _;

const NOOP: &str = "bench-noop";
const FANOUT: &str = "bench-fanout";

struct Noop;

#[tonic::async_trait]
impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        NOOP
    }

    fn concurrency(&self) -> usize {
        128
    }

    async fn run(&self, _ctx: JobContext) -> Result<Value, JobError> {
        Ok(Value::Null)
    }
}

fn now_micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or_default()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn throughput(server: &TestServer, jobs: usize) {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(jobs);
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<NewJob> = chunk.iter().map(|n| NewJob::new(NOOP, json!({ "n": n }))).collect();
        ids.extend(server.state().jobs.enqueue_many(&batch).await.expect("enqueue").into_iter().map(|r| r.id));
    }
    let enqueued = started.elapsed();
    let mut conn = server.db.connect().await;
    loop {
        use diesel_async::RunQueryDsl as _;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            failed: i64,
        }
        let done: Count = diesel::sql_query(
            "SELECT count(*) FILTER (WHERE state = 'succeeded') AS n, \
                    count(*) FILTER (WHERE state IN ('dead', 'retrying')) AS failed \
             FROM jobs WHERE kind = $1",
        )
        .bind::<diesel::sql_types::Text, _>(NOOP)
        .get_result(&mut conn)
        .await
        .expect("count");
        // A fast run with failures measures nothing: every job must succeed.
        assert_eq!(done.failed, 0, "jobs failed");
        if done.n as usize >= jobs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = started.elapsed();
    println!(
        "throughput: {jobs} trivial jobs enqueued in {:.2} s, all done after {:.2} s: {:.0} jobs/s end to end",
        enqueued.as_secs_f64(),
        total.as_secs_f64(),
        jobs as f64 / total.as_secs_f64()
    );
}

async fn fan_out(server: &TestServer, watchers: usize) {
    // Several connections, as many clients would have; streams are spread over them.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(server.client().await);
    }
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let events = 100;
    let mut tasks = Vec::new();
    for n in 0..watchers {
        let mut admin = clients[n % clients.len()].admin();
        let mut stream = admin
            .watch_jobs(WatchJobsRequest { job_id: 0, kinds: vec![FANOUT.to_owned()] })
            .await
            .expect("watch")
            .into_inner();
        let first: WatchJobsResponse = stream.next().await.expect("snapshot").expect("ok");
        assert!(first.snapshot);
        let latencies = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(events);
            while mine.len() < events {
                let Some(Ok(message)) = stream.next().await else { break };
                let received = now_micros();
                for job in message.jobs {
                    let payload: Value = serde_json::from_str(&job.payload_json).unwrap_or_default();
                    if let Some(sent) = payload["sent_us"].as_u64() {
                        mine.push((received.saturating_sub(u128::from(sent))) as f64 / 1000.0);
                    }
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let started = Instant::now();
    for _ in 0..events {
        let job = NewJob::new(FANOUT, json!({ "sent_us": now_micros() as u64 }));
        server.state().jobs.enqueue(&job).await.expect("enqueue");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    let mut all = latencies.lock().await.clone();
    all.sort_by(f64::total_cmp);
    println!(
        "fan-out: {events} events to {watchers} WatchJobs streams ({} deliveries in {:.1} s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        started.elapsed().as_secs_f64(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN)
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let watchers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let server = TestServer::builder()
        .registry(Registry::new().register(Noop))
        .configure(|c| {
            c.platform.workers = 128;
            c.platform.database_pool_size = 32;
            c.platform.log = "warn".to_owned();
        })
        .start()
        .await;
    throughput(&server, jobs).await;
    fan_out(&server, watchers).await;
}
