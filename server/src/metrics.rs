//! Prometheus metrics: a registry per process, served at `/metrics` on the HTTP port, and the
//! tower layer that counts and times every gRPC call.
//!
//! Labels are bounded: a method is labelled by name only when its service is one this server
//! serves and the call was not `UNIMPLEMENTED`, so junk paths cannot grow the series count.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tower::{Layer, Service};

use crate::db::DbPool;

/// Labels of one RPC outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    service: String,
    method: String,
    code: String,
}

/// Labels of one RPC.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    service: String,
    method: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~13 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 18))
}

/// Labels of a job kind and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: String,
}

/// Labels of a job kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// Labels of queue depth.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepthLabels {
    kind: String,
    state: String,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    rpc_calls: Family<RpcLabels, Counter>,
    rpc_seconds: Family<MethodLabels, Histogram, fn() -> Histogram>,
    db_pool_size: Gauge,
    db_pool_available: Gauge,
    db_pool_waiting: Gauge,
    job_attempts: Family<JobLabels, Counter>,
    job_attempt_seconds: Family<KindLabels, Histogram, fn() -> Histogram>,
    jobs: Family<DepthLabels, Gauge>,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("medley");
        let rpc_calls = Family::<RpcLabels, Counter>::default();
        let rpc_seconds = Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let db_pool_size = Gauge::default();
        let db_pool_available = Gauge::default();
        let db_pool_waiting = Gauge::default();
        registry.register("grpc_calls", "gRPC calls by service, method and status code", rpc_calls.clone());
        registry.register(
            "grpc_call_seconds",
            "time to the response headers of gRPC calls (the whole call for unary RPCs)",
            rpc_seconds.clone(),
        );
        registry.register("db_pool_connections", "open PostgreSQL connections in the pool", db_pool_size.clone());
        registry.register("db_pool_available", "idle PostgreSQL connections in the pool", db_pool_available.clone());
        registry.register("db_pool_waiting", "tasks waiting for a PostgreSQL connection", db_pool_waiting.clone());
        let job_attempts = Family::<JobLabels, Counter>::default();
        let job_attempt_seconds =
            Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let jobs = Family::<DepthLabels, Gauge>::default();
        registry.register(
            "job_attempts",
            "job attempts run by this process, by kind and outcome",
            job_attempts.clone(),
        );
        registry.register("job_attempt_seconds", "run time of job attempts by kind", job_attempt_seconds.clone());
        registry.register("jobs", "unfinished jobs in the queue by kind and state (all instances)", jobs.clone());
        Arc::new(Self {
            registry,
            rpc_calls,
            rpc_seconds,
            db_pool_size,
            db_pool_available,
            db_pool_waiting,
            job_attempts,
            job_attempt_seconds,
            jobs,
        })
    }

    /// Records one finished job attempt.
    pub fn record_job_attempt(&self, kind: &str, outcome: &str, duration: std::time::Duration) {
        self.job_attempts.get_or_create(&JobLabels { kind: kind.to_owned(), outcome: outcome.to_owned() }).inc();
        self.job_attempt_seconds.get_or_create(&KindLabels { kind: kind.to_owned() }).observe(duration.as_secs_f64());
    }

    /// Sets the queue depth gauges from a fresh count (states missing from it are zero).
    pub fn set_queue_depth(&self, depth: &[(String, String, i64)]) {
        self.jobs.clear();
        for (kind, state, count) in depth {
            self.jobs.get_or_create(&DepthLabels { kind: kind.clone(), state: state.clone() }).set(*count);
        }
    }

    /// Renders every metric in the Prometheus text format, sampling the pool first.
    pub fn render(&self, pool: &DbPool) -> String {
        let status = pool.status();
        self.db_pool_size.set(i64::try_from(status.size).unwrap_or(i64::MAX));
        self.db_pool_available.set(i64::try_from(status.available).unwrap_or(i64::MAX));
        self.db_pool_waiting.set(i64::try_from(status.waiting).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn record(&self, path: &str, services: &[&str], code: &str, started: Instant) {
        let (service, method) = label_path(path, services, code);
        self.rpc_seconds
            .get_or_create(&MethodLabels { service: service.clone(), method: method.clone() })
            .observe(started.elapsed().as_secs_f64());
        self.rpc_calls.get_or_create(&RpcLabels { service, method, code: code.to_owned() }).inc();
    }
}

/// Labels of a call: known services by name (unknown paths would let callers grow the label set
/// without bound).
fn label_path(path: &str, services: &[&str], code: &str) -> (String, String) {
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
    let known =
        services.contains(&service) || service == "grpc.health.v1.Health" || service.starts_with("grpc.reflection.");
    if known && code != "UNIMPLEMENTED" {
        (service.to_owned(), method.to_owned())
    } else {
        ("unknown".to_owned(), "unknown".to_owned())
    }
}

/// Counts and times every call.
#[derive(Clone)]
pub struct MetricsLayer {
    metrics: Arc<Metrics>,
    services: Arc<[&'static str]>,
}

impl MetricsLayer {
    /// Records into `metrics`, labelling calls of `services` (and health, reflection) by method.
    pub fn new(metrics: Arc<Metrics>, services: Vec<&'static str>) -> Self {
        Self { metrics, services: services.into() }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner, metrics: self.metrics.clone(), services: self.services.clone() }
    }
}

/// The service made by [`MetricsLayer`].
#[derive(Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
    services: Arc<[&'static str]>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for MetricsService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let metrics = self.metrics.clone();
        let services = self.services.clone();
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            // A failed call is answered "trailers-only", with grpc-status in the headers; a
            // successful one sends it in trailers, which this layer does not wait for.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or("OK", |code| code_name(tonic::Code::from_i32(code))),
                Err(_) => "TRANSPORT_ERROR",
            };
            metrics.record(&path, &services, code, started);
            result
        })
    }
}

fn code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_paths_share_one_label() {
        assert_eq!(
            label_path("/medley.v1.AdminService/ListApiKeys", &["medley.v1.AdminService"], "OK"),
            ("medley.v1.AdminService".into(), "ListApiKeys".into())
        );
        assert_eq!(
            label_path("/x.Y/Z", &["medley.v1.AdminService"], "UNIMPLEMENTED"),
            ("unknown".into(), "unknown".into())
        );
        assert_eq!(
            label_path("/medley.v1.AdminService/Nope", &["medley.v1.AdminService"], "UNIMPLEMENTED"),
            ("unknown".into(), "unknown".into())
        );
    }
}
