use std::collections::HashSet;

use medley_sdk::pb::{CancelJobRequest, RetryJobRequest};
use medley_server::jobs::{JobState, NewJob};
use medley_tests::{
    TestServer,
    handlers::{COUNTING, FLAKY, Recorder, WAITING, test_registry},
};
use serde_json::json;

use crate::support::{wait_for_job, wait_for_state};

async fn server_with_test_jobs(recorder: &Recorder, workers: u16) -> TestServer {
    TestServer::builder()
        .registry(test_registry(recorder))
        .configure(move |c| c.platform.workers = workers)
        .start()
        .await
}

#[tokio::test]
async fn failing_jobs_back_off_then_die_and_an_admin_can_retry_them() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 4).await;
    let state = server.state();
    let (job, created) =
        state.jobs.enqueue(&NewJob::new(FLAKY, json!({ "fail": 10 })).max_attempts(3)).await.expect("enqueue");
    assert!(created);
    let dead = wait_for_state(state, job.id, JobState::Dead, 10_000).await;
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error.as_deref(), Some("flaky failure on attempt 3"));
    let elapsed = dead.finished_at.expect("finished") - dead.created_at;
    // Backoffs of ~50 ms then ~100 ms, each at least 75 % of that.
    assert!(elapsed >= chrono::Duration::milliseconds(110), "retries waited only {elapsed}");

    let retried =
        server.client().await.admin().retry_job(RetryJobRequest { id: job.id }).await.expect("retry").into_inner();
    let retried = retried.job.expect("job");
    assert!(retried.attempts == 0 || retried.state != medley_sdk::pb::JobState::Dead as i32);
    let dead_again =
        wait_for_job(state, job.id, 10_000, |r| r.state() == JobState::Dead && r.finished_at > dead.finished_at).await;
    assert_eq!(dead_again.attempts, 3);
}

#[tokio::test]
async fn permanent_errors_die_at_once_and_panics_are_retried() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 4).await;
    let state = server.state();
    let (permanent, _) =
        state.jobs.enqueue(&NewJob::new(FLAKY, json!({ "fail": 1, "permanent": true }))).await.expect("enqueue");
    let (panicky, _) =
        state.jobs.enqueue(&NewJob::new(FLAKY, json!({ "fail": 1, "panic": true }))).await.expect("enqueue");
    let dead = wait_for_state(state, permanent.id, JobState::Dead, 5_000).await;
    assert_eq!(dead.attempts, 1, "no retry after a permanent error");
    let recovered = wait_for_state(state, panicky.id, JobState::Succeeded, 5_000).await;
    assert_eq!(recovered.attempts, 2);
    assert!(recovered.last_error.as_deref().unwrap_or_default().contains("panicked"), "{recovered:?}");
    // The worker survived the panic.
    let (after, _) = state.jobs.enqueue(&NewJob::new(COUNTING, json!({}))).await.expect("enqueue");
    wait_for_state(state, after.id, JobState::Succeeded, 5_000).await;
}

#[tokio::test]
async fn retrying_a_succeeded_job_is_a_failed_precondition() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 2).await;
    let (job, _) = server.state().jobs.enqueue(&NewJob::new(COUNTING, json!({}))).await.expect("enqueue");
    wait_for_state(server.state(), job.id, JobState::Succeeded, 5_000).await;
    let status = server.client().await.admin().retry_job(RetryJobRequest { id: job.id }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
}

#[tokio::test]
async fn queued_jobs_cancel_at_once_and_running_jobs_stop_promptly() {
    let recorder = Recorder::default();
    // No worker in the server: the first job stays queued.
    let server = server_with_test_jobs(&recorder, 0).await;
    let mut admin = server.client().await.admin();
    let (queued, _) = server.state().jobs.enqueue(&NewJob::new(WAITING, json!({}))).await.expect("enqueue");
    let cancelled =
        admin.cancel_job(CancelJobRequest { id: queued.id }).await.expect("cancel").into_inner().job.expect("job");
    assert_eq!(cancelled.state, medley_sdk::pb::JobState::Cancelled as i32);
    assert!(cancelled.finish_time.is_some());

    let worker = server.spawn_worker(test_registry(&recorder), |_| {}).await;
    let (running, _) = server.state().jobs.enqueue(&NewJob::new(WAITING, json!({}))).await.expect("enqueue");
    wait_for_job(server.state(), running.id, 5_000, |r| r.state() == JobState::Running && r.progress.is_some()).await;
    let asked =
        admin.cancel_job(CancelJobRequest { id: running.id }).await.expect("cancel").into_inner().job.expect("job");
    assert!(asked.cancel_requested);
    // The lease renewal (every 10 s here) is not needed: NOTIFY stops the handler at once.
    let done = wait_for_state(server.state(), running.id, JobState::Cancelled, 6_000).await;
    assert_eq!(done.progress.as_ref().and_then(|p| p["done"].as_u64()), Some(1), "last progress kept");
    // Cancelling a finished job is a no-op.
    let again =
        admin.cancel_job(CancelJobRequest { id: running.id }).await.expect("cancel").into_inner().job.expect("job");
    assert_eq!(again.state, medley_sdk::pb::JobState::Cancelled as i32);
    // The first job was never started.
    assert_eq!(recorder.runs().get(&queued.id), None);
    drop(worker);
}

#[tokio::test]
async fn a_live_dedupe_key_returns_the_existing_job() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 0).await;
    let jobs = &server.state().jobs;
    let (first, created) =
        jobs.enqueue(&NewJob::new(COUNTING, json!({ "n": 1 })).dedupe_key("nightly")).await.expect("enqueue");
    assert!(created);
    let (second, created) =
        jobs.enqueue(&NewJob::new(COUNTING, json!({ "n": 2 })).dedupe_key("nightly")).await.expect("enqueue");
    assert!(!created);
    assert_eq!(second.id, first.id);
    // Another kind may use the same key.
    let (other, created) = jobs.enqueue(&NewJob::new(FLAKY, json!({})).dedupe_key("nightly")).await.expect("enqueue");
    assert!(created && other.id != first.id);
    // Once the job is finished, the key is free again.
    jobs.cancel(first.id).await.expect("cancel");
    let (third, created) =
        jobs.enqueue(&NewJob::new(COUNTING, json!({ "n": 3 })).dedupe_key("nightly")).await.expect("enqueue");
    assert!(created && third.id != first.id);
}

#[tokio::test]
async fn two_workers_never_run_the_same_job_twice() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 0).await;
    let mut a = server.spawn_worker(test_registry(&recorder), |_| {}).await;
    let mut b = server.spawn_worker(test_registry(&recorder), |_| {}).await;
    let jobs: Vec<NewJob> = (0..600).map(|n| NewJob::new(COUNTING, json!({ "n": n }))).collect();
    let inserted = server.state().jobs.enqueue_many(&jobs).await.expect("enqueue");
    assert_eq!(inserted.len(), 600);
    for row in &inserted {
        wait_for_state(server.state(), row.id, JobState::Succeeded, 30_000).await;
    }
    let runs = recorder.runs();
    assert_eq!(runs.len(), 600, "every job ran");
    assert!(
        runs.values().all(|n| *n == 1),
        "a job ran twice: {:?}",
        runs.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let workers: HashSet<String> = workers_of(&server, &inserted).await;
    assert!(workers.len() <= 2 && !workers.is_empty());
    a.stop().await;
    b.stop().await;
}

/// Returns the workers named in the results of `rows`.
async fn workers_of(server: &TestServer, rows: &[medley_server::jobs::JobRow]) -> HashSet<String> {
    let mut workers = HashSet::new();
    for row in rows {
        let done = server.state().jobs.get(row.id).await.expect("get").expect("job");
        assert_eq!(done.attempts, 1);
        if let Some(worker) = done.result.as_ref().and_then(|r| r["worker"].as_str()) {
            workers.insert(worker.to_owned());
        }
    }
    workers
}

#[tokio::test]
async fn a_killed_workers_job_is_taken_back_after_its_lease_and_completes_once() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 0).await;
    let short_lease = |c: &mut medley_server::Settings| c.platform.job_lease_ms = 600;
    let mut doomed = server.spawn_worker(test_registry(&recorder), short_lease).await;
    let (job, _) = server.state().jobs.enqueue(&NewJob::new(WAITING, json!({}))).await.expect("enqueue");
    let running = wait_for_state(server.state(), job.id, JobState::Running, 5_000).await;
    doomed.kill();

    let survivor = server.spawn_worker(test_registry(&recorder), short_lease).await;
    let done = wait_for_state(server.state(), job.id, JobState::Succeeded, 10_000).await;
    assert_eq!(done.attempts, 2);
    assert_ne!(done.result.as_ref().and_then(|r| r["attempt"].as_i64()), Some(1));
    assert!(done.last_error.as_deref().unwrap_or_default().contains("lease"), "{done:?}");
    assert_eq!(recorder.runs().get(&job.id), Some(&2), "one abandoned attempt, one that completed");
    assert_ne!(running.locked_by, None);
    drop(survivor);
}

#[tokio::test]
async fn graceful_shutdown_puts_unfinished_jobs_back_without_using_an_attempt() {
    let recorder = Recorder::default();
    let server = server_with_test_jobs(&recorder, 0).await;
    let mut worker = server.spawn_worker(test_registry(&recorder), |c| c.platform.job_shutdown_grace_ms = 200).await;
    let (job, _) = server.state().jobs.enqueue(&NewJob::new(WAITING, json!({}))).await.expect("enqueue");
    wait_for_state(server.state(), job.id, JobState::Running, 5_000).await;
    worker.stop().await;
    let released = server.state().jobs.get(job.id).await.expect("get").expect("job");
    assert_eq!(released.state(), JobState::Queued);
    assert_eq!(released.attempts, 0);
    assert_eq!(released.locked_by, None);
}
