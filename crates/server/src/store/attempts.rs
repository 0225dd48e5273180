//! The `payment_attempts` table: each charge in flight, the account's only one, with what
//! recording its result needs, the PaymentIntent it made (Stripe mode) and this process's lease on
//! it; orphans (leases run out) and refunds of money no attempt could grant.

use super::{Conn, DbError, DbResult, OptionalExtension, params};
use super::{from_ts, ts};
use crate::ids::new_id;
use std::time::Duration;
use time::OffsetDateTime;

/// A charge in flight: the account's only one until it is finished.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attempt {
    pub id: String,
    pub account_id: String,
}

/// Records a pending attempt for `account_id`, or `None` while another one is in flight.
pub fn claim_attempt(
    conn: &Conn<'_>,
    account_id: &str,
    purpose: &str,
    now: OffsetDateTime,
) -> DbResult<Option<Attempt>> {
    let id = new_id("att");
    // The unique index on pending attempts refuses a second one; DO NOTHING, not an error, so the
    // transaction goes on (PostgreSQL aborts a transaction at its first error). Busy is answered
    // before the turn moves on: a moved turn makes the charge in flight record its result again.
    if has_pending_attempt(conn, account_id)? {
        return Ok(None);
    }
    take_charge_turn(conn, account_id)?;
    let inserted = conn.execute(
        "INSERT INTO payment_attempts (id, account_id, purpose, status, created_at, recorded_first)
         VALUES (?1, ?2, ?3, 'pending', ?4, 1) ON CONFLICT DO NOTHING",
        params![id, account_id, purpose, ts(now)],
    )?;
    Ok((inserted == 1).then(|| Attempt { id, account_id: account_id.to_string() }))
}

/// Moves the account's charge turn on (see `charge_turns` in the migrations): on PostgreSQL the
/// unique index on pending attempts checks the latest rows, not the transaction's snapshot, so
/// without this a claim could pass just after another charge was recorded while its eligibility
/// checks read the account as it was before.
fn take_charge_turn(conn: &Conn<'_>, account_id: &str) -> DbResult<()> {
    conn.execute(
        "INSERT INTO charge_turns (account_id, turn) VALUES (?1, 1)
         ON CONFLICT (account_id) DO UPDATE SET turn = charge_turns.turn + 1",
        [account_id],
    )?;
    Ok(())
}

/// Whether `account_id` has a charge in flight.
pub fn has_pending_attempt(conn: &Conn<'_>, account_id: &str) -> DbResult<bool> {
    let pending: i64 = conn.query_row(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payment_attempts WHERE account_id = ?1 AND status = 'pending'",
        [account_id],
        |r| r.get(0),
    )?;
    Ok(pending > 0)
}

/// Records how an attempt ended (`succeeded`, `requires_action`, `declined`, `failed`,
/// `refunded`, `abandoned`); false when it had ended already.
pub fn finish_attempt(conn: &Conn<'_>, attempt_id: &str, result: &str, now: OffsetDateTime) -> DbResult<bool> {
    let pending = "SELECT account_id FROM payment_attempts WHERE id = ?1 AND status = 'pending'";
    let Some(account) = conn.query_row(pending, [attempt_id], |r| r.get::<_, String>(0)).optional()? else {
        return Ok(false);
    };
    // The turn first, as a claim takes it: a claim waiting on this attempt's row in the pending
    // index while this waits on the claim's turn would be a deadlock.
    take_charge_turn(conn, &account)?;
    let finished = conn.execute(
        "UPDATE payment_attempts SET status = ?2, finished_at = ?3 WHERE id = ?1 AND status = 'pending'",
        params![attempt_id, result, ts(now)],
    )?;
    if finished == 1 && !matches!(result, "recording" | "succeeded" | "requires_action") {
        // Ended without success and without a bank check waiting: its code's hold is freed.
        super::release_holds_of_attempt(conn, attempt_id)?;
    }
    Ok(finished == 1)
}

/// Keeps with the attempt what recording its result needs (`pending`, JSON), and gives it a lease
/// of `lease` from now (the database's clock): the attempt belongs to this process while the lease is
/// renewed.
///
/// An attempt that answers a 3-D Secure challenge carries its PaymentIntent from the start, so
/// it counts as settling that PaymentIntent (no refund races it); one that was refunded already
/// is never granted: `false`, and nothing is kept.
pub fn keep_pending_charge(
    conn: &Conn<'_>,
    attempt_id: &str,
    pending: &str,
    intent: Option<&str>,
    lease: Duration,
) -> DbResult<bool> {
    if let Some(intent) = intent
        && intent_refunded(conn, intent)?
    {
        return Ok(false);
    }
    conn.execute(
        "UPDATE payment_attempts SET pending = ?2, lease_until = ?3, intent_id = COALESCE(?4, intent_id) WHERE id = ?1",
        params![attempt_id, pending, lease_until(conn, lease)?, intent],
    )?;
    Ok(true)
}

/// Whether an attempt gave PaymentIntent `intent`'s money back (or is doing so).
fn intent_refunded(conn: &Conn<'_>, intent: &str) -> DbResult<bool> {
    let refunded: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM payment_attempts WHERE intent_id = ?1
               AND (status IN ('refunded', 'refund_failed') OR (purpose = ?2 AND status = 'pending'))",
            [intent, LATE_PAYMENT],
            |r| r.get(0),
        )
        .optional()?;
    Ok(refunded.is_some())
}

/// `lease` from now on the database's clock, which every instance shares.
pub(super) fn lease_until(conn: &Conn<'_>, lease: Duration) -> DbResult<i64> {
    Ok(conn.now_ms()?.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)))
}

/// Records the PaymentIntent an attempt created, before it is confirmed: reconciliation always
/// has an id to retrieve.
pub fn keep_intent(conn: &Conn<'_>, attempt_id: &str, intent_id: &str) -> DbResult<()> {
    let kept = conn.execute(
        "UPDATE payment_attempts SET intent_id = ?2 WHERE id = ?1 AND status = 'pending'",
        params![attempt_id, intent_id],
    )?;
    if kept == 1 { Ok(()) } else { Err(DbError::broken("the attempt was settled before its charge")) }
}

/// Renews this process's lease on a pending attempt.
pub fn renew_lease(conn: &Conn<'_>, attempt_id: &str, lease: Duration) -> DbResult<()> {
    conn.execute(
        "UPDATE payment_attempts SET lease_until = ?2 WHERE id = ?1 AND status = 'pending'",
        params![attempt_id, lease_until(conn, lease)?],
    )?;
    Ok(())
}

/// Takes an orphan's expired lease for this process: false when another instance took it first
/// (or it was settled meanwhile), so each orphan is settled by one instance at a time.
pub fn take_lease(conn: &Conn<'_>, attempt_id: &str, lease: Duration) -> DbResult<bool> {
    let taken = conn.execute(
        "UPDATE payment_attempts SET lease_until = ?2
         WHERE id = ?1 AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?3)",
        params![attempt_id, lease_until(conn, lease)?, conn.now_ms()?],
    )?;
    Ok(taken == 1)
}

/// Leaves a pending attempt to [`crate::payments::reconcile`] at once: no request waits for it any more.
pub fn orphan_attempt(conn: &Conn<'_>, attempt_id: &str) -> DbResult<()> {
    conn.execute("UPDATE payment_attempts SET lease_until = 0 WHERE id = ?1 AND status = 'pending'", [attempt_id])?;
    Ok(())
}

/// An orphaned attempt (its lease ran out: its process stopped, or gave it up), as
/// [`crate::payments::reconcile`] settles it.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub id: String,
    pub purpose: String,
    pub pending: Option<String>,
    /// The PaymentIntent it created (Stripe mode), recorded before it was confirmed.
    pub intent_id: Option<String>,
    /// Made by a version that recorded the PaymentIntent's id only with the result.
    pub legacy: bool,
    /// The instant of the request that made it: its result is recorded as of then.
    pub created_at: OffsetDateTime,
}

pub fn orphans(conn: &Conn<'_>) -> DbResult<Vec<Orphan>> {
    let mut stmt = conn.prepare(
        "SELECT id, purpose, pending, intent_id, created_at, recorded_first = 0 FROM payment_attempts
         WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < ?1)
         ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map([conn.now_ms()?], |r| {
        Ok(Orphan {
            id: r.get(0)?,
            purpose: r.get(1)?,
            pending: r.get(2)?,
            intent_id: r.get(3)?,
            created_at: from_ts(r.get(4)?),
            legacy: r.get(5)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

/// The account whose money PaymentIntent `intent` holds when no attempt of ours granted it, is
/// still settling it or refunded it; `None` otherwise, and for a PaymentIntent we never made.
pub fn ungranted_intent(conn: &Conn<'_>, intent: &str) -> DbResult<Option<String>> {
    let mut stmt = conn.prepare("SELECT account_id, status FROM payment_attempts WHERE intent_id = ?1")?;
    let attempts: Vec<(String, String)> =
        stmt.query_map([intent], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let settled = attempts.iter().any(|(_, status)| {
        matches!(status.as_str(), "succeeded" | "pending" | "recording" | "refunded" | "refund_failed")
    });
    Ok(if settled { None } else { attempts.into_iter().next().map(|(account, _)| account) })
}

/// What a refund of money no attempt could grant is for (its attempt's purpose).
pub const LATE_PAYMENT: &str = "late_payment";

/// Claims the refund of PaymentIntent `intent` as a pending attempt of its own (purpose
/// [`LATE_PAYMENT`], leased like any charge, the PaymentIntent recorded), in the transaction that
/// finds no attempt granted it, settles it, or refunded it: two callers never both refund, and no
/// grant starts while it is pending.
pub fn claim_refund(conn: &Conn<'_>, intent: &str, lease: Duration, now: OffsetDateTime) -> DbResult<RefundClaim> {
    let Some(account_id) = ungranted_intent(conn, intent)? else {
        return Ok(RefundClaim::Nothing);
    };
    let Some(attempt) = claim_attempt(conn, &account_id, LATE_PAYMENT, now)? else {
        return Ok(RefundClaim::Busy);
    };
    conn.execute(
        "UPDATE payment_attempts SET intent_id = ?2, lease_until = ?3 WHERE id = ?1",
        params![attempt.id, intent, lease_until(conn, lease)?],
    )?;
    Ok(RefundClaim::Claimed(attempt))
}

/// What [`claim_refund`] found.
#[derive(Debug)]
pub enum RefundClaim {
    /// Nothing to refund (granted, settling, refunded already, or not ours).
    Nothing,
    /// Another charge of the account is in flight.
    Busy,
    /// The refund is this attempt's.
    Claimed(Attempt),
}

/// Records the status an attempt's outcome gives it, and the PaymentIntent it was paid with.
pub fn set_attempt_outcome(conn: &Conn<'_>, attempt_id: &str, status: &str, intent: Option<&str>) -> DbResult<()> {
    conn.execute(
        "UPDATE payment_attempts SET status = ?2, intent_id = ?3 WHERE id = ?1",
        params![attempt_id, status, intent],
    )?;
    Ok(())
}
