//! Serving the built app ([`super::static_files::Site`]): files from `dist/` with their cache
//! headers, and any other address its entry's HTML, with a checkout's first paint.

use super::static_files::{is_hashed_asset, with_first_paint};
use crate::checkout;
use crate::http::session_tokens::{self, SessionKind};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;

/// The app: files from `dist/`, any other address gets its entry's HTML so the app can take it.
pub fn service(state: AppState) -> axum::Router {
    let fallback = get(page).with_state(state.clone());
    let router = match &state.site.dist {
        Some(dist) => axum::Router::new().fallback_service(
            ServeDir::new(dist)
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(false)
                .fallback(fallback),
        ),
        None => axum::Router::new().fallback(page).with_state(state),
    };
    router.layer(middleware::from_fn(cache_headers)).layer(middleware::from_fn(refuse_impossible_names))
}

/// No file name is longer than 255 bytes: such a path is a 404 before the file system is asked
/// (which would fail it with an error, not "not found").
async fn refuse_impossible_names(req: Request, next: Next) -> Response {
    if req.uri().path().split('/').any(|segment| segment.len() > 255) {
        return crate::error::AppError::NotFound.into_response();
    }
    next.run(req).await
}

async fn page(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    // A missing file (a stale hashed asset, a typo) is a 404, not the app: only pages fall back.
    if uri.path().rsplit('/').next().is_some_and(|last| last.contains('.')) {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    let Some(entries) = &state.site.entries else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html("<!doctype html><title>Not built</title><p>The app is not built. Run <code>cargo xtask serve</code>.</p>"),
        )
            .into_response();
    };
    let stripe_mode = state.config.stripe.is_some();
    if !uri.path().starts_with("/checkout/") {
        let portal = if stripe_mode { &entries.portal_stripe } else { &entries.portal };
        return Html(portal.clone()).into_response();
    }
    let checkout = if stripe_mode { &entries.checkout_stripe } else { &entries.checkout };
    let first_paint = match views::checkout_session_id(uri.path()) {
        Some(id) => checkout_first_paint(&state, id).await,
        None => None,
    };
    match first_paint {
        Some((title, body)) => Html(with_first_paint(checkout, &title, &body)).into_response(),
        None => Html(checkout.clone()).into_response(),
    }
}

/// The session's frame and summary when it can be paid; nothing session-specific otherwise
/// (unknown, expired, locked, complete, ineligible, or the store failing).
async fn checkout_first_paint(state: &AppState, id: String) -> Option<(String, String)> {
    let now = state.clock.now();
    let st = state.clone();
    let view = state
        .store
        .read(move |conn| {
            let token = session_tokens::check(conn, SessionKind::Checkout, &id)?;
            checkout::rules::checkout_view(conn, &st.config, &token, now)
        })
        .await
        .ok()?;
    views::first_paint::checkout(&view)
}

async fn cache_headers(req: Request, next: Next) -> Response<Body> {
    let hashed = is_hashed_asset(req.uri().path());
    let mut response = next.run(req).await;
    let value =
        if hashed && response.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}
