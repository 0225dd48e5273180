//! The checkout page's promotion code: `POST .../promotion-code` applies the code typed (the page
//! gets its new view, the discount on its own line), `DELETE` takes it off. A refusal names its
//! reason and counts against the session; the coupon behind a code is shown only once it applies.

use super::rules;
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::session_tokens::CheckoutToken;
use crate::promotions::checkout as promotions;
use crate::state::AppState;
use crate::store::Conn;
use axum::Json;
use axum::extract::State;
use billing::Money;
use billing::validate;
use billing::wire::{ApplyPromotionCode, CheckoutView, ConfirmFreeCheckout, PaymentOutcome};

pub async fn apply_code(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<ApplyPromotionCode>,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    let id = token.id().to_string();
    let applied = state
        .store
        .write(move |tx| {
            let (session, _) = rules::open_checkout(tx, &id, now)?;
            promotions::apply_code(tx, &session, &req.code, now)
        })
        .await?;
    // A refusal was counted (committed) before it is answered.
    applied?;
    let st = state.clone();
    state.store.read(move |conn| rules::checkout_view(conn, &st.config, &token, now)).await.map(Json)
}

pub async fn remove_code(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    let id = token.id().to_string();
    state
        .store
        .write(move |tx| {
            let (session, _) = rules::open_checkout(tx, &id, now)?;
            promotions::remove_code(tx, &session, now)
        })
        .await?;
    let st = state.clone();
    state.store.read(move |conn| rules::checkout_view(conn, &st.config, &token, now)).await.map(Json)
}

/// Subscribes without a card when the session's code makes every charge $0.00 (100% off
/// forever); any other checkout needs a card. Racing confirms subscribe once: the second finds
/// the session complete.
pub async fn confirm_free(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<ConfirmFreeCheckout>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let now = state.clock.now();
    let id = token.id().to_string();
    let write = move |tx: &Conn<'_>| {
        let (session, account) = rules::open_checkout(tx, &id, now)?;
        rules::ensure_eligible(tx, &account)?;
        let quote = promotions::session_quote(tx, &session, now, promotions::Quoting::Now)?;
        if quote.total_due_today != req.expected_total {
            return Err(AppError::QuoteChanged);
        }
        if !promotions::free_forever(&quote) {
            return Err(AppError::InvalidRequest("This checkout needs a card.".into()));
        }
        let email = validate::validate_email(&req.email).map_err(|e| AppError::InvalidEmail(e.message()))?;
        promotions::hold_for_payment(tx, &session, now)?;
        let receipt = rules::fulfil_checkout(tx, &session, &account, None, Money::ZERO, &email, now)?;
        Ok(PaymentOutcome::Succeeded { receipt })
    };
    state.store.write(write).await.map(Json)
}
