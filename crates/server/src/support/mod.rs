//! Support operations (SPEC section 13): refunds of paid invoices, each a credit note; ending a
//! subscription now, with or without a prorated refund; disputes Stripe reports. The money moves
//! in [`crate::payments::refunds`]; here are the rules for what may be given back.

pub mod disputes;
pub mod handlers;

use crate::error::AppError;
use crate::ids::new_id;
use crate::payments::refunds::HeldRefund;
use crate::store::Conn;
use crate::store::{self, Invoice, Refund, RefundStatus, Subscription};
use billing::Money;
use billing::proration::LineItem;
use billing::wire::{CancellationReason, InvoiceStatus, SubscriptionStatus};
use std::time::Duration;
use time::OffsetDateTime;

/// Stripe's refund reasons.
pub const REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

/// What the processor needs to give back through: Stripe needs the PaymentIntent.
#[derive(Debug, Clone, Copy)]
pub struct Giving {
    pub needs_intent: bool,
    pub lease: Duration,
}

/// Holds a refund of `amount` (all that is left when `None`) on invoice `invoice_id`, in the
/// caller's transaction: refused (nothing held) when the invoice is not a paid one, or when that
/// is more than is left to give back.
pub fn hold_refund(
    conn: &Conn<'_>,
    invoice_id: &str,
    amount: Option<Money>,
    reason: &str,
    giving: Giving,
    now: OffsetDateTime,
) -> Result<HeldRefund, AppError> {
    let invoice = store::get_invoice(conn, invoice_id)?.ok_or(AppError::NotFound)?;
    refundable_at_all(&invoice, giving)?;
    let left = invoice.refundable();
    if left == Money::ZERO && invoice.after_payment.refund_pending == Money::ZERO {
        return Err(AppError::InvoiceNotRefundable(format!("{} is refunded in full already.", invoice.number)));
    }
    let amount = amount.unwrap_or(left);
    let refund = Refund {
        id: new_id("re"),
        invoice_id: invoice.id.clone(),
        account_id: invoice.account_id.clone(),
        amount,
        reason: reason.to_string(),
        status: RefundStatus::Pending,
        credit_note: None,
        lines: vec![credit_line(&invoice, amount, left)],
        created_at: now,
        processor_id: None,
        failure: None,
    };
    if amount == Money::ZERO || amount > left || !store::hold_refund(conn, &refund, giving.lease)? {
        return Err(AppError::AmountTooLarge(left.to_string()));
    }
    Ok(HeldRefund { refund, intent: invoice.after_payment.payment_intent })
}

/// Refused: an invoice not paid, paid nothing, or (Stripe mode) paid before this build kept the
/// PaymentIntent.
fn refundable_at_all(invoice: &Invoice, giving: Giving) -> Result<(), AppError> {
    let number = &invoice.number;
    if invoice.status != InvoiceStatus::Paid {
        return Err(AppError::InvoiceNotRefundable(format!("{number} is not paid, so there is nothing to refund.")));
    }
    if invoice.amount <= Money::ZERO {
        return Err(AppError::InvoiceNotRefundable(format!("{number} was for $0.00: nothing was paid.")));
    }
    if giving.needs_intent && invoice.after_payment.payment_intent.is_none() {
        return Err(AppError::InvoiceNotRefundable(format!(
            "{number} was paid before refunds were recorded here: refund it in Stripe's Dashboard."
        )));
    }
    Ok(())
}

/// The credit note's line: the whole invoice, or part of it.
fn credit_line(invoice: &Invoice, amount: Money, left: Money) -> LineItem {
    let whole = amount == invoice.amount && left == invoice.amount;
    let description = if whole {
        format!("Refund of invoice {}", invoice.number)
    } else {
        format!("Partial refund of invoice {} ({amount} of {})", invoice.number, invoice.amount)
    };
    LineItem { description, amount, label: None }
}

/// What ending a subscription now gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOnCancel {
    /// The unused part of the period, as proration counts days, rounded once.
    Prorated,
    None,
}

/// Ends the account's subscription now (Free from `now`), in the caller's transaction: usage so
/// far counts against the plan it was used on, unpaid invoices are voided, and with `Prorated`
/// the unused part of what this period's plan cost is held as refunds on the period's invoices,
/// newest first. Refused while a charge of the account is in flight (its record would race it).
pub fn cancel_now(
    conn: &Conn<'_>,
    account_id: &str,
    refund: RefundOnCancel,
    giving: Giving,
    now: OffsetDateTime,
) -> Result<Vec<HeldRefund>, AppError> {
    store::get_account(conn, account_id)?.ok_or(AppError::AccountNotFound { param: None })?;
    if store::has_pending_attempt(conn, account_id)? {
        return Err(AppError::PaymentInProgress);
    }
    // A period that ended is closed first (renewed, or ended), as any request of the account does.
    crate::jobs::renewals::run_due(conn, now, Some(account_id), usize::MAX)?;
    let mut sub = store::get_subscription(conn, account_id)?
        .filter(|s| s.status != SubscriptionStatus::Canceled && s.plan.is_paid())
        .ok_or(AppError::NoSubscription)?;
    let paid = this_periods_invoices(conn, &sub)?;
    let unused = match (refund, sub.status) {
        (RefundOnCancel::Prorated, SubscriptionStatus::Active) => unused_part(&sub, &paid, now)?,
        _ => Money::ZERO,
    };
    let period = billing::period::Period { start: sub.period_start, end: sub.period_end };
    // Usage so far counts against the plan in effect (Free while past due), as at a period's end.
    let in_effect = if sub.status == SubscriptionStatus::Active { sub.plan } else { billing::PlanId::Free };
    crate::usage::end_period(conn, account_id, period, in_effect)?;
    store::void_drafts(conn, account_id)?;
    crate::jobs::renewals::cancel(conn, &mut sub, CancellationReason::CancellationRequested, now)?;
    hold_spread(conn, &paid, unused, giving, now)
}

/// The paid invoices of this subscription's current period, newest first (not those of an
/// earlier subscription the same month).
fn this_periods_invoices(conn: &Conn<'_>, sub: &Subscription) -> Result<Vec<Invoice>, AppError> {
    let invoices = store::account_invoices(conn, &sub.account_id)?;
    let ours = |i: &Invoice| {
        i.status == InvoiceStatus::Paid && i.period_start == sub.period_start && i.created_at >= sub.first_paid_at
    };
    Ok(invoices.into_iter().rev().filter(ours).collect())
}

/// What was paid for this period's plan (less what was refunded of it already), for the days from
/// `now` to the period's end: in proportion to the days it paid for (from the start of the period,
/// or from when the account first paid, as an upgrade re-rates them), rounded once.
fn unused_part(sub: &Subscription, paid: &[Invoice], now: OffsetDateTime) -> Result<Money, AppError> {
    let period = billing::period::Period { start: sub.period_start, end: sub.period_end };
    let paid_days = period.days_left_from(sub.first_paid_at.max(period.start));
    let unused_days = period.days_left_from(now).min(paid_days);
    if paid_days <= 0 {
        return Ok(Money::ZERO);
    }
    let refunded: i64 = paid.iter().map(|i| i.after_payment.amount_refunded.cents()).sum();
    let net = Money::from_cents((sub.paid_this_period.cents() - refunded).max(0));
    net.mul_ratio(unused_days, paid_days).ok_or_else(|| AppError::internal("overflow prorating a refund"))
}

/// Holds `total` as refunds on `paid` (this period's invoices, newest first), each at most what it
/// has left to give back.
fn hold_spread(
    conn: &Conn<'_>,
    paid: &[Invoice],
    total: Money,
    giving: Giving,
    now: OffsetDateTime,
) -> Result<Vec<HeldRefund>, AppError> {
    let mut left = total;
    let mut held = Vec::new();
    for invoice in paid {
        if left == Money::ZERO {
            break;
        }
        let amount = left.min(invoice.refundable());
        if amount == Money::ZERO || refundable_at_all(invoice, giving).is_err() {
            continue;
        }
        held.push(hold_refund(conn, &invoice.id, Some(amount), "requested_by_customer", giving, now)?);
        left = Money::from_cents(left.cents() - amount.cents());
    }
    if left > Money::ZERO {
        // Invoices paid before this build kept their PaymentIntent (Stripe mode): refund by hand.
        tracing::warn!(left = left.cents(), "part of a prorated refund has no payment to go back through");
    }
    Ok(held)
}
