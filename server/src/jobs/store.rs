//! SQL of the job queue. Every state change of a running job is guarded by the worker id and
//! attempt number, so a worker that lost its lease can never overwrite the new holder's work.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    dsl::now,
    prelude::*,
    sql_query,
    sql_types::{Array, BigInt, Bool, Double, Integer, Jsonb, Nullable, Text, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::model::{JobRow, JobState, NewJob};
use crate::{db::schema::jobs, text};

/// States in which a job holds its dedupe key.
const LIVE_STATES: [&str; 3] = ["queued", "running", "retrying"];

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// Inserts a job, or returns the live job with the same kind and dedupe key. The flag says
/// whether a new job was inserted.
pub async fn insert_job(conn: &mut AsyncPgConnection, job: &NewJob) -> QueryResult<(JobRow, bool)> {
    // The live job can finish between a conflicting insert and the lookup; a few rounds settle
    // it.
    for _ in 0..5 {
        let inserted = diesel::insert_into(jobs::table)
            .values(job)
            .on_conflict_do_nothing()
            .returning(JobRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = inserted {
            return Ok((row, true));
        }
        let Some(key) = &job.dedupe_key else { break };
        let live = jobs::table
            .filter(jobs::kind.eq(&job.kind))
            .filter(jobs::dedupe_key.eq(key))
            .filter(jobs::state.eq_any(LIVE_STATES))
            .select(JobRow::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(row) = live {
            return Ok((row, false));
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}

/// Inserts many jobs in one statement; a job whose dedupe key is live already is skipped.
/// Returns the inserted jobs.
pub async fn insert_jobs(conn: &mut AsyncPgConnection, new_jobs: &[NewJob]) -> QueryResult<Vec<JobRow>> {
    diesel::insert_into(jobs::table)
        .values(new_jobs)
        .on_conflict_do_nothing()
        .returning(JobRow::as_returning())
        .get_results(conn)
        .await
}

/// Claims up to `limit` runnable jobs of `kind` for `worker`, highest priority first, and
/// starts a lease of `lease` on each.
pub async fn claim_jobs(
    conn: &mut AsyncPgConnection,
    worker: &str,
    kind: &str,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<JobRow>> {
    sql_query(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, \
                lease_expires_at = now() + make_interval(secs => $2), started_at = now(), \
                updated_at = now() \
          WHERE id IN (SELECT id FROM jobs \
                        WHERE state IN ('queued', 'retrying') AND run_at <= now() AND kind = $3 \
                        ORDER BY priority DESC, run_at, id \
                        LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .bind::<Text, _>(worker)
    .bind::<Double, _>(secs(lease))
    .bind::<Text, _>(kind)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The answer of a lease renewal for one job.
#[derive(Debug, QueryableByName)]
pub struct Renewal {
    /// Job id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Whether cancellation was asked.
    #[diesel(sql_type = Bool)]
    pub cancel_requested: bool,
}

/// Renews the leases `worker` holds on `ids`; jobs missing from the answer were lost (reaped
/// after a stall) and must not be finished by this worker.
pub async fn renew_leases(
    conn: &mut AsyncPgConnection,
    worker: &str,
    ids: &[i64],
    lease: Duration,
) -> QueryResult<Vec<Renewal>> {
    sql_query(
        "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3) \
          WHERE id = ANY($2) AND locked_by = $1 AND state = 'running' \
         RETURNING id, cancel_requested",
    )
    .bind::<Text, _>(worker)
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Double, _>(secs(lease))
    .load(conn)
    .await
}

/// How an attempt ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Succeeded with this result.
    Succeeded(Value),
    /// Failed; retried at the given time, or dead when `None`.
    Failed { error: String, retry_at: Option<DateTime<Utc>> },
    /// Stopped because cancellation was asked.
    Cancelled,
    /// Put back in the queue without using up the attempt (worker shutting down).
    Released,
}

/// The end of one attempt, to record.
#[derive(Clone, Debug)]
pub struct Finish {
    /// Job id.
    pub id: i64,
    /// Attempt number that ended.
    pub attempt: i32,
    /// How it ended.
    pub outcome: Outcome,
    /// Last progress the handler reported.
    pub progress: Option<Value>,
}

/// Records the end of many attempts held by `worker` in one statement (one commit for all).
/// Returns the jobs that were updated; an attempt whose job the worker no longer holds is left
/// out.
pub async fn finish_attempts(
    conn: &mut AsyncPgConnection,
    worker: &str,
    finished: &[Finish],
) -> QueryResult<Vec<JobRow>> {
    let mut ids = Vec::with_capacity(finished.len());
    let mut attempts = Vec::with_capacity(finished.len());
    let mut states = Vec::with_capacity(finished.len());
    let mut results = Vec::with_capacity(finished.len());
    let mut errors = Vec::with_capacity(finished.len());
    let mut run_ats = Vec::with_capacity(finished.len());
    let mut deltas = Vec::with_capacity(finished.len());
    let mut progress = Vec::with_capacity(finished.len());
    for finish in finished {
        let (state, result, error, run_at, delta) = match &finish.outcome {
            Outcome::Succeeded(result) => (JobState::Succeeded, Some(result.clone()), None, None, 0),
            Outcome::Failed { error, retry_at: Some(at) } => {
                (JobState::Retrying, None, Some(error.clone()), Some(*at), 0)
            }
            Outcome::Failed { error, retry_at: None } => (JobState::Dead, None, Some(error.clone()), None, 0),
            Outcome::Cancelled => (JobState::Cancelled, None, None, None, 0),
            // Put back without using up the attempt.
            Outcome::Released => (JobState::Queued, None, None, None, 1),
        };
        // Errors and results may quote upstream text; a NUL in one would fail every job of the
        // statement.
        let mut result = result;
        let mut job_progress = finish.progress.clone();
        result.iter_mut().chain(job_progress.iter_mut()).for_each(text::clean_json);
        ids.push(finish.id);
        attempts.push(finish.attempt);
        states.push(state.as_str());
        results.push(result);
        errors.push(error.map(text::cleaned));
        run_ats.push(run_at);
        deltas.push(delta);
        progress.push(job_progress);
    }
    sql_query(
        "UPDATE jobs AS j SET state = v.state, result = COALESCE(v.result, j.result), \
                last_error = COALESCE(v.error, j.last_error), run_at = COALESCE(v.run_at, j.run_at), \
                attempts = j.attempts - v.delta, progress = COALESCE(v.progress, j.progress), \
                locked_by = NULL, lease_expires_at = NULL, updated_at = now(), \
                finished_at = CASE WHEN v.state IN ('succeeded', 'dead', 'cancelled') THEN now() END \
           FROM unnest($2, $3, $4, $5, $6, $7, $8, $9) AS v(id, attempt, state, result, error, run_at, delta, progress) \
          WHERE j.id = v.id AND j.locked_by = $1 AND j.attempts = v.attempt AND j.state = 'running' \
         RETURNING j.*",
    )
    .bind::<Text, _>(worker)
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Integer>, _>(attempts)
    .bind::<Array<Text>, _>(states)
    .bind::<Array<Nullable<Jsonb>>, _>(results)
    .bind::<Array<Nullable<Text>>, _>(errors)
    .bind::<Array<Nullable<Timestamptz>>, _>(run_ats)
    .bind::<Array<Integer>, _>(deltas)
    .bind::<Array<Nullable<Jsonb>>, _>(progress)
    .load(conn)
    .await
}

/// Stores the latest progress of a running job held by `worker`.
pub async fn update_progress(
    conn: &mut AsyncPgConnection,
    id: i64,
    worker: &str,
    progress: &Value,
) -> QueryResult<Option<JobRow>> {
    diesel::update(jobs::table.find(id).filter(jobs::locked_by.eq(worker)).filter(jobs::state.eq("running")))
        .set((jobs::progress.eq(progress), jobs::updated_at.eq(now)))
        .returning(JobRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Takes back jobs whose worker let its lease expire (crashed or stalled): they are retried, or
/// dead when out of attempts, or cancelled when cancellation was asked.
pub async fn reap_expired_leases(conn: &mut AsyncPgConnection) -> QueryResult<Vec<JobRow>> {
    sql_query(
        "UPDATE jobs SET \
                state = CASE WHEN cancel_requested THEN 'cancelled' \
                             WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, \
                last_error = 'the worker running it stopped renewing its lease (crashed or stalled)', \
                run_at = now(), locked_by = NULL, lease_expires_at = NULL, updated_at = now(), \
                finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END \
          WHERE state = 'running' AND lease_expires_at < now() \
         RETURNING *",
    )
    .load(conn)
    .await
}

/// Cancels a job: queued or retrying ones at once, running ones by asking their worker (and
/// waking it through NOTIFY). Returns the job, or `None` if it does not exist.
pub async fn cancel_job(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<JobRow>> {
    let changed: Option<JobRow> = sql_query(
        "UPDATE jobs SET \
                cancel_requested = cancel_requested OR state = 'running', \
                finished_at = CASE WHEN state = 'running' THEN finished_at ELSE now() END, \
                state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END, \
                updated_at = now() \
          WHERE id = $1 AND state IN ('queued', 'retrying', 'running') \
         RETURNING *",
    )
    .bind::<BigInt, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    match changed {
        Some(row) => {
            if row.state() == JobState::Running {
                sql_query("SELECT pg_notify('medley_jobs_cancel', $1)")
                    .bind::<Text, _>(id.to_string())
                    .execute(conn)
                    .await?;
            }
            Ok(Some(row))
        }
        None => find_job(conn, id).await,
    }
}

/// Queues a dead or cancelled job again with a fresh attempt budget. Returns the job as it is
/// after the call, or `None` if it does not exist.
pub async fn requeue_job(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<JobRow>> {
    let changed = diesel::update(jobs::table.find(id).filter(jobs::state.eq_any(["dead", "cancelled"])))
        .set((
            jobs::state.eq("queued"),
            jobs::attempts.eq(0),
            jobs::run_at.eq(now),
            jobs::finished_at.eq(None::<DateTime<Utc>>),
            jobs::cancel_requested.eq(false),
            jobs::updated_at.eq(now),
        ))
        .returning(JobRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match changed {
        Some(row) => Ok(Some(row)),
        None => find_job(conn, id).await,
    }
}

/// Finds a job.
pub async fn find_job(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<JobRow>> {
    jobs::table.find(id).select(JobRow::as_select()).first(conn).await.optional()
}

/// Lists jobs newest first, filtered by kinds and states (empty = all), before id `before`.
pub async fn list_jobs(
    conn: &mut AsyncPgConnection,
    kinds: &[String],
    states: &[JobState],
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<JobRow>> {
    let mut query = jobs::table.select(JobRow::as_select()).into_boxed();
    if !kinds.is_empty() {
        query = query.filter(jobs::kind.eq_any(kinds));
    }
    if !states.is_empty() {
        query = query.filter(jobs::state.eq_any(states.iter().map(|s| s.as_str())));
    }
    if let Some(before) = before {
        query = query.filter(jobs::id.lt(before));
    }
    query.order(jobs::id.desc()).limit(limit).load(conn).await
}

/// Lists the newest unfinished jobs of `kinds` (all when empty).
pub async fn list_unfinished_jobs(
    conn: &mut AsyncPgConnection,
    kinds: &[String],
    limit: i64,
) -> QueryResult<Vec<JobRow>> {
    list_jobs(conn, kinds, &[JobState::Queued, JobState::Running, JobState::Retrying], None, limit).await
}

/// Lists the newest jobs of `kinds` (all when empty) that are unfinished or changed at or after
/// `since`: what a watcher must see again after it may have missed events.
pub async fn list_jobs_live_or_changed_since(
    conn: &mut AsyncPgConnection,
    kinds: &[String],
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<JobRow>> {
    let unfinished = [JobState::Queued, JobState::Running, JobState::Retrying].map(JobState::as_str);
    let mut query = jobs::table
        .select(JobRow::as_select())
        .filter(jobs::state.eq_any(unfinished).or(jobs::updated_at.ge(since)))
        .into_boxed();
    if !kinds.is_empty() {
        query = query.filter(jobs::kind.eq_any(kinds));
    }
    query.order(jobs::id.desc()).limit(limit).load(conn).await
}

/// Deletes up to `limit` jobs that reached a terminal state before `cutoff`; returns how many.
pub async fn delete_finished_jobs(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    sql_query(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
          WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at < $1 LIMIT $2)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}

/// Queue depth by kind and state.
#[derive(Debug, QueryableByName)]
pub struct Depth {
    /// Kind.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// State.
    #[diesel(sql_type = Text)]
    pub state: String,
    /// Jobs.
    #[diesel(sql_type = BigInt)]
    pub jobs: i64,
}

/// Counts unfinished jobs by kind and state (finished ones grow without bound and are not
/// queue depth).
pub async fn count_unfinished_jobs(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Depth>> {
    sql_query(
        "SELECT kind, state, count(*) AS jobs FROM jobs \
          WHERE state IN ('queued', 'running', 'retrying') GROUP BY kind, state",
    )
    .load(conn)
    .await
}
