//! The REST routes, one module per area. Each handler is annotated with `#[utoipa::path]`,
//! and [`routes`] registers it with `routes!`, so the served OpenAPI document is generated
//! from the very handlers that answer, and cannot miss one.

mod auth;
pub(crate) mod errors;
mod files;
mod health;
mod me;
mod messages;
mod notifications;
mod realtime;
mod rooms;
mod users;

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::{AppState, ServerConfig};

/// Every REST route.
pub(crate) fn routes(config: &ServerConfig) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .merge(auth::routes())
        .routes(routes!(realtime::ticket))
        .routes(routes!(crate::ws::upgrade))
        .routes(routes!(crate::sse::stream))
        .routes(routes!(crate::sse::command))
        .routes(routes!(me::me))
        .routes(routes!(me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(users::search))
        .routes(routes!(users::presence))
        .routes(routes!(users::profile))
        .routes(routes!(users::contacts))
        .routes(routes!(users::add_contact))
        .routes(routes!(users::remove_contact))
        .routes(routes!(users::blocks))
        .routes(routes!(users::block))
        .routes(routes!(users::unblock))
        .routes(routes!(rooms::list))
        .routes(routes!(rooms::create))
        .routes(routes!(rooms::get))
        .routes(routes!(rooms::join))
        .routes(routes!(rooms::leave))
        .routes(routes!(rooms::members))
        .routes(routes!(rooms::invite))
        .routes(routes!(rooms::kick))
        .routes(routes!(rooms::set_role))
        .routes(routes!(rooms::open_direct))
        .routes(routes!(rooms::mark_read))
        .routes(routes!(rooms::typing))
        .routes(routes!(messages::history))
        .routes(routes!(messages::send))
        .routes(routes!(messages::changes))
        .routes(routes!(messages::get))
        .routes(routes!(messages::edit))
        .routes(routes!(messages::delete))
        .routes(routes!(messages::react))
        .routes(routes!(messages::forward))
        .routes(routes!(messages::read_by))
        .routes(routes!(notifications::unread))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::unread_count))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(notifications::mark_all_read))
        .routes(routes!(notifications::feed))
        .routes(routes!(files::download))
        .routes(routes!(files::thumbnail))
        .merge(files::upload_routes(config))
}

/// Declares the bearer-token scheme that authenticated routes refer to as `bearer`.
pub(crate) fn add_security(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
}

/// `GET /metrics` alone, for the metrics listener.
pub(crate) fn metrics_only(state: &AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(health::metrics_listener))
        .with_state(state.clone())
}
