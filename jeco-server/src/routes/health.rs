//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use jeco_core::error::ErrorCode;
use sha2::{Digest, Sha256};

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

/// Metrics in the OpenMetrics text format (which Prometheus scrapes): connections by
/// transport and how they ended, refused and timed-out connections, deliveries, sends and
/// their latency, rate-limit refusals, uploads in flight, HTTP responses by class. Served here
/// only when the server has a metrics token, to requests that carry it as their bearer token;
/// otherwise the metrics are served on their own address, if anywhere.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text", body = String),
        (status = 401, description = "unauthenticated (the metrics token is missing or wrong)", body = jeco_proto::api::ErrorBody),
        (status = 404, description = "unknown_route (no metrics token is set: the metrics are not served on this address)", body = jeco_proto::api::ErrorBody)))]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if state.config.metrics_token.is_none() {
        return Err(ApiError::new(
            ErrorCode::UnknownRoute,
            "metrics are not served on this address",
        ));
    }
    exposition(&state, &headers)
}

/// `GET /metrics` on the metrics listener: the token is required only if one is set.
pub(crate) async fn metrics_listener(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    exposition(&state, &headers)
}

/// The metrics, if the request carries the metrics token (when there is one).
fn exposition(state: &AppState, headers: &HeaderMap) -> ApiResult<Response> {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Digests compared, not the tokens: how long a comparison takes says nothing about
        // how much of the token a guess got right.
        if Sha256::digest(given) != Sha256::digest(token) {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the metrics need the metrics token as a bearer token",
            ));
        }
    }
    Ok((
        StatusCode::OK,
        [(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response())
}
