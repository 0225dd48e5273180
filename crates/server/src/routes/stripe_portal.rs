//! Stripe mode's part of the portal API: replacing the card with a SetupIntent that the page
//! confirms with Stripe.js (3-D Secure included), then the card it saved, checked with Stripe,
//! made the one charged from now on (and the Customer's default); a past-due invoice is then paid
//! with it.

use super::portal::up_to_date;
use super::stripe_checkout::{PORTAL_SESSION, SetupFor, setup_card, setup_intent_for, stripe_client};
use crate::error::{ApiJson, AppError};
use crate::limits::{self, SessionLimit};
use crate::plan_changes::open_portal;
use crate::processor::ChargeResult;
use crate::session_tokens::PortalToken;
use crate::stripe::StripeClient;
use crate::{AppState, account, account_charge, store};
use axum::Json;
use axum::extract::State;
use billing::wire::{PaymentMethodOutcome, SavedStripeCard, StripeSetup};

/// `POST /api/portal/{id}/setup-intent`: a SetupIntent for a new card on the account's Customer.
pub async fn setup_intent(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
) -> Result<Json<StripeSetup>, AppError> {
    setup_intent_for(state, token.id().to_string(), PORTAL_SESSION, |tx, session_id, now| {
        let (session, sub) = open_portal(tx, session_id, now)?;
        limits::check_limit(tx, SessionLimit::Cards, &session.id, session.expires_at, now)?;
        store::get_account(tx, &sub.account_id)?.ok_or(AppError::NoSubscription)
    })
    .await
}

/// `POST /api/portal/{id}/stripe-card`: the card a SetupIntent saved becomes the one charged.
pub async fn stripe_card(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(req): ApiJson<SavedStripeCard>,
) -> Result<Json<PaymentMethodOutcome>, AppError> {
    let client = stripe_client(&state)?;
    let now = state.clock.now();
    up_to_date(&state, token.id(), now).await?;
    replace_card(&state, &client, token.id().to_string(), &req.setup_intent).await.map(Json)
}

/// Makes the card `setup_intent` saved for portal session `session_id` the account's card (from
/// the page, or from Stripe's `setup_intent.succeeded` when the page is gone), then pays a
/// past-due invoice with it. Saving the same SetupIntent again changes nothing more.
pub async fn replace_card(
    state: &AppState,
    client: &StripeClient,
    session_id: String,
    setup_intent: &str,
) -> Result<PaymentMethodOutcome, AppError> {
    let now = state.clock.now();
    let id = session_id.clone();
    let (session, sub) = state.store.write(move |tx| open_portal(tx, &id, now)).await?;
    let made_for = SetupFor { account_id: &sub.account_id, metadata_key: PORTAL_SESSION, session_id: &session.id };
    let pm = setup_card(state, client, made_for, setup_intent).await?;
    let customer = pm.stripe_customer.clone().unwrap_or_default();
    let default_key = format!("default-{}", pm.card.id);
    if let Err(e) = client.set_default_payment_method(&customer, &pm.card.id, &default_key).await {
        // Our database says which card is charged; Stripe's default is for its Dashboard.
        tracing::warn!(error = %e, "the Customer's default card was not updated");
    }
    let id = session_id.clone();
    let saved = state
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
    Ok(account_charge::then_pay_past_due(state, session_id, saved, now).await)
}
