//! The one place where failures become `tonic::Status`.
//!
//! Each service has its own `thiserror` enum; each converts into [`ApiError`] by choosing an
//! [`ErrorCode`] and the details a client needs (field violations, resource, retry delay). The
//! conversion from [`ApiError`] to `tonic::Status` below is the only code that builds a status for
//! a failed call. Infrastructure failures ([`InfraError`]) are classified once, here: retryable
//! outages become `UNAVAILABLE` with `RetryInfo`, anything unexpected becomes `INTERNAL` with a
//! generic message and is logged once, so SQL, secrets and stack traces never reach clients.

use std::{collections::HashMap, time::Duration};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::db::PoolError;

/// The `ErrorInfo.domain` of every error Medley returns.
pub const ERROR_DOMAIN: &str = "medley";

/// How long clients are told to wait before retrying after an outage.
pub const OUTAGE_RETRY_DELAY: Duration = Duration::from_secs(1);

/// The failure classes Medley reports; each maps to exactly one gRPC code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is malformed; the client must change it.
    InvalidArgument,
    /// The named resource does not exist.
    NotFound,
    /// The resource to create exists already.
    AlreadyExists,
    /// The system is not in a state that allows the operation (e.g. an unknown parent).
    FailedPrecondition,
    /// No valid credentials were sent.
    Unauthenticated,
    /// The credentials do not allow the operation.
    PermissionDenied,
    /// A quota or rate limit was hit.
    ResourceExhausted,
    /// A concurrent change conflicted; retrying the whole operation may succeed.
    Aborted,
    /// A dependency is down or overloaded; retrying later may succeed.
    Unavailable,
    /// The operation is not built (yet).
    Unimplemented,
    /// A bug or an unexpected failure; details are only in the server log.
    Internal,
}

impl ErrorCode {
    /// Returns the gRPC status code of this class.
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument => tonic::Code::InvalidArgument,
            Self::NotFound => tonic::Code::NotFound,
            Self::AlreadyExists => tonic::Code::AlreadyExists,
            Self::FailedPrecondition => tonic::Code::FailedPrecondition,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::PermissionDenied => tonic::Code::PermissionDenied,
            Self::ResourceExhausted => tonic::Code::ResourceExhausted,
            Self::Aborted => tonic::Code::Aborted,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::Unimplemented => tonic::Code::Unimplemented,
            Self::Internal => tonic::Code::Internal,
        }
    }
}

/// A failure ready to be sent to a client: a code, a public message and rich details.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    // Boxed: ErrorDetails is large and errors travel through many `Result`s.
    details: Box<ErrorDetails>,
}

impl ApiError {
    /// Builds an error with no details beyond its code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Box::new(ErrorDetails::new()) }
    }

    /// Returns the error's class.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Returns the public message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the fields named by `BadRequest` violations, for errors reported per item.
    pub fn violated_fields(&self) -> Vec<String> {
        self.details
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default()
    }

    /// Adds a machine-readable reason (`ErrorInfo`), e.g. `API_KEY_REVOKED`.
    pub fn with_reason(mut self, reason: &str, metadata: HashMap<String, String>) -> Self {
        let metadata: HashMap<String, String> = metadata.into_iter().map(|(key, value)| (key, shown(&value))).collect();
        self.details.set_error_info(reason, ERROR_DOMAIN, metadata);
        self
    }

    /// Adds the resource the error is about (`ResourceInfo`).
    pub fn with_resource(mut self, resource_type: &str, resource_name: &str) -> Self {
        self.details.set_resource_info(resource_type, shown(resource_name), "", "");
        self
    }

    /// Adds a retry delay (`RetryInfo`).
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.details.set_retry_info(Some(delay));
        self
    }

    /// `NOT_FOUND` for one resource, with `ResourceInfo`.
    pub fn not_found(resource_type: &str, resource_name: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{resource_type} {} not found", shown(resource_name)))
            .with_resource(resource_type, resource_name)
    }

    /// `UNAVAILABLE` with a retry delay: a dependency is down.
    pub fn unavailable(what: &str) -> Self {
        Self::new(ErrorCode::Unavailable, format!("{what} is unavailable, retry later"))
            .with_retry_after(OUTAGE_RETRY_DELAY)
    }

    /// `INTERNAL` with a generic message; logs the real cause once, here.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl ApiError {
    /// The error as a `google.rpc.Status` message, details included, for answers that report
    /// errors per item (the same code, message and details the item would fail with alone).
    pub fn into_rpc_status(self) -> tonic_types::pb::Status {
        let status = tonic::Status::from(self);
        let encoded = status.details();
        if !encoded.is_empty()
            && let Ok(rpc) = <tonic_types::pb::Status as prost::Message>::decode(encoded)
        {
            return rpc;
        }
        tonic_types::pb::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        }
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        let message = clip(&error.message, MAX_MESSAGE_BYTES);
        tonic::Status::with_error_details(error.code.grpc_code(), message, *error.details)
    }
}

// An error answer travels in HTTP/2 headers (`grpc-message`, percent-encoded, and
// `grpc-status-details-bin`, base64), and gRPC's C-core clients refuse headers above 16 KB
// with a RESOURCE_EXHAUSTED that hides the real error. Whatever a request held, these caps keep
// an answer's headers under about 10 KB.
/// Bytes of an error message at most.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Field violations in one answer at most; the rest are counted in a last one.
pub const MAX_VIOLATIONS: usize = 16;
/// Bytes of a violation's field path, and of its description, at most.
const MAX_FIELD_BYTES: usize = 128;
const MAX_DESCRIPTION_BYTES: usize = 160;
/// Characters of a client's value echoed in an error.
const MAX_ECHO_CHARS: usize = 64;

/// `text` cut to at most `max` bytes (on a character boundary), "…" marking a cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A client's value as an error may quote it: at most 64 characters, "…" marking a cut.
pub fn shown(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// Collects every problem of one request, so a client learns all of them at once.
#[derive(Debug, Default)]
#[must_use]
pub struct FieldViolations(Vec<FieldViolation>);

impl FieldViolations {
    /// Starts an empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid because of `description`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(
            clip(&field.into(), MAX_FIELD_BYTES),
            clip(&description.into(), MAX_DESCRIPTION_BYTES),
        ));
    }

    /// Reads an enum field of a request: the value, or `None` for a number the enum does not
    /// have, recorded as a violation naming the field and the enum ("7 is not a MediaType").
    pub fn parse_enum<E: TryFrom<i32>>(&mut self, field: impl Into<String>, value: i32) -> Option<E> {
        let parsed = E::try_from(value).ok();
        if parsed.is_none() {
            let name = std::any::type_name::<E>().rsplit("::").next().unwrap_or("enum value");
            self.add(field, format!("{value} is not a {name}"));
        }
        parsed
    }

    /// Checks a URL a user gave with the outbound guard; a refusal is a violation of `field`
    /// saying why. Returns the URL when it may be called.
    pub async fn vet_url(
        &mut self,
        guard: &crate::outbound::UrlGuard,
        field: impl Into<String>,
        url: &str,
    ) -> Option<url::Url> {
        match guard.vet(url).await {
            Ok(url) => Some(url),
            Err(refusal) => {
                self.add(field, refusal.to_string());
                None
            }
        }
    }

    /// Returns whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns `Ok` if nothing was recorded, else `INVALID_ARGUMENT` listing every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(self.into_error()) }
    }

    /// Returns `INVALID_ARGUMENT` listing every violation (for callers that know one was
    /// recorded).
    pub fn into_error(self) -> ApiError {
        let mut violations = self.0;
        if violations.len() > MAX_VIOLATIONS {
            let more = violations.len() - (MAX_VIOLATIONS - 1);
            violations.truncate(MAX_VIOLATIONS - 1);
            violations.push(FieldViolation::new("request", format!("and {more} more problems")));
        }
        let message =
            violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ");
        let mut details = ErrorDetails::new();
        details.set_bad_request(violations);
        ApiError {
            code: ErrorCode::InvalidArgument,
            message: format!("invalid request: {message}"),
            details: Box::new(details),
        }
    }
}

/// Lets `?` turn database and pool errors into `$error::Infra` (every error enum that talks to
/// PostgreSQL has that variant).
macro_rules! infra_from {
    ($error:ty) => {
        impl From<diesel::result::Error> for $error {
            fn from(error: diesel::result::Error) -> Self {
                Self::Infra(error.into())
            }
        }

        impl From<$crate::db::PoolError> for $error {
            fn from(error: $crate::db::PoolError) -> Self {
                Self::Infra(error.into())
            }
        }
    };
}
pub(crate) use infra_from;

/// The conversions of a service's error enum: [`infra_from`], and to `tonic::Status` through
/// the service's `From<$error> for ApiError` (the one place a service decides its codes).
macro_rules! service_error {
    ($error:ty) => {
        $crate::error::infra_from!($error);

        impl From<$error> for tonic::Status {
            fn from(error: $error) -> Self {
                $crate::error::ApiError::from(error).into()
            }
        }
    };
}
pub(crate) use service_error;

/// Failures of PostgreSQL or Redis, shared by every service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InfraError {
    /// No pooled connection could be had.
    #[error("database pool: {0}")]
    Pool(#[from] PoolError),
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] DieselError),
    /// A Redis command failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl From<InfraError> for ApiError {
    fn from(error: InfraError) -> Self {
        match &error {
            InfraError::Pool(_) => {
                tracing::warn!(error = %error, "database unavailable");
                ApiError::unavailable("the database")
            }
            InfraError::Database(db) => match db {
                DieselError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
                DieselError::DatabaseError(kind, _) => match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        ApiError::new(ErrorCode::AlreadyExists, "the resource exists already")
                    }
                    DatabaseErrorKind::SerializationFailure => {
                        ApiError::new(ErrorCode::Aborted, "a concurrent change conflicted, retry")
                            .with_retry_after(Duration::from_millis(100))
                    }
                    _ if is_connection_lost(db) => {
                        tracing::warn!(error = %error, "database connection lost");
                        ApiError::unavailable("the database")
                    }
                    _ => ApiError::internal(&error),
                },
                _ => ApiError::internal(&error),
            },
            InfraError::Redis(redis) => {
                if redis.is_io_error()
                    || redis.is_connection_dropped()
                    || redis.is_connection_refusal()
                    || redis.is_timeout()
                {
                    tracing::warn!(error = %error, "redis unavailable");
                    ApiError::unavailable("redis")
                } else {
                    ApiError::internal(&error)
                }
            }
        }
    }
}

/// Whether a query failed because its connection went away (closed, reset, the server shutting
/// down or terminating it): nothing was committed, so the call is safe to retry elsewhere or
/// later. diesel-async reports a connection that closed without a server error as
/// `UnableToSendCommand`, and PostgreSQL's own shutdown and termination notices (SQLSTATE 57P01,
/// 57P02, 57P03) only by their text.
fn is_connection_lost(error: &DieselError) -> bool {
    const NOTICES: [&str; 5] = [
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection",
    ];
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
            true
        }
        DieselError::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            NOTICES.iter().any(|notice| message.contains(notice))
        }
        _ => false,
    }
}

impl From<PoolError> for ApiError {
    fn from(error: PoolError) -> Self {
        InfraError::from(error).into()
    }
}

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        InfraError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_stay_small_whatever_the_request_held() {
        let huge = "é".repeat(1 << 20);
        let mut violations = FieldViolations::new();
        for i in 0..1000 {
            violations.add(format!("items[{i}].{huge}"), format!("{huge} is not a valid value"));
        }
        let status = tonic::Status::from(violations.into_error());
        let details = status.get_error_details();
        let bad = details.bad_request().map(|b| b.field_violations.clone()).unwrap_or_default();
        assert_eq!(bad.len(), MAX_VIOLATIONS);
        assert_eq!(bad.last().map(|v| v.description.as_str()), Some("and 985 more problems"));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.details().len() < 8 * 1024, "{} bytes of details", status.details().len());
        let not_found = tonic::Status::from(ApiError::not_found("job", &huge));
        assert!(not_found.message().chars().count() < 100, "{}", not_found.message());
        assert_eq!(clip("abcdef", 4), "a…");
        assert_eq!(shown("short"), "short");
    }

    #[test]
    fn a_lost_connection_is_unavailable_with_retry_info_and_other_database_errors_internal() {
        let db = |kind, message: &str| DieselError::DatabaseError(kind, Box::new(message.to_owned()));
        for lost in [
            db(DatabaseErrorKind::UnableToSendCommand, "connection closed"),
            db(DatabaseErrorKind::ClosedConnection, "closed"),
            db(DatabaseErrorKind::Unknown, "terminating connection due to administrator command"),
            db(DatabaseErrorKind::Unknown, "the database system is shutting down"),
        ] {
            let status = tonic::Status::from(ApiError::from(lost));
            assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
            assert!(status.get_error_details().retry_info().is_some());
        }
        let status = tonic::Status::from(ApiError::from(db(DatabaseErrorKind::Unknown, "syntax error at or near")));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn violations_become_invalid_argument_with_every_field() {
        let mut violations = FieldViolations::new();
        violations.add("name", "must not be empty");
        violations.add("scopes", "at least one scope");
        let status =
            tonic::Status::from(violations.finish().err().unwrap_or_else(|| ApiError::new(ErrorCode::Internal, "x")));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["name", "scopes"]);
    }

    #[test]
    fn no_violations_is_ok() {
        assert!(FieldViolations::new().finish().is_ok());
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = InfraError::Database(DieselError::QueryBuilderError("select secret from keys".into()));
        let status = tonic::Status::from(ApiError::from(error));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("secret"));
    }

    #[test]
    fn unique_violations_are_already_exists() {
        let error = DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new("dup".to_owned()));
        assert_eq!(tonic::Status::from(ApiError::from(error)).code(), tonic::Code::AlreadyExists);
    }
}
