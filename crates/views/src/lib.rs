//! Views that exist twice: rendered by the server into the checkout's first HTML, so the order
//! summary paints before the wasm arrives, and mounted by the app over it with the same markup.
//! Pure markup from values: no signals written, no browser APIs.

pub mod frame;
pub mod order_summary;

use leptos::prelude::*;

/// A spinner with a text that screen readers hear.
#[component]
pub fn Loading(#[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            <span>{label}</span>
        </div>
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub mod first_paint;

/// The checkout's heading, on the server's first paint and in the app alike.
pub fn checkout_heading(plan_name: &str) -> String {
    format!("Subscribe to {plan_name}")
}

/// The document title for a page whose heading is `heading`.
pub fn page_title(heading: &str) -> String {
    format!("{heading} · Kiro")
}

/// The session id of a checkout page's address (`/checkout/{id}`, a trailing slash allowed): the
/// server renders that session's first paint, the app loads it.
pub fn checkout_session_id(path: &str) -> Option<String> {
    let id = path.strip_prefix("/checkout/")?;
    let id = id.strip_suffix('/').unwrap_or(id);
    (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::checkout_session_id;

    #[test]
    fn finds_the_checkout_session_in_the_address() {
        assert_eq!(checkout_session_id("/checkout/cs_1").as_deref(), Some("cs_1"));
        assert_eq!(checkout_session_id("/checkout/cs_1/").as_deref(), Some("cs_1"));
        for path in ["/checkout/", "/checkout", "/checkout/cs_1/more", "/portal/ps_1", "/", "/checkout//"] {
            assert_eq!(checkout_session_id(path), None, "{path}");
        }
    }
}
