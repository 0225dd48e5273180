//! A checkout's charge in three steps, so the processor is never called inside a transaction:
//! prepare (replay a kept answer, or check the request and record the account's pending
//! attempt), charge, record (check again, act on the result, keep the answer, finish the
//! attempt). Used by the confirm and by the 3-D Secure answer.

use crate::AppState;
use crate::checkout::{self, CheckoutPayment};
use crate::error::AppError;
use crate::idempotency::{self, Keyed};
use crate::payments::{self, Attempt, Charge, Prepared};
use crate::processor::ChargeResult;
use crate::store::{self, PaymentMethod};
use billing::Money;
use billing::validate;
use billing::wire::{ChallengeAnswer, ChallengeOutcome, ConfirmCheckout, DeclineCode, PaymentOutcome};
use rusqlite::Connection;
use time::OffsetDateTime;

/// A charge recorded as pending, with what recording its result needs.
#[derive(Debug, Clone)]
pub struct PendingCheckout {
    attempt: Attempt,
    session_id: String,
    email: String,
    expected_total: Money,
    pm: PaymentMethod,
    authenticated: bool,
    answer_to: AnswerTo,
}

/// Where the answer is kept, so a repeat gets it again.
#[derive(Debug, Clone)]
enum AnswerTo {
    Key { scope: String, key: String, fingerprint: String },
    Challenge(String),
}

/// A confirm with its idempotency key, as the page sent it.
pub struct Confirm {
    pub session_id: String,
    pub key: String,
    pub request: ConfirmCheckout,
}

impl Confirm {
    fn scope(&self) -> String {
        format!("checkout:{}", self.session_id)
    }

    /// What the confirm asks for, without its key.
    fn fingerprint(&self) -> String {
        let req = &self.request;
        let billing = req.billing.as_ref();
        idempotency::fingerprint(&[
            req.email.trim(),
            &req.payment_method,
            billing.map(|b| b.country.as_str()).unwrap_or(""),
            billing.and_then(|b| b.postal_code.as_deref()).unwrap_or(""),
            &req.expected_total.cents().to_string(),
        ])
    }
}

type Step = Prepared<PaymentOutcome, PendingCheckout>;

/// Step one of a confirm: the kept answer for its key, or the checks and the pending attempt.
pub fn prepare_confirm(conn: &Connection, confirm: &Confirm, now: OffsetDateTime) -> Result<Step, AppError> {
    let (scope, fingerprint) = (confirm.scope(), confirm.fingerprint());
    let keyed = Keyed { scope: &scope, key: &confirm.key, fingerprint: &fingerprint };
    if let Some(answer) = idempotency::stored(conn, &keyed, time::OffsetDateTime::UNIX_EPOCH)? {
        return Ok(Prepared::Answered(answer));
    }
    let req = &confirm.request;
    let (session, account) = checkout::open_checkout(conn, &confirm.session_id, now)?;
    checkout::ensure_eligible(conn, &account)?;
    check_quote(session.plan, req.expected_total, now)?;
    let email = validate::validate_email(&req.email).map_err(|e| AppError::InvalidEmail(e.message()))?;
    let pm = checkout::usable_payment_method(conn, &req.payment_method, &session)?;
    match (&req.billing, pm.account_id.is_none()) {
        (Some(billing), _) => checkout::check_billing(billing)?,
        (None, true) => return Err(AppError::InvalidBillingDetails("Enter your country or region.".into())),
        (None, false) => {}
    }
    let Some(attempt) = payments::claim(conn, &account.id, "checkout", now)? else {
        return Ok(Prepared::Busy);
    };
    Ok(Prepared::Charge(PendingCheckout {
        attempt,
        session_id: session.id,
        email,
        expected_total: req.expected_total,
        pm,
        authenticated: false,
        answer_to: AnswerTo::Key { scope, key: confirm.key.clone(), fingerprint },
    }))
}

/// Step one of a 3-D Secure answer: the kept outcome of an earlier answer, a failed check (a
/// decline, nothing to charge), or the checks and the pending attempt.
pub fn prepare_answer(
    conn: &Connection,
    session_id: &str,
    answer: &ChallengeAnswer,
    now: OffsetDateTime,
) -> Result<Step, AppError> {
    let challenge = store::get_challenge(conn, &answer.challenge_id, session_id)?.ok_or(AppError::ChallengeNotFound)?;
    if let Some(body) = &challenge.resolved_body {
        return serde_json::from_str(body).map(Prepared::Answered).map_err(|e| AppError::Internal(e.to_string()));
    }
    let (session, account) = checkout::open_checkout(conn, session_id, now)?;
    let pm = checkout::usable_payment_method(conn, &challenge.payment_method_id, &session)?;
    if answer.outcome == ChallengeOutcome::Fail {
        let outcome = checkout::decline(conn, &session, DeclineCode::AuthenticationFailed)?;
        keep_answer(conn, &AnswerTo::Challenge(challenge.id), &outcome, now)?;
        return Ok(Prepared::Answered(outcome));
    }
    // The bank said yes; charge only the amount the user saw when they subscribed.
    let expected_total = challenge.expected_total.unwrap_or_default();
    check_quote(session.plan, expected_total, now)?;
    let Some(attempt) = payments::claim(conn, &account.id, "checkout", now)? else {
        return Ok(Prepared::Busy);
    };
    Ok(Prepared::Charge(PendingCheckout {
        attempt,
        session_id: session.id,
        email: challenge.email,
        expected_total,
        pm,
        authenticated: true,
        answer_to: AnswerTo::Challenge(challenge.id),
    }))
}

fn check_quote(plan: billing::PlanId, expected: Money, now: OffsetDateTime) -> Result<(), AppError> {
    let quote =
        billing::proration::quote_new_subscription(plan, now).map_err(|e| AppError::Internal(format!("{e:?}")))?;
    if quote.total_due_today == expected { Ok(()) } else { Err(AppError::QuoteChanged) }
}

/// Steps two and three: the charge, outside any transaction, then its record. An attempt whose
/// record fails is finished as `failed`, so the account is not left waiting.
pub async fn charge_and_record(
    state: AppState,
    pending: PendingCheckout,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, AppError> {
    let charge = Charge {
        attempt_id: pending.attempt.id.clone(),
        payment_method: pending.pm.clone(),
        kind: checkout::charge_kind(&pending.pm),
        authenticated: pending.authenticated,
    };
    let result = state.processor.charge(&charge).await;
    let attempt_id = pending.attempt.id.clone();
    let recorded = state.store.write(move |tx| record(tx, &pending, result, now)).await;
    if recorded.is_err() {
        state.store.write(move |tx| payments::finish(tx, &attempt_id, "failed", now)).await?;
    }
    recorded
}

fn record(
    conn: &Connection,
    pending: &PendingCheckout,
    result: ChargeResult,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, AppError> {
    let (session, account) = checkout::open_checkout(conn, &pending.session_id, now)?;
    let payment = CheckoutPayment {
        session: &session,
        account: &account,
        email: &pending.email,
        expected_total: pending.expected_total,
    };
    let outcome = checkout::record_charge(conn, &payment, &pending.pm, result, now)?;
    keep_answer(conn, &pending.answer_to, &outcome, now)?;
    let status = match &outcome {
        PaymentOutcome::Succeeded { .. } => "succeeded",
        PaymentOutcome::RequiresAction { .. } => "requires_action",
        PaymentOutcome::Declined { .. } => "declined",
    };
    payments::finish(conn, &pending.attempt.id, status, now)?;
    Ok(outcome)
}

fn keep_answer(
    conn: &Connection,
    to: &AnswerTo,
    outcome: &PaymentOutcome,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    match to {
        AnswerTo::Key { scope, key, fingerprint } => {
            idempotency::keep(conn, &Keyed { scope, key, fingerprint }, outcome, now)
        }
        AnswerTo::Challenge(id) => {
            let body = serde_json::to_string(outcome).map_err(|e| AppError::Internal(e.to_string()))?;
            store::resolve_challenge(conn, id, &body)
        }
    }
}
