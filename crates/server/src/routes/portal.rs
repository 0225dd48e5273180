//! The browser API of the manage-subscription portal. The session id in the path is the page's
//! only credential.

use crate::AppState;
use crate::error::{ApiJson, AppError};
use crate::plan_changes::{self, open_portal};
use crate::store;
use axum::Json;
use axum::extract::{Path, State};
use billing::proration::Quote;
use billing::wire::{
    ChallengeAnswer, ChallengeOutcome, ChangeOutcome, ConfirmChange, Decline, DeclineCode,
    PortalView, PreviewChange,
};
use sha2::{Digest, Sha256};

pub async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PortalView>, AppError> {
    let now = state.clock.now();
    state.store.write(|tx| {
        let (session, sub) = open_portal(tx, &id, now)?;
        plan_changes::portal_view(tx, &state, &session, &sub).map(Json)
    })
}

pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PreviewChange>,
) -> Result<Json<Quote>, AppError> {
    let now = state.clock.now();
    state.store.write(|tx| {
        let (_, sub) = open_portal(tx, &id, now)?;
        plan_changes::quote(&sub, req.plan, now).map(Json)
    })
}

/// Confirms a change once, whatever the double clicks and retries, and only at the price shown.
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ConfirmChange>,
) -> Result<Json<ChangeOutcome>, AppError> {
    let key = req.idempotency_key.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(AppError::InvalidRequest(
            "`idempotency_key` must be 1 to 255 characters.".into(),
        ));
    }
    let now = state.clock.now();
    let scope = format!("portal:{id}");
    let hash = format!(
        "{:x}",
        Sha256::digest(format!("{}\n{}", req.plan, req.expected_total.cents()).as_bytes())
    );
    state.store.write(|tx| {
        if let Some((stored_hash, _, body)) = store::get_idempotent(tx, &scope, key)? {
            if stored_hash != hash {
                return Err(AppError::IdempotencyConflict);
            }
            return serde_json::from_str(&body)
                .map(Json)
                .map_err(|e| AppError::Internal(e.to_string()));
        }
        let (session, sub) = open_portal(tx, &id, now)?;
        let outcome =
            plan_changes::change_plan(tx, &session, sub, req.plan, req.expected_total, false, now)?;
        let body =
            serde_json::to_string(&outcome).map_err(|e| AppError::Internal(e.to_string()))?;
        store::put_idempotent(tx, &scope, key, &hash, 200, &body)?;
        Ok(Json(outcome))
    })
}

/// Keeps the current plan: undoes a scheduled downgrade.
pub async fn keep_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PortalView>, AppError> {
    let now = state.clock.now();
    state.store.write(|tx| {
        let (session, sub) = open_portal(tx, &id, now)?;
        let sub = plan_changes::keep_current_plan(tx, sub)?;
        plan_changes::portal_view(tx, &state, &session, &sub).map(Json)
    })
}

/// The 3-D Secure answer for an upgrade. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<ChangeOutcome>, AppError> {
    let now = state.clock.now();
    state.store.write(|tx| {
        let challenge = store::get_challenge(tx, &answer.challenge_id, &id)?
            .ok_or(AppError::ChallengeNotFound)?;
        if let Some(body) = &challenge.resolved_body {
            return serde_json::from_str(body)
                .map(Json)
                .map_err(|e| AppError::Internal(e.to_string()));
        }
        let (Some(plan), Some(expected_total)) = (challenge.plan, challenge.expected_total) else {
            return Err(AppError::ChallengeNotFound);
        };
        let (session, sub) = open_portal(tx, &id, now)?;
        let outcome = match answer.outcome {
            ChallengeOutcome::Complete => {
                plan_changes::change_plan(tx, &session, sub, plan, expected_total, true, now)?
            }
            ChallengeOutcome::Fail => {
                let code = DeclineCode::AuthenticationFailed;
                ChangeOutcome::Declined {
                    decline: Decline {
                        code,
                        message: format!("{} Your plan has not changed.", code.message()),
                    },
                }
            }
        };
        let body =
            serde_json::to_string(&outcome).map_err(|e| AppError::Internal(e.to_string()))?;
        store::resolve_challenge(tx, &challenge.id, &body)?;
        Ok(Json(outcome))
    })
}
