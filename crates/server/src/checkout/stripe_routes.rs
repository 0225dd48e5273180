//! Stripe mode's part of the checkout API: the SetupIntent the page confirms with Stripe.js (so
//! the card goes to Stripe, never here), and the card it saved, checked with Stripe, to pay with.

use super::rules;
use super::stripe_card::save_setup_card;
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::session_tokens::CheckoutToken;
use crate::payments::limits::{self, SessionLimit};
use crate::payments::stripe_setup::{CHECKOUT_SESSION, setup_intent_for};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use billing::wire::{CardSummary, SavedStripeCard, StripeSetup};

/// `POST /api/checkout/{id}/setup-intent`: a SetupIntent on the account's Customer.
pub async fn setup_intent(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<StripeSetup>, AppError> {
    let id = token.id().to_string();
    setup_intent_for(&state.payments, id, CHECKOUT_SESSION, state.clock.now(), |conn, session_id, now| {
        let (session, account) = rules::open_checkout(conn, session_id, now)?;
        rules::ensure_eligible(conn, &account)?;
        limits::check_limit(conn, SessionLimit::Cards, &session.id, session.expires_at, now)?;
        Ok(account)
    })
    .await
    .map(Json)
}

/// `POST /api/checkout/{id}/stripe-card`: the card a SetupIntent saved, once Stripe says it
/// succeeded for this session's Customer; the answer is the card to confirm with.
pub async fn stripe_card(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<SavedStripeCard>,
) -> Result<Json<CardSummary>, AppError> {
    let id = token.id().to_string();
    let client = state.payments.stripe_client()?;
    save_setup_card(&state.payments, &client, id, &req.setup_intent, state.clock.now()).await.map(Json)
}
