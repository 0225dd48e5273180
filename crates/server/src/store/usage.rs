//! Metered usage: `meter_events` (each reported event once, by its identifier; pruned after 35
//! days), `usage_periods` (an account's running totals per period, kept in the transaction that
//! records the events, so reads never scan events) and `usage_days` (the same by day, for the
//! portal's chart), and the spending limit on a subscription's overage.

use super::{Conn, DbResult, OptionalExtension, Params, Row, ToValue, Value, params};
use super::{from_ts, plan_from, ts};
use billing::usage::{Credits, PeriodUsage};
use billing::{Money, PlanId};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Parameters built at run time (a statement over many rows).
struct Values(Vec<Value>);

impl Params for Values {
    fn values(&self) -> Vec<Value> {
        self.0.clone()
    }
}

/// A reported event as it was first recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEvent {
    pub identifier: String,
    pub account_id: String,
    pub value: Credits,
    /// The value as the backend wrote it (`"1.5"`), echoed back.
    pub value_text: String,
    pub occurred_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

/// `?n, ?n+1, ...` placeholders for `rows` rows of `width` values each: `(?1, ?2), (?3, ?4)`.
fn placeholders(rows: usize, width: usize) -> String {
    let row =
        |r: usize| format!("({})", (1..=width).map(|c| format!("?{}", r * width + c)).collect::<Vec<_>>().join(", "));
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// Records the events whose identifiers are new, in one statement; the identifiers recorded.
pub fn insert_meter_events(conn: &Conn<'_>, events: &[MeterEvent]) -> DbResult<HashSet<String>> {
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "INSERT INTO meter_events (identifier, account_id, value, value_text, occurred_at, created_at)
         VALUES {} ON CONFLICT (identifier) DO NOTHING RETURNING identifier",
        placeholders(events.len(), 6)
    );
    let values: Vec<Value> = events
        .iter()
        .flat_map(|e| {
            [
                e.identifier.to_value(),
                e.account_id.to_value(),
                e.value.hundredths().to_value(),
                e.value_text.to_value(),
                ts(e.occurred_at).to_value(),
                ts(e.created_at).to_value(),
            ]
        })
        .collect();
    let mut stmt = conn.prepare(&sql)?;
    let inserted = stmt.query_map(Values(values), |r| r.get::<_, String>(0))?;
    inserted.collect::<Result<HashSet<_>, _>>()
}

fn get_meter_event(conn: &Conn<'_>, identifier: &str) -> DbResult<Option<MeterEvent>> {
    conn.query_row(
        "SELECT identifier, account_id, value, value_text, occurred_at, created_at FROM meter_events
             WHERE identifier = ?1",
        [identifier],
        |r| {
            Ok(MeterEvent {
                identifier: r.get(0)?,
                account_id: r.get(1)?,
                value: Credits::from_hundredths(r.get(2)?),
                value_text: r.get(3)?,
                occurred_at: from_ts(r.get(4)?),
                created_at: from_ts(r.get(5)?),
            })
        },
    )
    .optional()
}

/// The events recorded under these identifiers (duplicates are rare: one query each).
pub fn get_meter_events(conn: &Conn<'_>, identifiers: &[&str]) -> DbResult<HashMap<String, MeterEvent>> {
    let mut found = HashMap::new();
    for identifier in identifiers {
        if let Some(event) = get_meter_event(conn, identifier)? {
            found.insert(event.identifier.clone(), event);
        }
    }
    Ok(found)
}

/// Forgets events that happened before `before` (their totals stay); how many.
pub fn prune_meter_events(conn: &Conn<'_>, before: OffsetDateTime, limit: usize) -> DbResult<usize> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.execute(
        "DELETE FROM meter_events WHERE identifier IN
           (SELECT identifier FROM meter_events WHERE occurred_at < ?1 LIMIT ?2)",
        params![ts(before), limit],
    )
}

/// An account's usage in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePeriod {
    pub account_id: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub usage: PeriodUsage,
    /// The plan the period ended on (set when it ends); until then the subscription says.
    pub final_plan: Option<PlanId>,
    /// Which thresholds were told (`Threshold::bit`s).
    pub told: i64,
    /// Its usage is final and billed: no more events for it.
    pub closed: bool,
}

impl UsagePeriod {
    pub fn empty(account_id: &str, period: billing::period::Period) -> UsagePeriod {
        UsagePeriod {
            account_id: account_id.to_string(),
            start: period.start,
            end: period.end,
            usage: PeriodUsage::default(),
            final_plan: None,
            told: 0,
            closed: false,
        }
    }
}

const PERIOD_COLUMNS: &str = "account_id, period_start, period_end, used, overage, final_plan, told, closed";

fn period_from_row(r: &Row, at: usize) -> super::DbResult<UsagePeriod> {
    Ok(UsagePeriod {
        account_id: r.get(at)?,
        start: from_ts(r.get(at + 1)?),
        end: from_ts(r.get(at + 2)?),
        usage: PeriodUsage {
            used: Credits::from_hundredths(r.get(at + 3)?),
            overage: Credits::from_hundredths(r.get(at + 4)?),
        },
        final_plan: r.get::<_, Option<String>>(at + 5)?.map(plan_from).transpose()?,
        told: r.get(at + 6)?,
        closed: r.get(at + 7)?,
    })
}

pub fn get_usage_period(conn: &Conn<'_>, account_id: &str, start: OffsetDateTime) -> DbResult<Option<UsagePeriod>> {
    conn.query_row(
        &format!("SELECT {PERIOD_COLUMNS} FROM usage_periods WHERE account_id = ?1 AND period_start = ?2"),
        params![account_id, ts(start)],
        |r| period_from_row(r, 0),
    )
    .optional()
}

pub fn save_usage_period(conn: &Conn<'_>, p: &UsagePeriod) -> DbResult<()> {
    save_usage_periods(conn, std::slice::from_ref(p))
}

/// Writes several accounts' periods in one statement (each `(account, period)` once).
pub fn save_usage_periods(conn: &Conn<'_>, periods: &[UsagePeriod]) -> DbResult<()> {
    if periods.is_empty() {
        return Ok(());
    }
    let values: Vec<Value> = periods
        .iter()
        .flat_map(|p| {
            [
                p.account_id.to_value(),
                ts(p.start).to_value(),
                ts(p.end).to_value(),
                p.usage.used.hundredths().to_value(),
                p.usage.overage.hundredths().to_value(),
                p.final_plan.map(|plan| plan.as_str()).to_value(),
                p.told.to_value(),
                p.closed.to_value(),
            ]
        })
        .collect();
    conn.execute(
        &format!(
            "INSERT INTO usage_periods ({PERIOD_COLUMNS}) VALUES {}
             ON CONFLICT (account_id, period_start) DO UPDATE SET used = excluded.used,
                 overage = excluded.overage, final_plan = excluded.final_plan, told = excluded.told,
                 closed = excluded.closed",
            placeholders(periods.len(), 8)
        ),
        Values(values),
    )?;
    Ok(())
}

/// Periods whose grace hour ended by `now` with overage still to bill, and no renewal invoice
/// to carry it: the subscription ended with the period (a live one that has not reached its
/// next period yet, in a catch-up, renews first and its draft carries it). Of `account_id`, or
/// any.
pub fn usage_periods_to_bill(
    conn: &Conn<'_>,
    ended_by: OffsetDateTime,
    account_id: Option<&str>,
    limit: usize,
) -> DbResult<Vec<UsagePeriod>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {PERIOD_COLUMNS} FROM usage_periods u WHERE closed = 0 AND overage > 0 AND period_end <= ?1
           AND (CAST(?2 AS TEXT) IS NULL OR account_id = ?2)
           AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = u.account_id AND i.status = 'draft')
           AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = u.account_id
                             AND s.status != 'canceled' AND s.period_start < u.period_end)
         ORDER BY period_end LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![ts(ended_by), account_id, limit], |r| period_from_row(r, 0))?;
    rows.collect::<Result<Vec<_>, _>>()
}

/// What the recording of an account's events needs in one read: whether the account exists,
/// its subscription's terms, and the period's totals so far.
#[derive(Debug, Clone)]
pub struct UsageAccount {
    pub subscription: Option<UsageSubscription>,
    pub period: Option<UsagePeriod>,
}

/// A subscription's terms as usage sees them.
#[derive(Debug, Clone)]
pub struct UsageSubscription {
    pub plan: PlanId,
    pub status: billing::wire::SubscriptionStatus,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub scheduled_plan: Option<PlanId>,
    pub cancel_at_period_end: bool,
    pub overage_enabled: bool,
    pub spending_limit: Option<Money>,
}

/// What [`usage_account`] and [`usage_accounts`] read: the subscription, the period's totals
/// (from `?1`), and the account's id (column 16).
fn usage_account_select() -> String {
    format!(
        "SELECT s.plan, s.status, s.period_start, s.period_end, s.scheduled_plan, s.cancel_at_period_end,
                s.overage_enabled, s.spending_limit, u.{}, a.id
         FROM accounts a LEFT JOIN subscriptions s ON s.account_id = a.id
         LEFT JOIN usage_periods u ON u.account_id = a.id AND u.period_start = ?1",
        PERIOD_COLUMNS.replace(", ", ", u.")
    )
}

fn usage_account_from_row(r: &Row) -> super::DbResult<UsageAccount> {
    let subscription = match r.get::<_, Option<String>>(0)? {
        Some(plan) => Some(UsageSubscription {
            plan: plan_from(plan)?,
            status: super::named(r.get(1)?)?,
            period_start: from_ts(r.get(2)?),
            period_end: from_ts(r.get(3)?),
            scheduled_plan: r.get::<_, Option<String>>(4)?.map(plan_from).transpose()?,
            cancel_at_period_end: r.get(5)?,
            overage_enabled: r.get(6)?,
            spending_limit: r.get::<_, Option<i64>>(7)?.map(Money::from_cents),
        }),
        None => None,
    };
    let period = match r.get::<_, Option<String>>(8)? {
        Some(_) => Some(period_from_row(r, 8)?),
        None => None,
    };
    Ok(UsageAccount { subscription, period })
}

/// The account (`None`: never seen), its subscription and its usage in the period from `start`.
pub fn usage_account(conn: &Conn<'_>, account_id: &str, start: OffsetDateTime) -> DbResult<Option<UsageAccount>> {
    let sql = format!("{} WHERE a.id = ?2", usage_account_select());
    conn.query_row(&sql, params![ts(start), account_id], usage_account_from_row).optional()
}

/// [`usage_account`] of several accounts in one query: those the server has seen, by id.
pub fn usage_accounts(
    conn: &Conn<'_>,
    account_ids: &[&str],
    start: OffsetDateTime,
) -> DbResult<HashMap<String, UsageAccount>> {
    if account_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = (2..account_ids.len() + 2).map(|n| format!("?{n}")).collect();
    let sql = format!("{} WHERE a.id IN ({})", usage_account_select(), ids.join(", "));
    let mut values = vec![ts(start).to_value()];
    values.extend(account_ids.iter().map(|id| id.to_value()));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(Values(values), |r| Ok((r.get::<_, String>(16)?, usage_account_from_row(r)?)))?;
    rows.collect::<Result<HashMap<_, _>, _>>()
}

/// Adds each `(account, day, used)` to the account's total for that day, in one statement
/// (each `(account, day)` once).
pub fn add_usage_days(conn: &Conn<'_>, days: &[(&str, OffsetDateTime, Credits)]) -> DbResult<()> {
    if days.is_empty() {
        return Ok(());
    }
    let values: Vec<Value> = days
        .iter()
        .flat_map(|(account, day, used)| [account.to_value(), ts(*day).to_value(), used.hundredths().to_value()])
        .collect();
    conn.execute(
        &format!(
            "INSERT INTO usage_days (account_id, day, used) VALUES {}
             ON CONFLICT (account_id, day) DO UPDATE SET used = usage_days.used + excluded.used",
            placeholders(days.len(), 3)
        ),
        Values(values),
    )?;
    Ok(())
}

/// The account's usage by day from `from` until `to`, oldest first (days without usage left out).
pub fn usage_days(
    conn: &Conn<'_>,
    account_id: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> DbResult<Vec<(OffsetDateTime, Credits)>> {
    let mut stmt =
        conn.prepare("SELECT day, used FROM usage_days WHERE account_id = ?1 AND day >= ?2 AND day < ?3 ORDER BY day")?;
    let rows = stmt.query_map(params![account_id, ts(from), ts(to)], |r| {
        Ok((from_ts(r.get(0)?), Credits::from_hundredths(r.get(1)?)))
    })?;
    rows.collect::<Result<Vec<_>, _>>()
}

/// Forgets daily totals older than `before` (the portal charts the current period only).
pub fn prune_usage_days(conn: &Conn<'_>, before: OffsetDateTime) -> DbResult<usize> {
    conn.execute("DELETE FROM usage_days WHERE day < ?1", params![ts(before)])
}

pub fn spending_limit(conn: &Conn<'_>, account_id: &str) -> DbResult<Option<Money>> {
    let limit: Option<Option<i64>> = conn
        .query_row("SELECT spending_limit FROM subscriptions WHERE account_id = ?1", [account_id], |r| r.get(0))
        .optional()?;
    Ok(limit.flatten().map(Money::from_cents))
}

pub fn set_spending_limit(conn: &Conn<'_>, account_id: &str, limit: Option<Money>) -> DbResult<()> {
    conn.execute(
        "UPDATE subscriptions SET spending_limit = ?2 WHERE account_id = ?1",
        params![account_id, limit.map(Money::cents)],
    )?;
    Ok(())
}
