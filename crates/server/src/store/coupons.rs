//! The `coupons` table (issue 22). A coupon's terms never change once created; it can only be
//! made invalid, after which none of its codes apply.

use super::{Conn, DbResult, OptionalExtension, params};
use super::{from_ts, ts};
use billing::discount::{CouponDuration, CouponTerms, Off};
use billing::{Money, PlanId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub id: String,
    pub name: Option<String>,
    pub terms: CouponTerms,
    pub valid: bool,
    pub created_at: OffsetDateTime,
}

const COUPON_COLUMNS: &str =
    "id, name, percent_off, amount_off, duration, duration_in_months, plans, valid, created_at";

fn coupon_from_row(r: &super::Row) -> super::DbResult<Coupon> {
    let off = match (r.get::<_, Option<i64>>(2)?, r.get::<_, Option<i64>>(3)?) {
        (Some(percent), None) => Off::Percent(u8::try_from(percent).map_err(|_| bad(2, "percent_off"))?),
        (None, Some(cents)) => Off::Amount(Money::from_cents(cents)),
        _ => return Err(bad(2, "percent_off or amount_off")),
    };
    let months: Option<i64> = r.get(5)?;
    let duration = match (r.get::<_, String>(4)?.as_str(), months) {
        ("once", _) => CouponDuration::Once,
        ("forever", _) => CouponDuration::Forever,
        ("repeating", Some(m)) => {
            CouponDuration::Repeating { duration_in_months: u32::try_from(m).map_err(|_| bad(5, "months"))? }
        }
        _ => return Err(bad(4, "duration")),
    };
    let plans = match r.get::<_, Option<String>>(6)? {
        Some(list) => {
            Some(list.split(',').map(|p| p.parse::<PlanId>().map_err(|_| bad(6, "plans"))).collect::<Result<_, _>>()?)
        }
        None => None,
    };
    Ok(Coupon {
        id: r.get(0)?,
        name: r.get(1)?,
        terms: CouponTerms { off, duration, plans },
        valid: r.get::<_, i64>(7)? != 0,
        created_at: from_ts(r.get(8)?),
    })
}

/// A stored value this build cannot read: an error, never a default.
fn bad(column: usize, what: &str) -> super::DbError {
    super::DbError::column(column, format!("{what} is not one this build reads"))
}

pub fn insert_coupon(conn: &Conn<'_>, coupon: &Coupon) -> DbResult<()> {
    let (percent, amount) = match coupon.terms.off {
        Off::Percent(p) => (Some(i64::from(p)), None),
        Off::Amount(m) => (None, Some(m.cents())),
    };
    let (duration, months) = match coupon.terms.duration {
        CouponDuration::Once => ("once", None),
        CouponDuration::Repeating { duration_in_months } => ("repeating", Some(i64::from(duration_in_months))),
        CouponDuration::Forever => ("forever", None),
    };
    let plans = coupon.terms.plans.as_ref().map(|plans| plans.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(","));
    conn.execute(
        "INSERT INTO coupons (id, name, percent_off, amount_off, duration, duration_in_months, plans, valid, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            coupon.id,
            coupon.name,
            percent,
            amount,
            duration,
            months,
            plans,
            i64::from(coupon.valid),
            ts(coupon.created_at)
        ],
    )?;
    Ok(())
}

pub fn get_coupon(conn: &Conn<'_>, id: &str) -> DbResult<Option<Coupon>> {
    let sql = format!("SELECT {COUPON_COLUMNS} FROM coupons WHERE id = ?1");
    conn.query_row(&sql, params![id], coupon_from_row).optional()
}

/// Up to `limit` coupons, newest first.
pub fn list_coupons(conn: &Conn<'_>, limit: i64) -> DbResult<Vec<Coupon>> {
    let mut stmt =
        conn.prepare(&format!("SELECT {COUPON_COLUMNS} FROM coupons ORDER BY created_at DESC, id LIMIT ?1"))?;
    let rows = stmt.query_map(params![limit], coupon_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Makes a coupon invalid: its codes apply no more (discounts already running go on).
pub fn invalidate_coupon(conn: &Conn<'_>, id: &str) -> DbResult<bool> {
    Ok(conn.execute("UPDATE coupons SET valid = 0 WHERE id = ?1", params![id])? == 1)
}

/// Redemptions paid with any of the coupon's codes.
pub fn coupon_times_redeemed(conn: &Conn<'_>, coupon_id: &str) -> DbResult<i64> {
    conn.query_row(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM redemptions r JOIN promotion_codes p ON p.id = r.promotion_code_id
         WHERE p.coupon_id = ?1 AND r.status = 'redeemed'",
        params![coupon_id],
        |r| r.get(0),
    )
}
