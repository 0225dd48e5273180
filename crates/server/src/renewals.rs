//! What falls due as time passes: renewals on the 1st, scheduled downgrades, cancellations at
//! period end, failed renewals -> past due. Bounded batches, so catching up never holds the writer.

use crate::error::AppError;
use crate::events::{self, EventType};
use crate::ids::new_id;
use crate::processor::{self, CardBehavior, ChargeKind, ChargeResult};
use crate::store::{self, Invoice, Subscription};
use billing::period::Period;
use billing::proration::LineItem;
use billing::wire::{InvoiceStatus, SubscriptionStatus};
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

/// Runs everything that fell due up to `now`, one bounded batch per transaction.
pub async fn catch_up(store: &crate::Store, now: OffsetDateTime) -> Result<(), AppError> {
    while store.write(move |tx| run_due(tx, now, None, DUE_BATCH)).await? == Progress::More {}
    Ok(())
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
    let pm = match &sub.payment_method_id {
        Some(id) => store::get_payment_method(conn, id)?,
        None => None,
    };
    // Renewals are off-session: a card that needs authentication fails them.
    let paid = pm.as_ref().is_some_and(|pm| {
        processor::charge(CardBehavior::parse(&pm.behavior), ChargeKind::Later, false) == ChargeResult::Succeeded
    });
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
        status: if paid { InvoiceStatus::Paid } else { InvoiceStatus::Open },
        payment_method_id: sub.payment_method_id.clone(),
    };
    let invoice = store::insert_invoice(conn, invoice)?;
    if let (true, Some(pm)) = (paid, &pm) {
        store::record_payment(conn, &pm.card.id, &sub.account_id)?;
    }
    sub.status = if paid { SubscriptionStatus::Active } else { SubscriptionStatus::PastDue };
    sub.paid_this_period = if paid { price } else { Money::ZERO };
    sub.period_start = next.start;
    sub.period_end = next.end;
    store::save_subscription(conn, sub)?;
    let (invoice_event, subscription_event) = if paid {
        (EventType::InvoicePaid, EventType::SubscriptionUpdated)
    } else {
        (EventType::InvoicePaymentFailed, EventType::SubscriptionPastDue)
    };
    events::invoice_event(conn, invoice_event, &invoice, at)?;
    events::subscription_event(conn, subscription_event, &sub.account_id, at)
}
