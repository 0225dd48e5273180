//! What `/metrics` reads from the database when it is scraped: the webhook backlog and its oldest
//! delivery, and payment attempts whose lease ran out.

use super::{Conn, DbResult, params};

/// The database's side of the operator's gauges.
pub struct OpsGauges {
    /// Deliveries not yet delivered nor given up, over every endpoint.
    pub webhook_backlog: i64,
    /// When the oldest of them was enqueued (the database's clock, milliseconds).
    pub oldest_pending_enqueued_at: Option<i64>,
    /// Pending attempts whose lease ran out.
    pub orphaned_attempts: i64,
    /// The database's clock as they were read: what the times above compare with.
    pub now_ms: i64,
}

pub fn ops_gauges(conn: &Conn<'_>) -> DbResult<OpsGauges> {
    let now = conn.now_ms()?;
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
    Ok(OpsGauges { webhook_backlog, oldest_pending_enqueued_at, orphaned_attempts, now_ms: now })
}
