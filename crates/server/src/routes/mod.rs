//! The HTTP surface: `/v1/...` for the IDE's backend (secret key), `/api/...` for the pages
//! (the session id in the path is the bearer secret), `/healthz`.

mod checkout;
mod portal;
mod server_api;
mod stripe_checkout;
mod stripe_portal;
mod stripe_webhooks;

use crate::AppState;
use crate::error::AppError;
use axum::Router;
use axum::routing::{any, get};

/// Every API route: each area owns its routes and answers unknown paths under it with the JSON
/// `not_found` (not the app's fallback).
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/v1", server_api::router().fallback(not_found))
        .nest("/api/checkout", checkout::router().fallback(not_found))
        .nest("/api/portal", portal::router().fallback(not_found))
        .route("/api/{*rest}", any(not_found))
}

async fn not_found() -> AppError {
    AppError::NotFound
}
