//! Stripe mode: the card a SetupIntent saved in the portal becomes the account's card (and the
//! Customer's default); a past-due invoice is then paid with it.

use super::plan_changes::open_portal;
use super::{account, account_charge};
use crate::error::AppError;
use crate::payments::Payments;
use crate::payments::limits::{self, SessionLimit};
use crate::payments::stripe::StripeClient;
use crate::payments::stripe_setup::{PORTAL_SESSION, SetupFor, setup_card};
use crate::payments::test_cards::ChargeResult;
use crate::store;
use billing::wire::PaymentMethodOutcome;
use time::OffsetDateTime;

/// Makes the card `setup_intent` saved for portal session `session_id` the account's card (from
/// the page, or from Stripe's `setup_intent.succeeded` when the page is gone), then pays a
/// past-due invoice with it. Saving the same SetupIntent again changes nothing more.
pub async fn replace_card(
    payments: &Payments,
    client: &StripeClient,
    session_id: String,
    setup_intent: &str,
    now: OffsetDateTime,
) -> Result<PaymentMethodOutcome, AppError> {
    let id = session_id.clone();
    let (session, sub) = payments.store.write(move |tx| open_portal(tx, &id, now)).await?;
    let made_for = SetupFor { account_id: &sub.account_id, metadata_key: PORTAL_SESSION, session_id: &session.id };
    let pm = setup_card(payments, client, made_for, setup_intent).await?;
    let customer = pm.stripe_customer.clone().unwrap_or_default();
    let default_key = format!("default-{}", pm.card.id);
    if let Err(e) = client.set_default_payment_method(&customer, &pm.card.id, &default_key).await {
        // Our database says which card is charged; Stripe's default is for its Dashboard.
        tracing::warn!(error = %e, "the Customer's default card was not updated");
    }
    let id = session_id.clone();
    let saved = payments
        .store
        .write(move |tx| {
            let (session, mut sub) = open_portal(tx, &id, now)?;
            if store::get_payment_method(tx, &pm.card.id)?.is_none() {
                limits::check_limit(tx, SessionLimit::Cards, &session.id, session.expires_at, now)?;
                store::insert_payment_method(tx, &pm, now)?;
            }
            account::record_card_check(tx, &session, &mut sub, &pm, ChargeResult::Succeeded, now)
        })
        .await?;
    Ok(account_charge::then_pay_past_due(payments, session_id, saved, now).await)
}
