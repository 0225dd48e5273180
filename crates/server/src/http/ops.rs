//! What operators and load balancers ask: `/healthz` (liveness: the process answers), `/readyz`
//! (readiness: the database answers too; a load balancer sends no traffic to an instance that
//! says not ready) and `/metrics` (Prometheus's text format), and the layer that counts requests.

use crate::error::AppError;
use crate::http::extract::bearer_token;
use crate::metrics::{self, Metrics};
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Ready when the database answers; otherwise `503 database_unavailable`, within the pool's wait.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    state.store.ping().await?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

/// The metrics, for `Authorization: Bearer <metrics token or secret key>`. Like the server API,
/// a wrong token counts against the address's wrong-key limit.
pub async fn metrics(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
    if !presented.is_some_and(|token| state.config.metrics_token_matches(token)) {
        let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        state.failed_keys.record_failure(client)?;
        return Err(AppError::Unauthorized);
    }
    let text = state.metrics.render(&state.store).await?;
    let content_type = HeaderValue::from_str(&metrics::content_type())
        .unwrap_or(HeaderValue::from_static("text/plain; version=0.0.4"));
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

/// Counts each answered request by its route's pattern (`/api/checkout/{session}`, never the
/// path itself, which holds session ids) and status. Requests no route matched (the app's pages
/// and files, unknown paths) count as `other`.
pub async fn count_requests(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    metrics.record_request(&route, response.status().as_u16());
    response
}
