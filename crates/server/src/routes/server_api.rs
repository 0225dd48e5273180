//! The server-to-server API the IDE's backend calls with the secret key (SPEC section 5).

use crate::error::{ApiJson, AppError};
use crate::ids::{new_id, redact};
use crate::store::{self, Account, CheckoutSession, PortalSession};
use crate::{AppState, billing_ops};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use billing::PlanId;
use billing::validate;
use billing::wire::{
    ClockView, CreateCheckoutSession, CreatePortalSession, CreatedSession, SetClock, SubscriptionView,
};
use serde_json::{Value, json};

/// Proof that the request carried the secret key (`Authorization: Bearer <key>`).
pub struct SecretKey;

impl FromRequestParts<AppState> for SecretKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthorized)?;
        if state.config.key_matches(presented.trim()) { Ok(SecretKey) } else { Err(AppError::Unauthorized) }
    }
}

/// Account ids are opaque to us but must be sane: 1-128 characters of `A-Za-z0-9._:@-`.
fn check_account_id(id: &str) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 128 {
        return Err(AppError::InvalidAccount("`id` must be 1 to 128 characters"));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-')) {
        return Err(AppError::InvalidAccount("`id` may contain only letters, digits and . _ : @ -"));
    }
    Ok(())
}

pub async fn create_checkout_session(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateCheckoutSession>,
) -> Result<(StatusCode, Json<CreatedSession>), AppError> {
    check_account_id(&req.account.id)?;
    let email = match req.account.email.as_deref() {
        Some(e) => Some(validate::validate_email(e).map_err(|e| AppError::InvalidEmail(e.message()))?),
        None => None,
    };
    let plan: PlanId = req.plan.parse().map_err(|_| AppError::UnknownPlan(req.plan.clone()))?;
    if !plan.is_paid() {
        return Err(AppError::UnknownPlan(req.plan.clone()));
    }
    let return_url = state.config.check_return_url(&req.return_url).map_err(AppError::InvalidReturnUrl)?;
    let now = state.clock.now();
    let session = CheckoutSession {
        id: new_id("cs"),
        account_id: req.account.id.clone(),
        plan,
        return_url: return_url.to_string(),
        created_at: now,
        expires_at: now + state.config.checkout_ttl,
        completed_at: None,
        declines: 0,
        invoice_id: None,
    };
    state.store.write(|tx| {
        store::upsert_account(
            tx,
            &Account {
                id: req.account.id.clone(),
                email,
                login: req.account.login,
                aws_account_linked: req.account.aws_account_linked,
            },
        )?;
        store::insert_checkout_session(tx, &session)
    })?;
    tracing::info!(session = %redact(&session.id), %plan, "checkout session created");
    Ok(created(&state, "checkout", session.id, session.expires_at))
}

/// `201` with the session's id, its page URL and its expiry.
fn created(
    state: &AppState,
    page: &str,
    id: String,
    expires_at: time::OffsetDateTime,
) -> (StatusCode, Json<CreatedSession>) {
    let url = format!("{}/{page}/{id}", state.config.public_url);
    (StatusCode::CREATED, Json(CreatedSession { id, url, expires_at }))
}

pub async fn create_portal_session(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreatePortalSession>,
) -> Result<(StatusCode, Json<CreatedSession>), AppError> {
    check_account_id(&req.account_id)?;
    let return_url = state.config.check_return_url(&req.return_url).map_err(AppError::InvalidReturnUrl)?;
    let now = state.clock.now();
    let session = PortalSession {
        id: new_id("ps"),
        account_id: req.account_id.clone(),
        return_url: return_url.to_string(),
        expires_at: now + state.config.portal_ttl,
    };
    state.store.write(|tx| {
        store::get_subscription(tx, &req.account_id)?.ok_or(AppError::NoSubscription)?;
        store::insert_portal_session(tx, &session, now)
    })?;
    tracing::info!(session = %redact(&session.id), "portal session created");
    Ok(created(&state, "portal", session.id, session.expires_at))
}

pub async fn get_subscription(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Result<Json<SubscriptionView>, AppError> {
    state.store.read(|conn| billing_ops::subscription_view(conn, &account_id)).map(Json)
}

/// Every invoice of an account: number, amount in cents, status. For the backend and the tests.
pub async fn list_invoices(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rows = state.store.read(|conn| {
        store::get_account(conn, &account_id)?.ok_or(AppError::NotFound)?;
        store::account_invoices(conn, &account_id)
    })?;
    let invoices: Vec<Value> = rows
        .into_iter()
        .map(|i| json!({"number": i.number, "amount": i.amount, "status": i.status, "lines": i.lines}))
        .collect();
    Ok(Json(json!({ "invoices": invoices })))
}

pub async fn set_clock(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SetClock>,
) -> Result<Json<ClockView>, AppError> {
    if !state.config.test_mode {
        return Err(AppError::NotFound);
    }
    state.clock.advance_to(req.now).map_err(|_| AppError::ClockBackwards)?;
    let now = state.clock.now();
    state.store.write(|tx| {
        store::set_meta(tx, "clock_frozen_at", &store::ts(now).to_string())?;
        billing_ops::run_due(tx, now)
    })?;
    tracing::info!(%now, "test clock moved");
    Ok(Json(ClockView { now, frozen: true }))
}

pub async fn get_clock(_: SecretKey, State(state): State<AppState>) -> Result<Json<ClockView>, AppError> {
    if !state.config.test_mode {
        return Err(AppError::NotFound);
    }
    Ok(Json(ClockView { now: state.clock.now(), frozen: state.clock.frozen().is_some() }))
}
