//! The browser API of the checkout page. The session id in the path is the page's only credential,
//! checked by [`CheckoutToken`] before anything else.

use crate::checkout_charge::{self, Confirm};
use crate::error::{ApiJson, AppError};
use crate::ids::new_id;
use crate::limits::{self, SessionLimit};
use crate::session_tokens::CheckoutToken;
use crate::store::{self, PaymentMethod};
use crate::{AppState, answers, checkout, idempotency, payments, processor};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::wire::{CardSummary, ChallengeAnswer, CheckoutView, ConfirmCheckout, PaymentOutcome, TokenizeCard};
use std::sync::Arc;

/// `/api/checkout/{session_id}/...`
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{session_id}", get(get_session))
        .route("/{session_id}/card", post(tokenize_card))
        .route("/{session_id}/confirm", post(confirm))
        .route("/{session_id}/challenge", post(answer_challenge))
        .route("/{session_id}/setup-intent", post(super::stripe_checkout::setup_intent))
        .route("/{session_id}/stripe-card", post(super::stripe_checkout::stripe_card))
}

pub async fn get_session(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    let st = state.clone();
    state.store.read(move |conn| checkout::checkout_view(conn, &st, &token, now)).await.map(Json)
}

/// The processor's tokenize step: the card number is checked and dropped here, never stored or
/// logged; the token keeps brand, last 4 and expiry.
pub async fn tokenize_card(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(card): ApiJson<TokenizeCard>,
) -> Result<Json<CardSummary>, AppError> {
    // In Stripe mode card numbers never come here: the page gives them to Stripe.js.
    if !matches!(state.processor, payments::Processor::Test) {
        return Err(AppError::NotFound);
    }
    let now = state.clock.now();
    let today = processor::year_month(now);
    let card = processor::tokenize(&card.number, card.exp_month, card.exp_year, &card.cvc, &card.name, today)
        .map_err(AppError::InvalidCard)?;
    state
        .store
        .write(move |tx| {
            let (session, _) = checkout::open_checkout(tx, token.id(), now)?;
            limits::check_limit(tx, SessionLimit::Cards, &session.id, session.expires_at, now)?;
            let summary = CardSummary {
                id: new_id("pm").into(),
                brand: card.brand,
                last4: card.last4.clone(),
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            };
            let pm = PaymentMethod {
                account_id: None,
                session_id: Some(session.id),
                card: summary.clone(),
                behavior: card.behavior.as_str().into(),
                payments: 0,
                stripe_customer: None,
            };
            store::insert_payment_method(tx, &pm, now)?;
            Ok(Json(summary))
        })
        .await
}

/// Confirms the checkout: one charge per session whatever the retries, double clicks or races.
pub async fn confirm(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<ConfirmCheckout>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let key = idempotency::checked_key(&req.idempotency_key)?.to_string();
    let now = state.clock.now();
    let confirm = Arc::new(Confirm { session_id: token.id().to_string(), key, request: req });
    payments::charge_once(&state, now, move |tx| checkout_charge::prepare_confirm(tx, &confirm, now)).await.map(Json)
}

/// The answer from the 3-D Secure stand-in. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<PaymentOutcome>, AppError> {
    answers::answer(&state, token.id().to_string(), answer, checkout_charge::prepare_answer).await.map(Json)
}
