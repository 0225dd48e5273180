//! The `refunds` table: money given back on a paid invoice, each a credit note once it is back.
//!
//! A refund is recorded before the processor is called (holding its amount on the invoice), then
//! finished with the processor's answer: the amount moves from held to refunded and the credit
//! note takes the next number, or the hold is released. The hold is one conditional `UPDATE` of
//! the invoice's row, so refunds racing on any instance never hold more than was paid.

use super::attempts::lease_until;
use super::{Conn, DbError, DbResult, OptionalExtension, from_ts, params, ts};
use billing::Money;
use billing::proration::LineItem;
use std::time::Duration;
use time::OffsetDateTime;

/// Where a refund is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Recorded, the processor not answered yet.
    Pending,
    /// The money is back; the credit note is numbered.
    Succeeded,
    /// The processor refused it: nothing moved.
    Failed,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub invoice_id: String,
    pub account_id: String,
    pub amount: Money,
    /// Stripe's: `duplicate`, `fraudulent`, `requested_by_customer`.
    pub reason: String,
    pub status: RefundStatus,
    /// `CN-000001`, once it succeeded.
    pub credit_note: Option<String>,
    /// What the credit note credits.
    pub lines: Vec<LineItem>,
    pub created_at: OffsetDateTime,
    /// The processor's id for it (Stripe's `re_...`).
    pub processor_id: Option<String>,
    /// Why the processor refused it.
    pub failure: Option<String>,
}

const COLUMNS: &str =
    "id, invoice_id, account_id, amount, reason, status, credit_note, lines, created_at, processor_id, failure";

fn refund_from(r: &super::Row) -> DbResult<(Refund, String, String)> {
    Ok((
        Refund {
            id: r.get(0)?,
            invoice_id: r.get(1)?,
            account_id: r.get(2)?,
            amount: Money::from_cents(r.get(3)?),
            reason: r.get(4)?,
            status: RefundStatus::Pending,
            credit_note: r.get(6)?,
            lines: Vec::new(),
            created_at: from_ts(r.get(8)?),
            processor_id: r.get(9)?,
            failure: r.get(10)?,
        },
        r.get(5)?,
        r.get(7)?,
    ))
}

fn decoded((mut refund, status, lines): (Refund, String, String)) -> DbResult<Refund> {
    refund.status = super::named(status)?;
    refund.lines = serde_json::from_str(&lines).map_err(|e| DbError::broken(format!("credit note lines: {e}")))?;
    Ok(refund)
}

/// Records `refund` as pending (held on its invoice, leased for `lease`) when the invoice still
/// has that much to give back; false (nothing written) otherwise.
pub fn hold_refund(conn: &Conn<'_>, refund: &Refund, lease: Duration) -> DbResult<bool> {
    let held = conn.execute(
        "UPDATE invoices SET refund_pending = refund_pending + ?2
         WHERE id = ?1 AND status = 'paid' AND amount - amount_refunded - refund_pending >= ?2",
        params![refund.invoice_id, refund.amount.cents()],
    )?;
    if held != 1 {
        return Ok(false);
    }
    let lines = serde_json::to_string(&refund.lines).map_err(|e| DbError::broken(format!("credit note lines: {e}")))?;
    conn.execute(
        "INSERT INTO refunds (id, invoice_id, account_id, amount, reason, status, lines, created_at, lease_until)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8)",
        params![
            refund.id,
            refund.invoice_id,
            refund.account_id,
            refund.amount.cents(),
            refund.reason,
            lines,
            ts(refund.created_at),
            lease_until(conn, lease)?
        ],
    )?;
    Ok(true)
}

/// Keeps a pending refund this process's for another `lease`.
pub fn renew_refund_lease(conn: &Conn<'_>, id: &str, lease: Duration) -> DbResult<()> {
    conn.execute(
        "UPDATE refunds SET lease_until = ?2 WHERE id = ?1 AND status = 'pending'",
        params![id, lease_until(conn, lease)?],
    )?;
    Ok(())
}

/// Renews this process's lease on a pending refund while it is still live: false when it ran out
/// (reconciliation may be finishing the refund) or the refund is finished.
pub fn keep_refund_lease(conn: &Conn<'_>, id: &str, lease: Duration) -> DbResult<bool> {
    let kept = conn.execute(
        "UPDATE refunds SET lease_until = ?2 WHERE id = ?1 AND status = 'pending' AND lease_until >= ?3",
        params![id, lease_until(conn, lease)?, conn.now_ms()?],
    )?;
    Ok(kept == 1)
}

/// Leaves a pending refund to reconciliation at once: no request waits for it any more.
pub fn orphan_refund(conn: &Conn<'_>, id: &str) -> DbResult<()> {
    conn.execute("UPDATE refunds SET lease_until = 0 WHERE id = ?1 AND status = 'pending'", [id])?;
    Ok(())
}

/// Takes a pending refund whose lease ran out (its process stopped) for this process: false when
/// another took it first, or it is finished.
pub fn take_refund_lease(conn: &Conn<'_>, id: &str, lease: Duration) -> DbResult<bool> {
    let taken = conn.execute(
        "UPDATE refunds SET lease_until = ?2 WHERE id = ?1 AND status = 'pending' AND lease_until < ?3",
        params![id, lease_until(conn, lease)?, conn.now_ms()?],
    )?;
    Ok(taken == 1)
}

/// The processor's answer to a pending refund.
#[derive(Debug, Clone)]
pub enum RefundAnswer {
    Succeeded { processor_id: Option<String> },
    Failed { failure: String },
}

/// Finishes a pending refund with the processor's answer: the credit note numbered and the money
/// counted as refunded, or the hold released. `None` when it was finished already.
pub fn finish_refund(conn: &Conn<'_>, id: &str, answer: &RefundAnswer) -> DbResult<Option<Refund>> {
    let Some(refund) = get_refund(conn, id)?.filter(|r| r.status == RefundStatus::Pending) else {
        return Ok(None);
    };
    let cents = refund.amount.cents();
    match answer {
        RefundAnswer::Succeeded { processor_id } => {
            let number: i64 = conn.query_row(
                "UPDATE counters SET value = value + 1 WHERE name = 'credit_note_number' RETURNING value",
                (),
                |r| r.get(0),
            )?;
            conn.execute(
                "UPDATE refunds SET status = 'succeeded', credit_note = ?2, processor_id = ?3 WHERE id = ?1",
                params![id, format!("CN-{number:06}"), processor_id],
            )?;
            conn.execute(
                "UPDATE invoices SET refund_pending = refund_pending - ?2, amount_refunded = amount_refunded + ?2
                 WHERE id = ?1",
                params![refund.invoice_id, cents],
            )?;
        }
        RefundAnswer::Failed { failure } => {
            conn.execute("UPDATE refunds SET status = 'failed', failure = ?2 WHERE id = ?1", params![id, failure])?;
            conn.execute(
                "UPDATE invoices SET refund_pending = refund_pending - ?2 WHERE id = ?1",
                params![refund.invoice_id, cents],
            )?;
        }
    }
    get_refund(conn, id)
}

pub fn get_refund(conn: &Conn<'_>, id: &str) -> DbResult<Option<Refund>> {
    let sql = format!("SELECT {COLUMNS} FROM refunds WHERE id = ?1");
    conn.query_row(&sql, [id], refund_from).optional()?.map(decoded).transpose()
}

/// An invoice's refunds, oldest first.
pub fn invoice_refunds(conn: &Conn<'_>, invoice_id: &str) -> DbResult<Vec<Refund>> {
    let sql =
        format!("SELECT {COLUMNS} FROM refunds WHERE invoice_id = ?1 ORDER BY created_at, credit_note NULLS LAST, id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([invoice_id], refund_from)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(decoded).collect()
}

/// Pending refunds whose lease ran out (their process stopped mid-refund), oldest first.
pub fn orphaned_refunds(conn: &Conn<'_>) -> DbResult<Vec<Refund>> {
    let sql =
        format!("SELECT {COLUMNS} FROM refunds WHERE status = 'pending' AND lease_until < ?1 ORDER BY created_at");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([conn.now_ms()?], refund_from)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(decoded).collect()
}
