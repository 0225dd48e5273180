//! Giving money back: a refund held on its invoice (see [`store::hold_refund`]) is sent to the
//! processor that took the money, outside any transaction, its lease renewed meanwhile, then
//! finished with the answer: the credit note numbered and `invoice.refunded` recorded, or the hold
//! released. In test mode the test processor gives back at once; in Stripe mode it is a Stripe
//! Refund on the invoice's PaymentIntent, made with our refund's id as its idempotency key and
//! metadata. A refund whose process stopped is finished by [`reconcile_refunds`] on any instance:
//! Stripe's refunds of the PaymentIntent say whether it was made.

use super::{Payments, Processor};
use crate::error::AppError;
use crate::store::{self, Refund, RefundAnswer};
use crate::subscriptions::events::{self, EventType};
use time::OffsetDateTime;

/// Sends a held refund to the processor and records the answer; the refund as it ends. `intent`
/// is the PaymentIntent that paid its invoice (Stripe mode).
pub async fn give_back(
    payments: &Payments,
    refund: Refund,
    intent: Option<String>,
    now: OffsetDateTime,
) -> Result<Refund, AppError> {
    let answer = super::renewing(
        payments,
        &refund.id,
        store::renew_refund_lease,
        ask_processor(payments, &refund, intent.as_deref()),
    )
    .await;
    let Some(answer) = answer else {
        // No answer from Stripe: whether it was made is found out by reconciliation.
        let id = refund.id.clone();
        payments.store.write(move |tx| store::orphan_refund(tx, &id)).await?;
        return Err(AppError::ProcessorUnavailable);
    };
    finish(payments, &refund.id, answer, now).await
}

/// The processor's answer; `None` when Stripe could not be reached (it may have been made).
async fn ask_processor(payments: &Payments, refund: &Refund, intent: Option<&str>) -> Option<RefundAnswer> {
    let Processor::Stripe(client) = &payments.processor else {
        return Some(RefundAnswer::Succeeded { processor_id: None });
    };
    let Some(intent) = intent else {
        return Some(RefundAnswer::Failed { failure: "no PaymentIntent paid this invoice".into() });
    };
    match client.refund_part(intent, refund.amount.cents(), &refund.id).await {
        Ok(made) if made.status.as_deref() == Some("failed") => {
            Some(RefundAnswer::Failed { failure: "Stripe reported the refund failed".into() })
        }
        Ok(made) => Some(RefundAnswer::Succeeded { processor_id: Some(made.id) }),
        Err(super::StripeError::Unavailable(_)) => None,
        Err(e) => {
            tracing::warn!(refund = %refund.id, error = %e, "Stripe refused a refund");
            Some(RefundAnswer::Failed { failure: e.to_string() })
        }
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

/// Finishes refunds whose process stopped mid-refund. Test mode: nothing was given back (the
/// test processor answers at once, within the request), so the hold is released. Stripe mode: a
/// refund of the PaymentIntent carrying our id says it was made; none says it was not.
pub async fn reconcile_refunds(payments: &Payments) -> Result<usize, AppError> {
    let orphans = payments.store.read(store::orphaned_refunds).await?;
    let mut finished = 0;
    for refund in orphans {
        let (id, lease) = (refund.id.clone(), payments.attempt_lease);
        if !payments.store.write(move |tx| store::take_refund_lease(tx, &id, lease)).await? {
            continue;
        }
        let Some(answer) = look_up(payments, &refund).await else { continue };
        // Recorded as of the request that made it, as an orphaned charge is.
        finish(payments, &refund.id, answer, refund.created_at).await?;
        finished += 1;
    }
    Ok(finished)
}

/// What became of an orphaned refund; `None` when Stripe cannot say yet.
async fn look_up(payments: &Payments, refund: &Refund) -> Option<RefundAnswer> {
    let Processor::Stripe(client) = &payments.processor else {
        return Some(RefundAnswer::Failed { failure: "the server stopped before the refund was made".into() });
    };
    let (id, invoice_id) = (refund.invoice_id.clone(), refund.invoice_id.clone());
    let invoice = payments.store.read(move |conn| store::get_invoice(conn, &id)).await.ok().flatten();
    let Some(intent) = invoice.and_then(|i| i.after_payment.payment_intent) else {
        tracing::warn!(invoice = %invoice_id, "an orphaned refund's invoice has no PaymentIntent");
        return Some(RefundAnswer::Failed { failure: "no PaymentIntent paid this invoice".into() });
    };
    let made = client.refunds_of(&intent).await.ok()?;
    Some(match made.into_iter().find(|r| r.metadata.get("refund") == Some(&refund.id)) {
        Some(found) => RefundAnswer::Succeeded { processor_id: Some(found.id) },
        None => RefundAnswer::Failed { failure: "the server stopped before the refund was made".into() },
    })
}
