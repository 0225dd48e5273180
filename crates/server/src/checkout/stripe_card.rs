//! Stripe mode: the card a SetupIntent saved for a checkout, kept to pay with.

use super::rules;
use crate::error::AppError;
use crate::payments::Payments;
use crate::payments::stripe::StripeClient;
use crate::payments::stripe_setup::{CHECKOUT_SESSION, SetupFor, setup_card};
use crate::store;
use billing::wire::CardSummary;
use time::OffsetDateTime;

/// Keeps the card a SetupIntent saved for checkout session `session_id` (from the page, or from
/// Stripe's `setup_intent.succeeded` when the page is gone), checked with Stripe first.
pub async fn save_setup_card(
    payments: &Payments,
    client: &StripeClient,
    session_id: String,
    setup_intent: &str,
    now: OffsetDateTime,
) -> Result<CardSummary, AppError> {
    let (session, account) = payments.store.read(move |conn| rules::open_checkout(conn, &session_id, now)).await?;
    let made_for = SetupFor { account_id: &account.id, metadata_key: CHECKOUT_SESSION, session_id: &session.id };
    let pm = setup_card(payments, client, made_for, setup_intent).await?;
    let summary = pm.card.clone();
    payments
        .store
        .write(move |tx| {
            // Saved once, whatever the double clicks (and the webhook).
            if store::get_payment_method(tx, &pm.card.id)?.is_none() {
                store::insert_payment_method(tx, &pm, now)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(summary)
}
