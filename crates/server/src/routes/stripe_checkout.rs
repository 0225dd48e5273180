//! Stripe mode's part of the checkout API: the SetupIntent the page confirms with Stripe.js (so
//! the card goes to Stripe, never here), and the card it saved, checked with Stripe, to pay with.

use crate::error::{ApiJson, AppError};
use crate::limits::{self, SessionLimit};
use crate::payments::Processor;
use crate::session_tokens::CheckoutToken;
use crate::store::{self, Account, PaymentMethod};
use crate::stripe::{StripeClient, StripeError};
use crate::{AppState, checkout, ids};
use axum::Json;
use axum::extract::State;
use billing::wire::{CardSummary, SavedStripeCard, StripeSetup};
use rusqlite::Connection;
use time::OffsetDateTime;

pub fn stripe_client(state: &AppState) -> Result<StripeClient, AppError> {
    match &state.processor {
        Processor::Stripe(client) => Ok(client.clone()),
        Processor::Test => Err(AppError::NotFound),
    }
}

/// Stripe's errors as ours: an unknown object is the page's mistake, anything else the
/// processor's.
fn from_stripe(error: StripeError) -> AppError {
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
    state: &AppState,
    client: &StripeClient,
    account_id: &str,
    email: Option<String>,
) -> Result<String, AppError> {
    let id = account_id.to_string();
    if let Some(customer) = state.store.read(move |conn| store::stripe_customer(conn, &id)).await? {
        return Ok(customer);
    }
    let made = client
        .create_customer(account_id, email.as_deref().unwrap_or_default(), &format!("customer-{account_id}"))
        .await
        .map_err(from_stripe)?;
    let id = account_id.to_string();
    state.store.write(move |tx| store::keep_stripe_customer(tx, &id, &made.id)).await
}

/// `POST /api/checkout/{id}/setup-intent`: a SetupIntent on the account's Customer.
pub async fn setup_intent(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<StripeSetup>, AppError> {
    setup_intent_for(state, token.id().to_string(), CHECKOUT_SESSION, |conn, session_id, now| {
        let (session, account) = checkout::open_checkout(conn, session_id, now)?;
        checkout::ensure_eligible(conn, &account)?;
        limits::check_limit(conn, SessionLimit::Cards, &session.id, session.expires_at, now)?;
        Ok(account)
    })
    .await
}

/// A SetupIntent for page session `id` (named in its metadata under `metadata_key`) on the
/// Customer of the account `account_of` finds for the session (and checks it may save a card).
pub async fn setup_intent_for(
    state: AppState,
    id: String,
    metadata_key: &'static str,
    account_of: impl FnOnce(&Connection, &str, OffsetDateTime) -> Result<Account, AppError> + Send + 'static,
) -> Result<Json<StripeSetup>, AppError> {
    let client = stripe_client(&state)?;
    let now = state.clock.now();
    let session_id = id.clone();
    let account = state.store.write(move |tx| account_of(tx, &session_id, now)).await?;
    let made_for = SetupFor { account_id: &account.id, metadata_key, session_id: &id };
    new_setup_intent(&state, &client, made_for, account.email.clone()).await.map(Json)
}

/// A SetupIntent on the account's Customer (made the first time), named for its session.
async fn new_setup_intent(
    state: &AppState,
    client: &StripeClient,
    made_for: SetupFor<'_>,
    email: Option<String>,
) -> Result<StripeSetup, AppError> {
    let customer = customer_of(state, client, made_for.account_id, email).await?;
    let metadata = [("account_id", made_for.account_id), (made_for.metadata_key, made_for.session_id)];
    let setup = client.create_setup_intent(&customer, &metadata, &ids::new_id("setup")).await.map_err(from_stripe)?;
    let client_secret = setup.client_secret.ok_or(AppError::ProcessorUnavailable)?;
    Ok(StripeSetup { client_secret })
}

/// `POST /api/checkout/{id}/stripe-card`: the card a SetupIntent saved, once Stripe says it
/// succeeded for this session's Customer; the answer is the card to confirm with.
pub async fn stripe_card(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<SavedStripeCard>,
) -> Result<Json<CardSummary>, AppError> {
    let client = stripe_client(&state)?;
    save_setup_card(&state, &client, token.id().to_string(), &req.setup_intent).await.map(Json)
}

/// Keeps the card a SetupIntent saved for checkout session `session_id` (from the page, or from
/// Stripe's `setup_intent.succeeded` when the page is gone), checked with Stripe first.
pub async fn save_setup_card(
    state: &AppState,
    client: &StripeClient,
    session_id: String,
    setup_intent: &str,
) -> Result<CardSummary, AppError> {
    let now = state.clock.now();
    let (session, account) = state.store.read(move |conn| checkout::open_checkout(conn, &session_id, now)).await?;
    let made_for = SetupFor { account_id: &account.id, metadata_key: CHECKOUT_SESSION, session_id: &session.id };
    let pm = setup_card(state, client, made_for, setup_intent).await?;
    let summary = pm.card.clone();
    state
        .store
        .write(move |tx| {
            // Saved once, whatever the double clicks (and the webhook).
            if store::get_payment_method(tx, &pm.card.id)?.is_none() {
                store::insert_payment_method(tx, &pm, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(summary)
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
    state: &AppState,
    client: &StripeClient,
    made_for: SetupFor<'_>,
    setup_intent: &str,
) -> Result<PaymentMethod, AppError> {
    let account_id = made_for.account_id.to_string();
    let customer = state.store.read(move |conn| store::stripe_customer(conn, &account_id)).await?;
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
