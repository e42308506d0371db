use std::collections::HashSet;

use chrono::{DateTime, Utc};
use medley_sdk::pb::{ListSchedulesRequest, PauseScheduleRequest, ResumeScheduleRequest};
use medley_server::jobs::{
    JobState,
    schedule::{ScheduleSpec, fire_due_schedules, register_schedule, register_schedule_at},
    store,
};
use medley_tests::{TestServer, handlers::COUNTING};

/// An instant of the injected clock: `seconds` after 2030-01-01T00:00:00Z.
fn at(seconds: f64) -> DateTime<Utc> {
    let base = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").expect("time").with_timezone(&Utc);
    base + chrono::Duration::milliseconds((seconds * 1000.0) as i64)
}

/// Both instances fire at `now`, concurrently; returns the jobs each enqueued.
async fn fire_both(a: &TestServer, b: &TestServer, now: DateTime<Utc>) -> (Vec<i64>, Vec<i64>) {
    let (from_a, from_b) =
        tokio::join!(fire_due_schedules(&a.state().jobs, now), fire_due_schedules(&b.state().jobs, now));
    let ids = |rows: Vec<medley_server::jobs::JobRow>| rows.into_iter().map(|r| r.id).collect();
    (ids(from_a.expect("fire on a")), ids(from_b.expect("fire on b")))
}

#[tokio::test]
async fn each_tick_fires_once_across_two_instances_and_missed_ticks_fire_once() {
    // No workers: the schedules fire only when the test says, at the instants it gives.
    let a = TestServer::builder().configure(|c| c.platform.workers = 0).start().await;
    let b = TestServer::builder().configure(|c| c.platform.workers = 0).join(&a).start().await;
    let mut conn = a.db.connect().await;
    let spec = ScheduleSpec {
        name: "every-second".to_owned(),
        kind: COUNTING.to_owned(),
        cron: "* * * * * *".to_owned(),
        payload: serde_json::json!({ "from": "schedule" }),
    };
    let registered = register_schedule_at(&mut conn, &spec, at(0.5)).await.expect("register");
    assert_eq!(registered.next_run_at, at(1.0));

    assert_eq!(fire_both(&a, &b, at(0.9)).await, (vec![], vec![]), "nothing is due before the first tick");
    let mut fired = Vec::new();
    for now in [1.0, 2.0, 3.0] {
        let (from_a, from_b) = fire_both(&a, &b, at(now)).await;
        assert_eq!(from_a.len() + from_b.len(), 1, "tick {now} fired once across both instances");
        fired.extend(from_a.into_iter().chain(from_b));
    }
    assert_eq!(fire_both(&a, &b, at(3.5)).await, (vec![], vec![]), "a tick fires once");
    // Ticks missed while nothing ran (4 to 9 s) fire once, then the schedule goes on from now.
    let (from_a, from_b) = fire_both(&a, &b, at(9.5)).await;
    assert_eq!(from_a.len() + from_b.len(), 1, "missed ticks are not replayed one by one");
    fired.extend(from_a.into_iter().chain(from_b));
    let mut admin = b.client().await.admin();
    let listed = admin.list_schedules(ListSchedulesRequest {}).await.expect("list").into_inner().schedules;
    let every_second = listed.iter().find(|s| s.name == "every-second").expect("listed");
    assert_eq!(every_second.next_run_time.map(|t| t.seconds), Some(at(10.0).timestamp()));
    assert_eq!(Some(every_second.last_job_id), fired.last().copied(), "last job recorded");

    let jobs = store::list_jobs(&mut conn, &[COUNTING.to_owned()], &[], None, 1000).await.expect("list");
    assert_eq!(jobs.len(), 4);
    let ticks: HashSet<_> = jobs.iter().map(|j| j.dedupe_key.clone().expect("tick key")).collect();
    assert_eq!(ticks.len(), 4, "one job per tick: {ticks:?}");
    assert!(jobs.iter().all(|j| j.payload["from"] == "schedule"));

    // Paused: due ticks do not fire; resumed, it goes on from the present, not the past.
    let paused = admin
        .pause_schedule(PauseScheduleRequest { name: "every-second".to_owned() })
        .await
        .expect("pause")
        .into_inner()
        .schedule
        .expect("schedule");
    assert!(paused.paused);
    assert_eq!(fire_both(&a, &b, at(20.0)).await, (vec![], vec![]), "a paused schedule fired");
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
    // Every worker registers the cleanup schedule with the configured retention, as it starts
    // (in the background: wait for it rather than race it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let daily = loop {
        let listed = admin.list_schedules(ListSchedulesRequest {}).await.expect("list").into_inner().schedules;
        if let Some(daily) = listed.into_iter().find(|s| s.name == cleanup::SCHEDULE) {
            break daily;
        }
        assert!(std::time::Instant::now() < deadline, "the cleanup schedule was never registered");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
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
