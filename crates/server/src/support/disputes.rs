//! Disputes (Stripe mode): a buyer who disputes a payment with their bank. Stripe's
//! `charge.dispute.created` marks the invoices the PaymentIntent paid as disputed, tells the IDE's
//! backend (`invoice.disputed`) and cancels the subscription at the period's end (its reason
//! `payment_disputed`); `charge.dispute.closed` records the bank's decision (`won`, `lost`) and
//! sends `invoice.dispute_closed`. The money itself Stripe has already moved.

use crate::error::AppError;
use crate::store::Conn;
use crate::store::{self, Invoice};
use crate::subscriptions::events::{self, EventType};
use billing::wire::{CancellationReason, SubscriptionStatus};
use time::OffsetDateTime;

/// A dispute Stripe opened on `intent`, now at `status` (Stripe's: `needs_response`, ...).
pub fn opened(conn: &Conn<'_>, intent: &str, status: &str, now: OffsetDateTime) -> Result<usize, AppError> {
    let invoices = mark(conn, intent, status, EventType::InvoiceDisputed, now)?;
    if let Some(account_id) = invoices.first().map(|i| i.account_id.clone()) {
        cancel_at_period_end(conn, &account_id, now)?;
    }
    Ok(invoices.len())
}

/// A dispute the bank decided: `won` (the money stays ours) or `lost` (it went back).
pub fn closed(conn: &Conn<'_>, intent: &str, status: &str, now: OffsetDateTime) -> Result<usize, AppError> {
    Ok(mark(conn, intent, status, EventType::InvoiceDisputeClosed, now)?.len())
}

/// Records `status` on the invoices `intent` paid, each with its event.
fn mark(
    conn: &Conn<'_>,
    intent: &str,
    status: &str,
    kind: EventType,
    now: OffsetDateTime,
) -> Result<Vec<Invoice>, AppError> {
    let mut invoices = store::invoices_paid_by(conn, intent)?;
    for invoice in &mut invoices {
        // Once per status: Stripe may deliver an event twice, even at once.
        if store::set_dispute(conn, &invoice.id, status)? {
            invoice.after_payment.dispute = Some(status.to_string());
            events::invoice_event(conn, kind, invoice, now)?;
        }
    }
    tracing::info!(invoices = invoices.len(), status, "dispute recorded");
    Ok(invoices)
}

/// The disputed account's subscription ends at its period's end, for `payment_disputed`.
fn cancel_at_period_end(conn: &Conn<'_>, account_id: &str, now: OffsetDateTime) -> Result<(), AppError> {
    let Some(mut sub) = store::get_subscription(conn, account_id)? else { return Ok(()) };
    if sub.status == SubscriptionStatus::Canceled || sub.cancel_at_period_end {
        return Ok(());
    }
    sub.cancel_at_period_end = true;
    sub.scheduled_plan = None;
    store::save_subscription(conn, &sub)?;
    store::set_cancellation_reason(conn, account_id, Some(CancellationReason::PaymentDisputed))?;
    events::subscription_event(conn, EventType::SubscriptionUpdated, account_id, now)
}
