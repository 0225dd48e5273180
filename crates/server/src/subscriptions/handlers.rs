//! `/v1/accounts/...` and `/v1/events`: what the IDE's backend reads of an account's
//! subscription, its invoices, and the events in the order they happened.

use crate::error::AppError;
use crate::http::extract::SecretKey;
use crate::state::AppState;
use crate::store;
use crate::subscriptions::{self, events};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use billing::wire::SubscriptionView;
use serde_json::{Value, json};

/// `/v1/accounts/...` and `/v1/events`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list_events))
        .route("/accounts/{account_id}/subscription", get(get_subscription))
        .route("/accounts/{account_id}/invoices", get(list_invoices))
}

pub async fn get_subscription(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Result<Json<SubscriptionView>, AppError> {
    state.store.read(move |conn| subscriptions::subscription_view(conn, &account_id)).await.map(Json)
}

/// Every invoice of an account, oldest first, as `invoice.*` events carry them.
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
