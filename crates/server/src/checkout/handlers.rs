//! The browser API of the checkout page. The session id in the path is the page's only credential.

use super::charge::{self, Confirm};
use super::rules;
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::idempotency;
use crate::ids::new_id;
use crate::payments::limits::{self, SessionLimit};
use crate::payments::{self, Processor, answers, test_cards};
use crate::state::AppState;
use crate::store::{self, PaymentMethod};
use axum::Json;
use axum::extract::{Path, State};
use billing::wire::{CardSummary, ChallengeAnswer, CheckoutView, ConfirmCheckout, PaymentOutcome, TokenizeCard};
use std::sync::Arc;

pub async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    let st = state.clone();
    state.store.read(move |conn| rules::checkout_view(conn, &st.config, &id, now)).await.map(Json)
}

/// The processor's tokenize step: the card number is checked and dropped here, never stored or
/// logged; the token keeps brand, last 4 and expiry.
pub async fn tokenize_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(card): ApiJson<TokenizeCard>,
) -> Result<Json<CardSummary>, AppError> {
    // In Stripe mode card numbers never come here: the page gives them to Stripe.js.
    if !matches!(state.payments.processor, Processor::Test) {
        return Err(AppError::NotFound);
    }
    let now = state.clock.now();
    let today = test_cards::year_month(now);
    let token = test_cards::tokenize(&card, today).map_err(AppError::InvalidCard)?;
    state
        .store
        .write(move |tx| {
            let (session, _) = rules::open_checkout(tx, &id, now)?;
            limits::check_limit(tx, SessionLimit::Cards, &session.id, session.expires_at, now)?;
            let summary = CardSummary {
                id: new_id("pm").into(),
                brand: token.brand,
                last4: token.last4.clone(),
                exp_month: token.exp_month,
                exp_year: token.exp_year,
            };
            let pm = PaymentMethod {
                account_id: None,
                session_id: Some(session.id),
                card: summary.clone(),
                behavior: token.behavior.as_str().into(),
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
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmCheckout>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let key = idempotency::checked_key(&req.idempotency_key)?.to_string();
    let now = state.clock.now();
    let confirm = Arc::new(Confirm { session_id: id, key, request: req });
    payments::charge_once(&state.payments, now, move |tx| charge::prepare_confirm(tx, &confirm, now)).await.map(Json)
}

/// The answer from the 3-D Secure stand-in. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<PaymentOutcome>, AppError> {
    answers::answer(&state.payments, state.clock.now(), id, answer, charge::prepare_answer).await.map(Json)
}
