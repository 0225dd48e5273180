//! The browser API of the checkout page. The session id in the path is the page's only credential.

use crate::checkout::CheckoutPayment;
use crate::error::{ApiJson, AppError};
use crate::ids::new_id;
use crate::limits::{self, SessionLimit};
use crate::store::{self, PaymentMethod};
use crate::{AppState, checkout, idempotency, processor};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::validate;
use billing::wire::{
    CardSummary, ChallengeAnswer, ChallengeOutcome, CheckoutView, ConfirmCheckout, DeclineCode, PaymentOutcome,
    TokenizeCard,
};

/// `/api/checkout/{session_id}/...`
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{session_id}", get(get_session))
        .route("/{session_id}/card", post(tokenize_card))
        .route("/{session_id}/confirm", post(confirm))
        .route("/{session_id}/challenge", post(answer_challenge))
}

pub async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckoutView>, AppError> {
    let now = state.clock.now();
    let st = state.clone();
    state.store.read(move |conn| checkout::checkout_view(conn, &st, &id, now)).await.map(Json)
}

/// The processor's tokenize step: the card number is checked and dropped here, never stored or
/// logged; the token keeps brand, last 4 and expiry.
pub async fn tokenize_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(card): ApiJson<TokenizeCard>,
) -> Result<Json<CardSummary>, AppError> {
    let now = state.clock.now();
    let today = processor::year_month(now);
    let token = processor::tokenize(&card.number, card.exp_month, card.exp_year, &card.cvc, &card.name, today)
        .map_err(AppError::InvalidCard)?;
    state
        .store
        .write(move |tx| {
            let (session, _) = checkout::open_checkout(tx, &id, now)?;
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
            };
            store::insert_payment_method(tx, &pm, now)?;
            Ok(Json(summary))
        })
        .await
}

/// What a confirm asks for, without its key.
fn fingerprint(req: &ConfirmCheckout) -> String {
    let billing = req.billing.as_ref();
    idempotency::fingerprint(&[
        req.email.trim(),
        &req.payment_method,
        billing.map(|b| b.country.as_str()).unwrap_or(""),
        billing.and_then(|b| b.postal_code.as_deref()).unwrap_or(""),
        &req.expected_total.cents().to_string(),
    ])
}

/// Confirms the checkout: one charge per session whatever the retries, double clicks or races.
pub async fn confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmCheckout>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let key = idempotency::checked_key(&req.idempotency_key)?.to_string();
    let now = state.clock.now();
    state
        .store
        .write(move |tx| {
            let scope = format!("checkout:{id}");
            let keyed = idempotency::Keyed { scope: &scope, key: &key, fingerprint: &fingerprint(&req) };
            idempotency::once(tx, &keyed, now, || {
                let (session, account) = checkout::open_checkout(tx, &id, now)?;
                checkout::ensure_eligible(tx, &account)?;
                let quote = billing::proration::quote_new_subscription(session.plan, now)
                    .map_err(|e| AppError::Internal(format!("{e:?}")))?;
                if quote.total_due_today != req.expected_total {
                    return Err(AppError::QuoteChanged);
                }
                let email = validate::validate_email(&req.email).map_err(|e| AppError::InvalidEmail(e.message()))?;
                let pm = checkout::usable_payment_method(tx, &req.payment_method, &session)?;
                match (&req.billing, pm.account_id.is_none()) {
                    (Some(billing), _) => checkout::check_billing(billing)?,
                    (None, true) => {
                        return Err(AppError::InvalidBillingDetails("Enter your country or region.".into()));
                    }
                    (None, false) => {}
                }
                checkout::pay_checkout(
                    tx,
                    &CheckoutPayment {
                        session: &session,
                        account: &account,
                        email: &email,
                        expected_total: req.expected_total,
                    },
                    &pm,
                    false,
                    now,
                )
            })
            .map(Json)
        })
        .await
}

/// The answer from the 3-D Secure stand-in. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<PaymentOutcome>, AppError> {
    let now = state.clock.now();
    state
        .store
        .write(move |tx| {
            idempotency::answer_challenge_once(
                tx,
                &answer.challenge_id,
                &id,
                |_| true,
                |challenge| {
                    let (session, account) = checkout::open_checkout(tx, &id, now)?;
                    let pm = checkout::usable_payment_method(tx, &challenge.payment_method_id, &session)?;
                    let outcome = match answer.outcome {
                        ChallengeOutcome::Complete => {
                            // The bank said yes; charge only the amount the user saw when they subscribed.
                            let expected = challenge.expected_total.unwrap_or_default();
                            let quote = billing::proration::quote_new_subscription(session.plan, now)
                                .map_err(|e| AppError::Internal(format!("{e:?}")))?;
                            if quote.total_due_today != expected {
                                return Err(AppError::QuoteChanged);
                            }
                            let payment = CheckoutPayment {
                                session: &session,
                                account: &account,
                                email: &challenge.email,
                                expected_total: expected,
                            };
                            checkout::pay_checkout(tx, &payment, &pm, true, now)?
                        }
                        ChallengeOutcome::Fail => checkout::decline(tx, &session, DeclineCode::AuthenticationFailed)?,
                    };
                    Ok(outcome)
                },
            )
            .map(Json)
        })
        .await
}
