//! The run operations every service shares: find a run of one kind, list them newest first,
//! cancel one. A service's `Get…`/`List…Runs`/`Cancel…` RPCs are these plus its own
//! conversion to proto, so every run answers the same codes: INVALID_ARGUMENT for a run id
//! that cannot be one, NOT_FOUND (with a ResourceInfo) for an unknown run or a job of another
//! kind, FAILED_PRECONDITION for cancelling a finished run.

use crate::{
    error::{ApiError, ErrorCode, FieldViolations, InfraError},
    jobs::{JobQueue, JobRow, store as job_store},
    pagination::{finish_page, parse_page_size, parse_page_token, rows_to_read},
};

/// One kind of run: its job kind and the names clients know it by.
#[derive(Debug, Clone, Copy)]
pub struct RunKind {
    /// The job kind that runs it.
    pub job_kind: &'static str,
    /// The resource type in error details, e.g. `import_run`.
    pub resource: &'static str,
    /// The RPCs a run id comes from, for the message of a bad `run_id`.
    pub from: &'static str,
}

/// Why a run operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RunOpError {
    /// The request was invalid.
    #[error("invalid request")]
    Invalid(ApiError),
    /// No run of this kind has this id.
    #[error("{} {id} not found", .kind.resource)]
    NotFound { kind: RunKind, id: i64 },
    /// The run ended already.
    #[error("{} {id} has already finished", .kind.resource)]
    Finished { kind: RunKind, id: i64 },
    /// PostgreSQL or Redis failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<RunOpError> for ApiError {
    fn from(error: RunOpError) -> Self {
        let message = error.to_string();
        match error {
            RunOpError::Invalid(api_error) => api_error,
            RunOpError::NotFound { kind, id } => ApiError::not_found(kind.resource, &id.to_string()),
            RunOpError::Finished { kind, id } => {
                ApiError::new(ErrorCode::FailedPrecondition, message).with_resource(kind.resource, &id.to_string())
            }
            RunOpError::Infra(infra) => infra.into(),
        }
    }
}

impl RunKind {
    /// Checks that `id` can be a run id (job ids start at 1).
    pub fn check_id(&self, id: i64) -> Result<(), RunOpError> {
        if id > 0 {
            return Ok(());
        }
        let mut violations = FieldViolations::new();
        violations.add("run_id", format!("must be a run id (from {})", self.from));
        Err(RunOpError::Invalid(violations.into_error()))
    }

    /// The run's job, if `id` is a run of this kind.
    pub async fn find(&self, queue: &JobQueue, id: i64) -> Result<JobRow, RunOpError> {
        self.check_id(id)?;
        match queue.get(id).await? {
            Some(job) if job.kind == self.job_kind => Ok(job),
            _ => Err(RunOpError::NotFound { kind: *self, id }),
        }
    }

    /// A page of runs, newest first, and the token of the next page (empty on the last).
    pub async fn list(
        &self,
        queue: &JobQueue,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<JobRow>, String), RunOpError> {
        let mut violations = FieldViolations::new();
        let limit = parse_page_size(page_size, &mut violations);
        let before: Option<i64> = parse_page_token(page_token, self.resource, &mut violations);
        violations.finish().map_err(RunOpError::Invalid)?;
        let kinds = [self.job_kind.to_owned()];
        let jobs = queue
            .with_conn(async |conn| job_store::list_jobs(conn, &kinds, &[], before, rows_to_read(limit)).await)
            .await?;
        Ok(finish_page(jobs, limit, self.resource, |last: &JobRow| last.id))
    }

    /// Cancels a run that has not finished: a queued run never starts, a running one is told
    /// to stop. Returns the job as it is after the cancellation was recorded.
    pub async fn cancel(&self, queue: &JobQueue, id: i64) -> Result<JobRow, RunOpError> {
        let before = self.find(queue, id).await?;
        if before.state().is_terminal() {
            return Err(RunOpError::Finished { kind: *self, id });
        }
        queue.cancel(id).await?;
        self.find(queue, id).await
    }
}
