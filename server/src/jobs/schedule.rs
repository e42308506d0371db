//! Recurring schedules: a cron expression that enqueues a job at each tick. Every worker ticks
//! the schedules each second; the due rows are locked `FOR UPDATE SKIP LOCKED` while the job is
//! enqueued and the next tick recorded, so each tick fires on exactly one instance. A tick's job
//! also carries the dedupe key `schedule:{name}:{tick}`. Ticks missed while no worker ran fire
//! once, then the schedule continues from now (no burst of back-fills).

use std::str::FromStr as _;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use serde_json::Value;

use super::{
    model::{JobRow, NewJob, ScheduleRow},
    queue::JobQueue,
    schedule_store, store,
};
use crate::error::InfraError;

/// Parses a cron expression of 5 fields (minute first) or 6 (second first), in UTC.
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    let normalised = match fields {
        5 => format!("0 {expression}"),
        6 => expression.to_owned(),
        _ => return Err(format!("expected 5 or 6 fields, got {fields}")),
    };
    cron::Schedule::from_str(&normalised).map_err(|error| error.to_string())
}

/// Returns the first tick of `schedule` strictly after `after`.
pub fn next_tick(schedule: &cron::Schedule, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.after(&after).next()
}

/// A schedule as code declares it.
#[derive(Clone, Debug)]
pub struct ScheduleSpec {
    /// Unique name.
    pub name: String,
    /// Kind of its jobs.
    pub kind: String,
    /// Cron expression.
    pub cron: String,
    /// Payload of its jobs.
    pub payload: Value,
}

/// Creates or updates a schedule (its paused flag survives).
pub async fn register_schedule(conn: &mut AsyncPgConnection, spec: &ScheduleSpec) -> anyhow::Result<ScheduleRow> {
    register_schedule_at(conn, spec, Utc::now()).await
}

/// [`register_schedule`] on an injected clock: the first tick is the first after `now`.
pub async fn register_schedule_at(
    conn: &mut AsyncPgConnection,
    spec: &ScheduleSpec,
    now: DateTime<Utc>,
) -> anyhow::Result<ScheduleRow> {
    let schedule =
        parse_cron(&spec.cron).map_err(|e| anyhow::anyhow!("schedule {}: bad cron {:?}: {e}", spec.name, spec.cron))?;
    let next = next_tick(&schedule, now).ok_or_else(|| anyhow::anyhow!("schedule {} never fires", spec.name))?;
    Ok(schedule_store::upsert_schedule(conn, &spec.name, &spec.kind, &spec.cron, &spec.payload, next).await?)
}

/// Enqueues the jobs of every schedule due at `now` that this instance wins, and returns them.
/// Workers pass the wall clock; tests pass the instants they want to check.
pub async fn fire_due_schedules(queue: &JobQueue, now: DateTime<Utc>) -> Result<Vec<JobRow>, InfraError> {
    let mut conn = queue.db().get().await?;
    let fired: Vec<JobRow> = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            {
                let mut fired = Vec::new();
                for due in schedule_store::lock_due_schedules(conn, now).await? {
                    let next = parse_cron(&due.cron).ok().and_then(|s| next_tick(&s, now));
                    let Some(next) = next else {
                        tracing::error!(schedule = %due.name, cron = %due.cron, "schedule has a bad cron expression: skipped for a day");
                        schedule_store::record_schedule_tick(conn, &due.name, now, due.last_job_id.unwrap_or_default(), now + chrono::Duration::days(1)).await?;
                        continue;
                    };
                    let tick = due.next_run_at;
                    let job = NewJob::new(due.kind.clone(), due.payload.clone())
                        .dedupe_key(format!("schedule:{}:{}", due.name, tick.to_rfc3339()));
                    let (row, created) = store::insert_job(conn, &job).await?;
                    schedule_store::record_schedule_tick(conn, &due.name, tick, row.id, next).await?;
                    if created {
                        fired.push(row);
                    }
                }
                Ok(fired)
            }
        })
        .await?;
    for row in &fired {
        tracing::info!(job.id = row.id, job.kind = %row.kind, "schedule fired");
        queue.publish(row).await;
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_five_and_six_fields() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:15:30Z").unwrap().with_timezone(&Utc);
        let nightly = parse_cron("0 3 * * *").unwrap();
        assert_eq!(next_tick(&nightly, at).unwrap().to_rfc3339(), "2026-11-23T03:00:00+00:00");
        let every_second = parse_cron("* * * * * *").unwrap();
        assert_eq!(next_tick(&every_second, at).unwrap().to_rfc3339(), "2026-11-22T10:15:31+00:00");
        assert!(parse_cron("* * *").is_err());
        assert!(parse_cron("99 * * * *").is_err());
    }
}
