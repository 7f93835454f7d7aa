//! The REST routes, one module per area. Each handler is annotated with `#[utoipa::path]`,
//! and [`routes`] registers it with `routes!`, so the served OpenAPI document is generated
//! from the very handlers that answer, and cannot miss one.

mod auth;
mod health;
mod realtime;

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every REST route.
pub(crate) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let _ = state;
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::request_password_reset))
        .routes(routes!(auth::confirm_password_reset))
        .routes(routes!(realtime::ticket))
        .routes(routes!(crate::ws::upgrade))
        .routes(routes!(crate::sse::stream))
        .routes(routes!(crate::sse::command))
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
