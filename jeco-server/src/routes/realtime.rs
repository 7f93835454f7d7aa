//! Tickets for opening real-time connections.

use axum::extract::State;
use jeco_proto::api::{ErrorBody, Ticket};

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

/// A single-use ticket, valid for a few seconds, for `GET /v1/ws?ticket=` or
/// `GET /v1/sse?ticket=`: the access token itself never goes in a URL.
#[utoipa::path(post, path = "/v1/tickets", operation_id = "create_ticket", tag = "realtime",
    responses(
        (status = 200, description = "A ticket", body = Ticket),
        (status = 503, description = "unavailable (the shared ticket store cannot be reached)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn ticket(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(Ticket {
        ticket: state.tickets.issue(user).await?,
        expires_in_ms: state.tickets.ttl().as_millis() as u64,
    }))
}
