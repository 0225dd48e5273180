//! `/v1/checkout/sessions`: the IDE's backend opens a checkout session for an account and a
//! plan, and reads it back (open, complete or expired).

use crate::error::AppError;
use crate::http::extract::{ApiJson, SecretKey, idempotency_key};
use crate::http::languages;
use crate::http::session_tokens::{CheckoutToken, NewToken, SessionKind, SessionToken};
use crate::idempotency;
use crate::ids::{self, redact};
use crate::promotions;
use crate::state::AppState;
use crate::store::{self, Account, CheckoutSession, Conn};
use crate::subscriptions::{self, events};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use billing::PlanId;
use billing::validate;
use billing::wire::{CreateCheckoutSession, CreatedSession};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/v1/checkout/sessions...`
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_checkout_session)).routes(routes!(get_checkout_session))
}

#[utoipa::path(post, path = "/checkout/sessions", tag = "sessions", security(("secret_key" = [])),
    request_body = crate::http::openapi::schemas::CreateCheckoutSession,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key and body within 24 hours answer the same session.")),
    responses((status = 201, description = "The session; send the user to its `url`.", body = crate::http::openapi::schemas::CreatedSession), crate::http::openapi::Failures))]
pub async fn create_checkout_session(
    SecretKey(api_key): SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateCheckoutSession>,
) -> Result<(StatusCode, Json<CreatedSession>), AppError> {
    let key = idempotency_key(&headers)?;
    ids::check_account_id(&req.account.id).map_err(AppError::InvalidAccount)?;
    let email = match req.account.email.as_deref() {
        Some(e) => Some(validate::validate_email(e).map_err(|e| AppError::InvalidEmail(e.message()))?),
        None => None,
    };
    let plan: PlanId = req.plan.parse().map_err(|_| AppError::UnknownPlan(req.plan.clone()))?;
    if !plan.is_paid() {
        return Err(AppError::UnknownPlan(req.plan.clone()));
    }
    let return_url = state.config.check_return_url(&req.return_url).map_err(AppError::InvalidReturnUrl)?;
    let locale = languages::requested(req.locale.as_deref())?;
    let now = state.clock.now();
    let token = NewToken::for_creation(SessionKind::Checkout, &api_key, key.as_deref());
    let session = CheckoutSession {
        id: token.id.clone(),
        account_id: req.account.id.clone(),
        plan,
        return_url: return_url.to_string(),
        created_at: now,
        expires_at: now + state.config.checkout_ttl,
        completed_at: None,
        declines: 0,
        invoice_id: None,
    };
    // Kept for an idempotent replay: the session's id without its verifier.
    let answer = state.config.created_session("checkout", &session.id, session.expires_at);
    let (verifier_hash, idempotency_key) = (token.verifier_hash, key.clone());
    let (allow_codes, promotion_code) = (req.allow_promotion_codes, req.promotion_code.clone());
    let account = Account {
        id: req.account.id.clone(),
        email,
        login: req.account.login,
        aws_account_linked: req.account.aws_account_linked,
    };
    let kept: CreatedSession = state
        .store
        .write(move |tx| {
            idempotency::once_per_key(tx, "v1:checkout_sessions", key.as_deref(), &req, now, || {
                store::upsert_account(tx, &account)?;
                store::insert_checkout_session(tx, &session, &verifier_hash)?;
                if locale.is_some() {
                    store::set_session_locale(tx, &session.id, locale)?;
                }
                promotions::checkout::keep_at_creation(tx, &session, allow_codes, promotion_code.as_deref())?;
                tracing::info!(session = %redact(&session.id), %plan, "checkout session created");
                Ok(answer.clone())
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(token.answer(&state.config, &kept, &api_key, idempotency_key.as_deref()))))
}

/// A checkout session as the IDE's backend sees it, e.g. when Get started brings the user back
/// with its id: open, complete (with the subscription and invoice it created) or expired.
#[utoipa::path(get, path = "/checkout/sessions/{session_id}", tag = "sessions", security(("secret_key" = [])),
    params(("session_id" = String, Path, description = "The id `POST /v1/checkout/sessions` answered.")),
    responses((status = 200, body = crate::http::openapi::schemas::CheckoutSession), crate::http::openapi::Failures))]
pub async fn get_checkout_session(
    _: SecretKey,
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<Value>, AppError> {
    let now = state.clock.now();
    state.store.read(move |conn| checkout_session_object(conn, &token, now)).await.map(Json)
}

fn checkout_session_object(
    conn: &Conn<'_>,
    token: &SessionToken,
    now: time::OffsetDateTime,
) -> Result<Value, AppError> {
    let session = store::get_checkout_session(conn, token.id())?.ok_or(AppError::SessionNotFound)?;
    let locale = store::session_locale(conn, token.id())?;
    let invoice = match (&session.completed_at, &session.invoice_id) {
        (Some(_), Some(invoice_id)) => store::get_invoice(conn, invoice_id)?,
        _ => None,
    };
    let status = match (&invoice, now >= session.expires_at) {
        (Some(_), _) => "complete",
        (None, true) => "expired",
        (None, false) => "open",
    };
    let subscription = match invoice {
        Some(_) => Some(subscriptions::subscription_view(conn, &session.account_id)?),
        None => None,
    };
    Ok(json!({
        "id": token.whole(),
        "object": "checkout_session",
        "status": status,
        "account_id": session.account_id,
        "plan": session.plan,
        "locale": languages::tag_or_auto(locale),
        "created_at": ids::rfc3339(session.created_at),
        "expires_at": ids::rfc3339(session.expires_at),
        "completed_at": session.completed_at.map(ids::rfc3339),
        "subscription": subscription,
        "invoice": invoice.as_ref().map(events::invoice_object),
    }))
}
