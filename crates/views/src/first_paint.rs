//! What the server puts in the checkout's first HTML: the page the app will mount, as far as it
//! is known without the app (frame, heading, order summary), with the form's place loading.

use crate::Loading;
use crate::frame::{CheckoutColumns, PageFrame};
use crate::order_summary::OrderSummary;
use billing::wire::{CheckoutStatus, CheckoutView, Eligibility};
use leptos::prelude::*;

/// The first paint of a checkout that can be paid: `(title, body)`, HTML-escaped. `None` for
/// every other state (complete, ineligible): their pages do not start with a summary.
pub fn checkout(checkout: &CheckoutView) -> Option<(String, String)> {
    if checkout.status != CheckoutStatus::Open || checkout.eligibility != Eligibility::Eligible {
        return None;
    }
    let quote = checkout.quote.clone()?;
    let heading = crate::checkout_heading(&checkout.plan.name);
    let title = crate::page_title(&heading);
    let plan = checkout.plan.clone();
    let body = view! {
        <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
            <CheckoutColumns summary=view! { <OrderSummary plan=plan quote=quote /> }.into_any()>
                <h1 tabindex="-1">{heading}</h1>
                <Loading label="Loading the payment form…" />
            </CheckoutColumns>
        </PageFrame>
    }
    .to_html();
    Some((escape(&title), body))
}

/// Text for an HTML text node.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
