//! The server-to-server API the IDE's backend calls with the secret key (SPEC section 5).

use crate::error::{ApiJson, AppError};
use crate::ids::redact;
use crate::session_tokens::{CheckoutToken, NewToken, PortalToken, SessionKind, SessionToken};
use crate::store::{self, Account, CheckoutSession, PortalSession};
use crate::{AppState, events, idempotency, renewals, subscriptions};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::PlanId;
use billing::validate;
use billing::wire::{
    ClockView, CreateCheckoutSession, CreatePortalSession, CreatedSession, SetClock, SubscriptionView,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// `/v1/...`: sessions, accounts, events and the test clock.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checkout/sessions", post(create_checkout_session))
        .route("/checkout/sessions/{session_id}", get(get_checkout_session))
        .route("/portal/sessions", post(create_portal_session))
        .route("/portal/sessions/{session_id}", get(get_portal_session))
        .route("/events", get(list_events))
        .route("/accounts/{account_id}/subscription", get(get_subscription))
        .route("/accounts/{account_id}/invoices", get(list_invoices))
        .route("/test_helpers/clock", post(set_clock).get(get_clock))
        .route("/stripe/webhooks", post(super::stripe_webhooks::receive))
}

/// Proof that the request carried the secret key (`Authorization: Bearer <key>`; the scheme is
/// case-insensitive, as RFC 7235 says). An address that keeps presenting wrong keys gets `429`
/// for them, so guessing gets nowhere; the right key is checked first and always gets through.
/// Holds the key as presented (a session creation derives ids from it).
pub struct SecretKey(String);

impl FromRequestParts<AppState> for SecretKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let client = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let presented =
            parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
        match presented {
            Some(key) if state.config.key_matches(key) => Ok(SecretKey(key.to_string())),
            _ => {
                state.failed_keys.record_failure(client)?;
                Err(AppError::Unauthorized)
            }
        }
    }
}

/// The token of `Bearer <token>`: the scheme in any case, then one or more spaces.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// The optional `Idempotency-Key` header of a session creation.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => {
            let value = value.to_str().map_err(|_| {
                AppError::InvalidRequest("`Idempotency-Key` must be 1 to 255 printable ASCII characters.".into())
            })?;
            Ok(Some(idempotency::checked_key(value)?.to_string()))
        }
    }
}

/// Runs a session creation once per `Idempotency-Key` (when one was sent) for 24 hours.
fn once_per_key<T: Serialize + DeserializeOwned>(
    tx: &rusqlite::Connection,
    scope: &str,
    key: Option<&str>,
    request: &impl Serialize,
    now: time::OffsetDateTime,
    work: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let Some(key) = key else {
        return work();
    };
    let body = serde_json::to_string(request).map_err(|e| AppError::Internal(e.to_string()))?;
    let fingerprint = idempotency::fingerprint(&[&body]);
    idempotency::once_a_day(tx, &idempotency::Keyed { scope, key, fingerprint: &fingerprint }, now, work)
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
    SecretKey(api_key): SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateCheckoutSession>,
) -> Result<(StatusCode, Json<CreatedSession>), AppError> {
    let key = idempotency_key(&headers)?;
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
    let answer = created(&state, "checkout", &session.id, session.expires_at);
    let verifier_hash = token.verifier_hash;
    let idempotency_key = key.clone();
    let account = Account {
        id: req.account.id.clone(),
        email,
        login: req.account.login,
        aws_account_linked: req.account.aws_account_linked,
    };
    let kept: CreatedSession = state
        .store
        .write(move |tx| {
            once_per_key(tx, "v1:checkout_sessions", key.as_deref(), &req, now, || {
                store::upsert_account(tx, &account)?;
                store::insert_checkout_session(tx, &session, &verifier_hash)?;
                tracing::info!(session = %redact(&session.id), %plan, "checkout session created");
                Ok(answer)
            })
        })
        .await?;
    let whole = token.whole_for(SessionKind::Checkout, &kept.id, &api_key, idempotency_key.as_deref());
    Ok((StatusCode::CREATED, Json(created(&state, "checkout", &whole, kept.expires_at))))
}

/// The session's id, its page URL and its expiry.
fn created(state: &AppState, page: &str, id: &str, expires_at: time::OffsetDateTime) -> CreatedSession {
    let url = format!("{}/{page}/{id}", state.config.public_url);
    CreatedSession { id: id.to_string(), url, expires_at }
}

pub async fn create_portal_session(
    SecretKey(api_key): SecretKey,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreatePortalSession>,
) -> Result<(StatusCode, Json<CreatedSession>), AppError> {
    let key = idempotency_key(&headers)?;
    check_account_id(&req.account_id)?;
    let return_url = state.config.check_return_url(&req.return_url).map_err(AppError::InvalidReturnUrl)?;
    let now = state.clock.now();
    let token = NewToken::for_creation(SessionKind::Portal, &api_key, key.as_deref());
    let session = PortalSession {
        id: token.id.clone(),
        account_id: req.account_id.clone(),
        return_url: return_url.to_string(),
        expires_at: now + state.config.portal_ttl,
    };
    // Kept for an idempotent replay: the session's id without its verifier.
    let answer = created(&state, "portal", &session.id, session.expires_at);
    let verifier_hash = token.verifier_hash;
    let idempotency_key = key.clone();
    let kept: CreatedSession = state
        .store
        .write(move |tx| {
            once_per_key(tx, "v1:portal_sessions", key.as_deref(), &req, now, || {
                store::get_subscription(tx, &req.account_id)?.ok_or(AppError::NoSubscription)?;
                store::insert_portal_session(tx, &session, &verifier_hash, now)?;
                tracing::info!(session = %redact(&session.id), "portal session created");
                Ok(answer)
            })
        })
        .await?;
    let whole = token.whole_for(SessionKind::Portal, &kept.id, &api_key, idempotency_key.as_deref());
    Ok((StatusCode::CREATED, Json(created(&state, "portal", &whole, kept.expires_at))))
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
            store::account_invoices(conn, &account_id)
        })
        .await?;
    let invoices: Vec<Value> = rows.iter().map(events::invoice_object).collect();
    Ok(Json(json!({ "invoices": invoices })))
}

/// A checkout session as the IDE's backend sees it, e.g. when Get started brings the user back
/// with its id: open, complete (with the subscription and invoice it created) or expired.
pub async fn get_checkout_session(
    _: SecretKey,
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
) -> Result<Json<Value>, AppError> {
    let now = state.clock.now();
    state.store.read(move |conn| checkout_session_object(conn, &token, now)).await.map(Json)
}

fn checkout_session_object(
    conn: &rusqlite::Connection,
    token: &SessionToken,
    now: time::OffsetDateTime,
) -> Result<Value, AppError> {
    let session = store::get_checkout_session(conn, token.id())?.ok_or(AppError::SessionNotFound)?;
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
        "created_at": rfc3339(session.created_at),
        "expires_at": rfc3339(session.expires_at),
        "completed_at": session.completed_at.map(rfc3339),
        "subscription": subscription,
        "invoice": invoice.as_ref().map(events::invoice_object),
    }))
}

/// A portal session: open or expired, with the account's subscription as it now is.
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
            Ok(Json(json!({
                "id": token.whole(),
                "object": "portal_session",
                "status": if now >= session.expires_at { "expired" } else { "open" },
                "account_id": session.account_id,
                "plan": subscription.plan,
                "expires_at": rfc3339(session.expires_at),
                "subscription": subscription,
            })))
        })
        .await
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
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
    let rest = tokio::spawn(async move { renewals::catch_up(&st, to).await });
    match tokio::time::timeout(std::time::Duration::from_secs(10), rest).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(AppError::Internal(format!("catching up: {e}"))),
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
