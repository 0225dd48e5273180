//! `/v1/billing/meter_events`, `/v1/billing/meter_event_stream` and
//! `/v1/accounts/{id}/credits`: usage reported by the IDE's backend, and what it may still use.

use super::{Reported, parse_event};
use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey};
use crate::state::AppState;
use crate::store::{MeterEvent, Turn};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use billing::usage;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest batch body: 100 events of up to about 400 bytes each, with room to spare.
const STREAM_BODY_BYTES: usize = 64 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    // A full batch of long identifiers is larger than other bodies may be.
    let stream = OpenApiRouter::new()
        .routes(routes!(create_meter_events))
        .layer(axum::extract::DefaultBodyLimit::max(STREAM_BODY_BYTES));
    OpenApiRouter::new().routes(routes!(create_meter_event)).merge(stream).routes(routes!(credits))
}

/// The event as Stripe's API shows a meter event.
fn meter_event_object(event: &MeterEvent) -> Value {
    json!({
        "object": "billing.meter_event",
        "event_name": usage::METER_EVENT_NAME,
        "identifier": event.identifier,
        "payload": {"account_id": event.account_id, "value": event.value_text},
        "timestamp": event.occurred_at.unix_timestamp(),
        "created": event.created_at.unix_timestamp(),
        "livemode": false,
    })
}

/// One event: 201 with it, or 200 with the first one for a duplicate.
#[utoipa::path(post, path = "/billing/meter_events", tag = "usage", security(("secret_key" = [])),
    request_body = crate::http::openapi::schemas::MeterEventInput,
    responses((status = 201, description = "Recorded.", body = crate::http::openapi::schemas::MeterEvent), (status = 200, description = "A duplicate: the first event with this identifier.", body = crate::http::openapi::schemas::MeterEvent), crate::http::openapi::Failures))]
pub async fn create_meter_event(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let now = state.clock.now();
    let reported = parse_event(&body, "", now)?;
    // The clock read again in the transaction: a request that queued for its turn is checked
    // against the time it is recorded at (a period may have closed meanwhile).
    let clock = state.clock.clone();
    let mut recorded = state
        .store
        .write_in_turn(Turn::Usage, move |tx| super::record_events(tx, std::slice::from_ref(&reported), clock.now()))
        .await?;
    let (event, new) = recorded.pop().ok_or_else(|| AppError::internal("no event recorded"))?;
    state.metrics.meter_events(usize::from(new));
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(meter_event_object(&event))))
}

/// 1 to 100 events, all or nothing: how many were recorded and how many were duplicates.
#[utoipa::path(post, path = "/billing/meter_event_stream", tag = "usage", security(("secret_key" = [])),
    request_body = crate::http::openapi::schemas::MeterEventStreamInput,
    responses((status = 200, body = crate::http::openapi::schemas::MeterEventStream), crate::http::openapi::Failures))]
pub async fn create_meter_events(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, AppError> {
    let now = state.clock.now();
    let events = match body.get("events") {
        Some(Value::Array(events)) => events,
        None | Some(Value::Null) => {
            return Err(AppError::InvalidField { param: "events".into(), message: "is required".into() });
        }
        Some(_) => return Err(AppError::InvalidField { param: "events".into(), message: "must be an array".into() }),
    };
    if events.is_empty() || events.len() > usage::MAX_BATCH {
        let message = format!("must hold 1 to {} events", usage::MAX_BATCH);
        return Err(AppError::InvalidField { param: "events".into(), message });
    }
    let batch = events
        .iter()
        .enumerate()
        .map(|(i, event)| parse_event(event, &format!("events[{i}]."), now))
        .collect::<Result<Vec<Reported>, _>>()?;
    let clock = state.clock.clone();
    let recorded =
        state.store.write_in_turn(Turn::Usage, move |tx| super::record_events(tx, &batch, clock.now())).await?;
    let new = recorded.iter().filter(|(_, new)| *new).count();
    state.metrics.meter_events(new);
    Ok(Json(json!({"object": "billing.meter_event_stream", "recorded": new, "duplicates": recorded.len() - new})))
}

/// What the IDE asks before work: this period's credits and whether the user may go on.
#[utoipa::path(get, path = "/accounts/{account_id}/credits", tag = "usage", security(("secret_key" = [])),
    params(("account_id" = String, Path)),
    responses((status = 200, body = crate::http::openapi::schemas::Credits), crate::http::openapi::Failures))]
pub async fn credits(
    _: SecretKey,
    State(state): State<AppState>,
    Path(account_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let now = state.clock.now();
    state.store.read(move |conn| super::current_credits(conn, &account_id, now)).await.map(Json)
}
