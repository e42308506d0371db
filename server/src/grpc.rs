//! The gRPC server: every service, health, reflection (v1 and v1alpha, for grpcurl 1.8),
//! gRPC-Web with CORS, and one tower stack for request ids, tracing, metrics, concurrency and
//! auth.

use std::{sync::Arc, time::Duration};

use http::header::HeaderName;
use tokio::net::TcpListener;
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::{service::RoutesBuilder, transport::Server};
use tonic_health::pb::health_server::{Health, HealthServer};
use tower::ServiceBuilder;
use tower_http::{
    cors::{Any, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnFailure, TraceLayer},
};

use crate::{
    auth::{AuthLayer, anonymous::AnonymousLimit, policy::Policy},
    metrics::MetricsLayer,
    platform::Platform,
    request_guard::{RequestGuardLayer, RequestLimits, Schema},
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// How often an idle connection is pinged.
const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is closed.
const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The gRPC side of a server: the services' routes behind the shared layers.
pub struct GrpcServer {
    /// The platform.
    pub platform: Platform,
    /// What each RPC requires.
    pub policy: Arc<Policy>,
    /// Every service's routes.
    pub routes: RoutesBuilder,
    /// Names of the services, for metrics labels.
    pub service_names: Vec<&'static str>,
    /// How large each service's requests may be.
    pub limits: Vec<(&'static str, RequestLimits)>,
}

impl GrpcServer {
    /// Serves gRPC on `listener` until `shutdown`, then lets calls in flight finish, for at most
    /// the request timeout.
    pub async fn serve(
        self,
        health: HealthServer<impl Health>,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let Self { platform: state, policy, mut routes, service_names, limits } = self;
        let guard = RequestGuardLayer::new(Schema::decode(medley_sdk::FILE_DESCRIPTOR_SET)?, &limits);
        let config = state.config.clone();
        let anonymous = Arc::new(AnonymousLimit::new(
            state.redis.clone(),
            state.keys.clone(),
            config.anonymous_rps,
            config.anonymous_rpm,
        ));
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(medley_sdk::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(medley_sdk::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let cors = CorsLayer::new()
            .allow_origin(Any)
            .allow_headers(Any)
            .allow_methods(Any)
            .expose_headers([
                HeaderName::from_static("grpc-status"),
                HeaderName::from_static("grpc-message"),
                HeaderName::from_static("grpc-status-details-bin"),
                REQUEST_ID,
            ])
            .max_age(Duration::from_secs(24 * 3600));

        let layers = ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_grpc()
                    .make_span_with(|request: &http::Request<_>| {
                        let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!("rpc", rpc.path = %request.uri().path(), request.id = %request_id)
                    })
                    // Error statuses are expected answers (NOT_FOUND, INVALID_ARGUMENT...); internal
                    // failures are logged where they are mapped, once.
                    .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(MetricsLayer::new(state.metrics.clone(), service_names))
            .layer(cors)
            .layer(tonic_web::GrpcWebLayer::new())
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(config.concurrency_limit as usize))
            .layer(AuthLayer::new(state.verifier.clone(), policy, anonymous))
            // After auth: an anonymous caller learns nothing about a request's content.
            .layer(guard)
            .into_inner();

        // tonic sets TCP_NODELAY only on listeners it binds itself. Without it, a response larger
        // than one segment waits for the client's delayed ACK (~40 ms) under Nagle's algorithm.
        let incoming = TcpListenerStream::new(listener).map(|stream| {
            if let Ok(stream) = &stream
                && let Err(error) = stream.set_nodelay(true)
            {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            stream
        });
        routes.add_service(health).add_service(reflection_v1).add_service(reflection_v1alpha);
        let drain = config.request_timeout();
        let serving = Server::builder()
            .accept_http1(true)
            // Pings keep idle Watch… streams alive through load balancers and NATs that drop
            // quiet connections, and find dead clients.
            .http2_keepalive_interval(Some(HTTP2_KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(HTTP2_KEEPALIVE_TIMEOUT))
            .timeout(config.request_timeout())
            .layer(layers)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled());
        // Calls in flight get as long as a call may take to finish after shutdown starts. Medley's
        // own streams end at once (UNAVAILABLE), but a stream that never ends by itself (a load
        // balancer's Health/Watch) would hold shutdown forever: past the deadline it is cut.
        tokio::select! {
            served = serving => served?,
            () = async {
                shutdown.cancelled().await;
                tokio::time::sleep(drain).await;
            } => tracing::warn!(drain_ms = drain.as_millis() as u64, "calls still open after shutdown: closed"),
        }
        Ok(())
    }
}
