//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use jeco_core::error::ErrorCode;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses(
        (status = 200, description = "Alive", body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// The store answers and, with several nodes, events from the others arrive: the node can
/// serve requests.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = String),
        (status = 503, description = "store_unavailable (the database does not answer), not_subscribed (the node does not receive other nodes' events: Redis cannot be reached)", body = jeco_proto::api::ErrorBody)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    if let Err(e) = state.engine.check_store().await {
        tracing::warn!(error = %e, "readiness: the store does not answer");
        return Err(ApiError::new(
            ErrorCode::StoreUnavailable,
            "the database does not answer",
        ));
    }
    if !state.engine.pubsub_ready() {
        return Err(ApiError::new(
            ErrorCode::NotSubscribed,
            "this node does not receive other nodes' events right now",
        ));
    }
    Ok("ready")
}

/// Counters in the Prometheus text format: connections, messages sent, send latency, HTTP
/// responses by class.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.connections.total()),
    )
}
