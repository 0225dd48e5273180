//! The browser API of the checkout page. The session id in the path is the page's only credential,
//! checked by [`CheckoutToken`] before anything else.

use super::charge::{self, Confirm};
use super::rules;
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::session_tokens::CheckoutToken;
use crate::idempotency;
use crate::payments::{self, answers, test_cards};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use billing::wire::{CardSummary, ChallengeAnswer, CheckoutView, ConfirmCheckout, PaymentOutcome, TokenizeCard};
use std::sync::Arc;

pub async fn get_session(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    let st = state.clone();
    state.store.read(move |conn| rules::checkout_view(conn, &st.config, &token, now)).await.map(Json)
}

/// The processor's tokenize step: the card number is checked and dropped here, never stored or
/// logged; the token keeps brand, last 4 and expiry.
pub async fn tokenize_card(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(card): ApiJson<TokenizeCard>,
) -> Result<Json<CardSummary>, AppError> {
    let id = token.id().to_string();
    let now = state.clock.now();
    let card_token = state.payments.tokenize(&card, now)?;
    state
        .store
        .write(move |tx| {
            let (session, _) = rules::open_checkout(tx, &id, now)?;
            let pm = test_cards::keep_card(tx, &session.id, session.expires_at, &card_token, now)?;
            Ok(Json(pm.card))
        })
        .await
}

/// Confirms the checkout: one charge per session whatever the retries, double clicks or races.
pub async fn confirm(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<ConfirmCheckout>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let id = token.id().to_string();
    let key = idempotency::checked_key(&req.idempotency_key)?.to_string();
    let now = state.clock.now();
    let confirm = Arc::new(Confirm { session_id: id, key, request: req });
    payments::charge_once(&state.payments, now, move |tx| charge::prepare_confirm(tx, &confirm, now)).await.map(Json)
}

/// The answer from the 3-D Secure stand-in. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let id = token.id().to_string();
    answers::answer(&state.payments, state.clock.now(), id, answer, charge::prepare_answer).await.map(Json)
}
