//! What `/metrics` reads from the database when it is scraped: the webhook backlog and its oldest
//! delivery, and payment attempts whose lease ran out.

use super::{Conn, DbResult, params};

/// The database's side of the operator's gauges.
pub struct OpsGauges {
    /// Deliveries not yet delivered nor given up, over every endpoint.
    pub webhook_backlog: i64,
    /// When the oldest of them was enqueued (wall-clock milliseconds).
    pub oldest_pending_enqueued_at: Option<i64>,
    /// Pending attempts whose lease ran out before `now` (wall-clock milliseconds).
    pub orphaned_attempts: i64,
}

pub fn ops_gauges(conn: &Conn<'_>, now: i64) -> DbResult<OpsGauges> {
    let (webhook_backlog, oldest_pending_enqueued_at) =
        conn.query_row("SELECT COUNT(*), MIN(enqueued_at) FROM deliveries WHERE done_at IS NULL", (), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let orphaned_attempts = conn.query_row(
        "SELECT COUNT(*) FROM payment_attempts
         WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < ?1)",
        params![now],
        |r| r.get(0),
    )?;
    Ok(OpsGauges { webhook_backlog, oldest_pending_enqueued_at, orphaned_attempts })
}
