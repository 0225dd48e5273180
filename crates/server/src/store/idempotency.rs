//! The `idempotency` table: stored answers to idempotent requests.

use super::ts;
use super::{Conn, DbResult, OptionalExtension, params};
use time::OffsetDateTime;

// --- idempotency ---------------------------------------------------------------------------------

/// A stored answer to an idempotent request given at or after `since`: the hash of the request
/// it answered, its status and its body. Older answers are forgotten.
pub fn get_idempotent(
    conn: &Conn<'_>,
    scope: &str,
    key: &str,
    since: OffsetDateTime,
) -> DbResult<Option<(String, u16, String)>> {
    conn.query_row(
        "SELECT request_hash, status, body FROM idempotency WHERE scope = ?1 AND key = ?2 AND created_at >= ?3",
        params![scope, key, ts(since)],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

pub struct IdempotentAnswer<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub hash: &'a str,
    pub status: u16,
    pub body: &'a str,
}

pub fn put_idempotent(conn: &Conn<'_>, answer: &IdempotentAnswer<'_>, now: OffsetDateTime) -> DbResult<()> {
    conn.execute(
        "INSERT INTO idempotency (scope, key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
             body = excluded.body, created_at = excluded.created_at",
        params![answer.scope, answer.key, answer.hash, answer.status, answer.body, ts(now)],
    )?;
    Ok(())
}
