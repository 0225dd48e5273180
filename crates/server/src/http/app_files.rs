//! Serving the built app ([`super::static_files::Site`]): files from `dist/` with their cache
//! headers, and any other address its entry's HTML, with a checkout's or a portal home's first
//! paint.

use super::languages::{self, BrowserLanguage};
use super::static_files::{is_hashed_asset, with_catalog, with_first_paint};
use crate::checkout;
use crate::http::session_tokens::{self, PortalToken, SessionKind};
use crate::portal;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use i18n::{Area, CommonText, I18n};
use tower_http::services::ServeDir;
use views::first_paint::Visitor;

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

async fn page(State(state): State<AppState>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
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
    let path = uri.path();
    if !path.starts_with("/checkout/") {
        let home = views::portal_home_session_id(path);
        let portal = entries.portal(stripe_mode, home.is_some());
        let presented = views::page_session(path).map(|(_, id)| id);
        let i18n = page_catalog(&state, SessionKind::Portal, presented.as_deref(), &headers).await;
        let first_paint = match home {
            Some(id) => portal_first_paint(&state, id, &i18n).await,
            None => None,
        };
        return in_language(Html(localized(portal, first_paint, &i18n, Area::Portal)), &i18n);
    }
    let checkout = if stripe_mode { &entries.checkout_stripe } else { &entries.checkout };
    let presented = views::checkout_session_id(path);
    let i18n = page_catalog(&state, SessionKind::Checkout, presented.as_deref(), &headers).await;
    let first_paint = match presented {
        Some(id) => checkout_first_paint(&state, id, visitor(&state, &headers), &i18n).await,
        None => None,
    };
    in_language(Html(localized(checkout, first_paint, &i18n, Area::Checkout)), &i18n)
}

/// A page whose words depend on the browser's languages (when the session chose none) says so to
/// caches, and says which language it is in.
fn in_language(page: Html<String>, i18n: &I18n) -> Response {
    let mut response = page.into_response();
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    if let Ok(language) = HeaderValue::from_str(i18n.locale.tag()) {
        headers.insert(header::CONTENT_LANGUAGE, language);
    }
    response
}

/// The catalog of the page's language (the session's choice, else the browser's).
async fn page_catalog(state: &AppState, kind: SessionKind, presented: Option<&str>, headers: &HeaderMap) -> I18n {
    let locale = languages::for_page(state, kind, presented, headers).await;
    i18n::catalog(locale).clone()
}

/// The entry's HTML in the page's language: `<html lang>`, its catalog for the app, and the first
/// paint when there is one.
fn localized(html: &str, first_paint: Option<(String, String)>, i18n: &I18n, area: Area) -> String {
    let html = with_catalog(html, i18n.locale.tag(), i18n::page_json(i18n.locale, area));
    match first_paint {
        Some((title, body)) => with_first_paint(&html, &title, &body),
        // The static shell's spinner, in the page's language.
        None => html.replacen(">Loading…<", &format!(">{}<", i18n.t(CommonText::Loading)), 1),
    }
}

/// What the first paint assumes of the browser, as the app will find it: the country of its
/// preferred language (`navigator.language`, the first of `Accept-Language`), and today.
fn visitor(state: &AppState, headers: &HeaderMap) -> Visitor {
    let language = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let first = language.split(',').next().unwrap_or_default().split(';').next().unwrap_or_default().trim();
    let now = state.clock.now();
    Visitor {
        country: billing::countries::country_from_locale(first).unwrap_or("US").to_string(),
        today: (u16::try_from(now.year()).unwrap_or(u16::MAX), u8::from(now.month())),
    }
}

/// The session's whole page (frame, summary, the form) when it can be paid; nothing
/// session-specific otherwise (unknown, expired, locked, complete, ineligible, or the store
/// failing).
async fn checkout_first_paint(state: &AppState, id: String, visitor: Visitor, i18n: &I18n) -> Option<(String, String)> {
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
    views::first_paint::checkout(&view, &visitor, i18n)
}

/// The portal home of a live portal session, as its page's API would show it (the account brought
/// up to date first); nothing session-specific otherwise.
async fn portal_first_paint(state: &AppState, id: String, i18n: &I18n) -> Option<(String, String)> {
    let base = format!("/portal/{id}");
    let token = state.store.read(move |conn| session_tokens::check(conn, SessionKind::Portal, &id)).await.ok()?;
    let language = BrowserLanguage(i18n.locale);
    let Json(view) = portal::handlers::get_session(State(state.clone()), PortalToken(token), language).await.ok()?;
    views::first_paint::portal_home(&view, &base, i18n)
}

async fn cache_headers(req: Request, next: Next) -> Response<Body> {
    let hashed = is_hashed_asset(req.uri().path());
    let mut response = next.run(req).await;
    let value =
        if hashed && response.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}
