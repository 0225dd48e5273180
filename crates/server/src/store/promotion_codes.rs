//! The `promotion_codes` table (issue 22): customer-facing codes, found case-insensitively by
//! `code_key` (the code upper-cased).

use super::{Conn, DbResult, OptionalExtension, params};
use super::{from_ts, ts};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionCode {
    pub id: String,
    /// As created (shown to buyers as it was written).
    pub code: String,
    pub coupon_id: String,
    pub active: bool,
    pub max_redemptions: Option<i64>,
    pub expires_at: Option<OffsetDateTime>,
    pub first_time_transaction: bool,
    pub created_at: OffsetDateTime,
}

/// How a code is looked up: case does not matter.
pub fn code_key(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

const CODE_COLUMNS: &str =
    "id, code, coupon_id, active, max_redemptions, expires_at, first_time_transaction, created_at";

fn code_from_row(r: &super::Row) -> super::DbResult<PromotionCode> {
    Ok(PromotionCode {
        id: r.get(0)?,
        code: r.get(1)?,
        coupon_id: r.get(2)?,
        active: r.get::<_, i64>(3)? != 0,
        max_redemptions: r.get(4)?,
        expires_at: r.get::<_, Option<i64>>(5)?.map(from_ts),
        first_time_transaction: r.get::<_, i64>(6)? != 0,
        created_at: from_ts(r.get(7)?),
    })
}

/// Writes a new code; `false` when its text (in any case) is taken.
pub fn insert_promotion_code(conn: &Conn<'_>, code: &PromotionCode) -> DbResult<bool> {
    let inserted = conn.execute(
        "INSERT INTO promotion_codes (id, code, code_key, coupon_id, active, max_redemptions, expires_at,
             first_time_transaction, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (code_key) DO NOTHING",
        params![
            code.id,
            code.code,
            code_key(&code.code),
            code.coupon_id,
            i64::from(code.active),
            code.max_redemptions,
            code.expires_at.map(ts),
            i64::from(code.first_time_transaction),
            ts(code.created_at)
        ],
    )?;
    Ok(inserted == 1)
}

pub fn get_promotion_code(conn: &Conn<'_>, id: &str) -> DbResult<Option<PromotionCode>> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM promotion_codes WHERE id = ?1");
    conn.query_row(&sql, params![id], code_from_row).optional()
}

/// The code a buyer typed, in any case.
pub fn find_promotion_code(conn: &Conn<'_>, typed: &str) -> DbResult<Option<PromotionCode>> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM promotion_codes WHERE code_key = ?1");
    conn.query_row(&sql, params![code_key(typed)], code_from_row).optional()
}

/// Up to `limit` codes, newest first.
pub fn list_promotion_codes(conn: &Conn<'_>, limit: i64) -> DbResult<Vec<PromotionCode>> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM promotion_codes ORDER BY created_at DESC, id LIMIT ?1");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![limit], code_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn set_promotion_code_active(conn: &Conn<'_>, id: &str, active: bool) -> DbResult<bool> {
    let updated =
        conn.execute("UPDATE promotion_codes SET active = ?2 WHERE id = ?1", params![id, i64::from(active)])?;
    Ok(updated == 1)
}
