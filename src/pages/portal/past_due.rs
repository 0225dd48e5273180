//! The past-due banner every portal page shows while a renewal is unpaid: what failed, and the
//! ways to pay (the card on file, or another card). In Stripe mode the bank may ask to confirm
//! the payment: Stripe.js runs that check, then the server asks Stripe how it went.

use super::use_portal;
use crate::api::{self, ApiError};
use crate::browser;
use crate::components::alert::BusyButton;
use billing::period::long_date;
use billing::wire::{InvoicePaymentOutcome, PortalView, StripeElements};
use leptos::prelude::*;

/// Shown while the subscription has an open invoice; once it is paid the portal loads again and
/// the banner goes.
#[component]
pub fn PastDueBanner() -> impl IntoView {
    let context = use_portal();
    move || context.view().map(|portal| view! { <Banner portal=portal /> })
}

#[component]
fn Banner(portal: PortalView) -> impl IntoView {
    let Some(invoice) = portal.open_invoice.clone() else {
        return ().into_any();
    };
    let context = use_portal();
    let card = portal.payment_method.clone();
    let key = StoredValue::new(browser::new_idempotency_key());
    let sid = context.session_id();
    let stripe = portal.stripe.clone();
    let pay = Action::new_local(move |_: &()| {
        let (sid, stripe) = (sid.clone(), stripe.clone());
        async move {
            let outcome = api::pay_invoice(&sid, key.get_value()).await;
            match with_bank_check(&sid, outcome, stripe).await {
                Ok(InvoicePaymentOutcome::Paid { .. }) => {
                    context.reload();
                    None
                }
                Ok(InvoicePaymentOutcome::RequiresAction { .. }) => {
                    key.set_value(browser::new_idempotency_key());
                    Some("Your bank needs to confirm this payment. Try again.".to_string())
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
                <BusyButton
                    label=pay_label
                    busy_label="Processing…"
                    loading=pay.pending()
                    on_click=Callback::new(move |_| {
                        pay.dispatch(());
                    })
                />
                <a class="button secondary" href=context.href("/payment-method")>
                    "Use another card"
                </a>
            </div>
            <p class="banner-error">{error}</p>
        </div>
    }
    .into_any()
}

/// Stripe mode: when the bank asks, Stripe.js runs its check and the answer goes to the server,
/// which asks Stripe; any other outcome is as it was.
#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
async fn with_bank_check(
    session_id: &str,
    outcome: Result<InvoicePaymentOutcome, ApiError>,
    stripe: Option<StripeElements>,
) -> Result<InvoicePaymentOutcome, ApiError> {
    #[cfg(feature = "stripe")]
    if let Ok(InvoicePaymentOutcome::RequiresAction { challenge_id, client_secret: Some(secret) }) = &outcome {
        use billing::wire::{ChallengeAnswer, ChallengeOutcome};
        let completed = crate::components::stripe_card::authenticate(None, stripe.as_ref(), secret).await;
        let outcome = if completed { ChallengeOutcome::Complete } else { ChallengeOutcome::Fail };
        let answer = ChallengeAnswer { challenge_id: challenge_id.clone(), outcome };
        return api::answer_invoice_challenge(session_id, &answer).await;
    }
    outcome
}
