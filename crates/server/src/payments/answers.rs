//! 3-D Secure answers in Stripe mode, and money Stripe took that we cannot grant.
//!
//! The page's answer ("complete" or "fail") is never what decides: the PaymentIntent that waited
//! does. Before an answer is recorded, a PaymentIntent that is not paid is cancelled at Stripe, so
//! the bank's check cannot finish it after we recorded a decline (a double click, a second tab, a
//! Stripe.js error answering early); one the cancel finds paid is granted as a "complete". When
//! granting then fails for good (the session expired meanwhile, the account subscribed elsewhere,
//! the price moved), the money is refunded; a `payment_intent.succeeded` for a PaymentIntent whose
//! attempts were all recorded as unpaid is refunded too. Each refund is logged and kept as an
//! attempt of its own.

use super::{Payments, PendingCharge, Prepared, Processor};
use crate::error::AppError;
use crate::payments;
use crate::store;
use crate::store::Conn;
use billing::wire::{ChallengeAnswer, ChallengeOutcome};
use std::sync::Arc;
use time::OffsetDateTime;

/// How one of the three answers (checkout, upgrade, past-due invoice) starts: the kept outcome,
/// or the checks and the pending attempt.
pub type PrepareAnswer<P> = fn(&Conn<'_>, &str, &ChallengeAnswer, OffsetDateTime) -> Result<Prepared<P>, AppError>;

/// Answers challenge `answer.challenge_id` of `session_id` with what Stripe says (Stripe mode) or
/// the page's word (test mode, where the challenge is our own stand-in), then charges and records
/// through `prepare` as every charge does.
pub async fn answer<P>(
    payments: &Payments,
    now: OffsetDateTime,
    session_id: String,
    answer: ChallengeAnswer,
    prepare: PrepareAnswer<P>,
) -> Result<P::Outcome, AppError>
where
    P: PendingCharge + std::fmt::Debug,
{
    let (answer, paid) = settled_answer(payments, &session_id, answer).await?;
    let asked = Arc::new((session_id, answer));
    let result = payments::charge_once(payments, now, move |tx| prepare(tx, &asked.0, &asked.1, now)).await;
    match (&result, paid) {
        (Err(e), Some(intent)) if !e.is_transient() => {
            tracing::warn!(%intent, error = %e, "a paid 3-D Secure challenge could not be granted");
            refund_if_ungranted(payments, &intent, now).await?;
        }
        _ => {}
    }
    result
}

/// The answer as Stripe has it, and the PaymentIntent when it is paid. An answer already kept is
/// left to `prepare` to replay.
async fn settled_answer(
    payments: &Payments,
    session_id: &str,
    answer: ChallengeAnswer,
) -> Result<(ChallengeAnswer, Option<String>), AppError> {
    let Processor::Stripe(client) = &payments.processor else {
        return Ok((answer, None));
    };
    let (id, session) = (answer.challenge_id.to_string(), session_id.to_string());
    let challenge = payments.store.read(move |conn| store::get_challenge(conn, &id, &session)).await?;
    let Some(intent) = challenge.filter(|c| c.resolved_body.is_none()).and_then(|c| c.intent_id) else {
        return Ok((answer, None));
    };
    let settled = payments::settle_waiting(client, &intent).await.ok_or(AppError::ProcessorUnavailable)?;
    let outcome = match settled.status.as_str() {
        "succeeded" => ChallengeOutcome::Complete,
        "canceled" => ChallengeOutcome::Fail,
        _ => return Err(AppError::ProcessorUnavailable),
    };
    let paid = (outcome == ChallengeOutcome::Complete).then_some(intent);
    Ok((ChallengeAnswer { outcome, ..answer }, paid))
}

/// Refunds PaymentIntent `intent` if Stripe took its money and no attempt of ours granted it, is
/// still settling it, or refunded it already; the refund is claimed as an attempt first (see
/// [`store::claim_refund`]), and one this process does not finish is finished by
/// reconciliation. PaymentIntents no attempt of ours made are not ours to refund.
pub async fn refund_if_ungranted(payments: &Payments, intent: &str, now: OffsetDateTime) -> Result<(), AppError> {
    let Processor::Stripe(client) = &payments.processor else {
        return Ok(());
    };
    let (id, lease) = (intent.to_string(), payments.attempt_lease);
    let attempt = match payments.store.write(move |tx| store::claim_refund(tx, &id, lease, now)).await? {
        store::RefundClaim::Nothing => return Ok(()),
        store::RefundClaim::Busy => return Err(AppError::PaymentInProgress),
        store::RefundClaim::Claimed(attempt) => attempt,
    };
    let ending = payments::holding_lease(payments, &attempt.id, async {
        match client.payment_intent(intent).await {
            Ok(found) if found.status == "succeeded" => Some(payments::refund(client, intent).await),
            // Not paid: nothing to give back.
            Ok(_) => Some("abandoned"),
            Err(e) => {
                tracing::warn!(%intent, error = %e, "could not read a PaymentIntent to refund");
                None
            }
        }
    })
    .await;
    let Some(ending) = ending else {
        // Left to reconciliation, which refunds it if it was paid.
        let id = attempt.id.clone();
        payments.store.write(move |tx| store::orphan_attempt(tx, &id)).await?;
        return Err(AppError::ProcessorUnavailable);
    };
    if ending != "abandoned" {
        tracing::warn!(%intent, ending, "money Stripe took that could not be granted was given back");
    }
    Ok(payments.store.write(move |tx| store::finish_attempt(tx, &attempt.id, ending, now).map(|_| ())).await?)
}
