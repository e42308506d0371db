use std::collections::HashSet;

use medley_sdk::pb::{ListSchedulesRequest, PauseScheduleRequest, ResumeScheduleRequest};
use medley_server::jobs::{
    JobState,
    schedule::{ScheduleSpec, register_schedule},
    store,
};
use medley_tests::{
    TestServer,
    handlers::{COUNTING, Recorder, test_registry},
};

#[tokio::test]
async fn each_tick_fires_once_across_two_instances() {
    let recorder = Recorder::default();
    let a = TestServer::builder().registry(test_registry(&recorder)).start().await;
    let b = TestServer::builder().registry(test_registry(&recorder)).join(&a).start().await;
    let mut conn = a.db.connect().await;
    let spec = ScheduleSpec {
        name: "every-second".to_owned(),
        kind: COUNTING.to_owned(),
        cron: "* * * * * *".to_owned(),
        payload: serde_json::json!({ "from": "schedule" }),
    };
    register_schedule(&mut conn, &spec).await.expect("register");
    tokio::time::sleep(std::time::Duration::from_millis(3600)).await;
    let mut admin = b.client().await.admin();
    let paused = admin
        .pause_schedule(PauseScheduleRequest { name: "every-second".to_owned() })
        .await
        .expect("pause")
        .into_inner()
        .schedule
        .expect("schedule");
    assert!(paused.paused);

    let jobs = store::list_jobs(&mut conn, &[COUNTING.to_owned()], &[], None, 1000).await.expect("list");
    assert!(jobs.len() >= 2 && jobs.len() <= 5, "about one job per second: {}", jobs.len());
    let ticks: HashSet<_> = jobs.iter().map(|j| j.dedupe_key.clone().expect("tick key")).collect();
    assert_eq!(ticks.len(), jobs.len(), "a tick fired twice: {ticks:?}");
    assert!(jobs.iter().all(|j| j.payload["from"] == "schedule"));
    // Let the last tick's job finish, then check every job ran exactly once.
    for job in &jobs {
        crate::support::wait_for_state(a.state(), job.id, JobState::Succeeded, 5_000).await;
    }
    assert!(recorder.runs().values().all(|n| *n == 1));

    let listed = admin.list_schedules(ListSchedulesRequest {}).await.expect("list").into_inner().schedules;
    let every_second = listed.iter().find(|s| s.name == "every-second").expect("listed");
    assert!(every_second.paused);
    assert!(jobs.iter().any(|j| j.id == every_second.last_job_id), "last job recorded");

    // Paused: no more ticks.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = store::list_jobs(&mut conn, &[COUNTING.to_owned()], &[], None, 1000).await.expect("list");
    assert_eq!(after.len(), jobs.len(), "a paused schedule fired");

    let resumed = admin
        .resume_schedule(ResumeScheduleRequest { name: "every-second".to_owned() })
        .await
        .expect("resume")
        .into_inner()
        .schedule
        .expect("schedule");
    assert!(!resumed.paused);
    let next = resumed.next_run_time.expect("next tick");
    assert!(next.seconds >= chrono::Utc::now().timestamp(), "missed ticks are not replayed");
}

#[tokio::test]
async fn registering_again_keeps_the_paused_flag_and_rejects_bad_cron() {
    let server = TestServer::start().await;
    let mut conn = server.db.connect().await;
    let spec = ScheduleSpec {
        name: "nightly".to_owned(),
        kind: COUNTING.to_owned(),
        cron: "0 3 * * *".to_owned(),
        payload: serde_json::json!({}),
    };
    register_schedule(&mut conn, &spec).await.expect("register");
    let mut admin = server.client().await.admin();
    admin.pause_schedule(PauseScheduleRequest { name: "nightly".to_owned() }).await.expect("pause");
    let again = register_schedule(&mut conn, &spec).await.expect("register again");
    assert!(again.paused, "a restart must not resume what an admin paused");
    assert_eq!(again.next_run_at.format("%H:%M:%S").to_string(), "03:00:00");
    let bad = ScheduleSpec { cron: "every day".to_owned(), ..spec };
    assert!(register_schedule(&mut conn, &bad).await.is_err());
}

#[tokio::test]
async fn the_daily_cleanup_deletes_only_finished_jobs_past_their_retention() {
    use diesel_async::RunQueryDsl as _;
    use medley_server::jobs::{NewJob, cleanup};

    let server = TestServer::builder().configure(|c| c.platform.job_retention_days = 7).start().await;
    let mut admin = server.client().await.admin();
    // Every worker registers the cleanup schedule with the configured retention.
    let listed = admin.list_schedules(ListSchedulesRequest {}).await.expect("list").into_inner().schedules;
    let daily = listed.iter().find(|s| s.name == cleanup::SCHEDULE).expect("cleanup schedule registered");
    assert_eq!(daily.kind, cleanup::KIND);
    assert!(daily.payload_json.contains("\"retention_days\":7"), "{}", daily.payload_json);

    let jobs = &server.state().jobs;
    let (old_done, _) = jobs.enqueue(&NewJob::new("nobody-runs-this", serde_json::json!({}))).await.expect("enqueue");
    let (recent_done, _) =
        jobs.enqueue(&NewJob::new("nobody-runs-this", serde_json::json!({}))).await.expect("enqueue");
    let (old_queued, _) = jobs.enqueue(&NewJob::new("nobody-runs-this", serde_json::json!({}))).await.expect("enqueue");
    jobs.cancel(old_done.id).await.expect("cancel");
    jobs.cancel(recent_done.id).await.expect("cancel");
    let mut conn = server.db.connect().await;
    diesel::sql_query(
        "UPDATE jobs SET finished_at = now() - interval '8 days', created_at = now() - interval '9 days' WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(old_done.id)
    .execute(&mut conn)
    .await
    .expect("age job");
    diesel::sql_query("UPDATE jobs SET created_at = now() - interval '30 days' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(old_queued.id)
        .execute(&mut conn)
        .await
        .expect("age job");

    let (run, _) =
        jobs.enqueue(&NewJob::new(cleanup::KIND, serde_json::json!({ "retention_days": 7 }))).await.expect("enqueue");
    let done = crate::support::wait_for_state(server.state(), run.id, JobState::Succeeded, 10_000).await;
    assert_eq!(done.result.as_ref().and_then(|r| r["deleted"].as_u64()), Some(1), "{done:?}");
    assert!(jobs.get(old_done.id).await.expect("get").is_none(), "old finished job deleted");
    assert!(jobs.get(recent_done.id).await.expect("get").is_some(), "recent finished job kept");
    assert!(jobs.get(old_queued.id).await.expect("get").is_some(), "unfinished jobs are never deleted");
}
