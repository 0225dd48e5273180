//! What falls due as time passes: renewals on the 1st, scheduled downgrades, cancellations at
//! period end, failed renewals -> past due. Bounded batches, so catching up never holds the writer.
//! A renewal's invoice is written when its period ends; its charge follows, outside that
//! transaction ([`charge_pending`]).

use crate::AppState;
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::ids::new_id;
use crate::payments::{self, Attempt, Charge, Charged, PendingCharge, Prepared};
use crate::processor::{ChargeKind, ChargeResult};
use crate::store::{self, Invoice, PaymentMethod, Subscription};
use billing::period::Period;
use billing::proration::LineItem;
use billing::wire::{DeclineCode, InvoiceStatus, SubscriptionStatus};
use billing::{Money, PlanId};
use rusqlite::Connection;
use time::OffsetDateTime;

/// Period ends handled in one transaction when catching up, so a clock that jumped far ahead
/// never holds the writer for long: other requests run between batches.
pub const DUE_BATCH: usize = 200;

/// Whether [`run_due`] stopped at its budget with work left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Done,
    More,
}

/// Runs what fell due up to `now` (for every account, or one), at most `budget` period ends:
/// renewals on the 1st, scheduled downgrades, cancellations at period end, failed renewals ->
/// past due. Each period end is handled once, whatever the number of clock moves.
pub fn run_due(
    conn: &Connection,
    now: OffsetDateTime,
    account_id: Option<&str>,
    budget: usize,
) -> Result<Progress, AppError> {
    let mut steps = 0;
    for mut sub in store::subscriptions_due(conn, now, account_id, budget)? {
        while steps < budget && sub.period_end <= now && sub.status != SubscriptionStatus::Canceled {
            close_period(conn, &mut sub)?;
            steps += 1;
        }
    }
    Ok(if steps >= budget { Progress::More } else { Progress::Done })
}

/// Runs everything that fell due up to `now`, one bounded batch per transaction, then charges
/// the renewals it wrote.
pub async fn catch_up(state: &AppState, now: OffsetDateTime) -> Result<(), AppError> {
    while state.store.write(move |tx| run_due(tx, now, None, DUE_BATCH)).await? == Progress::More {}
    charge_pending(state, None, now).await
}

/// Brings one account up to date at `now` before a request shows or changes it: its due period
/// ends, then their charges.
pub async fn bring_up_to_date(state: &AppState, account_id: String, now: OffsetDateTime) -> Result<(), AppError> {
    let account = account_id.clone();
    state.store.write(move |tx| run_due(tx, now, Some(&account), usize::MAX)).await?;
    charge_pending(state, Some(account_id), now).await
}

/// Ends `sub`'s current period and starts the next: the scheduled plan applies, a cancellation or
/// a downgrade to Free ends the subscription, a paid plan renews (or goes past due). Saved, with
/// its events, dated when the period ended.
fn close_period(conn: &Connection, sub: &mut Subscription) -> Result<(), AppError> {
    let next = Period::containing(sub.period_end);
    let at = sub.period_end;
    if let Some(plan) = sub.scheduled_plan.take() {
        sub.plan = plan;
    }
    if sub.cancel_at_period_end || !sub.plan.is_paid() {
        sub.plan = PlanId::Free;
        sub.status = SubscriptionStatus::Canceled;
        sub.cancel_at_period_end = false;
        sub.paid_this_period = Money::ZERO;
        sub.period_start = next.start;
        sub.period_end = next.end;
        store::save_subscription(conn, sub)?;
        return events::subscription_event(conn, EventType::SubscriptionCanceled, &sub.account_id, at);
    }
    let price = sub.plan.plan().monthly_price;
    let line = LineItem {
        description: format!("{} for {}", sub.plan.plan().name, billing::period::month_and_year(next.start)),
        amount: price,
    };
    let invoice = Invoice {
        id: new_id("in"),
        number: String::new(),
        account_id: sub.account_id.clone(),
        created_at: next.start,
        period_start: next.start,
        period_end: next.end,
        lines: vec![line],
        amount: price,
        status: InvoiceStatus::Open,
        payment_method_id: sub.payment_method_id.clone(),
    };
    // Charged after this transaction (charge_pending), never inside it.
    let invoice = store::insert_invoice(conn, invoice)?;
    store::set_charge_pending(conn, &invoice.id, true)?;
    sub.paid_this_period = Money::ZERO;
    sub.period_start = next.start;
    sub.period_end = next.end;
    store::save_subscription(conn, sub)
}

/// Whether a renewal charge was due and how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Paid,
    Failed,
    NothingDue,
}

/// Charges the renewal invoices written at period ends, oldest first, each outside any
/// transaction (for `account_id`, or for every account with no other charge in flight).
pub async fn charge_pending(state: &AppState, account_id: Option<String>, now: OffsetDateTime) -> Result<(), AppError> {
    loop {
        let account = account_id.clone();
        let charged = payments::charge_once(state, now, move |tx| prepare_renewal(tx, account.as_deref(), now)).await?;
        if charged == Renewal::NothingDue {
            return Ok(());
        }
    }
}

/// A renewal's charge recorded as pending.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingRenewal {
    attempt: Attempt,
    invoice_id: String,
    amount: Money,
    pm: PaymentMethod,
}

fn prepare_renewal(
    conn: &Connection,
    account_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<Prepared<PendingRenewal>, AppError> {
    let Some(invoice) = store::next_charge_pending(conn, account_id)? else {
        return Ok(Prepared::Answered(Renewal::NothingDue));
    };
    let sub = store::get_subscription(conn, &invoice.account_id)?.ok_or(AppError::NoSubscription)?;
    let pm = match &sub.payment_method_id {
        Some(id) => store::get_payment_method(conn, id)?,
        None => None,
    };
    let Some(pm) = pm else {
        return record_renewal(conn, &invoice.id, None, ChargeResult::Declined(DeclineCode::Generic))
            .map(Prepared::Answered);
    };
    let Some(attempt) = payments::claim(conn, &invoice.account_id, PendingRenewal::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    Ok(Prepared::Charge(PendingRenewal { attempt, invoice_id: invoice.id, amount: invoice.amount, pm }))
}

impl PendingCharge for PendingRenewal {
    type Outcome = Renewal;
    const PURPOSE: &'static str = "renewal";

    fn attempt_id(&self) -> &str {
        &self.attempt.id
    }

    fn charge(&self) -> Charge {
        // Renewals are off-session: a card that needs authentication fails them.
        Charge { off_session: true, ..Charge::new(&self.attempt, &self.pm, self.amount, ChargeKind::Later) }
    }

    fn record(&self, conn: &Connection, charged: &Charged, _now: OffsetDateTime) -> Result<Renewal, AppError> {
        record_renewal(conn, &self.invoice_id, Some(&self.pm), charged.result)
    }

    fn status(outcome: &Renewal) -> &'static str {
        match outcome {
            Renewal::Paid => "succeeded",
            Renewal::Failed | Renewal::NothingDue => "declined",
        }
    }
}

/// A renewal's result: the invoice paid and the subscription active, or the invoice open and
/// the subscription past due. Dated when the period ended.
fn record_renewal(
    conn: &Connection,
    invoice_id: &str,
    pm: Option<&PaymentMethod>,
    result: ChargeResult,
) -> Result<Renewal, AppError> {
    if !store::is_charge_pending(conn, invoice_id)? {
        return Ok(Renewal::NothingDue);
    }
    let invoice = store::get_invoice(conn, invoice_id)?.ok_or_else(|| AppError::Internal("invoice missing".into()))?;
    let mut sub = store::get_subscription(conn, &invoice.account_id)?.ok_or(AppError::NoSubscription)?;
    store::set_charge_pending(conn, &invoice.id, false)?;
    let paid = match (result, pm) {
        (ChargeResult::Succeeded, Some(pm)) => {
            store::set_invoice_paid(conn, &invoice.id, &pm.card.id)?;
            store::record_payment(conn, &pm.card.id, &sub.account_id)?;
            true
        }
        _ => false,
    };
    if sub.status != SubscriptionStatus::Canceled {
        sub.status = if paid { SubscriptionStatus::Active } else { SubscriptionStatus::PastDue };
    }
    if paid && invoice.period_start == sub.period_start {
        sub.paid_this_period = invoice.amount;
    }
    store::save_subscription(conn, &sub)?;
    let invoice = store::get_invoice(conn, &invoice.id)?.unwrap_or(invoice);
    let (invoice_event, subscription_event) = if paid {
        (EventType::InvoicePaid, EventType::SubscriptionUpdated)
    } else {
        (EventType::InvoicePaymentFailed, EventType::SubscriptionPastDue)
    };
    events::invoice_event(conn, invoice_event, &invoice, invoice.created_at)?;
    events::subscription_event(conn, subscription_event, &sub.account_id, invoice.created_at)?;
    Ok(if paid { Renewal::Paid } else { Renewal::Failed })
}
