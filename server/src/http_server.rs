//! The HTTP port: Prometheus `/metrics`, `/livez`, and the REST compatibility routes of the
//! services (IDS.moe's for mappings), open to any origin (CORS) like the APIs they replace.

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;

/// Serves HTTP on `listener` until `shutdown`.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(())
}

/// Builds the HTTP routes.
pub fn router(state: AppState) -> Router {
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::OPTIONS])
        .allow_headers(tower_http::cors::Any);
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .merge(crate::services::mapping::rest::router())
        .layer(cors)
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
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
