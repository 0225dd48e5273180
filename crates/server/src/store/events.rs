//! The `events` table: every event, in the order it happened, with a delivery queued per endpoint.

use super::{Conn, DbResult, OptionalExtension, params};

/// Writes an event and one pending delivery per configured endpoint.
pub fn insert_event(conn: &Conn<'_>, id: &str, kind: &str, account_id: &str, created: i64, body: &str) -> DbResult<()> {
    // The position comes from a counter advanced in this transaction, not from a sequence: on
    // PostgreSQL two transactions could take 9 and 10 and commit 10 first, and a reader of
    // `after=<10>` would never see 9. Advancing one row serialises the writers of events, so
    // positions are in commit order on both backends.
    let seq: i64 =
        conn.query_row("UPDATE counters SET value = value + 1 WHERE name = 'event_seq' RETURNING value", (), |r| {
            r.get(0)
        })?;
    conn.execute(
        "INSERT INTO events (seq, id, type, account_id, created, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![seq, id, kind, account_id, created, body],
    )?;
    let enqueued = conn.now_ms()?;
    let mut endpoints = conn.prepare_cached("SELECT url FROM webhook_endpoints")?;
    let urls = endpoints.query_map((), |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    for url in urls {
        conn.execute(
            "INSERT INTO deliveries (event_seq, endpoint, enqueued_at, next_attempt_at) VALUES (?1, ?2, ?3, ?3)",
            params![seq, url, enqueued],
        )?;
    }
    Ok(())
}

/// Makes the configured endpoints the ones new events are delivered to (at start).
pub fn set_endpoints(conn: &Conn<'_>, urls: &[String]) -> DbResult<()> {
    conn.execute("DELETE FROM webhook_endpoints", ())?;
    for url in urls {
        conn.execute("INSERT INTO webhook_endpoints (url) VALUES (?1) ON CONFLICT DO NOTHING", [url])?;
    }
    Ok(())
}

/// Up to `fetch` event bodies after the one with id `after` (from the first without it), oldest
/// first; `None` when there is no event `after`.
pub fn event_bodies_after(conn: &Conn<'_>, after: Option<&str>, fetch: usize) -> DbResult<Option<Vec<String>>> {
    let after_seq = match after {
        None => 0,
        Some(id) => {
            let seq =
                conn.query_row("SELECT seq FROM events WHERE id = ?1", [id], |r| r.get::<_, i64>(0)).optional()?;
            let Some(seq) = seq else { return Ok(None) };
            seq
        }
    };
    let mut stmt = conn.prepare("SELECT body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let fetch = i64::try_from(fetch).unwrap_or(i64::MAX);
    let bodies =
        stmt.query_map(params![after_seq, fetch], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(Some(bodies))
}
