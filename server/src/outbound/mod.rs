//! Outbound HTTP to upstream APIs: one client per upstream with its own rate limit, concurrency
//! limit and retries.
//!
//! [`Upstream::send`] retries 429, 5xx, timeouts and broken connections with exponential
//! backoff and jitter ([`crate::backoff`]), honouring `Retry-After`; every attempt (retries included) passes
//! the rate limiter, so retries never burst past the upstream's limits. Other statuses are
//! returned to the caller, which decides what they mean. Errors never carry the request URL,
//! so tokens in a query string cannot reach logs.

pub mod limiter;
pub mod shared_limiter;
pub mod url_guard;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use reqwest::{StatusCode, header};
use tokio::sync::Semaphore;

use crate::backoff::Backoff;

pub use limiter::{RateLimiter, Window};
pub use shared_limiter::SharedLimiter;
pub use url_guard::{Allow, Refusal, UrlGuard};

/// The User-Agent of every outbound request unless an upstream asks for its own.
pub const USER_AGENT: &str = concat!("Medley/", env!("CARGO_PKG_VERSION"), " (+https://github.com/medley)");

/// Longest `Retry-After` honoured; beyond it the attempt is given up (the job retries later).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// How an upstream is called.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Name used in errors and logs, e.g. "shikimori".
    pub name: &'static str,
    /// The User-Agent sent.
    pub user_agent: String,
    /// Rate limits; empty (or all zero) for none.
    pub windows: Vec<Window>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Timeout of one attempt, connection to last byte.
    pub timeout: Duration,
    /// Longest wait for the next bytes of an answer; `None` for no limit but `timeout`. Large
    /// answers (an IPTV panel's lists reach tens of MB) get a long `timeout` and a short stall
    /// limit instead of a short whole-answer timeout.
    pub stall_timeout: Option<Duration>,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled each retry, jittered ([`crate::backoff`]).
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
    /// Largest body accepted; a longer one fails the request (not retried).
    pub max_body: usize,
}

impl UpstreamConfig {
    /// Defaults for `name`: no rate limit, 4 in flight, 30 s timeout, 5 attempts, 0.5 s → 30 s
    /// backoff, bodies up to 64 MiB.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            user_agent: USER_AGENT.to_owned(),
            windows: Vec::new(),
            concurrency: 4,
            timeout: Duration::from_secs(30),
            stall_timeout: None,
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_body: 64 << 20,
        }
    }
}

/// A failed upstream call.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with an error status (after retries, for retryable ones).
    #[error("{upstream} answered HTTP {status}")]
    Status { upstream: &'static str, status: u16 },
    /// No answer: connection refused or cut, timeout (after retries).
    #[error("{upstream} unreachable: {reason}")]
    Transport { upstream: &'static str, reason: String },
    /// The upstream refused the request in its body (e.g. a bad token).
    #[error("{upstream} refused the request: {message}")]
    Rejected { upstream: &'static str, message: String },
    /// The answer could not be understood.
    #[error("{upstream} sent an unreadable answer: {reason}")]
    Malformed { upstream: &'static str, reason: String },
    /// The body is longer than the upstream's limit.
    #[error("{upstream} sent a body above the {limit}-byte limit")]
    TooLarge { upstream: &'static str, limit: usize },
}

impl UpstreamError {
    /// Returns whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Transport { .. } => true,
            Self::Rejected { .. } | Self::Malformed { .. } | Self::TooLarge { .. } => false,
        }
    }
}

/// An answer: status, headers and the whole body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: header::HeaderMap,
    /// Body bytes.
    pub body: bytes::Bytes,
}

impl Reply {
    /// A header as text, if present and printable.
    pub fn header(&self, name: header::HeaderName) -> Option<String> {
        self.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
    }
}

/// Requests sent and retried, for run statistics.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    retries: AtomicU64,
}

impl Stats {
    /// Returns (requests, retries) so far.
    pub fn get(&self) -> (u64, u64) {
        (self.requests.load(Ordering::Relaxed), self.retries.load(Ordering::Relaxed))
    }
}

/// Where an upstream's rate limit is counted.
#[derive(Clone, Debug)]
enum Limiter {
    /// In this process.
    Local(Arc<RateLimiter>),
    /// Across the deployment, in Redis.
    Shared(SharedLimiter),
}

impl Limiter {
    async fn acquire(&self) {
        match self {
            Self::Local(limiter) => limiter.acquire().await,
            Self::Shared(limiter) => limiter.acquire().await,
        }
    }
}

/// A client of one upstream. Cheap to clone; clones share limits and statistics.
#[derive(Clone, Debug)]
pub struct Upstream {
    config: Arc<UpstreamConfig>,
    client: reqwest::Client,
    limiter: Option<Limiter>,
    in_flight: Arc<Semaphore>,
    stats: Arc<Stats>,
}

impl Upstream {
    /// Builds the client of one upstream the operator configured.
    pub fn new(config: UpstreamConfig) -> reqwest::Result<Self> {
        Self::build(config, None)
    }

    /// Builds the client of URLs users give: every address and redirect passes `guard`.
    pub fn guarded(config: UpstreamConfig, guard: &UrlGuard) -> reqwest::Result<Self> {
        Self::build(config, Some(guard))
    }

    fn build(config: UpstreamConfig, guard: Option<&UrlGuard>) -> reqwest::Result<Self> {
        // rustls needs one process-wide crypto provider; installing it again is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .timeout(config.timeout);
        if let Some(stall) = config.stall_timeout {
            builder = builder.read_timeout(stall);
        }
        if let Some(guard) = guard {
            builder = guard.apply(builder);
        }
        let client = builder.build()?;
        Ok(Self {
            limiter: RateLimiter::new(config.windows.iter().copied()).map(|l| Limiter::Local(Arc::new(l))),
            in_flight: Arc::new(Semaphore::new(config.concurrency.max(1))),
            stats: Arc::default(),
            client,
            config: Arc::new(config),
        })
    }

    /// Counts this upstream's rate limit together with every other process of the deployment,
    /// in Redis under `key` (one key per limited account), instead of in this process alone.
    pub fn shared_through(mut self, redis: redis::aio::ConnectionManager, key: String) -> Self {
        self.limiter = SharedLimiter::new(redis, key, self.config.windows.iter().copied()).map(Limiter::Shared);
        self
    }

    /// Returns the request statistics.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Sends the request `build` makes (called once per attempt), retrying what is worth
    /// retrying. Returns any answer that is not 429 or 5xx.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, UpstreamError> {
        let name = self.config.name;
        let _slot = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| UpstreamError::Transport { upstream: name, reason: "client closed".to_owned() })?;
        let mut attempt = 1;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            let (error, retry_after) = match self.attempt(&build).await {
                Ok(reply) => return Ok(reply),
                Err(failure) => failure,
            };
            if !error.is_retryable() || attempt >= self.config.max_attempts {
                return Err(error);
            }
            let delay = match retry_after {
                Some(delay) if delay > MAX_RETRY_AFTER => return Err(error),
                Some(delay) => delay,
                None => Backoff::new(self.config.backoff_base, self.config.backoff_max).delay(attempt),
            };
            tracing::debug!(upstream = name, attempt, delay_ms = delay.as_millis() as u64, %error, "retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt: the reply, or the error with the delay the upstream asked for.
    async fn attempt(
        &self,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply, (UpstreamError, Option<Duration>)> {
        let name = self.config.name;
        let transport =
            |error: reqwest::Error| (UpstreamError::Transport { upstream: name, reason: describe(error) }, None);
        let response = build(&self.client).send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after =
                response.headers().get(header::RETRY_AFTER).and_then(|v| parse_retry_after(v.to_str().ok()?));
            return Err((UpstreamError::Status { upstream: name, status: status.as_u16() }, retry_after));
        }
        let limit = self.config.max_body;
        let too_large = || (UpstreamError::TooLarge { upstream: name, limit }, None);
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let headers = response.headers().clone();
        // Read chunk by chunk so a body without a length cannot grow past the limit; a body
        // cut short (connection closed before Content-Length bytes) is a transport failure.
        let mut body = bytes::BytesMut::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(|error| {
            (UpstreamError::Transport { upstream: name, reason: format!("body cut off: {}", describe(error)) }, None)
        })? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, headers, body: body.freeze() })
    }
}

/// Parses `Retry-After` in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The error and its causes, without the URL (which may carry a token).
/// A transport error with its causes, without its URL (which may carry credentials).
pub fn describe(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let error = error.without_url();
    let mut text = if error.is_timeout() { "timed out".to_owned() } else { error.to_string() };
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let parsed = parse_retry_after(&soon).unwrap();
        assert!(parsed <= Duration::from_secs(30) && parsed >= Duration::from_secs(28), "{parsed:?}");
        assert_eq!(parse_retry_after("Mon, 01 Jan 2001 00:00:00 +0000"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let status = |status| UpstreamError::Status { upstream: "x", status };
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(404).is_retryable());
        assert!(!UpstreamError::Rejected { upstream: "x", message: "bad token".into() }.is_retryable());
    }
}
