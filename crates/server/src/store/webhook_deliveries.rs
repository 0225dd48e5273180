//! The `webhook_endpoints` and `deliveries` tables: where events go, and each delivery's attempts.

use super::{Conn, DbResult, params};

/// One delivery that is due: the head of its account's queue for its endpoint.
pub struct Due {
    pub event_seq: i64,
    pub endpoint: String,
    pub body: String,
    pub attempts: u32,
    pub enqueued_at: i64,
    /// This instance's lease on it (see [`claim_due_deliveries`]); its outcome is recorded only
    /// while the lease is still this one.
    pub lease_until: i64,
}

/// The endpoints configured at start.
pub fn webhook_endpoints(conn: &Conn<'_>) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT url FROM webhook_endpoints ORDER BY url")?;
    let urls = stmt.query_map((), |r| r.get::<_, String>(0))?;
    urls.collect::<Result<Vec<_>, _>>()
}

/// Takes the due deliveries of `endpoint` (see [`due_deliveries`]) for this instance for `lease`
/// milliseconds of the database's clock: no other instance sends them meanwhile, and if this one
/// stops mid-delivery another sends them once the lease has run out.
pub fn claim_due_deliveries(conn: &Conn<'_>, endpoint: &str, lease: i64) -> DbResult<Vec<Due>> {
    let mut due = due_deliveries(conn, endpoint)?;
    let lease_until = conn.now_ms()?.saturating_add(lease);
    for d in &mut due {
        d.lease_until = lease_until;
        conn.execute(
            "UPDATE deliveries SET lease_until = ?3 WHERE event_seq = ?1 AND endpoint = ?2",
            params![d.event_seq, d.endpoint, lease_until],
        )?;
    }
    Ok(due)
}

/// The oldest undelivered event of each account for `endpoint`, where its next attempt is due by
/// now (the database's clock) and no instance holds it. An account whose oldest event is being
/// sent by another instance waits: its events go out one at a time, in order.
pub fn due_deliveries(conn: &Conn<'_>, endpoint: &str) -> DbResult<Vec<Due>> {
    let now = conn.now_ms()?;
    let mut stmt = conn.prepare_cached(
        "SELECT d.event_seq, d.endpoint, e.body, d.attempts, d.enqueued_at
         FROM deliveries d JOIN events e ON e.seq = d.event_seq
         WHERE d.done_at IS NULL AND d.endpoint = ?2
           AND d.event_seq = (SELECT MIN(d2.event_seq) FROM deliveries d2 JOIN events e2 ON e2.seq = d2.event_seq
                              WHERE d2.endpoint = d.endpoint AND e2.account_id = e.account_id
                                AND d2.done_at IS NULL)
           AND d.next_attempt_at <= ?1 AND (d.lease_until IS NULL OR d.lease_until < ?1)
         ORDER BY d.event_seq LIMIT 32",
    )?;
    let rows = stmt.query_map(params![now, endpoint], |r| {
        Ok(Due {
            event_seq: r.get(0)?,
            endpoint: r.get(1)?,
            body: r.get(2)?,
            attempts: r.get(3)?,
            enqueued_at: r.get(4)?,
            lease_until: 0,
        })
    })?;
    rows.collect::<Result<Vec<_>, _>>()
}

/// One delivery attempt's outcome: `error` when it failed.
pub struct DeliveryAttempt<'a> {
    /// The lease the attempt was made under: a late record from an instance whose lease ran out
    /// (another instance has sent the event since) changes nothing.
    pub lease_until: i64,
    pub attempts: u32,
    pub error: Option<&'a str>,
    /// When it was first enqueued (the database's clock), and how long after that a failing
    /// delivery is given up.
    pub enqueued_at: i64,
    pub give_up_after: i64,
    /// After a failure, how long until the next attempt.
    pub wait: i64,
}

/// Records `attempt`, done once delivered or given up; whether it was given up.
pub fn record_delivery(conn: &Conn<'_>, seq: i64, endpoint: &str, attempt: &DeliveryAttempt<'_>) -> DbResult<bool> {
    let now = conn.now_ms()?;
    let give_up = attempt.error.is_some() && now.saturating_sub(attempt.enqueued_at) >= attempt.give_up_after;
    let (done_at, next_attempt) = match attempt.error {
        Some(_) if !give_up => (None, now.saturating_add(attempt.wait)),
        _ => (Some(now), now),
    };
    conn.execute(
        "UPDATE deliveries SET attempts = ?3, last_error = ?4, done_at = ?5, delivered = ?6,
             next_attempt_at = ?7, lease_until = NULL
         WHERE event_seq = ?1 AND endpoint = ?2 AND lease_until = ?8 AND done_at IS NULL",
        params![
            seq,
            endpoint,
            attempt.attempts,
            attempt.error,
            done_at,
            attempt.error.is_none(),
            next_attempt,
            attempt.lease_until
        ],
    )?;
    Ok(give_up)
}
