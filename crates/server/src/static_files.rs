//! Serving the built app: hashed assets cached forever, the HTML entries (`checkout.html` for
//! `/checkout/*` and `portal.html` for every other page address, or `checkout-stripe.html` and
//! `portal-stripe.html` in Stripe mode) never cached, precompressed
//! `.br`/`.gz` files when the build wrote them, and a CSP that admits exactly the inline scripts
//! the entries carry, by hash. A checkout that can be paid gets its frame and order summary in the
//! first HTML, rendered from the same views the app mounts.

use crate::session_tokens::{self, SessionKind};
use crate::{AppState, checkout};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;

/// The built app, read once at start.
#[derive(Debug, Default)]
pub struct Site {
    dist: Option<PathBuf>,
    entries: Option<Entries>,
    inline_script_hashes: Vec<String>,
}

/// The HTML entries, one per bundle.
#[derive(Debug)]
struct Entries {
    checkout: String,
    /// Stripe mode's checkout (Stripe.js's card Element in place of our card fields).
    checkout_stripe: String,
    portal: String,
    /// Stripe mode's portal (Stripe's Element for a new card, Stripe.js for 3-D Secure).
    portal_stripe: String,
}

impl Site {
    pub fn load(dist: Option<&Path>) -> Result<Site, String> {
        let Some(dist) = dist else {
            return Ok(Site::default());
        };
        let read = |name: &str| {
            let path = dist.join(name);
            std::fs::read_to_string(&path).map_err(|e| {
                format!("can't read {}: {e}; build the app first (cargo xtask serve does)", path.display())
            })
        };
        let entries = Entries {
            checkout: read("checkout.html")?,
            checkout_stripe: read("checkout-stripe.html")?,
            portal: read("portal.html")?,
            portal_stripe: read("portal-stripe.html")?,
        };
        let all = [&entries.checkout, &entries.checkout_stripe, &entries.portal, &entries.portal_stripe];
        let mut inline_script_hashes: Vec<String> =
            all.iter().flat_map(|html| inline_scripts(html)).map(sha256_source).collect();
        inline_script_hashes.sort();
        inline_script_hashes.dedup();
        Ok(Site { dist: Some(dist.to_path_buf()), entries: Some(entries), inline_script_hashes })
    }

    /// `'wasm-unsafe-eval'` for the wasm module, hashes for trunk's inline loaders and the
    /// prefetch scripts of both entries; in Stripe mode, Stripe.js's origin for its script and
    /// frames and the API's for its requests (`stripe` = (js origin, api origin)); nothing else.
    pub fn content_security_policy(&self, stripe: Option<(String, String)>) -> String {
        let hashes: String = self.inline_script_hashes.iter().map(|h| format!(" {h}")).collect();
        let (script, frame, connect) = match &stripe {
            Some((js, api)) => (format!(" {js}"), format!("frame-src {js}; "), format!(" {api}")),
            None => (String::new(), String::new(), String::new()),
        };
        format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}{script}; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'{connect}; {frame}font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        )
    }
}

/// The HTML with its static shell replaced by `body` and its title by `title` (both already
/// HTML-escaped); unchanged if the shell is not where the build puts it.
fn with_first_paint(html: &str, title: &str, body: &str) -> String {
    let shell = html.find("<div id=shell>").or_else(|| html.find("<div id=\"shell\">"));
    let (Some(start), Some(end)) = (shell, html.rfind("</body>")) else {
        return html.to_string();
    };
    if end < start {
        return html.to_string();
    }
    let head = html[..start].replacen("<title>Kiro</title>", &format!("<title>{title}</title>"), 1);
    format!("{head}<div id=\"shell\">{body}</div>{}", &html[end..])
}

/// The bodies of `<script>` elements without `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after_open = &rest[open..];
        let Some(tag_end) = after_open.find('>') else {
            break;
        };
        let tag = &after_open[..tag_end];
        let body_start = &after_open[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            found.push(&body_start[..close]);
        }
        rest = &body_start[close..];
    }
    found
}

fn sha256_source(source: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(source.as_bytes())))
}

/// `name-0123456789abcdef.ext` or `name-0123456789abcdef_bg.wasm`: trunk's content hashes.
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    // trunk writes a u64 in hex: up to 16 digits, fewer when it starts with zeros.
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

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
            checkout::checkout_view(conn, &st, &token, now)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_trunk_hashes() {
        assert!(is_hashed_asset("/kiro-checkout-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed_asset("/kiro-checkout-1a2b3c4d5e6f7a8b.js"));
        assert!(is_hashed_asset("/main-1a2b3c4d5e6f7a8b.css"));
        // A hash that starts with a zero is written without it.
        assert!(is_hashed_asset("/checkout-8736a73fde43d5b.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/checkout/cs_abc"));
        assert!(!is_hashed_asset("/favicon.svg"));
    }

    #[test]
    fn puts_the_first_paint_in_the_shell() {
        let html = "<html><head><title>Kiro</title></head><body><div id=shell><p>Loading</p></div></body></html>";
        assert_eq!(
            with_first_paint(html, "Pay &lt;now&gt;", "<main>summary</main>"),
            "<html><head><title>Pay &lt;now&gt;</title></head><body><div id=\"shell\"><main>summary</main></div></body></html>"
        );
        let unbuilt = "<html><body><p>no shell</p></body></html>";
        assert_eq!(with_first_paint(unbuilt, "t", "b"), unbuilt);
    }

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<head><script type="module" src="/a.js"></script><script type="module">init()</script></head>"#;
        assert_eq!(inline_scripts(html), vec!["init()"]);
        let site = Site { dist: None, entries: None, inline_script_hashes: vec![sha256_source("init()")] };
        let csp = site.content_security_policy(None);
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(csp.contains("'sha256-"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(!csp.contains("'unsafe-inline'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
