//! The past-due banner every portal page shows while renewals are unpaid: what is owed (every
//! invoice whose charge failed, paid together in one charge of their total), when the card is tried
//! again and when the subscription is canceled if it is not paid, and the ways to pay (the card on
//! file, or another card). In Stripe mode the bank may ask to confirm the payment: Stripe.js runs
//! that check, then the server asks Stripe how it went.

use super::use_portal;
use crate::api::{self, ApiError};
use crate::browser;
use crate::components::alert::BusyButton;
use billing::period::long_date;
use billing::wire::{AmountDue, ErrorCode, InvoicePaymentOutcome, PortalView, StripeElements};
use leptos::prelude::*;

/// Shown while the subscription owes anything; once it is paid the portal loads again and the
/// banner goes. A notice (the amount owed changed) outlives the banner it came from.
#[component]
pub fn PastDueBanner() -> impl IntoView {
    let context = use_portal();
    let notice = RwSignal::new(None::<String>);
    move || context.view().map(|portal| view! { <Banner portal=portal notice=notice /> })
}

/// What failed and what is owed, in a sentence or two.
fn owed_text(due: &AmountDue) -> String {
    let what = match due.invoices.as_slice() {
        [only] => format!("We couldn't charge {} for your plan on {}", due.amount, long_date(only.created_at)),
        [first, ..] => format!(
            "We couldn't charge your plan since {}: {} is due for {} invoices",
            long_date(first.created_at),
            due.amount,
            due.invoices.len(),
        ),
        [] => format!("{} is due", due.amount),
    };
    let then = match (due.next_retry_at, due.cancels_at) {
        (Some(retry), Some(cancel)) if retry < cancel => format!(
            " We'll try your card again on {}; if it is still unpaid on {}, your subscription will be canceled.",
            long_date(retry),
            long_date(cancel),
        ),
        (_, Some(cancel)) => {
            format!(" If it is still unpaid on {}, your subscription will be canceled.", long_date(cancel))
        }
        _ => String::new(),
    };
    format!("{what}, so paid features are paused. Pay now to get them back.{then}")
}

#[component]
fn Banner(portal: PortalView, notice: RwSignal<Option<String>>) -> impl IntoView {
    let Some(due) = portal.amount_due.clone() else {
        return ().into_any();
    };
    let context = use_portal();
    let card = portal.payment_method.clone();
    let key = StoredValue::new(browser::new_idempotency_key());
    let sid = context.session_id();
    let stripe = portal.stripe.clone();
    let total = due.amount;
    let pay = Action::new_local(move |_: &()| {
        let (sid, stripe) = (sid.clone(), stripe.clone());
        async move {
            notice.set(None);
            let outcome = api::pay_invoice(&sid, key.get_value(), total).await;
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
                Err(error) if error.code() == Some(ErrorCode::QuoteChanged) => {
                    // Nothing was charged: show what is owed now.
                    notice.set(Some("What you owe changed since this page loaded. Nothing was charged; check the amount and pay again.".into()));
                    context.reload();
                    None
                }
                Err(error) => Some(error.message()),
            }
        }
    });
    let error = move || pay.value().get().flatten().or_else(|| notice.get());
    let pay_label = match &card {
        Some(card) => format!("Pay {} with {}", due.amount, card.label()),
        None => format!("Pay {}", due.amount),
    };
    view! {
        <div class="banner-danger" role="alert">
            <p>
                <strong>"Your payment failed. "</strong>
                {owed_text(&due)}
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
