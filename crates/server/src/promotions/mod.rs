//! Promotion codes and discounts (issue 22): `/v1/coupons` and `/v1/promotion_codes` for the
//! IDE's backend, and the codes a checkout carries, held while paid and redeemed once paid.

pub mod api;
pub mod checkout;

use crate::error::AppError;
use crate::store::Conn;
use crate::store::{self, Coupon};
use billing::discount::Discount;

/// The discount running on `account_id`'s subscription, if any (ended ones included: the
/// discount says itself which charges it covers).
pub fn running_discount(conn: &Conn<'_>, account_id: &str) -> Result<Option<Discount>, AppError> {
    let Some(kept) = store::get_subscription_discount(conn, account_id)? else {
        return Ok(None);
    };
    let coupon: Coupon = store::get_coupon(conn, &kept.coupon_id)?
        .ok_or_else(|| AppError::internal("a discount's coupon is missing"))?;
    Ok(Some(Discount { code: kept.code, terms: coupon.terms, started_at: kept.started_at }))
}
