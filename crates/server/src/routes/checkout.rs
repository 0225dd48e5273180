//! The browser API of the checkout page. The session id in the path is the page's only credential.

use crate::error::{ApiJson, AppError};
use crate::ids::new_id;
use crate::store::{self, PaymentMethod};
use crate::{AppState, billing_ops, processor};
use axum::Json;
use axum::extract::{Path, State};
use billing::validate;
use billing::wire::{
    CardSummary, ChallengeAnswer, ChallengeOutcome, CheckoutView, ConfirmCheckout, DeclineCode, PaymentOutcome,
    TokenizeCard,
};
use sha2::{Digest, Sha256};

pub async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    state.store.read(|conn| billing_ops::checkout_view(conn, &state, &id, now)).map(Json)
}

/// The processor's tokenize step: the card number is checked and dropped here, never stored or
/// logged; the token keeps brand, last 4 and expiry.
pub async fn tokenize_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(card): ApiJson<TokenizeCard>,
) -> Result<Json<CardSummary>, AppError> {
    let now = state.clock.now();
    let today = (now.year().clamp(0, 9999) as u16, u8::from(now.month()));
    let token = processor::tokenize(&card.number, card.exp_month, card.exp_year, &card.cvc, &card.name, today)
        .map_err(AppError::InvalidCard)?;
    state.store.write(|tx| {
        let (session, _) = billing_ops::open_checkout(tx, &id, now)?;
        let summary = CardSummary {
            id: new_id("pm"),
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
        };
        store::insert_payment_method(tx, &pm, now)?;
        Ok(Json(summary))
    })
}

fn request_hash(req: &ConfirmCheckout) -> String {
    let billing = req.billing.as_ref();
    let canonical = format!(
        "{}\n{}\n{}\n{}",
        req.email.trim(),
        req.payment_method,
        billing.map(|b| b.country.as_str()).unwrap_or(""),
        billing.and_then(|b| b.postal_code.as_deref()).unwrap_or("")
    );
    format!("{:x}", Sha256::digest(canonical.as_bytes()))
}

/// Confirms the checkout: one charge per session whatever the retries, double clicks or races.
pub async fn confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmCheckout>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let key = req.idempotency_key.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(AppError::InvalidRequest("`idempotency_key` must be 1 to 255 characters.".into()));
    }
    let now = state.clock.now();
    let scope = format!("checkout:{id}");
    let hash = request_hash(&req);
    state.store.write(|tx| {
        if let Some((stored_hash, _, body)) = store::get_idempotent(tx, &scope, key)? {
            if stored_hash != hash {
                return Err(AppError::IdempotencyConflict);
            }
            return serde_json::from_str(&body).map(Json).map_err(|e| AppError::Internal(e.to_string()));
        }
        let (session, account) = billing_ops::open_checkout(tx, &id, now)?;
        if account.aws_account_linked && account.login == billing::wire::Login::BuilderId {
            return Err(AppError::AccountLinkedToAws);
        }
        let subscribed = store::get_subscription(tx, &account.id)?
            .is_some_and(|s| s.plan.is_paid() && s.status != billing::wire::SubscriptionStatus::Canceled);
        if subscribed {
            return Err(AppError::AlreadySubscribed);
        }
        let email = validate::validate_email(&req.email).map_err(|e| AppError::InvalidEmail(e.message()))?;
        let pm = billing_ops::usable_payment_method(tx, &req.payment_method, &session)?;
        match (&req.billing, pm.account_id.is_none()) {
            (Some(billing), _) => billing_ops::check_billing(billing)?,
            (None, true) => {
                return Err(AppError::InvalidBillingDetails("Enter your country or region.".into()));
            }
            (None, false) => {}
        }
        let outcome = billing_ops::pay_checkout(tx, &session, &account, &pm, &email, false, now)?;
        let body = serde_json::to_string(&outcome).map_err(|e| AppError::Internal(e.to_string()))?;
        store::put_idempotent(tx, &scope, key, &hash, 200, &body)?;
        Ok(Json(outcome))
    })
}

/// The answer from the 3-D Secure stand-in. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let now = state.clock.now();
    state.store.write(|tx| {
        let challenge = store::get_challenge(tx, &answer.challenge_id, &id)?.ok_or(AppError::ChallengeNotFound)?;
        if let Some(body) = &challenge.resolved_body {
            return serde_json::from_str(body).map(Json).map_err(|e| AppError::Internal(e.to_string()));
        }
        let (session, account) = billing_ops::open_checkout(tx, &id, now)?;
        let pm = billing_ops::usable_payment_method(tx, &challenge.payment_method_id, &session)?;
        let outcome = match answer.outcome {
            ChallengeOutcome::Complete => {
                billing_ops::pay_checkout(tx, &session, &account, &pm, &challenge.email, true, now)?
            }
            ChallengeOutcome::Fail => billing_ops::decline(tx, &session, DeclineCode::AuthenticationFailed)?,
        };
        let body = serde_json::to_string(&outcome).map_err(|e| AppError::Internal(e.to_string()))?;
        store::resolve_challenge(tx, &challenge.id, &body)?;
        Ok(Json(outcome))
    })
}
