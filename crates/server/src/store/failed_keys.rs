//! The `failed_keys` table: wrong secret keys per client address, where every instance counts them
//! (see [`crate::http::failed_keys`]).

use super::{Conn, DbResult, OptionalExtension, params};

/// How wrong keys are allowed: `burst` at once, then one per `interval_ms`.
#[derive(Debug, Clone, Copy)]
pub struct KeyAllowance {
    pub burst: u32,
    pub interval_ms: i64,
}

/// Forgets the addresses whose allowance is whole again (a periodic job, never a request: a scan
/// of the table in every wrong key's transaction would make them conflict with each other).
pub fn forget_whole_allowances(conn: &Conn<'_>) -> DbResult<usize> {
    conn.execute("DELETE FROM failed_keys WHERE full_at < ?1", [conn.now_ms()?])
}

/// Counts one wrong key from `address` now (the database's clock), as a generic cell rate: the row
/// keeps the moment the address's allowance is whole again. `Some(ms)` to wait when it has none
/// left (nothing is counted then).
pub fn count_failed_key(conn: &Conn<'_>, address: &str, allowance: KeyAllowance) -> DbResult<Option<i64>> {
    let now_ms = conn.now_ms()?;
    let full_at: Option<i64> =
        conn.query_row("SELECT full_at FROM failed_keys WHERE address = ?1", [address], |r| r.get(0)).optional()?;
    let next_full_at = full_at.unwrap_or(now_ms).max(now_ms).saturating_add(allowance.interval_ms);
    let tolerated = allowance.interval_ms.saturating_mul(i64::from(allowance.burst));
    let over = next_full_at - now_ms - tolerated;
    if over > 0 {
        return Ok(Some(over));
    }
    conn.execute(
        "INSERT INTO failed_keys (address, full_at) VALUES (?1, ?2)
         ON CONFLICT(address) DO UPDATE SET full_at = excluded.full_at",
        params![address, next_full_at],
    )?;
    Ok(None)
}
