//! The `subscriptions` table, with a past-due subscription's retries and why one was cancelled.

use super::{Conn, DbError, DbResult, OptionalExtension, Row, params};
use super::{from_ts, named, plan_from, ts};
use billing::wire::{CancellationReason, SubscriptionStatus};
use billing::{Money, PlanId};
use time::OffsetDateTime;

// --- subscriptions -------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Subscription {
    pub account_id: String,
    pub plan: PlanId,
    pub status: SubscriptionStatus,
    pub first_paid_at: OffsetDateTime,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub paid_this_period: Money,
    pub scheduled_plan: Option<PlanId>,
    pub cancel_at_period_end: bool,
    pub overage_enabled: bool,
    pub payment_method_id: Option<String>,
}

fn status_str(s: SubscriptionStatus) -> &'static str {
    match s {
        SubscriptionStatus::Active => "active",
        SubscriptionStatus::PastDue => "past_due",
        SubscriptionStatus::Canceled => "canceled",
    }
}

const SUB_COLUMNS: &str = "account_id, plan, status, first_paid_at, period_start, period_end, paid_this_period,
    scheduled_plan, cancel_at_period_end, overage_enabled, payment_method_id";

fn sub_from_row(r: &Row) -> DbResult<Subscription> {
    Ok(Subscription {
        account_id: r.get(0)?,
        plan: plan_from(r.get(1)?)?,
        status: named(r.get(2)?)?,
        first_paid_at: from_ts(r.get(3)?),
        period_start: from_ts(r.get(4)?),
        period_end: from_ts(r.get(5)?),
        paid_this_period: Money::from_cents(r.get(6)?),
        scheduled_plan: r.get::<_, Option<String>>(7)?.map(plan_from).transpose()?,
        cancel_at_period_end: r.get(8)?,
        overage_enabled: r.get(9)?,
        payment_method_id: r.get(10)?,
    })
}

pub fn get_subscription(conn: &Conn<'_>, account_id: &str) -> DbResult<Option<Subscription>> {
    conn.query_row(
        &format!("SELECT {SUB_COLUMNS} FROM subscriptions WHERE account_id = ?1"),
        [account_id],
        sub_from_row,
    )
    .optional()
}

/// Up to `limit` subscriptions with a period that ended by `now` (all accounts, or one) whose
/// period end comes next: not while a renewal waits for its charge, nor a retry due before it.
pub fn subscriptions_due(
    conn: &Conn<'_>,
    now: OffsetDateTime,
    account_id: Option<&str>,
    limit: usize,
) -> DbResult<Vec<Subscription>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions s WHERE period_end <= ?1 AND status != 'canceled'
         AND (CAST(?2 AS TEXT) IS NULL OR account_id = ?2) AND (retry_at IS NULL OR retry_at > period_end)
         AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = s.account_id AND i.charge_pending = 1)
         ORDER BY period_end LIMIT ?3"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![ts(now), account_id, limit], sub_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Starts a paid subscription. An account's earlier subscription is replaced only when it has
/// ended: with a live one, whatever the caller checked, nothing changes and the answer is `false`.
pub fn insert_subscription(conn: &Conn<'_>, s: &Subscription) -> DbResult<bool> {
    let inserted = conn.execute(
        &format!(
            "INSERT INTO subscriptions ({SUB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(account_id) DO UPDATE SET plan = excluded.plan, status = excluded.status,
                 first_paid_at = excluded.first_paid_at, period_start = excluded.period_start,
                 period_end = excluded.period_end, paid_this_period = excluded.paid_this_period,
                 scheduled_plan = excluded.scheduled_plan, cancel_at_period_end = excluded.cancel_at_period_end,
                 overage_enabled = excluded.overage_enabled, payment_method_id = excluded.payment_method_id,
                 failed_at = NULL, retries = 0, retry_at = NULL, cancellation_reason = NULL
             WHERE subscriptions.status = 'canceled' OR subscriptions.plan = 'free'"
        ),
        subscription_params(s),
    )?;
    Ok(inserted == 1)
}

/// Writes back a subscription that exists.
pub fn save_subscription(conn: &Conn<'_>, s: &Subscription) -> DbResult<()> {
    let updated = conn.execute(
        "UPDATE subscriptions SET plan = ?2, status = ?3, first_paid_at = ?4, period_start = ?5, period_end = ?6,
             paid_this_period = ?7, scheduled_plan = ?8, cancel_at_period_end = ?9, overage_enabled = ?10,
             payment_method_id = ?11
         WHERE account_id = ?1",
        subscription_params(s),
    )?;
    if updated == 1 { Ok(()) } else { Err(DbError::broken("saving a subscription that does not exist")) }
}

type SubscriptionRow<'a> =
    (&'a str, &'static str, &'static str, i64, i64, i64, i64, Option<&'static str>, bool, bool, Option<&'a str>);

/// A past-due subscription's retries, counted from the failure that started them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub failed_at: OffsetDateTime,
    /// Retries made so far.
    pub made: u32,
    /// The next one; `None` once there is none (the subscription is then canceled).
    pub next_at: Option<OffsetDateTime>,
}

pub fn get_retries(conn: &Conn<'_>, account_id: &str) -> DbResult<Option<Retries>> {
    let row: Option<(Option<i64>, u32, Option<i64>)> = conn
        .query_row("SELECT failed_at, retries, retry_at FROM subscriptions WHERE account_id = ?1", [account_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(row.and_then(|(failed_at, made, next_at)| {
        failed_at.map(|at| Retries { failed_at: from_ts(at), made, next_at: next_at.map(from_ts) })
    }))
}

/// Keeps the account's retries (`None`: nothing is being retried).
pub fn set_retries(conn: &Conn<'_>, account_id: &str, retries: Option<&Retries>) -> DbResult<()> {
    conn.execute(
        "UPDATE subscriptions SET failed_at = ?2, retries = ?3, retry_at = ?4 WHERE account_id = ?1",
        params![
            account_id,
            retries.map(|r| ts(r.failed_at)),
            retries.map_or(0, |r| r.made),
            retries.and_then(|r| r.next_at).map(ts)
        ],
    )?;
    Ok(())
}

/// The account (`account_id`, or any with no charge in flight) whose retry fell due the
/// earliest by `now`, before its period's end, with no renewal waiting for its charge; and when.
/// Not while its user is at their bank paying those invoices (a 3-D Secure challenge of a live
/// portal session): a retry then would charge them a second time.
pub fn next_retry_due(
    conn: &Conn<'_>,
    account_id: Option<&str>,
    now: OffsetDateTime,
) -> DbResult<Option<(String, OffsetDateTime)>> {
    let due: Option<(String, i64)> = conn
        .query_row(
            "SELECT account_id, retry_at FROM subscriptions s
             WHERE retry_at <= ?2 AND retry_at <= period_end AND status = 'past_due' AND (CAST(?1 AS TEXT) IS NULL OR account_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = s.account_id AND i.charge_pending = 1)
               AND (CAST(?1 AS TEXT) IS NOT NULL OR account_id NOT IN (SELECT account_id FROM payment_attempts WHERE status = 'pending'))
               AND NOT EXISTS (SELECT 1 FROM challenges c JOIN portal_sessions p ON p.id = c.session_id
                   WHERE p.account_id = s.account_id AND c.invoice_id IS NOT NULL AND c.resolved_body IS NULL
                     AND p.expires_at > ?2)
             ORDER BY retry_at LIMIT 1",
            params![account_id, ts(now)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(due.map(|(account, at)| (account, from_ts(at))))
}

pub fn set_cancellation_reason(conn: &Conn<'_>, account_id: &str, reason: Option<CancellationReason>) -> DbResult<()> {
    conn.execute(
        "UPDATE subscriptions SET cancellation_reason = ?2 WHERE account_id = ?1",
        params![account_id, reason.map(CancellationReason::as_str)],
    )?;
    Ok(())
}

pub fn cancellation_reason(conn: &Conn<'_>, account_id: &str) -> DbResult<Option<CancellationReason>> {
    let reason: Option<String> = conn
        .query_row("SELECT cancellation_reason FROM subscriptions WHERE account_id = ?1", [account_id], |r| r.get(0))
        .optional()?
        .flatten();
    reason.map(named).transpose()
}

fn subscription_params(s: &Subscription) -> SubscriptionRow<'_> {
    (
        &s.account_id,
        s.plan.as_str(),
        status_str(s.status),
        ts(s.first_paid_at),
        ts(s.period_start),
        ts(s.period_end),
        s.paid_this_period.cents(),
        s.scheduled_plan.map(PlanId::as_str),
        s.cancel_at_period_end,
        s.overage_enabled,
        s.payment_method_id.as_deref(),
    )
}
