//! `/v1/accounts/...` and `/v1/events`: what the IDE's backend reads of an account's
//! subscription, its invoices, and the events in the order they happened.

use crate::error::AppError;
use crate::http::extract::SecretKey;
use crate::state::AppState;
use crate::store;
use crate::subscriptions::{self, events};
use axum::Json;
use axum::extract::{Path, Query, State};
use billing::wire::SubscriptionView;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/v1/accounts/...` and `/v1/events`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events)).routes(routes!(get_subscription)).routes(routes!(list_invoices))
}

#[utoipa::path(get, path = "/accounts/{account_id}/subscription", tag = "accounts", security(("secret_key" = [])),
    params(("account_id" = String, Path)),
    responses((status = 200, body = crate::http::openapi::schemas::Subscription), crate::http::openapi::Failures))]
pub async fn get_subscription(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Result<Json<SubscriptionView>, AppError> {
    state.store.read(move |conn| subscriptions::subscription_view(conn, &account_id)).await.map(Json)
}

/// Every invoice of an account, oldest first, as `invoice.*` events carry them.
#[utoipa::path(get, path = "/accounts/{account_id}/invoices", tag = "accounts", security(("secret_key" = [])),
    params(("account_id" = String, Path)),
    responses((status = 200, body = crate::http::openapi::schemas::InvoiceList), crate::http::openapi::Failures))]
pub async fn list_invoices(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rows = state
        .store
        .read(move |conn| {
            store::get_account(conn, &account_id)?.ok_or(AppError::NotFound)?;
            Ok::<_, AppError>(store::account_invoices(conn, &account_id)?)
        })
        .await?;
    let invoices: Vec<Value> = rows.iter().map(events::invoice_object).collect();
    Ok(Json(json!({ "invoices": invoices })))
}

/// `?after=evt_...&limit=N`
#[derive(Debug, serde::Deserialize)]
pub struct EventsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// Events in the order they happened, for a backend that missed some deliveries.
#[utoipa::path(get, path = "/events", tag = "accounts", security(("secret_key" = [])),
    params(("after" = Option<String>, Query, description = "An event's id: the events after it."), ("limit" = Option<u32>, Query, description = "1 to 100 (50).")),
    responses((status = 200, body = crate::http::openapi::schemas::EventList), crate::http::openapi::Failures))]
pub async fn list_events(
    _: SecretKey,
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Value>, AppError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::InvalidRequest("`limit` must be 1 to 100.".into()));
    }
    let (data, has_more) = state.store.read(move |conn| events::list(conn, query.after.as_deref(), limit)).await?;
    Ok(Json(json!({ "data": data, "has_more": has_more })))
}
