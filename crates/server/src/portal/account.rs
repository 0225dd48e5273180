//! Portal account management: the card on file, paying what a past-due account owes, cancel and
//! resume, overage, and the billing history.

use crate::error::AppError;
use crate::jobs::renewals::{self, Owed};
use crate::payments::limits::{self};
use crate::payments::test_cards::ChargeResult;
use crate::payments::{self, Charged};
use crate::store::Conn;
use crate::store::{self, Invoice, PaymentMethod, PortalSession, Subscription};
use crate::subscriptions::events::{self, EventType};
use billing::Money;
use billing::period::Period;
use billing::wire::{
    AmountDue, Branding, DeclineCode, InvoiceDetail, InvoicePaymentOutcome, InvoiceStatus, InvoiceSummary,
    PaymentMethodOutcome, SubscriptionStatus,
};
use time::OffsetDateTime;

pub fn summary(invoice: &Invoice) -> InvoiceSummary {
    InvoiceSummary {
        id: invoice.id.clone().into(),
        number: invoice.number.clone(),
        created_at: invoice.created_at,
        amount: invoice.amount,
        status: invoice.status,
        amount_refunded: invoice.after_payment.amount_refunded,
        credit_notes: Vec::new(),
    }
}

/// [`summary`] with the credit notes of the refunds given back on it.
pub fn summary_with_credit_notes(conn: &Conn<'_>, invoice: &Invoice) -> Result<InvoiceSummary, AppError> {
    let mut summary = summary(invoice);
    if invoice.after_payment.amount_refunded > billing::Money::ZERO {
        let refunds = store::invoice_refunds(conn, &invoice.id)?;
        summary.credit_notes = refunds
            .into_iter()
            .filter_map(|r| {
                let number = r.credit_note?;
                Some(billing::wire::CreditNoteSummary { number, amount: r.amount, created_at: r.created_at })
            })
            .collect();
    }
    Ok(summary)
}

/// What a past-due account owes: its invoices whose charge failed (not one still waiting for its
/// renewal charge), oldest first, their total, and when the card on file is tried again and the
/// subscription canceled if that fails too.
pub fn amount_due(conn: &Conn<'_>, sub: &Subscription) -> Result<Option<AmountDue>, AppError> {
    let owed = store::open_invoices(conn, &sub.account_id, false)?;
    if owed.is_empty() || sub.status == SubscriptionStatus::Canceled {
        return Ok(None);
    }
    let retries = store::get_retries(conn, &sub.account_id)?;
    let cancels_at = match &retries {
        Some(retries) => renewals::cancels_at(conn, retries)?,
        None => None,
    };
    Ok(Some(AmountDue {
        amount: Owed::of(&owed)?.amount,
        invoices: owed.iter().map(summary).collect(),
        next_retry_at: retries.and_then(|r| r.next_at),
        cancels_at,
    }))
}

/// A past-due account's charge as the processor answered it: in which session, for what was
/// owed, on which card.
#[derive(Clone, Copy)]
pub struct ChargedInvoices<'a> {
    pub session: &'a PortalSession,
    pub owed: &'a Owed,
    pub pm: &'a PaymentMethod,
    pub charged: &'a Charged,
}

/// Acts on the charge of a past-due account's open invoices (`owed`, in one charge) to `pm`: on
/// success they are all paid and the subscription active again. Checked again here: exactly
/// those invoices must still be open, at that total (else the charge is refused, or refunded).
pub fn record_invoice_payment(
    conn: &Conn<'_>,
    sub: &mut Subscription,
    payment: &ChargedInvoices<'_>,
    now: OffsetDateTime,
) -> Result<InvoicePaymentOutcome, AppError> {
    let ChargedInvoices { session, owed, pm, charged } = *payment;
    let invoices = owed.still_open(conn, &sub.account_id, false)?;
    if invoices.is_empty() {
        return Err(AppError::InvalidRequest("There is no unpaid invoice.".into()));
    }
    match charged.result {
        ChargeResult::Succeeded => {
            renewals::settle(conn, sub, &invoices, Some(pm), now)?;
            tracing::info!(amount = owed.amount.cents(), invoices = invoices.len(), "past-due invoices paid");
            let count = u32::try_from(invoices.len()).ok();
            Ok(InvoicePaymentOutcome::Paid { amount: owed.amount, invoices: count })
        }
        ChargeResult::Declined(code) => Ok(InvoicePaymentOutcome::Declined { decline: payments::decline(code) }),
        ChargeResult::RequiresAuthentication => match &charged.intent {
            // Stripe mode: the user completes the bank's check with Stripe.js, then answers.
            Some(intent) => {
                let challenge = store::Challenge {
                    expected_total: Some(owed.amount),
                    intent_id: Some(intent.id.clone()),
                    invoice_id: Some(owed.invoice_ids.join(",")),
                    ..store::Challenge::new(&session.id, &pm.card.id)
                };
                let challenge_id = limits::open_challenge(conn, &challenge, session.expires_at, now)?;
                Ok(InvoicePaymentOutcome::RequiresAction { challenge_id, client_secret: intent.client_secret.clone() })
            }
            // The test processor asks only for cards not yet verified, and saved cards were.
            None => {
                Ok(InvoicePaymentOutcome::Declined { decline: payments::decline(DeclineCode::AuthenticationFailed) })
            }
        },
        ChargeResult::Unknown => Err(AppError::ProcessorUnavailable),
    }
}

/// Acts on the check of a new card (a zero-amount check that may need 3-D Secure): it becomes
/// the card charged from now on (the old one is no longer used), or a challenge, or a decline.
/// What a past-due account owes is paid with it afterwards, as a charge of its own.
pub fn record_card_check(
    conn: &Conn<'_>,
    session: &PortalSession,
    sub: &mut Subscription,
    pm: &PaymentMethod,
    result: ChargeResult,
    now: OffsetDateTime,
) -> Result<PaymentMethodOutcome, AppError> {
    match result {
        ChargeResult::Succeeded => {}
        ChargeResult::Unknown => return Err(AppError::ProcessorUnavailable),
        ChargeResult::Declined(code) => return Ok(PaymentMethodOutcome::Declined { decline: payments::decline(code) }),
        ChargeResult::RequiresAuthentication => {
            let challenge = store::Challenge::new(&session.id, &pm.card.id);
            let challenge_id = limits::open_challenge(conn, &challenge, session.expires_at, now)?;
            return Ok(PaymentMethodOutcome::RequiresAction { challenge_id });
        }
    }
    store::save_card_on_account(conn, &pm.card.id, &sub.account_id)?;
    sub.payment_method_id = Some(pm.card.id.to_string());
    store::save_subscription(conn, sub)?;
    tracing::info!(session = %crate::ids::redact(&session.id), "payment method replaced");
    Ok(PaymentMethodOutcome::Updated { card: pm.card.clone(), paid_invoice: None, invoices_paid: None })
}

/// Cancels at the end of the period (or resumes): the plan stays until then.
pub fn set_cancel_at_period_end(
    conn: &Conn<'_>,
    sub: &mut Subscription,
    cancel: bool,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    if sub.status == SubscriptionStatus::Canceled {
        return Err(AppError::NoSubscription);
    }
    sub.cancel_at_period_end = cancel;
    if cancel {
        sub.scheduled_plan = None;
    } else {
        // Resumed: a reason a dispute set for the cancellation no longer applies.
        store::set_cancellation_reason(conn, &sub.account_id, None)?;
    }
    store::save_subscription(conn, sub)?;
    events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, now)
}

/// Overage is for paid plans only.
pub fn set_overage(
    conn: &Conn<'_>,
    sub: &mut Subscription,
    enabled: bool,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    if !sub.plan.is_paid() || sub.status == SubscriptionStatus::Canceled {
        return Err(AppError::InvalidRequest("Overage is available on paid plans only.".into()));
    }
    sub.overage_enabled = enabled;
    store::save_subscription(conn, sub)?;
    events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, now)
}

/// The monthly spending limit on overage (paid plans only): `None` for no limit. Reaching it
/// stops usage (`can_use`) until the next period.
pub fn set_spending_limit(
    conn: &Conn<'_>,
    sub: &Subscription,
    limit: Option<Money>,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    if !sub.plan.is_paid() || sub.status == SubscriptionStatus::Canceled {
        return Err(AppError::InvalidRequest("A spending limit is available on paid plans only.".into()));
    }
    if limit.is_some_and(|l| l <= Money::ZERO || l > billing::usage::MAX_SPENDING_LIMIT) {
        return Err(AppError::InvalidField {
            param: "limit".into(),
            message: "must be more than $0.00 and at most $100,000.00, or null for no limit".into(),
        });
    }
    store::set_spending_limit(conn, &sub.account_id, limit)?;
    events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, now)
}

/// The billing history, newest first (drafts in their grace hour are not owed yet: not listed).
pub fn invoice_list(conn: &Conn<'_>, account_id: &str) -> Result<Vec<InvoiceSummary>, AppError> {
    let invoices = store::account_invoices(conn, account_id)?;
    let shown = invoices.iter().rev().filter(|i| i.status != InvoiceStatus::Draft);
    shown.map(|invoice| summary_with_credit_notes(conn, invoice)).collect()
}

/// One invoice of the session's account.
pub fn invoice_detail(
    conn: &Conn<'_>,
    account_id: &str,
    invoice_id: &str,
    branding: &Branding,
    test_mode: bool,
) -> Result<InvoiceDetail, AppError> {
    let invoice =
        store::get_invoice(conn, invoice_id)?.filter(|i| i.account_id == account_id).ok_or(AppError::NotFound)?;
    let card = match &invoice.payment_method_id {
        Some(id) => store::get_payment_method(conn, id)?.map(|pm| pm.card),
        None => None,
    };
    let email = store::get_account(conn, account_id)?.and_then(|a| a.email);
    Ok(InvoiceDetail {
        summary: summary_with_credit_notes(conn, &invoice)?,
        period: Period { start: invoice.period_start, end: invoice.period_end },
        lines: invoice.lines.clone(),
        card,
        email,
        branding: branding.clone(),
        test_mode,
    })
}
