//! The request guard: one place, in front of every service, that refuses what no handler
//! should see. Each request message (unary or streamed) is checked before tonic decodes it:
//!
//! - its size against the method's limit — RESOURCE_EXHAUSTED, answered as soon as the frame
//!   header announces it, without reading the rest;
//! - its text fields ([`crate::text::problem`]: no NUL, no control characters but tabs and line
//!   breaks, valid UTF-8) — INVALID_ARGUMENT naming every field at fault (enum values and other
//!   rules stay with the services, which report all of a request's problems at once);
//! - its encoding — INVALID_ARGUMENT (prost's own decode errors would be INTERNAL).
//!
//! What to check comes from the protobuf descriptors ([`Schema`]), so a new RPC is guarded the
//! day it is added. A streamed method whose messages must fail one by one (a bad item of a bulk
//! import fails alone) is named in [`RequestLimits::checked_by_handler`]; its handler calls
//! [`check_message`] per message.

mod body;
pub mod schema;
mod wire;

use std::{
    collections::HashMap,
    sync::Arc,
    task::{Context, Poll},
};

pub use schema::Schema;
use tower::{Layer, Service};

use crate::error::{ApiError, ErrorCode, FieldViolations};

/// The size a request message may have when its service sets no other.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 << 10;

/// How large one service's request messages may be, and which of its streamed methods check
/// each message themselves.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    /// The limit of every method not listed in `methods`, per message.
    pub max_bytes: usize,
    /// Methods (by name) with their own limit.
    pub methods: &'static [(&'static str, usize)],
    /// Client-streaming methods whose handler checks each message with [`check_message`]; the
    /// guard checks only their size.
    pub checked_by_handler: &'static [&'static str],
}

impl RequestLimits {
    /// [`DEFAULT_MAX_REQUEST_BYTES`] for every method.
    pub const DEFAULT: Self = Self::new(DEFAULT_MAX_REQUEST_BYTES, &[]);

    /// `max_bytes` per message, except for `methods`.
    pub const fn new(max_bytes: usize, methods: &'static [(&'static str, usize)]) -> Self {
        Self { max_bytes, methods, checked_by_handler: &[] }
    }

    /// The same limits, with `methods` checking their messages themselves.
    pub const fn checked_by_handler(self, methods: &'static [&'static str]) -> Self {
        Self { checked_by_handler: methods, ..self }
    }

    /// The largest message any method accepts (for tonic's own limit, a backstop).
    pub fn largest(&self) -> usize {
        self.methods.iter().map(|(_, bytes)| *bytes).fold(self.max_bytes, usize::max)
    }
}

/// What the guard applies to one method.
#[derive(Debug)]
struct Rule {
    /// Full name of the input message; `None` for paths outside the schema (health,
    /// reflection), whose size alone is checked.
    input: Option<String>,
    method: String,
    max_bytes: usize,
    check_content: bool,
}

#[derive(Debug)]
struct Rules {
    schema: Schema,
    by_path: HashMap<String, Arc<Rule>>,
    other: Arc<Rule>,
}

/// Puts the guard in front of the services.
#[derive(Clone, Debug)]
pub struct RequestGuardLayer {
    rules: Arc<Rules>,
}

impl RequestGuardLayer {
    /// Guards every method of `schema`, with the limits each service (`package.Service`) set;
    /// a service not listed gets [`RequestLimits::DEFAULT`].
    pub fn new(schema: Schema, services: &[(&str, RequestLimits)]) -> Self {
        let by_path = schema
            .methods()
            .map(|(path, method)| {
                let (service, name) = path.trim_start_matches('/').split_once('/').unwrap_or(("", path));
                let limits = services.iter().find(|(s, _)| *s == service).map_or(RequestLimits::DEFAULT, |(_, l)| *l);
                let max_bytes =
                    limits.methods.iter().find(|(m, _)| *m == name).map_or(limits.max_bytes, |(_, bytes)| *bytes);
                let checked_by_handler = method.client_streaming && limits.checked_by_handler.contains(&name);
                let rule = Rule {
                    input: Some(method.input.clone()),
                    method: name.to_owned(),
                    max_bytes,
                    check_content: !checked_by_handler,
                };
                (path.to_owned(), Arc::new(rule))
            })
            .collect();
        let other = Arc::new(Rule {
            input: None,
            method: "this method".to_owned(),
            max_bytes: DEFAULT_MAX_REQUEST_BYTES,
            check_content: false,
        });
        Self { rules: Arc::new(Rules { schema, by_path, other }) }
    }
}

impl<S> Layer<S> for RequestGuardLayer {
    type Service = RequestGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestGuard { inner, rules: self.rules.clone() }
    }
}

/// The service made by [`RequestGuardLayer`].
#[derive(Clone, Debug)]
pub struct RequestGuard<S> {
    inner: S,
    rules: Arc<Rules>,
}

impl<S> Service<http::Request<tonic::body::Body>> for RequestGuard<S>
where
    S: Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let rule = self.rules.by_path.get(request.uri().path()).unwrap_or(&self.rules.other).clone();
        let rules = self.rules.clone();
        self.inner.call(request.map(|body| tonic::body::Body::new(body::GuardedBody::new(body, rules, rule))))
    }
}

/// Checks a message a handler took from a stream, as the guard checks whole requests: text
/// fields and encoding, naming fields below `prefix` (e.g. `items[3]`).
pub fn check_message<M: prost::Message>(
    schema: &Schema,
    type_name: &str,
    message: &M,
    prefix: &str,
) -> Result<(), ApiError> {
    verdict(schema, type_name, &message.encode_to_vec(), prefix)
}

/// The answer for one encoded message of type `type_name`.
fn verdict(schema: &Schema, type_name: &str, bytes: &[u8], prefix: &str) -> Result<(), ApiError> {
    let findings = wire::check(schema, type_name, bytes, prefix).map_err(|wire::Malformed(why)| {
        let short = type_name.rsplit('.').next().unwrap_or(type_name);
        ApiError::new(ErrorCode::InvalidArgument, format!("the request is not a valid {short} message: {why}"))
    })?;
    if findings.is_empty() {
        return Ok(());
    }
    let mut violations = FieldViolations::new();
    for (field, why) in findings.violations {
        violations.add(field, why);
    }
    if findings.more > 0 {
        violations.add("request", format!("and {} more problems", findings.more));
    }
    violations.finish()
}

/// RESOURCE_EXHAUSTED for a message of `len` bytes over `rule`'s limit.
fn too_large(rule: &Rule, len: usize) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceExhausted,
        format!("a request message of {len} bytes exceeds the {} byte limit of {}", rule.max_bytes, rule.method),
    )
    .with_reason(
        "REQUEST_TOO_LARGE",
        HashMap::from([
            ("limit_bytes".to_owned(), rule.max_bytes.to_string()),
            ("size_bytes".to_owned(), len.to_string()),
        ]),
    )
}

#[cfg(test)]
mod tests;
