//! Giving money back: a refund held on its invoice (see [`store::hold_refund`]) is sent to the
//! processor that took the money, outside any transaction, its lease renewed meanwhile, then
//! finished with the answer: the credit note numbered and `invoice.refunded` recorded, or the hold
//! released. In test mode the test processor gives back at once; in Stripe mode it is a Stripe
//! Refund on the invoice's PaymentIntent, made with our refund's id as its idempotency key and in
//! its metadata. A held refund is always given back: one whose process stopped (or whose lease ran
//! out before it was sent) is finished by [`reconcile_refunds`] on any instance, which looks for it
//! among the PaymentIntent's refunds and sends it (with the same key) only when Stripe has none.

use super::{Payments, Processor, StripeError};
use crate::error::AppError;
use crate::store::{self, Refund, RefundAnswer};
use crate::subscriptions::events::{self, EventType};
use time::OffsetDateTime;

/// A refund held on its invoice (see [`store::hold_refund`]), to be given back, and the
/// PaymentIntent that paid the invoice (Stripe mode).
#[derive(Debug, Clone)]
pub struct HeldRefund {
    pub refund: Refund,
    pub intent: Option<String>,
}

/// Sends held refunds to the processor, all at once, and records each answer: the refunds as they
/// end (one Stripe could not answer stays `pending`, finished later by reconciliation).
pub async fn give_back_all(payments: &Payments, held: Vec<HeldRefund>, now: OffsetDateTime) -> Vec<Refund> {
    let sending = held.into_iter().map(|held| async move {
        let refund = held.refund.clone();
        match give_back(payments, held, now).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(refund = %refund.id, error = %e, "a refund is left to reconciliation");
                refund
            }
        }
    });
    futures_util::future::join_all(sending).await
}

/// Sends a held refund to the processor and records the answer; the refund as it ends. Sent only
/// while this process's lease on it is live: otherwise reconciliation may be finishing it, and it
/// alone does.
pub async fn give_back(payments: &Payments, held: HeldRefund, now: OffsetDateTime) -> Result<Refund, AppError> {
    let HeldRefund { refund, intent } = held;
    let (id, lease) = (refund.id.clone(), payments.attempt_lease);
    if !payments.store.write(move |tx| store::keep_refund_lease(tx, &id, lease)).await? {
        return Err(AppError::ProcessorUnavailable);
    }
    let asking = ask_processor(payments, &refund, intent.as_deref());
    let answer = super::renewing(payments, &refund.id, store::renew_refund_lease, asking).await;
    let Some(answer) = answer else {
        // No answer from Stripe: whether it was made is found out by reconciliation.
        let id = refund.id.clone();
        payments.store.write(move |tx| store::orphan_refund(tx, &id)).await?;
        return Err(AppError::ProcessorUnavailable);
    };
    finish(payments, &refund.id, answer, now).await
}

/// The processor's answer; `None` when Stripe's answer is not known (it may have been made).
async fn ask_processor(payments: &Payments, refund: &Refund, intent: Option<&str>) -> Option<RefundAnswer> {
    let Processor::Stripe(client) = &payments.processor else {
        return Some(RefundAnswer::Succeeded { processor_id: None });
    };
    let Some(intent) = intent else {
        return Some(RefundAnswer::Failed { failure: "no PaymentIntent paid this invoice".into() });
    };
    match client.refund_part(intent, refund.amount.cents(), &refund.id).await {
        Ok(made) => Some(stripe_answer(made)),
        Err(StripeError::Unavailable(_) | StripeError::Malformed(_)) => None,
        Err(e) => {
            tracing::warn!(refund = %refund.id, error = %e, "Stripe refused a refund");
            Some(RefundAnswer::Failed { failure: e.to_string() })
        }
    }
}

/// A Stripe Refund as our answer: `failed` and `canceled` gave nothing back; `succeeded` and
/// `pending` (on its way to the card) did.
fn stripe_answer(made: super::stripe::Refund) -> RefundAnswer {
    match made.status.as_deref() {
        Some("failed" | "canceled") => RefundAnswer::Failed { failure: "Stripe reported the refund failed".into() },
        _ => RefundAnswer::Succeeded { processor_id: Some(made.id) },
    }
}

/// Records the processor's answer (once: a refund finished already is returned as it is).
async fn finish(
    payments: &Payments,
    refund_id: &str,
    answer: RefundAnswer,
    now: OffsetDateTime,
) -> Result<Refund, AppError> {
    let id = refund_id.to_string();
    payments
        .store
        .write(move |tx| match store::finish_refund(tx, &id, &answer)? {
            Some(done) => {
                if done.status == store::RefundStatus::Succeeded {
                    refunded_event(tx, &done, now)?;
                }
                Ok(done)
            }
            None => store::get_refund(tx, &id)?.ok_or_else(|| AppError::internal("a refund went missing")),
        })
        .await
}

/// `invoice.refunded`: the invoice as it now is, with the refund and its credit note.
fn refunded_event(conn: &store::Conn<'_>, refund: &Refund, now: OffsetDateTime) -> Result<(), AppError> {
    let invoice = store::get_invoice(conn, &refund.invoice_id)?.ok_or_else(|| AppError::internal("no invoice"))?;
    let mut data = events::invoice_object(&invoice);
    data["refund"] = refund_object(refund, &invoice.number);
    tracing::info!(amount = refund.amount.cents(), "refund given back");
    events::record_event(conn, EventType::InvoiceRefunded, &invoice.account_id, data, now)
}

/// A refund as the server API shows it (Stripe's Refund, with its credit note).
pub fn refund_object(refund: &Refund, invoice_number: &str) -> serde_json::Value {
    let status = match refund.status {
        store::RefundStatus::Pending => "pending",
        store::RefundStatus::Succeeded => "succeeded",
        store::RefundStatus::Failed => "failed",
    };
    let credit_note = refund.credit_note.as_ref().map(|number| {
        serde_json::json!({
            "number": number,
            "invoice_number": invoice_number,
            "amount": refund.amount,
            "lines": refund.lines,
        })
    });
    serde_json::json!({
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "currency": "usd",
        "invoice": refund.invoice_id,
        "reason": refund.reason,
        "status": status,
        "created": refund.created_at.unix_timestamp(),
        "credit_note": credit_note,
        "failure_reason": refund.failure,
    })
}

/// Finishes refunds whose lease ran out (their process stopped, or never sent them): each is given
/// back, once. Test mode: the test processor gives it back. Stripe mode: a refund of the
/// PaymentIntent carrying our id says it was made; without one it is sent now, with the same
/// idempotency key as the first try (Stripe answers a repeat with the refund it made).
pub async fn reconcile_refunds(payments: &Payments) -> Result<usize, AppError> {
    let orphans = payments.store.read(store::orphaned_refunds).await?;
    let mut finished = 0;
    for refund in orphans {
        let (id, lease) = (refund.id.clone(), payments.attempt_lease);
        if !payments.store.write(move |tx| store::take_refund_lease(tx, &id, lease)).await? {
            continue;
        }
        let looking = look_up(payments, &refund);
        let Some(answer) = super::renewing(payments, &refund.id, store::renew_refund_lease, looking).await else {
            continue;
        };
        // Recorded as of the request that made it, as an orphaned charge is.
        finish(payments, &refund.id, answer, refund.created_at).await?;
        finished += 1;
    }
    Ok(finished)
}

/// What became of an orphaned refund, sending it when it was never made; `None` when Stripe
/// cannot say yet.
async fn look_up(payments: &Payments, refund: &Refund) -> Option<RefundAnswer> {
    let Processor::Stripe(client) = &payments.processor else {
        return Some(RefundAnswer::Succeeded { processor_id: None });
    };
    let id = refund.invoice_id.clone();
    let invoice = payments.store.read(move |conn| store::get_invoice(conn, &id)).await.ok().flatten();
    let intent = invoice.and_then(|i| i.after_payment.payment_intent);
    let Some(intent) = intent else {
        return Some(RefundAnswer::Failed { failure: "no PaymentIntent paid this invoice".into() });
    };
    let made = client.refunds_of(&intent).await.ok()?;
    match made.into_iter().find(|r| r.metadata.get("refund") == Some(&refund.id)) {
        Some(found) => Some(stripe_answer(found)),
        None => ask_processor(payments, refund, Some(&intent)).await,
    }
}
