//! `/v1/test_helpers/clock` (test mode): reading the test clock and moving it forwards.

use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey};
use crate::jobs::renewals;
use crate::state::AppState;
use crate::store;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use billing::wire::{ClockView, SetClock};

/// `/v1/test_helpers/clock`
pub fn router() -> Router<AppState> {
    Router::new().route("/test_helpers/clock", post(set_clock).get(get_clock))
}

/// Moves the test clock forwards and runs what fell due on the way. The new reading is saved in
/// the transaction that runs the first batch of due work (checked against the saved reading, so
/// racing moves can never leave it behind); the rest runs in further short transactions.
pub async fn set_clock(
    _: SecretKey,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SetClock>,
) -> Result<Json<ClockView>, AppError> {
    if !state.config.test_mode {
        return Err(AppError::NotFound);
    }
    let to = req.now;
    if !billing::period::is_supported(to) {
        return Err(AppError::ClockOutOfRange(
            "The test clock accepts instants from 2000-01-01T00:00:00Z to 2999-12-31T23:59:59Z.",
        ));
    }
    let st = state.clone();
    state
        .store
        .write(move |tx| {
            let saved = store::saved_clock(tx)?;
            let current = saved.map_or(st.clock.now(), |saved| saved.max(st.clock.now()));
            if to < current {
                return Err(AppError::ClockBackwards);
            }
            store::save_clock(tx, to)?;
            renewals::run_due(tx, to, None, renewals::DUE_BATCH)
        })
        .await?;
    state.clock.move_forward_to(to);
    // The rest of the catching up (far jumps) and the renewals' charges go on in short
    // transactions; the answer waits for them a little, and the ticker finishes whatever a
    // dropped request left.
    let st = state.clone();
    let rest = tokio::spawn(async move { renewals::catch_up(&st.payments, to).await });
    match tokio::time::timeout(std::time::Duration::from_secs(10), rest).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(AppError::internal_from("catching up", e)),
        Err(_) => tracing::warn!("the test clock moved far; due work goes on in the background"),
    }
    tracing::info!(now = %to, "test clock moved");
    Ok(Json(ClockView { now: to, frozen: true }))
}

pub async fn get_clock(_: SecretKey, State(state): State<AppState>) -> Result<Json<ClockView>, AppError> {
    if !state.config.test_mode {
        return Err(AppError::NotFound);
    }
    Ok(Json(ClockView { now: state.clock.now(), frozen: state.clock.frozen().is_some() }))
}
