//! Stripe mode's cards: the account's Customer (made the first time), a SetupIntent the page
//! confirms with Stripe.js (so the card goes to Stripe, never here), and the card it saved,
//! checked with Stripe, for the checkout or the portal to keep.

use super::Payments;
use super::stripe::{StripeClient, StripeError};
use crate::error::AppError;
use crate::ids;
use crate::store::Conn;
use crate::store::{self, Account, PaymentMethod};
use billing::wire::{CardSummary, StripeSetup};
use time::OffsetDateTime;

/// Stripe's errors as ours: an unknown object is the page's mistake, anything else the
/// processor's.
pub fn from_stripe(error: StripeError) -> AppError {
    match error {
        StripeError::Api { status: 404, .. } | StripeError::InvalidId => AppError::InvalidPaymentMethod,
        other => {
            tracing::warn!(error = %other, "Stripe call failed");
            AppError::ProcessorUnavailable
        }
    }
}

/// The account's Customer, made the first time it is needed (the idempotency key is the
/// account's, so a retry finds the same one).
async fn customer_of(
    payments: &Payments,
    client: &StripeClient,
    account_id: &str,
    email: Option<String>,
) -> Result<String, AppError> {
    let id = account_id.to_string();
    if let Some(customer) = payments.store.read(move |conn| store::stripe_customer(conn, &id)).await? {
        return Ok(customer);
    }
    let made = client
        .create_customer(account_id, email.as_deref().unwrap_or_default(), &format!("customer-{account_id}"))
        .await
        .map_err(from_stripe)?;
    let id = account_id.to_string();
    let kept = payments.store.write(move |tx| store::keep_stripe_customer(tx, &id, &made.id)).await?;
    kept.ok_or(AppError::SessionNotFound)
}

/// A SetupIntent for page session `id` (named in its metadata under `metadata_key`) on the
/// Customer of the account `account_of` finds for the session (and checks it may save a card).
pub async fn setup_intent_for(
    payments: &Payments,
    id: String,
    metadata_key: &'static str,
    now: OffsetDateTime,
    account_of: impl Fn(&Conn<'_>, &str, OffsetDateTime) -> Result<Account, AppError> + Send + 'static,
) -> Result<StripeSetup, AppError> {
    let client = payments.stripe_client()?;
    let session_id = id.clone();
    let account = payments.store.write(move |tx| account_of(tx, &session_id, now)).await?;
    let made_for = SetupFor { account_id: &account.id, metadata_key, session_id: &id };
    new_setup_intent(payments, &client, made_for, account.email.clone()).await
}

/// A SetupIntent on the account's Customer (made the first time), named for its session.
async fn new_setup_intent(
    payments: &Payments,
    client: &StripeClient,
    made_for: SetupFor<'_>,
    email: Option<String>,
) -> Result<StripeSetup, AppError> {
    let customer = customer_of(payments, client, made_for.account_id, email).await?;
    let metadata = [("account_id", made_for.account_id), (made_for.metadata_key, made_for.session_id)];
    let setup = client.create_setup_intent(&customer, &metadata, &ids::new_id("setup")).await.map_err(from_stripe)?;
    let client_secret = setup.client_secret.ok_or(AppError::ProcessorUnavailable)?;
    Ok(StripeSetup { client_secret })
}

/// The metadata keys a SetupIntent names its session with.
pub const CHECKOUT_SESSION: &str = "checkout_session";
pub const PORTAL_SESSION: &str = "portal_session";

/// Whose SetupIntent: the account and the page session it was made for.
pub struct SetupFor<'a> {
    pub account_id: &'a str,
    pub metadata_key: &'a str,
    pub session_id: &'a str,
}

/// The card `setup_intent` saved, once Stripe says it succeeded for this account's Customer and
/// this session; not stored yet.
pub async fn setup_card(
    payments: &Payments,
    client: &StripeClient,
    made_for: SetupFor<'_>,
    setup_intent: &str,
) -> Result<PaymentMethod, AppError> {
    let account_id = made_for.account_id.to_string();
    let customer = payments.store.read(move |conn| store::stripe_customer(conn, &account_id)).await?;
    let customer = customer.ok_or(AppError::InvalidPaymentMethod)?;
    let setup = client.setup_intent(setup_intent).await.map_err(from_stripe)?;
    let for_this_session = setup.status == "succeeded"
        && setup.customer.as_deref() == Some(customer.as_str())
        && setup.metadata.get(made_for.metadata_key).map(String::as_str) == Some(made_for.session_id);
    let pm_id = setup.payment_method.filter(|_| for_this_session).ok_or(AppError::InvalidPaymentMethod)?;
    let card = client.payment_method(&pm_id).await.map_err(from_stripe)?.card.ok_or(AppError::InvalidPaymentMethod)?;
    Ok(PaymentMethod {
        account_id: None,
        session_id: Some(made_for.session_id.to_string()),
        card: CardSummary {
            id: pm_id.into(),
            brand: store::brand_from(&card.brand),
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        },
        behavior: "stripe".into(),
        payments: 0,
        stripe_customer: Some(customer),
    })
}
