//! `/v1/portal/sessions`: the IDE's backend opens a portal session for a subscribed account, and
//! reads it back.

use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey, idempotency_key};
use crate::http::languages;
use crate::http::session_tokens::{NewToken, PortalToken, SessionKind};
use crate::ids::{self, redact};
use crate::state::AppState;
use crate::store::{self, PortalSession};
use crate::{idempotency, subscriptions};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use billing::wire::{CreatePortalSession, CreatedSession};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/v1/portal/sessions...`
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_portal_session)).routes(routes!(get_portal_session))
}

#[utoipa::path(post, path = "/portal/sessions", tag = "sessions", security(("secret_key" = [])),
    request_body = crate::http::openapi::schemas::CreatePortalSession,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key and body within 24 hours answer the same session.")),
    responses((status = 201, description = "The session; send the user to its `url`.", body = crate::http::openapi::schemas::CreatedSession), crate::http::openapi::Failures))]
pub async fn create_portal_session(
    SecretKey(api_key): SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreatePortalSession>,
) -> Result<(StatusCode, Json<CreatedSession>), AppError> {
    let key = idempotency_key(&headers)?;
    ids::check_account_id(&req.account_id).map_err(AppError::InvalidAccount)?;
    let return_url = state.config.check_return_url(&req.return_url).map_err(AppError::InvalidReturnUrl)?;
    let locale = languages::requested(req.locale.as_deref())?;
    let now = state.clock.now();
    let token = NewToken::for_creation(SessionKind::Portal, &api_key, key.as_deref());
    let session = PortalSession {
        id: token.id.clone(),
        account_id: req.account_id.clone(),
        return_url: return_url.to_string(),
        expires_at: now + state.config.portal_ttl,
    };
    // Kept for an idempotent replay: the session's id without its verifier.
    let answer = state.config.created_session("portal", &session.id, session.expires_at);
    let (verifier_hash, idempotency_key) = (token.verifier_hash, key.clone());
    let kept: CreatedSession = state
        .store
        .write(move |tx| {
            idempotency::once_per_key(tx, "v1:portal_sessions", key.as_deref(), &req, now, || {
                store::get_subscription(tx, &req.account_id)?.ok_or(AppError::NoSubscription)?;
                store::insert_portal_session(tx, &session, &verifier_hash, now)?;
                if locale.is_some() {
                    store::set_session_locale(tx, &session.id, locale)?;
                }
                tracing::info!(session = %redact(&session.id), "portal session created");
                Ok(answer.clone())
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(token.answer(&state.config, &kept, &api_key, idempotency_key.as_deref()))))
}

/// A portal session: open or expired, with the account's subscription as it now is.
#[utoipa::path(get, path = "/portal/sessions/{session_id}", tag = "sessions", security(("secret_key" = [])),
    params(("session_id" = String, Path, description = "The id `POST /v1/portal/sessions` answered.")),
    responses((status = 200, body = crate::http::openapi::schemas::PortalSession), crate::http::openapi::Failures))]
pub async fn get_portal_session(
    _: SecretKey,
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
) -> Result<Json<Value>, AppError> {
    let now = state.clock.now();
    state
        .store
        .read(move |conn| {
            let session = store::get_portal_session(conn, token.id())?.ok_or(AppError::SessionNotFound)?;
            let subscription = subscriptions::subscription_view(conn, &session.account_id)?;
            let locale = store::session_locale(conn, token.id())?;
            Ok(Json(json!({
                "id": token.whole(),
                "object": "portal_session",
                "status": if now >= session.expires_at { "expired" } else { "open" },
                "account_id": session.account_id,
                "plan": subscription.plan,
                "locale": languages::tag_or_auto(locale),
                "expires_at": ids::rfc3339(session.expires_at),
                "subscription": subscription,
            })))
        })
        .await
}
