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
    assert_eq!(listed.len(), 1);
    assert!(listed[0].paused);
    assert!(jobs.iter().any(|j| j.id == listed[0].last_job_id), "last job recorded");

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
