//! The HTTP layer: the API's routers (`/v1/...` for the IDE's backend with the secret key,
//! `/api/...` for the pages, where the session id in the path is the bearer secret, `/healthz`,
//! `/readyz` and `/metrics` for operators), extractors, error bodies, serving and the app's
//! files. Each area owns its handlers and routes; they are merged here.

pub mod app_files;
pub mod extract;
pub mod failed_keys;
pub mod languages;
pub mod openapi;
pub mod ops;
pub mod serve;
pub mod session_tokens;
pub mod static_files;
pub mod test_clock;

use crate::error::AppError;
use crate::state::AppState;
use crate::{checkout, payments, portal, subscriptions};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every API route: each area owns its routes and answers unknown paths under it with the JSON
/// `not_found` (not the app's fallback).
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(versioned_api().split_for_parts().0)
        .nest("/api/checkout", checkout::router().fallback(not_found))
        .nest("/api/portal", portal::router().fallback(not_found))
        .route("/api/{*rest}", any(not_found))
}

/// `/v1/...`: sessions, accounts, events, promotions, usage, refunds, the test clock, Stripe's
/// webhooks and the OpenAPI document, each route with its entry in the document.
pub fn versioned_api() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(checkout::sessions::router())
        .merge(portal::sessions::router())
        .merge(subscriptions::handlers::router())
        .merge(crate::usage::handlers::router())
        .merge(crate::promotions::api::router())
        .merge(crate::support::handlers::router())
        .merge(test_clock::router())
        .routes(routes!(payments::stripe_webhooks::receive))
        .routes(routes!(serve_document));
    OpenApiRouter::with_openapi(openapi::base()).nest("/v1", v1.fallback(not_found))
}

/// The server API's OpenAPI document, generated once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| versioned_api().into_openapi())
}

/// The document as pretty JSON (what `docs/openapi.json` holds), ending in a newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// The document itself, readable without a key.
#[utoipa::path(get, path = "/openapi.json", tag = "accounts",
    responses((status = 200, description = "This document.", content_type = "application/json")))]
async fn serve_document() -> axum::Json<&'static utoipa::openapi::OpenApi> {
    axum::Json(document())
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// What stands between any handler and the client: a panic becomes a logged JSON 500 and the
/// server goes on; a request (body included) that takes longer than `timeout` gets a 408; every
/// error leaves with the JSON error body, whichever layer produced it.
pub fn guarded(router: Router, timeout: Duration) -> Router {
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn(json_error_bodies))
}

/// The error body for a response some layer answered without one (axum's 405, a path that does
/// not decode, a timeout): same status and headers (`Allow`, `Retry-After`), the spec's JSON.
pub async fn json_error_bodies(request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
            AppError::MethodNotAllowed(if allowed.is_empty() { "other methods".into() } else { allowed.to_string() })
        }
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
        StatusCode::REQUEST_TIMEOUT => AppError::RequestTimeout,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        s if s.is_client_error() => AppError::InvalidRequest("The request's address or headers are not valid.".into()),
        s => AppError::internal(format!("{s} from a layer below")),
    };
    let (mut parts, _) = response.into_parts();
    let replaced = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, replaced.into_body())
}

/// A panic in a handler: logged, answered with a JSON 500, and the server goes on.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::internal(format!("panic: {detail}")).into_response()
}
