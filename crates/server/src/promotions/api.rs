//! `/v1/coupons` and `/v1/promotion_codes`, shaped as Stripe's: create, read, list, and make a
//! coupon invalid or a code inactive. Each object carries its `id` and `times_redeemed`.

use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey, idempotency_key};
use crate::idempotency;
use crate::ids::{self, new_id};
use crate::state::AppState;
use crate::store::Conn;
use crate::store::{self, Coupon, PromotionCode};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use billing::discount::{CouponDuration, CouponTerms, Off};
use billing::validate;
use billing::{Money, PlanId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/v1/coupons...` and `/v1/promotion_codes...`
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_coupon, list_coupons))
        .routes(routes!(get_coupon, invalidate_coupon))
        .routes(routes!(create_promotion_code, list_promotion_codes))
        .routes(routes!(get_promotion_code, update_promotion_code))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    plans: Vec<String>,
}

/// `POST /v1/coupons`: exactly one of `percent_off` and `amount_off` (cents).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"percent_off": 20, "duration": "repeating", "duration_in_months": 3, "name": "Launch"}))]
pub struct CreateCoupon {
    percent_off: Option<i64>,
    amount_off: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    duration: String,
    duration_in_months: Option<i64>,
    #[schema(value_type = Option<crate::http::openapi::schemas::AppliesTo>)]
    applies_to: Option<AppliesTo>,
    name: Option<String>,
}

fn invalid(message: &str) -> AppError {
    AppError::InvalidRequest(message.to_string())
}

impl CreateCoupon {
    fn terms(&self) -> Result<CouponTerms, AppError> {
        let off = match (self.percent_off, self.amount_off) {
            (Some(p), None) if (1..=100).contains(&p) => Off::Percent(u8::try_from(p).unwrap_or(100)),
            (None, Some(cents)) if (1..=100_000_000).contains(&cents) => Off::Amount(Money::from_cents(cents)),
            (Some(_), None) => return Err(invalid("`percent_off` must be a whole number from 1 to 100.")),
            (None, Some(_)) => return Err(invalid("`amount_off` must be cents, from 1 to 100000000.")),
            _ => return Err(invalid("Give exactly one of `percent_off` and `amount_off`.")),
        };
        if self.currency.as_deref().is_some_and(|c| !c.eq_ignore_ascii_case("usd")) {
            return Err(invalid("`currency` can only be `usd`."));
        }
        let duration = match (self.duration.as_str(), self.duration_in_months) {
            ("once", None) => CouponDuration::Once,
            ("forever", None) => CouponDuration::Forever,
            ("repeating", Some(m)) if (1..=120).contains(&m) => {
                CouponDuration::Repeating { duration_in_months: u32::try_from(m).unwrap_or(1) }
            }
            ("repeating", _) => return Err(invalid("`repeating` needs `duration_in_months` from 1 to 120.")),
            ("once" | "forever", Some(_)) => return Err(invalid("`duration_in_months` goes with `repeating` only.")),
            _ => return Err(invalid("`duration` must be `once`, `repeating` or `forever`.")),
        };
        let plans = match &self.applies_to {
            Some(AppliesTo { plans }) => {
                let parsed = plans.iter().map(|p| p.parse::<PlanId>().ok().filter(|p| p.is_paid()));
                let parsed: Option<Vec<PlanId>> = parsed.collect();
                match parsed {
                    Some(list) if !list.is_empty() => Some(list),
                    _ => return Err(invalid("`applies_to.plans` lists paid plans: pro, pro_plus, power.")),
                }
            }
            None => None,
        };
        Ok(CouponTerms { off, duration, plans })
    }
}

/// With an `Idempotency-Key`, a retry of the same body within 24 hours gets the first answer.
#[utoipa::path(post, path = "/coupons", tag = "promotions", security(("secret_key" = [])),
    request_body = CreateCoupon,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = crate::http::openapi::schemas::Coupon), crate::http::openapi::Failures))]
async fn create_coupon(
    _: SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateCoupon>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let key = idempotency_key(&headers)?;
    let terms = req.terms()?;
    if req.name.as_deref().is_some_and(|n| n.chars().count() > 40) {
        return Err(invalid("`name` is at most 40 characters."));
    }
    // Shown to buyers: nothing that renders as nothing or moves the text around.
    if req.name.as_deref().is_some_and(|n| n.chars().any(|c| c.is_control() || validate::is_invisible_format_char(c))) {
        return Err(invalid("`name` may not contain control or invisible characters."));
    }
    let now = state.clock.now();
    let coupon = Coupon { id: new_id("co"), name: req.name.clone(), terms, valid: true, created_at: now };
    let object = state
        .store
        .write(move |tx| {
            idempotency::once_per_key(tx, "v1:coupons", key.as_deref(), &req, now, || {
                store::insert_coupon(tx, &coupon)?;
                coupon_object(tx, &coupon)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(object)))
}

#[utoipa::path(get, path = "/coupons/{id}", tag = "promotions", security(("secret_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = crate::http::openapi::schemas::Coupon), crate::http::openapi::Failures))]
async fn get_coupon(
    _: SecretKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let read = move |conn: &Conn<'_>| {
        let coupon = store::get_coupon(conn, &id)?.ok_or(AppError::NotFound)?;
        coupon_object(conn, &coupon)
    };
    state.store.read(read).await.map(Json)
}

/// `DELETE /v1/coupons/{id}`: the coupon becomes invalid (its codes apply no more; discounts
/// already running go on). Answers the coupon, `valid: false`.
#[utoipa::path(delete, path = "/coupons/{id}", tag = "promotions", security(("secret_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "The coupon, no longer valid.", body = crate::http::openapi::schemas::Coupon), crate::http::openapi::Failures))]
async fn invalidate_coupon(
    _: SecretKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let write = move |tx: &Conn<'_>| {
        if !store::invalidate_coupon(tx, &id)? {
            return Err(AppError::NotFound);
        }
        let coupon = store::get_coupon(tx, &id)?.ok_or(AppError::NotFound)?;
        coupon_object(tx, &coupon)
    };
    state.store.write(write).await.map(Json)
}

/// `?limit=N` (1 to 100, default 10): newest first.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
}

impl ListQuery {
    fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(10),
            Some(n) if (1..=100).contains(&n) => Ok(n),
            Some(_) => Err(invalid("`limit` must be from 1 to 100.")),
        }
    }
}

fn list_object(mut data: Vec<Value>, limit: i64) -> Value {
    let has_more = i64::try_from(data.len()).unwrap_or(i64::MAX) > limit;
    data.truncate(usize::try_from(limit).unwrap_or(0));
    json!({"object": "list", "data": data, "has_more": has_more})
}

#[utoipa::path(get, path = "/coupons", tag = "promotions", security(("secret_key" = [])),
    params(("limit" = Option<u32>, Query, description = "1 to 100 (10).")),
    responses((status = 200, body = crate::http::openapi::schemas::CouponList), crate::http::openapi::Failures))]
async fn list_coupons(
    _: SecretKey,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let limit = query.limit()?;
    let read = move |conn: &Conn<'_>| {
        let coupons = store::list_coupons(conn, limit + 1)?;
        let data = coupons.iter().map(|c| coupon_object(conn, c)).collect::<Result<Vec<_>, _>>()?;
        Ok(list_object(data, limit))
    };
    state.store.read(read).await.map(Json)
}

/// The coupon as the API shows it.
pub fn coupon_object(conn: &Conn<'_>, coupon: &Coupon) -> Result<Value, AppError> {
    let (percent_off, amount_off) = match coupon.terms.off {
        Off::Percent(p) => (Some(p), None),
        Off::Amount(m) => (None, Some(m)),
    };
    let (duration, months) = match coupon.terms.duration {
        CouponDuration::Once => ("once", None),
        CouponDuration::Repeating { duration_in_months } => ("repeating", Some(duration_in_months)),
        CouponDuration::Forever => ("forever", None),
    };
    Ok(json!({
        "id": coupon.id,
        "object": "coupon",
        "name": coupon.name,
        "percent_off": percent_off,
        "amount_off": amount_off,
        "currency": amount_off.map(|_| "usd"),
        "duration": duration,
        "duration_in_months": months,
        "applies_to": coupon.terms.plans.as_ref().map(|plans| json!({"plans": plans})),
        "valid": coupon.valid,
        "times_redeemed": store::coupon_times_redeemed(conn, &coupon.id)?,
        "created": coupon.created_at.unix_timestamp(),
    }))
}

/// `POST /v1/promotion_codes`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "LAUNCH20", "coupon": "co_example", "max_redemptions": 100}))]
pub struct CreatePromotionCode {
    code: String,
    coupon: String,
    max_redemptions: Option<i64>,
    /// RFC 3339, as every time this API takes.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<time::OffsetDateTime>,
    #[serde(default)]
    first_time_transaction: bool,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

/// Codes are what buyers type: 3 to 40 letters, digits, `-` and `_`.
fn check_code_text(code: &str) -> Result<(), AppError> {
    let fits = (3..=super::checkout::MAX_CODE_LEN).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fits { Ok(()) } else { Err(invalid("`code` is 3 to 40 letters, digits, `-` and `_`.")) }
}

/// With an `Idempotency-Key`, a retry of the same body within 24 hours gets the first answer.
#[utoipa::path(post, path = "/promotion_codes", tag = "promotions", security(("secret_key" = [])),
    request_body = CreatePromotionCode,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = crate::http::openapi::schemas::PromotionCode), crate::http::openapi::Failures))]
async fn create_promotion_code(
    _: SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreatePromotionCode>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let key = idempotency_key(&headers)?;
    check_code_text(&req.code)?;
    if req.max_redemptions.is_some_and(|m| m < 1) {
        return Err(invalid("`max_redemptions` must be at least 1."));
    }
    let now = state.clock.now();
    if req.expires_at.is_some_and(|at| at <= now) {
        return Err(invalid("`expires_at` must be in the future."));
    }
    let code = PromotionCode {
        id: new_id("promo"),
        code: req.code.clone(),
        coupon_id: req.coupon.clone(),
        active: req.active,
        max_redemptions: req.max_redemptions,
        expires_at: req.expires_at,
        first_time_transaction: req.first_time_transaction,
        created_at: now,
    };
    let write = move |tx: &Conn<'_>| {
        idempotency::once_per_key(tx, "v1:promotion_codes", key.as_deref(), &req, now, || {
            if store::get_coupon(tx, &code.coupon_id)?.is_none_or(|c| !c.valid) {
                return Err(invalid("`coupon` is not a valid coupon's id."));
            }
            if !store::insert_promotion_code(tx, &code)? {
                return Err(AppError::PromotionCodeTaken);
            }
            tracing::info!(code = %ids::redact(&code.id), "promotion code created");
            promotion_code_object(tx, &code)
        })
    };
    let object = state.store.write(write).await?;
    Ok((StatusCode::CREATED, Json(object)))
}

#[utoipa::path(get, path = "/promotion_codes/{id}", tag = "promotions", security(("secret_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = crate::http::openapi::schemas::PromotionCode), crate::http::openapi::Failures))]
async fn get_promotion_code(
    _: SecretKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let read = move |conn: &Conn<'_>| {
        let code = store::get_promotion_code(conn, &id)?.ok_or(AppError::NotFound)?;
        promotion_code_object(conn, &code)
    };
    state.store.read(read).await.map(Json)
}

/// `POST /v1/promotion_codes/{id}`: `{"active": false}` (or `true` again).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UpdatePromotionCode {
    active: bool,
}

#[utoipa::path(post, path = "/promotion_codes/{id}", tag = "promotions", security(("secret_key" = [])),
    params(("id" = String, Path)),
    request_body = UpdatePromotionCode,
    responses((status = 200, body = crate::http::openapi::schemas::PromotionCode), crate::http::openapi::Failures))]
async fn update_promotion_code(
    _: SecretKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdatePromotionCode>,
) -> Result<Json<Value>, AppError> {
    let write = move |tx: &Conn<'_>| {
        if !store::set_promotion_code_active(tx, &id, req.active)? {
            return Err(AppError::NotFound);
        }
        let code = store::get_promotion_code(tx, &id)?.ok_or(AppError::NotFound)?;
        promotion_code_object(tx, &code)
    };
    state.store.write(write).await.map(Json)
}

#[utoipa::path(get, path = "/promotion_codes", tag = "promotions", security(("secret_key" = [])),
    params(("limit" = Option<u32>, Query, description = "1 to 100 (10).")),
    responses((status = 200, body = crate::http::openapi::schemas::PromotionCodeList), crate::http::openapi::Failures))]
async fn list_promotion_codes(
    _: SecretKey,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let limit = query.limit()?;
    let read = move |conn: &Conn<'_>| {
        let codes = store::list_promotion_codes(conn, limit + 1)?;
        let data = codes.iter().map(|c| promotion_code_object(conn, c)).collect::<Result<Vec<_>, _>>()?;
        Ok(list_object(data, limit))
    };
    state.store.read(read).await.map(Json)
}

/// The promotion code as the API shows it, with its coupon.
pub fn promotion_code_object(conn: &Conn<'_>, code: &PromotionCode) -> Result<Value, AppError> {
    let coupon = store::get_coupon(conn, &code.coupon_id)?.ok_or_else(|| AppError::internal("coupon missing"))?;
    Ok(json!({
        "id": code.id,
        "object": "promotion_code",
        "code": code.code,
        "coupon": coupon_object(conn, &coupon)?,
        "active": code.active,
        "max_redemptions": code.max_redemptions,
        "expires_at": code.expires_at.map(ids::rfc3339),
        "first_time_transaction": code.first_time_transaction,
        "times_redeemed": store::times_redeemed(conn, &code.id)?,
        "created": code.created_at.unix_timestamp(),
    }))
}
