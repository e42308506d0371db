//! The HTTP port: Prometheus `/metrics`, `/livez`, and the REST compatibility routes of the
//! services (IDS.moe's for mappings), open to any origin (CORS) like the APIs they replace.

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::platform::Platform;

/// Serves HTTP on `listener` until `shutdown`: the platform's routes and the services' `rest`.
pub async fn serve(
    state: Platform,
    rest: Router,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state, rest)).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(())
}

/// Builds the HTTP routes.
pub fn router(state: Platform, rest: Router) -> Router {
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::OPTIONS])
        .allow_headers(tower_http::cors::Any);
    Router::new().route("/metrics", get(metrics)).route("/livez", get(livez)).with_state(state).merge(rest).layer(cors)
}

async fn metrics(State(state): State<Platform>) -> impl IntoResponse {
    // Queue depth is read at scrape time; an outage leaves the last values in place.
    if let Ok(depth) = state.jobs.depth().await {
        state.metrics.set_queue_depth(&depth);
    }
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(&state.db),
    )
}

async fn livez() -> &'static str {
    "ok"
}
