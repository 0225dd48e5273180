//! `/v1/test_helpers/clock` (test mode): reading the test clock and moving it forwards.

use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey};
use crate::jobs;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use billing::wire::{ClockView, SetClock};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/v1/test_helpers/clock`
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_clock, get_clock))
}

/// Moves the test clock forwards (never back) and runs what fell due on the way.
#[utoipa::path(post, path = "/test_helpers/clock", tag = "test", security(("secret_key" = [])),
    request_body = crate::http::openapi::schemas::SetClock,
    responses((status = 200, description = "The clock, moved; what fell due on the way is done.", body = crate::http::openapi::schemas::Clock), crate::http::openapi::Failures))]
pub async fn set_clock(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SetClock>,
) -> Result<Json<ClockView>, AppError> {
    if !state.config.test_mode {
        return Err(AppError::NotFound);
    }
    let to = req.now;
    if !billing::period::is_supported(to) {
        return Err(AppError::ClockOutOfRange(
            "The test clock accepts instants from 2000-01-01T00:00:00Z to 2999-12-31T23:59:59Z.",
        ));
    }
    jobs::move_test_clock(&state.payments, &state.clock, to).await?;
    tracing::info!(now = %to, "test clock moved");
    Ok(Json(ClockView { now: to, frozen: true }))
}

#[utoipa::path(get, path = "/test_helpers/clock", tag = "test", security(("secret_key" = [])),
    responses((status = 200, body = crate::http::openapi::schemas::Clock), crate::http::openapi::Failures))]
pub async fn get_clock(_: SecretKey, State(state): State<AppState>) -> Result<Json<ClockView>, AppError> {
    if !state.config.test_mode {
        return Err(AppError::NotFound);
    }
    Ok(Json(ClockView { now: state.clock.now(), frozen: state.clock.frozen().is_some() }))
}

/// With several instances on one database (PostgreSQL), a move of the test clock made on one is
/// read back before each request on every other: what one instance's clock reads, all do. (A
/// single instance's clock is already the saved one.) The operator's routes do not read it, so
/// `/healthz` stays a liveness check with the database away; other requests then get the
/// database's 503 at once.
pub async fn follow_saved_clock(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let operators = matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics");
    if !operators && let Err(e) = state.catch_up_clock().await {
        return axum::response::IntoResponse::into_response(e);
    }
    next.run(request).await
}
