//! `/v1/refunds` and `/v1/accounts/{id}/subscription/cancel` (secret key), shaped as Stripe's.

use super::{Giving, REASONS, RefundOnCancel};
use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey, idempotency_key};
use crate::idempotency;
use crate::payments::refunds::{self, HeldRefund};
use crate::payments::{Payments, Processor};
use crate::state::AppState;
use crate::store::{self, Refund, RefundStatus};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use billing::Money;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_refund, list_refunds))
        .routes(routes!(get_refund))
        .routes(routes!(cancel_subscription))
}

/// `POST /v1/refunds`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"invoice": "in_example", "amount": 500, "reason": "requested_by_customer"}))]
pub struct CreateRefund {
    invoice: String,
    /// Cents; all that is left to refund when absent.
    amount: Option<i64>,
    /// `duplicate`, `fraudulent` or `requested_by_customer` (the default).
    reason: Option<String>,
}

impl CreateRefund {
    fn checked(&self) -> Result<(Option<Money>, &str), AppError> {
        let field =
            |param: &str, message: &str| AppError::InvalidField { param: param.into(), message: message.into() };
        if self.invoice.is_empty() || self.invoice.len() > 255 {
            return Err(field("invoice", "must be an invoice's id (`in_...`)"));
        }
        let amount = match self.amount {
            Some(cents) if (1..=100_000_000).contains(&cents) => Some(Money::from_cents(cents)),
            Some(_) => return Err(field("amount", "must be cents, from 1 to 100000000")),
            None => None,
        };
        let reason = self.reason.as_deref().unwrap_or("requested_by_customer");
        if !REASONS.contains(&reason) {
            return Err(field("reason", "must be `duplicate`, `fraudulent` or `requested_by_customer`"));
        }
        Ok((amount, reason))
    }
}

fn giving(payments: &Payments) -> Giving {
    Giving { needs_intent: matches!(payments.processor, Processor::Stripe(_)), lease: payments.attempt_lease }
}

/// Answers `201` once the money is back. With an `Idempotency-Key`, a retry of the same body
/// within 24 hours gets the same refund, never a second one.
#[utoipa::path(post, path = "/refunds", tag = "support", security(("secret_key" = [])),
    request_body = CreateRefund,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key and body within 24 hours answer the same refund.")),
    responses((status = 201, description = "The money is back; its credit note is numbered.", body = crate::http::openapi::schemas::Refund), crate::http::openapi::Failures))]
async fn create_refund(
    _: SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateRefund>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let key = idempotency_key(&headers)?;
    let (amount, reason) = req.checked()?;
    let (reason, now, giving) = (reason.to_string(), state.clock.now(), giving(&state.payments));
    let (id, fresh) = state
        .store
        .write(move |tx| {
            let mut fresh = None;
            let id = idempotency::once_per_key(tx, "v1:refunds", key.as_deref(), &req, now, || {
                let held = super::hold_refund(tx, &req.invoice, amount, &reason, giving, now)?;
                let id = held.refund.id.clone();
                fresh = Some(held);
                Ok(id)
            })?;
            Ok::<_, AppError>((id, fresh))
        })
        .await?;
    let refund = match fresh {
        Some(held) => give_back(&state.payments, held, now).await?,
        None => finished(&state.payments, id).await?,
    };
    match refund.status {
        RefundStatus::Succeeded => Ok((StatusCode::CREATED, Json(with_number(&state, refund).await?))),
        RefundStatus::Failed => Err(AppError::RefundFailed(refund.failure.unwrap_or_default())),
        RefundStatus::Pending => Err(AppError::ProcessorUnavailable),
    }
}

/// Gives a held refund back in a task of its own, so a client that goes away cannot leave it
/// unrecorded.
async fn give_back(payments: &Payments, held: HeldRefund, now: OffsetDateTime) -> Result<Refund, AppError> {
    let payments = payments.clone();
    let task = tokio::spawn(async move { refunds::give_back(&payments, held, now).await });
    task.await.unwrap_or_else(|e| Err(AppError::internal_from("refund task", e)))
}

/// A replayed refund once its first request finished it (waiting while it is in flight).
async fn finished(payments: &Payments, id: String) -> Result<Refund, AppError> {
    let deadline = tokio::time::Instant::now() + payments.charge_wait;
    loop {
        let id = id.clone();
        let refund = payments.store.read(move |conn| store::get_refund(conn, &id)).await?;
        let refund = refund.ok_or_else(|| AppError::internal("a kept refund went missing"))?;
        if refund.status != RefundStatus::Pending {
            return Ok(refund);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AppError::PaymentInProgress);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The refund as the API shows it, its credit note naming the invoice's number.
async fn with_number(state: &AppState, refund: Refund) -> Result<Value, AppError> {
    let invoice_id = refund.invoice_id.clone();
    let invoice = state.store.read(move |conn| store::get_invoice(conn, &invoice_id)).await?;
    Ok(refunds::refund_object(&refund, &invoice.map(|i| i.number).unwrap_or_default()))
}

#[utoipa::path(get, path = "/refunds/{id}", tag = "support", security(("secret_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = crate::http::openapi::schemas::Refund), crate::http::openapi::Failures))]
async fn get_refund(
    _: SecretKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let refund = state.store.read(move |conn| store::get_refund(conn, &id)).await?.ok_or(AppError::NotFound)?;
    Ok(Json(with_number(&state, refund).await?))
}

/// `?invoice=in_...`
#[derive(Debug, Deserialize)]
pub struct RefundsQuery {
    invoice: Option<String>,
}

/// An invoice's refunds, oldest first.
#[utoipa::path(get, path = "/refunds", tag = "support", security(("secret_key" = [])),
    params(("invoice" = String, Query, description = "The invoice's id.")),
    responses((status = 200, body = crate::http::openapi::schemas::RefundList), crate::http::openapi::Failures))]
async fn list_refunds(
    _: SecretKey,
    State(state): State<AppState>,
    Query(query): Query<RefundsQuery>,
) -> Result<Json<Value>, AppError> {
    let Some(invoice_id) = query.invoice else {
        return Err(AppError::InvalidField {
            param: "invoice".into(),
            message: "is required (`?invoice=in_...`)".into(),
        });
    };
    let (invoice, refunds) = state
        .store
        .read(move |conn| {
            let invoice = store::get_invoice(conn, &invoice_id)?.ok_or(AppError::NotFound)?;
            Ok::<_, AppError>((invoice.clone(), store::invoice_refunds(conn, &invoice.id)?))
        })
        .await?;
    let data: Vec<Value> = refunds.iter().map(|r| refunds::refund_object(r, &invoice.number)).collect();
    Ok(Json(json!({ "object": "list", "data": data, "has_more": false })))
}

/// `POST /v1/accounts/{id}/subscription/cancel`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"at_period_end": false, "refund": "prorated"}))]
pub struct CancelSubscription {
    /// `true`: at the period's end, as the portal's cancel; `false`: now (Free from now on).
    at_period_end: bool,
    /// Ending now: `prorated` gives back the unused days; `none` (the default) nothing.
    refund: Option<String>,
}

/// Ends the subscription now (`at_period_end: false`, optionally refunding the unused part of the
/// period) or at the period's end, as the portal's cancel does.
#[utoipa::path(post, path = "/accounts/{account_id}/subscription/cancel", tag = "support", security(("secret_key" = [])),
    params(("account_id" = String, Path)),
    request_body = CancelSubscription,
    responses((status = 200, body = crate::http::openapi::schemas::Canceled), crate::http::openapi::Failures))]
async fn cancel_subscription(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
    ApiJson(req): ApiJson<CancelSubscription>,
) -> Result<Json<Value>, AppError> {
    let refund = match req.refund.as_deref() {
        None | Some("none") => RefundOnCancel::None,
        Some("prorated") if !req.at_period_end => RefundOnCancel::Prorated,
        Some("prorated") => {
            return Err(AppError::InvalidRequest("A cancellation at the period's end refunds nothing.".into()));
        }
        Some(_) => {
            return Err(AppError::InvalidField {
                param: "refund".into(),
                message: "must be `prorated` or `none`".into(),
            });
        }
    };
    let (now, giving, account) = (state.clock.now(), giving(&state.payments), account_id.clone());
    let held = state
        .store
        .write(move |tx| match req.at_period_end {
            true => at_period_end(tx, &account, now).map(|()| Vec::new()),
            false => super::cancel_now(tx, &account, refund, giving, now),
        })
        .await?;
    // All sent at once, in a task of their own: a client that goes away stops none of them.
    let payments = state.payments.clone();
    let task = tokio::spawn(async move { refunds::give_back_all(&payments, held, now).await });
    let given = task.await.map_err(|e| AppError::internal_from("refund task", e))?;
    let mut refunds = Vec::new();
    for refund in given {
        refunds.push(with_number(&state, refund).await?);
    }
    let view = state.store.read(move |conn| crate::subscriptions::subscription_view(conn, &account_id)).await?;
    Ok(Json(json!({ "subscription": view, "refunds": refunds })))
}

/// The portal's cancel: the plan stays until the period's end.
fn at_period_end(conn: &store::Conn<'_>, account_id: &str, now: OffsetDateTime) -> Result<(), AppError> {
    store::get_account(conn, account_id)?.ok_or(AppError::AccountNotFound { param: None })?;
    let mut sub = store::get_subscription(conn, account_id)?.ok_or(AppError::NoSubscription)?;
    crate::portal::account::set_cancel_at_period_end(conn, &mut sub, true, now)
}
