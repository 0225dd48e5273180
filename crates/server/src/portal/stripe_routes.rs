//! Stripe mode's part of the portal API: replacing the card with a SetupIntent that the page
//! confirms with Stripe.js (3-D Secure included), then the card it saved, checked with Stripe,
//! made the one charged from now on (and the Customer's default); a past-due invoice is then paid
//! with it.

use super::handlers::up_to_date;
use super::plan_changes::open_portal;
use super::stripe_card::replace_card;
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::session_tokens::PortalToken;
use crate::payments::limits::{self, SessionLimit};
use crate::payments::stripe_setup::{PORTAL_SESSION, setup_intent_for};
use crate::state::AppState;
use crate::store;
use axum::Json;
use axum::extract::State;
use billing::wire::{PaymentMethodOutcome, SavedStripeCard, StripeSetup};

/// `POST /api/portal/{id}/setup-intent`: a SetupIntent for a new card on the account's Customer.
pub async fn setup_intent(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
) -> Result<Json<StripeSetup>, AppError> {
    let id = token.id().to_string();
    setup_intent_for(&state.payments, id, PORTAL_SESSION, state.clock.now(), |tx, session_id, now| {
        let (session, sub) = open_portal(tx, session_id, now)?;
        limits::check_limit(tx, SessionLimit::Cards, &session.id, session.expires_at, now)?;
        store::get_account(tx, &sub.account_id)?.ok_or(AppError::NoSubscription)
    })
    .await
    .map(Json)
}

/// `POST /api/portal/{id}/stripe-card`: the card a SetupIntent saved becomes the one charged.
pub async fn stripe_card(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(req): ApiJson<SavedStripeCard>,
) -> Result<Json<PaymentMethodOutcome>, AppError> {
    let id = token.id().to_string();
    let client = state.payments.stripe_client()?;
    let now = state.clock.now();
    up_to_date(&state, &id, now).await?;
    replace_card(&state.payments, &client, id, &req.setup_intent, now).await.map(Json)
}
