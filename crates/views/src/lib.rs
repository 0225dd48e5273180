//! Views that exist twice: rendered by the server into the checkout's first HTML, so the whole
//! page (summary and form) paints before the wasm arrives, and mounted by the app over it with
//! the same markup.
//! Markup from values and signals: nothing here calls a browser API while rendering, so the
//! server renders the same views natively.

// The form's nested view types, natively (the wasm erases them: `erase_components`).
#![recursion_limit = "256"]

pub mod alert;
pub mod card_form;
pub mod checkout_form;
pub mod field;
pub mod frame;
pub mod order_summary;
pub mod portal_home;
pub mod usage_card;
pub mod words;

use i18n::{CheckoutText, CommonText, I18n, PortalText};
use leptos::prelude::*;

/// The page's catalog (its language's texts and formats), provided where the page mounts (the
/// app from the page's JSON, the server for its first paint); English when none is.
pub fn i18n() -> I18n {
    use_context::<I18n>().unwrap_or_default()
}

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
pub fn checkout_heading(i18n: &I18n, plan_name: &str) -> String {
    i18n.f(CheckoutText::CheckoutHeading, &[("plan", plan_name)])
}

/// The document title for a page whose heading is `heading`.
pub fn page_title(i18n: &I18n, heading: &str) -> String {
    i18n.f(CommonText::PageTitle, &[("heading", heading)])
}

/// The portal home's heading.
pub fn portal_heading(i18n: &I18n) -> String {
    i18n.t(PortalText::PortalHeading)
}

/// The session id of a portal home's address (`/portal/{id}`, a trailing slash allowed): the
/// server renders that session's home into the first HTML.
pub fn portal_home_session_id(path: &str) -> Option<String> {
    session_id_after(path, "/portal/")
}

/// The session id of a checkout page's address (`/checkout/{id}`, a trailing slash allowed): the
/// server renders that session's first paint, the app loads it.
pub fn checkout_session_id(path: &str) -> Option<String> {
    session_id_after(path, "/checkout/")
}

/// The session a page's address belongs to, and its area (`checkout` or `portal`): a checkout
/// page, or any page of a portal (`/portal/{id}/...`).
pub fn page_session(path: &str) -> Option<(&'static str, String)> {
    if let Some(id) = checkout_session_id(path) {
        return Some(("checkout", id));
    }
    let id = path.strip_prefix("/portal/")?.split('/').next()?;
    (!id.is_empty()).then(|| ("portal", id.to_string()))
}

fn session_id_after(path: &str, prefix: &str) -> Option<String> {
    let id = path.strip_prefix(prefix)?;
    let id = id.strip_suffix('/').unwrap_or(id);
    (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::{checkout_session_id, page_session, portal_home_session_id};

    #[test]
    fn finds_the_checkout_session_in_the_address() {
        assert_eq!(checkout_session_id("/checkout/cs_1").as_deref(), Some("cs_1"));
        assert_eq!(checkout_session_id("/checkout/cs_1/").as_deref(), Some("cs_1"));
        for path in ["/checkout/", "/checkout", "/checkout/cs_1/more", "/portal/ps_1", "/", "/checkout//"] {
            assert_eq!(checkout_session_id(path), None, "{path}");
        }
    }

    #[test]
    fn finds_the_session_of_any_session_page() {
        assert_eq!(page_session("/checkout/cs_1"), Some(("checkout", "cs_1".to_string())));
        assert_eq!(page_session("/portal/ps_1"), Some(("portal", "ps_1".to_string())));
        assert_eq!(page_session("/portal/ps_1/update/pro_plus"), Some(("portal", "ps_1".to_string())));
        for path in ["/checkout/cs_1/more", "/portal/", "/portal//update", "/", "/nowhere/ps_1"] {
            assert_eq!(page_session(path), None, "{path}");
        }
    }

    #[test]
    fn finds_the_portal_home_session_in_the_address() {
        assert_eq!(portal_home_session_id("/portal/ps_1/").as_deref(), Some("ps_1"));
        for path in ["/portal/ps_1/update", "/portal/", "/checkout/cs_1"] {
            assert_eq!(portal_home_session_id(path), None, "{path}");
        }
    }
}
