//! SQL of `job_schedules`.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    sql_query,
    sql_types::{Jsonb, Text, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::model::ScheduleRow;
use crate::db::schema::job_schedules;

/// Creates a schedule or updates its kind, cron and payload; a changed cron moves its next
/// tick, and its paused flag is kept.
pub async fn upsert_schedule(
    conn: &mut AsyncPgConnection,
    name: &str,
    kind: &str,
    cron: &str,
    payload: &Value,
    next_run_at: DateTime<Utc>,
) -> QueryResult<ScheduleRow> {
    sql_query(
        "INSERT INTO job_schedules (name, kind, cron, payload, next_run_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, payload = EXCLUDED.payload, cron = EXCLUDED.cron, \
                next_run_at = CASE WHEN job_schedules.cron = EXCLUDED.cron THEN job_schedules.next_run_at \
                                   ELSE EXCLUDED.next_run_at END, \
                updated_at = now() \
         RETURNING name",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(cron)
    .bind::<Jsonb, _>(payload)
    .bind::<Timestamptz, _>(next_run_at)
    .execute(conn)
    .await?;
    job_schedules::table.find(name).select(ScheduleRow::as_select()).first(conn).await
}

/// Lists schedules by name.
pub async fn list_schedules(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ScheduleRow>> {
    job_schedules::table.select(ScheduleRow::as_select()).order(job_schedules::name).load(conn).await
}

/// Pauses or resumes a schedule; resuming sets its next tick. `None` if it does not exist.
pub async fn set_schedule_paused(
    conn: &mut AsyncPgConnection,
    name: &str,
    paused: bool,
    next_run_at: Option<DateTime<Utc>>,
) -> QueryResult<Option<ScheduleRow>> {
    let row = diesel::update(job_schedules::table.find(name))
        .set((job_schedules::paused.eq(paused), job_schedules::updated_at.eq(now)))
        .returning(ScheduleRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match (row, next_run_at) {
        (Some(_), Some(at)) => diesel::update(job_schedules::table.find(name))
            .set(job_schedules::next_run_at.eq(at))
            .returning(ScheduleRow::as_returning())
            .get_result(conn)
            .await
            .optional(),
        (row, _) => Ok(row),
    }
}

/// Locks the schedules due at `at` that no other instance is firing (call inside a
/// transaction).
pub async fn lock_due_schedules(conn: &mut AsyncPgConnection, at: DateTime<Utc>) -> QueryResult<Vec<ScheduleRow>> {
    job_schedules::table
        .filter(job_schedules::paused.eq(false))
        .filter(job_schedules::next_run_at.le(at))
        .select(ScheduleRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Records that a schedule fired its tick `fired_at` as job `job_id`, with its next tick.
pub async fn record_schedule_tick(
    conn: &mut AsyncPgConnection,
    name: &str,
    fired_at: DateTime<Utc>,
    job_id: i64,
    next_run_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(job_schedules::table.find(name))
        .set((
            job_schedules::last_run_at.eq(fired_at),
            job_schedules::last_job_id.eq(job_id),
            job_schedules::next_run_at.eq(next_run_at),
            job_schedules::updated_at.eq(now),
        ))
        .execute(conn)
        .await
}
