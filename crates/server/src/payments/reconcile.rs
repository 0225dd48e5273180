//! Settling orphaned payment attempts: attempts whose lease ran out because their process stopped
//! between a charge and its record, Stripe gave no answer, or the record failed after Stripe
//! charged. Each attempt kept what recording its result needs and (Stripe mode) the id of its
//! PaymentIntent, recorded before the PaymentIntent was confirmed. Charged: the result is recorded
//! as the request would have recorded it (as of the request's instant), so what was paid is
//! granted; no PaymentIntent, or one cancelled now before it could be confirmed: the attempt is
//! abandoned and its account free to pay; Stripe cannot say yet: it is asked again on the next
//! round. In test mode nothing unrecorded was charged: orphans are abandoned. Runs at start and as
//! often as a lease lasts, on every instance; an attempt is settled once (its first record wins).

use super::test_cards::ChargeResult;
use super::{Payments, PendingCharge, Processor};
use crate::checkout::charge::PendingCheckout;
use crate::error::AppError;
use crate::jobs::renewals::PendingRenewal;
use crate::payments;
use crate::portal::account_charge::{PendingCard, PendingInvoice};
use crate::portal::change_charge::PendingChange;
use crate::store::{self, Orphan};

/// Settles every orphaned attempt it can; how many it settled.
pub async fn reconcile(payments: &Payments) -> Result<usize, AppError> {
    let orphans = payments.store.read(store::orphans).await?;
    let mut settled = 0;
    for orphan in orphans {
        // Each orphan is settled by one instance: the one that takes its expired lease, and holds
        // it (renewed) until it is settled.
        let (id, lease) = (orphan.id.clone(), payments.attempt_lease);
        if !payments.store.write(move |tx| store::take_lease(tx, &id, lease)).await? {
            continue;
        }
        let done = payments::holding_lease(payments, &orphan.id, settle_orphan(payments, &orphan)).await;
        match done {
            Ok(true) => settled += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(attempt = %orphan.id, error = %e, "an orphaned payment attempt was not settled"),
        }
    }
    if settled > 0 {
        tracing::info!(settled, "settled orphaned payment attempts with Stripe");
    }
    Ok(settled)
}

async fn settle_orphan(payments: &Payments, orphan: &Orphan) -> Result<bool, AppError> {
    match orphan.purpose.as_str() {
        PendingCheckout::PURPOSE => settle::<PendingCheckout>(payments, orphan).await,
        PendingChange::PURPOSE => settle::<PendingChange>(payments, orphan).await,
        PendingCard::PURPOSE => settle::<PendingCard>(payments, orphan).await,
        PendingInvoice::PURPOSE => settle::<PendingInvoice>(payments, orphan).await,
        PendingRenewal::PURPOSE => settle::<PendingRenewal>(payments, orphan).await,
        _ => abandon(payments, orphan).await,
    }
}

/// One attempt: true once it is settled.
async fn settle<P: PendingCharge>(payments: &Payments, orphan: &Orphan) -> Result<bool, AppError> {
    // The charge is kept before the processor is called: without it, nothing was charged.
    let Some(pending) = orphan.pending.as_deref().and_then(|json| serde_json::from_str::<P>(json).ok()) else {
        return abandon(payments, orphan).await;
    };
    match payments.processor.look_up(&pending.charge(), orphan).await {
        None => abandon(payments, orphan).await,
        Some(charged) if charged.result == ChargeResult::Unknown => Ok(false),
        Some(charged) => {
            tracing::warn!(attempt = %orphan.id, result = ?charged.result, "recording a charge a request left unrecorded");
            payments::record_result(payments, pending, charged, orphan.created_at).await.map(|_| true)
        }
    }
}

/// Nothing to record (or a refund a process left unfinished): the attempt ends and its account may
/// pay again. A PaymentIntent it recorded is settled first (cancelled if open): one that was paid
/// although nothing can record it (an attempt this build cannot read, a refund left unfinished)
/// is refunded, never kept.
async fn abandon(payments: &Payments, orphan: &Orphan) -> Result<bool, AppError> {
    let mut ending = "abandoned";
    if let (Processor::Stripe(client), Some(intent)) = (&payments.processor, &orphan.intent_id) {
        let Some(settled) = payments::settle_waiting(client, intent).await else {
            return Ok(false);
        };
        if settled.status == "succeeded" {
            ending = payments::refund(client, intent).await;
            tracing::warn!(attempt = %orphan.id, %intent, ending, "a paid charge no request can record was given back");
        } else if settled.status != "canceled" {
            return Ok(false);
        }
    }
    let (id, at) = (orphan.id.clone(), orphan.created_at);
    payments.store.write(move |tx| store::finish_attempt(tx, &id, ending, at)).await?;
    tracing::info!(attempt = %orphan.id, ending, "an orphaned payment attempt was settled without a record");
    Ok(true)
}
