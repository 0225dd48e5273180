//! What falls due as time passes: renewals on the 1st, scheduled downgrades, cancellations at
//! period end, failed renewals -> past due, their retries, and the cancel after the last retry.
//!
//! Each subscription moves in time order, one step at a time: a period end writes the renewal's
//! invoice, and the subscription waits (no next period end, no retry) until that invoice's charge
//! is recorded; a retry due before the period's end runs before it. So a clock moved far ahead
//! cancels a failing subscription after its retries instead of writing an invoice a month. Bounded
//! batches, so catching up never holds the writer; the charges run outside the transactions that
//! write what fell due ([`charge_pending`]). Every charge of an account pays all it owes (its open
//! invoices, oldest first, in one charge of their total): it is active exactly when it owes nothing.

use crate::error::AppError;
use crate::ids::new_id;
use crate::payments::test_cards::{ChargeKind, ChargeResult};
use crate::payments::{self, Attempt, Charge, Charged, Payments, PendingCharge, Prepared};
use crate::store::Conn;
use crate::store::{self, Invoice, PaymentMethod, Retries, Subscription};
use crate::subscriptions::events::{self, EventType};
use billing::period::Period;
use billing::proration::LineItem;
use billing::wire::{CancellationReason, DeclineCode, InvoiceStatus, SubscriptionStatus};
use billing::{Money, PlanId};
use serde::{Deserialize, Deserializer};
use time::{Duration, OffsetDateTime};

/// Subscriptions whose period ends are handled in one transaction when catching up, so a clock
/// that jumped far ahead never holds the writer for long: other requests run between batches.
pub const DUE_BATCH: usize = 200;

pub use crate::config::DEFAULT_RETRIES;

/// The meta key the retry schedule is kept under (seconds after the failure, comma-separated),
/// for the transactions that record charges.
const RETRIES_KEY: &str = "payment_retries";

/// Whether [`run_due`] stopped at its budget with work left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Done,
    More,
}

/// Keeps the configured retry schedule for the transactions that record charges (at start).
pub fn keep_retry_schedule(conn: &Conn<'_>, schedule: &[Duration]) -> Result<(), AppError> {
    let mut seconds: Vec<i64> = schedule.iter().map(|d| d.whole_seconds()).filter(|s| *s > 0).collect();
    seconds.sort_unstable();
    seconds.dedup();
    let kept: Vec<String> = seconds.iter().map(i64::to_string).collect();
    Ok(store::set_meta(conn, RETRIES_KEY, &kept.join(","))?)
}

/// The retry schedule kept at start, ascending (the default when none was kept).
fn retry_schedule(conn: &Conn<'_>) -> Result<Vec<Duration>, AppError> {
    Ok(match store::get_meta(conn, RETRIES_KEY)? {
        Some(kept) => kept.split(',').filter_map(|s| s.parse().ok()).map(Duration::seconds).collect(),
        None => DEFAULT_RETRIES.to_vec(),
    })
}

/// When a past-due subscription is canceled if every retry fails: its last retry.
pub fn cancels_at(conn: &Conn<'_>, retries: &Retries) -> Result<Option<OffsetDateTime>, AppError> {
    Ok(retry_schedule(conn)?.last().map(|after| retries.failed_at + *after))
}

/// Closes the periods that ended by `now` (for every account, or one) of at most `budget`
/// subscriptions, one period each: a renewal waits for its charge before the next period end,
/// and a retry due first runs first. Each period end is handled once, whatever the clock moves.
pub fn run_due(
    conn: &Conn<'_>,
    now: OffsetDateTime,
    account_id: Option<&str>,
    budget: usize,
) -> Result<Progress, AppError> {
    let due = store::subscriptions_due(conn, now, account_id, budget)?;
    let closed = due.len();
    for mut sub in due {
        close_period(conn, &mut sub)?;
    }
    // Renewals whose grace hour ended get their period's overage and become owed.
    let finalized = crate::usage::finalize_due(conn, now, account_id, budget)?;
    Ok(if closed >= budget || finalized >= budget { Progress::More } else { Progress::Done })
}

/// Runs everything that fell due up to `now`, in time order: period ends in bounded batches, one
/// per transaction, then the charges they and the retries call for, until nothing is left.
pub async fn catch_up(payments: &Payments, now: OffsetDateTime) -> Result<(), AppError> {
    loop {
        // A job's batches: no request waits for them, so no request's deadline cuts them short.
        while payments.store.write_in_background(move |tx| run_due(tx, now, None, DUE_BATCH)).await? == Progress::More {
        }
        if charge_pending(payments, None, now).await? == 0 {
            return Ok(());
        }
    }
}

/// Brings one account up to date at `now` before a request shows or changes it: its due period
/// ends, retries and their charges.
pub async fn bring_up_to_date(payments: &Payments, account_id: String, now: OffsetDateTime) -> Result<(), AppError> {
    loop {
        let account = account_id.clone();
        payments.store.write(move |tx| run_due(tx, now, Some(&account), usize::MAX)).await?;
        if charge_pending(payments, Some(account_id.clone()), now).await? == 0 {
            return Ok(());
        }
    }
}

/// Ends `sub`'s current period and starts the next: the scheduled plan applies, a cancellation or
/// a downgrade to Free ends the subscription, a paid plan renews (its invoice waits for its
/// charge). Saved, with its events, dated when the period ended.
fn close_period(conn: &Conn<'_>, sub: &mut Subscription) -> Result<(), AppError> {
    let next = Period::containing(sub.period_end);
    let at = sub.period_end;
    // The ended period's usage counts against the plan it ended on, whatever comes next.
    let ended_on = if sub.status == SubscriptionStatus::Active { sub.plan } else { PlanId::Free };
    let ended = Period { start: sub.period_start, end: sub.period_end };
    crate::usage::end_period(conn, &sub.account_id, ended, ended_on)?;
    if let Some(plan) = sub.scheduled_plan.take() {
        sub.plan = plan;
    }
    sub.paid_this_period = Money::ZERO;
    sub.period_start = next.start;
    sub.period_end = next.end;
    if sub.cancel_at_period_end || !sub.plan.is_paid() {
        // A dispute set its reason when it scheduled the cancellation.
        let reason = store::cancellation_reason(conn, &sub.account_id)?
            .filter(|r| *r == CancellationReason::PaymentDisputed)
            .unwrap_or(CancellationReason::CancellationRequested);
        return cancel(conn, sub, reason, at);
    }
    let price = sub.plan.plan().monthly_price;
    let line = LineItem::plan_month(sub.plan, next.start, price);
    let mut lines = vec![line];
    // A discount covers the renewals its duration reaches, then stops by itself.
    let discount = crate::promotions::running_discount(conn, &sub.account_id)?;
    if let Some(discount) = discount.filter(|d| d.covers(sub.plan, next.start)) {
        lines.push(discount.line(price));
    }
    let amount = lines.iter().try_fold(Money::ZERO, |sum, l| sum.checked_add(l.amount));
    let amount = amount.ok_or_else(|| AppError::internal("overflow"))?.at_least_zero();
    // What this period's plan costs, owed from now on: an upgrade in the grace hour (before the
    // renewal is charged) or while it is unpaid charges the difference, never the month twice.
    sub.paid_this_period = amount;
    let invoice = Invoice {
        id: new_id("in"),
        number: String::new(),
        account_id: sub.account_id.clone(),
        created_at: next.start,
        period_start: next.start,
        period_end: next.end,
        lines,
        amount,
        // A draft through the ended period's grace hour: then its overage is added and it is
        // charged (crate::usage::finalize_due, then charge_pending), never inside a transaction.
        status: InvoiceStatus::Draft,
        payment_method_id: sub.payment_method_id.clone(),
        after_payment: Default::default(),
    };
    let invoice = store::insert_invoice(conn, invoice)?;
    store::set_charge_pending(conn, &invoice.id, true)?;
    Ok(store::save_subscription(conn, sub)?)
}

/// Ends `sub` at `at` for `reason`: Free from then on and nothing owed (its open invoices void).
pub(crate) fn cancel(
    conn: &Conn<'_>,
    sub: &mut Subscription,
    reason: CancellationReason,
    at: OffsetDateTime,
) -> Result<(), AppError> {
    // A canceled subscription's last overage invoice failing its retries: voided, not canceled again.
    let already_canceled = sub.status == SubscriptionStatus::Canceled;
    sub.plan = PlanId::Free;
    sub.status = SubscriptionStatus::Canceled;
    sub.cancel_at_period_end = false;
    sub.scheduled_plan = None;
    sub.paid_this_period = Money::ZERO;
    store::save_subscription(conn, sub)?;
    store::set_retries(conn, &sub.account_id, None)?;
    if !already_canceled {
        store::set_cancellation_reason(conn, &sub.account_id, Some(reason))?;
    }
    for invoice in store::open_invoices(conn, &sub.account_id, true)? {
        store::set_invoice_void(conn, &invoice.id)?;
        let voided = Invoice { status: InvoiceStatus::Void, ..invoice };
        events::invoice_event(conn, EventType::InvoiceVoided, &voided, at)?;
    }
    if already_canceled {
        return Ok(());
    }
    tracing::info!(reason = reason.as_str(), "subscription canceled");
    events::subscription_event(conn, EventType::SubscriptionCanceled, &sub.account_id, at)
}

/// What a charge of an account's open invoices pays: which (oldest first) and their total.
/// Kept with pending charges; an earlier build's named one invoice (`invoice_id`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owed {
    #[serde(alias = "invoice_id", deserialize_with = "one_or_more")]
    pub invoice_ids: Vec<String>,
    pub amount: Money,
}

fn one_or_more<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMore {
        One(String),
        More(Vec<String>),
    }
    Ok(match OneOrMore::deserialize(deserializer)? {
        OneOrMore::One(id) => vec![id],
        OneOrMore::More(ids) => ids,
    })
}

impl Owed {
    pub fn of(invoices: &[Invoice]) -> Result<Owed, AppError> {
        let amount = invoices
            .iter()
            .try_fold(Money::ZERO, |sum, invoice| sum.checked_add(invoice.amount))
            .ok_or_else(|| AppError::internal("overflow"))?;
        Ok(Owed { invoice_ids: invoices.iter().map(|i| i.id.clone()).collect(), amount })
    }

    /// The account's open invoices (with those still waiting for their renewal charge, or not)
    /// if they are exactly these, at this total: what the charge was made for is still what is
    /// owed. Else `quote_changed`: the charge is refused (refunded, if it was made).
    pub fn still_open(&self, conn: &Conn<'_>, account_id: &str, with_waiting: bool) -> Result<Vec<Invoice>, AppError> {
        let open = store::open_invoices(conn, account_id, with_waiting)?;
        if Owed::of(&open)? == *self { Ok(open) } else { Err(AppError::QuoteChanged) }
    }
}

/// Marks `owed` paid by `pm` with one charge (no card: $0.00 owed, a subscription free
/// forever): nothing is owed, the subscription is active again and its retries are over. Told
/// with `invoice.paid` for each and `subscription.updated`.
pub fn settle(
    conn: &Conn<'_>,
    sub: &mut Subscription,
    owed: &[Invoice],
    pm: Option<&PaymentMethod>,
    at: OffsetDateTime,
) -> Result<(), AppError> {
    let pm_id = pm.map(|pm| pm.card.id.to_string());
    for invoice in owed {
        store::set_invoice_paid(conn, &invoice.id, pm_id.as_deref())?;
    }
    if let (false, Some(pm_id)) = (owed.is_empty(), &pm_id) {
        store::record_payment(conn, pm_id, &sub.account_id)?;
    }
    if sub.status != SubscriptionStatus::Canceled {
        sub.status = SubscriptionStatus::Active;
    }
    store::save_subscription(conn, sub)?;
    store::set_retries(conn, &sub.account_id, None)?;
    for invoice in owed {
        let paid = Invoice { status: InvoiceStatus::Paid, payment_method_id: pm_id.clone(), ..invoice.clone() };
        events::invoice_event(conn, EventType::InvoicePaid, &paid, at)?;
    }
    events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, at)
}

/// Whether a charge of what an account owes was due and how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    Paid,
    Failed,
    NothingDue,
}

/// Makes the charges that fell due by `now`, each outside any transaction: renewals (their new
/// invoice with any earlier unpaid ones), then retries, oldest first (for `account_id`, or for
/// every account with no other charge in flight). How many were recorded.
pub async fn charge_pending(
    payments: &Payments,
    account_id: Option<String>,
    now: OffsetDateTime,
) -> Result<usize, AppError> {
    let mut recorded = 0;
    loop {
        let account = account_id.clone();
        let charged =
            payments::charge_once(payments, now, move |tx| prepare_collection(tx, account.as_deref(), now)).await?;
        if charged == Renewal::NothingDue {
            return Ok(recorded);
        }
        recorded += 1;
    }
}

/// A charge of everything an account owes (a renewal, or a retry), recorded as pending. Named
/// for renewals, as the attempts an earlier build kept are (it charged renewals only).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingRenewal {
    attempt: Attempt,
    #[serde(flatten)]
    owed: Owed,
    pm: PaymentMethod,
}

fn prepare_collection(
    conn: &Conn<'_>,
    account_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<Prepared<PendingRenewal>, AppError> {
    let account = match store::next_charge_pending(conn, account_id)? {
        Some(renewal) => renewal.account_id,
        None => match store::next_retry_due(conn, account_id, now)? {
            Some((account, _)) => account,
            None => return Ok(Prepared::Answered(Renewal::NothingDue)),
        },
    };
    let sub = store::get_subscription(conn, &account)?.ok_or(AppError::NoSubscription)?;
    let owed = Owed::of(&store::open_invoices(conn, &account, true)?)?;
    let pm = match &sub.payment_method_id {
        Some(id) => store::get_payment_method(conn, id)?,
        None => None,
    };
    let Some(pm) = pm else {
        // No card: paid only when nothing is owed (a subscription free forever).
        let result = match owed.amount {
            Money::ZERO => ChargeResult::Succeeded,
            _ => ChargeResult::Declined(DeclineCode::Generic),
        };
        return record_collection(conn, &account, &owed, None, result).map(Prepared::Answered);
    };
    let Some(attempt) = store::claim_attempt(conn, &account, PendingRenewal::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    Ok(Prepared::Charge(PendingRenewal { attempt, owed, pm }))
}

impl PendingCharge for PendingRenewal {
    type Outcome = Renewal;
    const PURPOSE: &'static str = "renewal";
    const WAITS_FOR_BANK_CHECK: bool = false;

    fn attempt_id(&self) -> &str {
        &self.attempt.id
    }

    fn charge(&self) -> Charge {
        // Renewals and retries are off-session: a card that needs authentication fails them.
        Charge { off_session: true, ..Charge::new(&self.attempt, &self.pm, self.owed.amount, ChargeKind::Later) }
    }

    fn record(&self, conn: &Conn<'_>, charged: &Charged, _now: OffsetDateTime) -> Result<Renewal, AppError> {
        record_collection(conn, &self.attempt.account_id, &self.owed, Some(&self.pm), charged.result)
    }

    fn status(outcome: &Renewal) -> &'static str {
        match outcome {
            Renewal::Paid => "succeeded",
            Renewal::Failed | Renewal::NothingDue => "declined",
        }
    }
}

/// A renewal's or a retry's result, dated when it fell due (the renewal's period end, the
/// retry's date): everything owed paid and the subscription active, or the invoices still open,
/// the subscription past due and the next retry scheduled (or, after the last, canceled).
fn record_collection(
    conn: &Conn<'_>,
    account_id: &str,
    owed: &Owed,
    pm: Option<&PaymentMethod>,
    result: ChargeResult,
) -> Result<Renewal, AppError> {
    let mut sub = store::get_subscription(conn, account_id)?.ok_or(AppError::NoSubscription)?;
    let invoices = owed.still_open(conn, account_id, true)?;
    let mut renewed = None;
    for invoice in &invoices {
        if store::is_charge_pending(conn, &invoice.id)? {
            renewed = Some(invoice.created_at);
        }
    }
    let retries = store::get_retries(conn, account_id)?;
    let Some(at) = renewed.or(retries.and_then(|r| r.next_at)) else {
        return Ok(Renewal::NothingDue);
    };
    if result == ChargeResult::Succeeded && (pm.is_some() || owed.amount == Money::ZERO) {
        settle(conn, &mut sub, &invoices, pm, at)?;
        return Ok(Renewal::Paid);
    }
    for invoice in &invoices {
        store::set_charge_pending(conn, &invoice.id, false)?;
        events::invoice_event(conn, EventType::InvoicePaymentFailed, invoice, at)?;
    }
    if sub.status == SubscriptionStatus::Active {
        sub.status = SubscriptionStatus::PastDue;
        store::save_subscription(conn, &sub)?;
        events::subscription_event(conn, EventType::SubscriptionPastDue, account_id, at)?;
    }
    let retries = after_failure(retries, renewed.is_some(), at, &retry_schedule(conn)?);
    match retries.next_at {
        Some(_) => store::set_retries(conn, account_id, Some(&retries))?,
        None => cancel(conn, &mut sub, CancellationReason::PaymentFailed, at)?,
    }
    Ok(Renewal::Failed)
}

/// The retries after a charge failed at `at`: a renewal's first failure starts them, a failed
/// retry counts one, a renewal failing while they run leaves them as they are. No next retry:
/// the subscription is canceled.
fn after_failure(current: Option<Retries>, renewal: bool, at: OffsetDateTime, schedule: &[Duration]) -> Retries {
    match current {
        Some(retries) if renewal => retries,
        Some(Retries { failed_at, made, .. }) => Retries {
            failed_at,
            made: made + 1,
            next_at: schedule.get(made as usize + 1).map(|after| failed_at + *after),
        },
        None => Retries { failed_at: at, made: 0, next_at: schedule.first().map(|after| at + *after) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retries_count_from_the_first_failure_and_run_out() {
        let failed = datetime!(2027-02-01 00:00 UTC);
        let first = after_failure(None, true, failed, &DEFAULT_RETRIES);
        assert_eq!(first, Retries { failed_at: failed, made: 0, next_at: Some(datetime!(2027-02-04 00:00 UTC)) });
        let second = after_failure(Some(first), false, datetime!(2027-02-04 00:00 UTC), &DEFAULT_RETRIES);
        assert_eq!(second.next_at, Some(datetime!(2027-02-06 00:00 UTC)));
        assert_eq!(after_failure(Some(second), true, datetime!(2027-03-01 00:00 UTC), &DEFAULT_RETRIES), second);
        let third = after_failure(Some(second), false, datetime!(2027-02-06 00:00 UTC), &DEFAULT_RETRIES);
        assert_eq!((third.made, third.next_at), (2, Some(datetime!(2027-02-08 00:00 UTC))));
        assert_eq!(after_failure(Some(third), false, datetime!(2027-02-08 00:00 UTC), &DEFAULT_RETRIES).next_at, None);
        assert_eq!(after_failure(None, true, failed, &[]).next_at, None, "no retries: canceled at once");
    }

    #[test]
    fn a_charge_kept_by_an_earlier_build_names_its_one_invoice() {
        let earlier: Owed = serde_json::from_str(r#"{"invoice_id": "in_1", "amount": 2000}"#).unwrap();
        assert_eq!(earlier, Owed { invoice_ids: vec!["in_1".into()], amount: Money::from_cents(2000) });
        let now: Owed = serde_json::from_str(r#"{"invoice_ids": ["in_1", "in_2"], "amount": 4000}"#).unwrap();
        assert_eq!(now.invoice_ids, ["in_1", "in_2"]);

        let card = billing::wire::CardSummary {
            id: "pm_1".into(),
            brand: billing::validate::CardBrand::Visa,
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2034,
        };
        let pm = PaymentMethod {
            account_id: None,
            session_id: None,
            card,
            behavior: "stripe".into(),
            payments: 0,
            stripe_customer: Some("cus_1".into()),
        };
        let attempt = Attempt { id: "att_1".into(), account_id: "acct".into() };
        let pending = PendingRenewal { attempt, owed: now, pm };
        let kept = serde_json::to_string(&pending).unwrap();
        let read: PendingRenewal = serde_json::from_str(&kept).unwrap();
        assert_eq!(read.owed, pending.owed);
        let earlier = kept.replace(r#""invoice_ids":["in_1","in_2"]"#, r#""invoice_id":"in_1""#);
        let read: PendingRenewal = serde_json::from_str(&earlier).unwrap();
        assert_eq!((read.owed.invoice_ids, read.owed.amount.cents()), (vec!["in_1".to_string()], 4000));
    }
}
