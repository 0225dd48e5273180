//! The past-due banner every portal page shows while a renewal is unpaid: what failed, and the
//! ways to pay (the card on file, or another card).

use crate::api;
use crate::browser;
use billing::period::long_date;
use billing::wire::{InvoicePaymentOutcome, PortalView};
use leptos::prelude::*;

/// Shown when the subscription has an open invoice; `on_paid` runs once it is paid.
#[component]
pub fn PastDueBanner(session_id: String, portal: PortalView, on_paid: Callback<()>) -> impl IntoView {
    let Some(invoice) = portal.open_invoice.clone() else {
        return ().into_any();
    };
    let card = portal.payment_method.clone();
    let key = StoredValue::new(browser::new_idempotency_key());
    let sid = session_id.clone();
    let pay = Action::new_local(move |_: &()| {
        let sid = sid.clone();
        async move {
            let outcome = api::pay_invoice(&sid, key.get_value()).await;
            match outcome {
                Ok(InvoicePaymentOutcome::Paid { .. }) => {
                    on_paid.run(());
                    None
                }
                Ok(InvoicePaymentOutcome::Declined { decline }) => {
                    // A decline is final for this attempt; the next one is a new payment.
                    key.set_value(browser::new_idempotency_key());
                    Some(decline.message)
                }
                Err(error) => Some(error.message()),
            }
        }
    });
    let error = move || pay.value().get().flatten();
    let pay_label = match &card {
        Some(card) => format!("Pay {} with {}", invoice.amount, card.label()),
        None => format!("Pay {}", invoice.amount),
    };
    view! {
        <div class="banner-danger" role="alert">
            <p>
                <strong>"Your payment failed. "</strong>
                {format!(
                    "We couldn't charge {} for your plan on {}, so paid features are paused. Pay now to get them back.",
                    invoice.amount,
                    long_date(invoice.created_at),
                )}
            </p>
            <div class="actions">
                <button
                    type="button"
                    class="button primary"
                    disabled=move || pay.pending().get()
                    on:click=move |_| {
                        pay.dispatch(());
                    }
                >
                    {move || if pay.pending().get() { "Processing…".to_string() } else { pay_label.clone() }}
                </button>
                <a class="button secondary" href=format!("/portal/{session_id}/payment-method")>
                    "Use another card"
                </a>
            </div>
            <p class="banner-error">{error}</p>
        </div>
    }
    .into_any()
}
