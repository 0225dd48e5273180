//! Credits (SPEC §12): meter events recorded once each with their period's totals, what the IDE
//! asks before work, the thresholds told to the backend, and the overage a period bills when its
//! grace hour ends (on the renewal's invoice, or a last one of its own).

pub mod handlers;
mod reported;

pub use reported::{Reported, parse_event};

use crate::error::AppError;
use crate::ids::new_id;
use crate::store::{self, Conn, Invoice, MeterEvent, UsagePeriod, UsageSubscription};
use crate::subscriptions::events::{self, EventType};
use billing::PlanId;
use billing::period::Period;
use billing::usage::{self, Credits, PeriodUsage, Threshold, UsageTerms};
use billing::wire::{InvoiceStatus, SubscriptionStatus, UsageTotals};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use time::{Duration, OffsetDateTime};
use views::usage_card::CreditsFacts;

/// The plan whose credits a period's usage counts against: the one it ended on, once it has
/// ended; until then the subscription's (the next one's, for a period the subscription has not
/// reached yet). Past due or canceled: Free's.
pub fn plan_for_period(sub: Option<&UsageSubscription>, final_plan: Option<PlanId>, start: OffsetDateTime) -> PlanId {
    if let Some(plan) = final_plan {
        return plan;
    }
    let Some(sub) = sub.filter(|s| s.status == SubscriptionStatus::Active) else {
        return PlanId::Free;
    };
    if start < sub.period_end {
        sub.plan
    } else if sub.cancel_at_period_end {
        PlanId::Free
    } else {
        sub.scheduled_plan.unwrap_or(sub.plan)
    }
}

/// The terms usage in the period from `start` is recorded under.
pub fn terms_for(sub: Option<&UsageSubscription>, final_plan: Option<PlanId>, start: OffsetDateTime) -> UsageTerms {
    let plan = plan_for_period(sub, final_plan, start);
    UsageTerms {
        included: usage::included(plan),
        overage_enabled: plan.is_paid() && sub.is_some_and(|s| s.overage_enabled),
        spending_limit: sub.and_then(|s| s.spending_limit),
    }
}

/// Records a batch of reported events, all or nothing: each new identifier once, with its
/// period's totals, its day's and the thresholds it crosses; an identifier seen before is a
/// duplicate (the first event) when its payload is the same, else `identifier_reused`. Each
/// event as recorded (the first one, for a duplicate), in the batch's order, and whether it was
/// new. A few statements a batch, whatever its size: inserts and upserts of many rows each.
pub fn record_events(
    conn: &Conn<'_>,
    batch: &[Reported],
    now: OffsetDateTime,
) -> Result<Vec<(MeterEvent, bool)>, AppError> {
    let events: Vec<MeterEvent> = batch.iter().map(|reported| reported.event(now)).collect();
    let inserted = store::insert_meter_events(conn, &events)?;
    let mut taken = HashSet::new();
    let mut fresh: BTreeMap<OffsetDateTime, Vec<&Reported>> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (reported, event) in batch.iter().zip(&events) {
        // An identifier twice in one batch: its second is a duplicate of the first.
        if inserted.contains(&event.identifier) && taken.insert(reported.identifier.as_str()) {
            fresh.entry(Period::containing(reported.occurred_at).start).or_default().push(reported);
        } else {
            duplicates.push(reported);
        }
    }
    let ids: Vec<&str> = duplicates.iter().map(|r| r.identifier.as_str()).collect();
    let firsts = store::get_meter_events(conn, &ids)?;
    for reported in &duplicates {
        let first = firsts.get(&reported.identifier);
        if first.is_none_or(|first| first.account_id != reported.account_id || first.value != reported.value) {
            return Err(AppError::IdentifierReused { param: reported.param("identifier") });
        }
    }
    for (start, reported) in fresh {
        add_to_period(conn, Period::containing(start), &reported, now)?;
    }
    let answer = events.into_iter().map(|event| match taken.contains(event.identifier.as_str()) {
        true => (event, true),
        false => (firsts.get(&event.identifier).cloned().unwrap_or(event), false),
    });
    Ok(dedupe_answers(answer.collect()))
}

/// The same identifier twice in a batch: the second answers as the duplicate it is.
fn dedupe_answers(mut answers: Vec<(MeterEvent, bool)>) -> Vec<(MeterEvent, bool)> {
    let mut seen = HashSet::new();
    for (event, new) in &mut answers {
        if !seen.insert(event.identifier.clone()) {
            *new = false;
        }
    }
    answers
}

/// What one account's new events in a period change.
struct Recorded {
    row: UsagePeriod,
    plan: PlanId,
    terms: UsageTerms,
    crossed: Vec<Threshold>,
}

/// Adds new events of one period to their accounts' totals (and by day), and tells the
/// thresholds they cross. Accounts never seen refuse the whole batch.
fn add_to_period(conn: &Conn<'_>, period: Period, events: &[&Reported], now: OffsetDateTime) -> Result<(), AppError> {
    let mut by_account: BTreeMap<&str, Vec<&Reported>> = BTreeMap::new();
    for event in events {
        by_account.entry(event.account_id.as_str()).or_default().push(event);
    }
    let ids: Vec<&str> = by_account.keys().copied().collect();
    let mut accounts = store::usage_accounts(conn, &ids, period.start)?;
    if let Some(stranger) = events.iter().find(|e| !accounts.contains_key(&e.account_id)) {
        return Err(AppError::AccountNotFound { param: Some(stranger.param("payload.account_id")) });
    }
    let mut by_day: BTreeMap<(&str, OffsetDateTime), Credits> = BTreeMap::new();
    let mut recorded = Vec::with_capacity(by_account.len());
    for (account_id, events) in &by_account {
        let account = accounts.remove(*account_id).ok_or_else(|| AppError::internal("an account went missing"))?;
        recorded.push(add_to_account(account_id, account, period, events, now)?);
        for event in events {
            let total = by_day.entry((account_id, event.occurred_at.replace_time(time::Time::MIDNIGHT))).or_default();
            *total = total.saturating_add(event.value);
        }
    }
    let rows: Vec<UsagePeriod> = recorded.iter().map(|r| r.row.clone()).collect();
    store::save_usage_periods(conn, &rows)?;
    let days: Vec<(&str, OffsetDateTime, Credits)> = by_day.into_iter().map(|((a, d), used)| (a, d, used)).collect();
    store::add_usage_days(conn, &days)?;
    for Recorded { row, plan, terms, crossed } in &recorded {
        for threshold in crossed {
            tell_threshold(conn, row, *plan, terms, *threshold, now)?;
        }
    }
    Ok(())
}

/// One account's events added to its period's totals, and the thresholds they cross.
fn add_to_account(
    account_id: &str,
    account: store::UsageAccount,
    period: Period,
    events: &[&Reported],
    now: OffsetDateTime,
) -> Result<Recorded, AppError> {
    let mut row = account.period.unwrap_or_else(|| UsagePeriod::empty(account_id, period));
    if row.closed || !usage::period_open(period.end, now) {
        return Err(AppError::UsagePeriodClosed { param: events[0].param("timestamp") });
    }
    let terms = terms_for(account.subscription.as_ref(), row.final_plan, period.start);
    let before = row.usage;
    for event in events {
        row.usage = row.usage.record(event.value, &terms);
    }
    let crossed = row.usage.newly_crossed(before, &terms, row.told);
    for threshold in &crossed {
        row.told |= threshold.bit();
    }
    let plan = plan_for_period(account.subscription.as_ref(), row.final_plan, period.start);
    Ok(Recorded { row, plan, terms, crossed })
}

/// `credits.threshold_reached` (80%, 100%) or `credits.spending_limit_reached`, with the credits.
fn tell_threshold(
    conn: &Conn<'_>,
    row: &UsagePeriod,
    plan: PlanId,
    terms: &UsageTerms,
    threshold: Threshold,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let mut data = credits_object(&row.account_id, Period { start: row.start, end: row.end }, plan, terms, row.usage);
    let kind = match threshold.percent() {
        Some(percent) => {
            data["threshold"] = json!(percent);
            EventType::CreditsThresholdReached
        }
        None => EventType::CreditsSpendingLimitReached,
    };
    events::record_event(conn, kind, &row.account_id, data, now)
}

/// The credits as the IDE's backend reads them (`GET /v1/accounts/{id}/credits`, `credits.*`).
pub fn credits_object(account_id: &str, period: Period, plan: PlanId, terms: &UsageTerms, usage: PeriodUsage) -> Value {
    json!({
        "object": "credits",
        "account_id": account_id,
        "period": {"start": period.start.unix_timestamp(), "end": period.end.unix_timestamp()},
        "plan": plan.as_str(),
        "included": terms.included.to_string(),
        "used": usage.used.to_string(),
        "remaining": usage.remaining(terms).to_string(),
        "overage_enabled": terms.overage_enabled,
        "overage_credits": usage.overage.to_string(),
        "overage_amount": usage.overage.overage_amount(),
        "spending_limit": terms.spending_limit,
        "can_use": usage.can_use(terms),
    })
}

/// The account's credits in the period `now` falls in. Reads the period's totals (one row),
/// never the events.
pub fn current_credits(conn: &Conn<'_>, account_id: &str, now: OffsetDateTime) -> Result<Value, AppError> {
    let (period, plan, terms, usage) = current_usage(conn, account_id, now)?;
    Ok(credits_object(account_id, period, plan, &terms, usage))
}

/// The period `now` falls in, its plan, terms and totals.
pub fn current_usage(
    conn: &Conn<'_>,
    account_id: &str,
    now: OffsetDateTime,
) -> Result<(Period, PlanId, UsageTerms, PeriodUsage), AppError> {
    let period = Period::containing(now);
    let account =
        store::usage_account(conn, account_id, period.start)?.ok_or(AppError::AccountNotFound { param: None })?;
    let final_plan = account.period.as_ref().and_then(|p| p.final_plan);
    let plan = plan_for_period(account.subscription.as_ref(), final_plan, period.start);
    let terms = terms_for(account.subscription.as_ref(), final_plan, period.start);
    Ok((period, plan, terms, account.period.map(|p| p.usage).unwrap_or_default()))
}

/// This period's credits as the portal shows them: in numbers, and for the home's card (with the
/// usage of each day so far).
pub fn portal_usage(
    conn: &Conn<'_>,
    account_id: &str,
    now: OffsetDateTime,
) -> Result<(UsageTotals, CreditsFacts), AppError> {
    let (period, _, terms, usage) = current_usage(conn, account_id, now)?;
    let used_on: BTreeMap<OffsetDateTime, Credits> =
        store::usage_days(conn, account_id, period.start, period.end)?.into_iter().collect();
    let days_so_far = (now - period.start).whole_days().clamp(0, period.total_days() - 1) + 1;
    let by_day = (0..days_so_far)
        .map(|day| used_on.get(&(period.start + Duration::days(day))).copied().unwrap_or_default())
        .collect();
    let bills_overage = terms.overage_enabled || usage.overage > Credits::ZERO;
    let totals = UsageTotals { used: usage.used, overage: usage.overage, spending_limit: terms.spending_limit };
    Ok((
        totals,
        CreditsFacts {
            period_start: period.start,
            used: usage.used,
            included: terms.included,
            overage: usage.overage,
            overage_amount: usage.overage.overage_amount(),
            spending_limit: terms.spending_limit,
            billed_at: bills_overage.then_some(period.end + usage::GRACE),
            by_day,
        },
    ))
}

/// An upgrade re-rates the whole current period against the new plan's credits.
/// The row is written even when the month has no usage yet: usage recorded at the same moment
/// under the old plan then conflicts with it and is recorded again under the new one.
pub fn rerate(conn: &Conn<'_>, account_id: &str, period: Period, plan: PlanId) -> Result<(), AppError> {
    let mut row = store::get_usage_period(conn, account_id, period.start)?
        .unwrap_or_else(|| UsagePeriod::empty(account_id, period));
    row.usage = row.usage.rerated(usage::included(plan));
    Ok(store::save_usage_period(conn, &row)?)
}

/// A period ends on `plan` (before a scheduled change applies): its usage counts against it
/// through the grace hour.
pub fn end_period(conn: &Conn<'_>, account_id: &str, period: Period, plan: PlanId) -> Result<(), AppError> {
    let mut row = store::get_usage_period(conn, account_id, period.start)?
        .unwrap_or_else(|| UsagePeriod::empty(account_id, period));
    row.final_plan = Some(plan);
    Ok(store::save_usage_period(conn, &row)?)
}

/// Finalizes what the grace hour made final by `now` (of `account_id`, or any, at most `budget`
/// of each): renewal drafts get their ended period's overage and become owed; a period that
/// ended with its subscription gets a last invoice for its overage. How many.
pub fn finalize_due(
    conn: &Conn<'_>,
    now: OffsetDateTime,
    account_id: Option<&str>,
    budget: usize,
) -> Result<usize, AppError> {
    let ended_by = now - usage::GRACE;
    let drafts = store::drafts_due(conn, ended_by, account_id, budget)?;
    let mut done = drafts.len();
    for draft in drafts {
        finalize_renewal(conn, draft)?;
    }
    let leftovers = store::usage_periods_to_bill(conn, ended_by, account_id, budget)?;
    done += leftovers.len();
    for row in leftovers {
        bill_last_overage(conn, row)?;
    }
    Ok(done)
}

/// The usage of the period that ended when `renewal`'s began, closed: its overage line added.
fn finalize_renewal(conn: &Conn<'_>, mut renewal: Invoice) -> Result<(), AppError> {
    let ended = Period::containing(renewal.period_start - Duration::SECOND);
    if let Some(mut row) = store::get_usage_period(conn, &renewal.account_id, ended.start)?.filter(|r| !r.closed) {
        if let Some(line) = billing::lines::overage_line(row.usage.overage, ended) {
            renewal.amount = renewal.amount.checked_add(line.amount).ok_or_else(|| AppError::internal("overflow"))?;
            renewal.lines.push(line);
        }
        row.closed = true;
        store::save_usage_period(conn, &row)?;
    }
    Ok(store::finalize_invoice(conn, &renewal)?)
}

/// A period that ended with no renewal to carry its overage: an invoice of its own, charged as
/// renewals are.
fn bill_last_overage(conn: &Conn<'_>, mut row: UsagePeriod) -> Result<(), AppError> {
    let period = Period { start: row.start, end: row.end };
    row.closed = true;
    store::save_usage_period(conn, &row)?;
    let Some(line) = billing::lines::overage_line(row.usage.overage, period) else {
        return Ok(());
    };
    let payment_method_id = store::get_subscription(conn, &row.account_id)?.and_then(|s| s.payment_method_id);
    let invoice = Invoice {
        id: new_id("in"),
        number: String::new(),
        account_id: row.account_id.clone(),
        created_at: period.end,
        period_start: period.start,
        period_end: period.end,
        amount: line.amount,
        lines: vec![line],
        status: InvoiceStatus::Open,
        payment_method_id,
        after_payment: Default::default(),
    };
    let invoice = store::insert_invoice(conn, invoice)?;
    Ok(store::set_charge_pending(conn, &invoice.id, true)?)
}

/// Forgets raw events older than 35 days (their totals stay), and daily totals older than the
/// chart shows, at most `budget` events at a time; how many events.
pub fn prune(conn: &Conn<'_>, now: OffsetDateTime, budget: usize) -> Result<usize, AppError> {
    let pruned = store::prune_meter_events(conn, now - usage::OLDEST_EVENT, budget)?;
    store::prune_usage_days(conn, now - usage::OLDEST_EVENT - Duration::days(31))?;
    Ok(pruned)
}
