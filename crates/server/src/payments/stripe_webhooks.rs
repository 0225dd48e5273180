//! `POST /v1/stripe/webhooks` (Stripe mode): Stripe's signed events reach the same code as the
//! page, so a user who closes the tab right after the bank's check still gets the plan. The
//! signature is checked against the raw body (5 minutes' tolerance, constant time); a forged or
//! stale event is a 400 and changes nothing; an event handled once is not handled again.

use super::stripe_setup::{CHECKOUT_SESSION, PORTAL_SESSION};
use super::{Payments, answers, stripe};
use crate::checkout::{charge as checkout_charge, stripe_card::save_setup_card};
use crate::error::AppError;
use crate::portal::{account_charge, change_charge, stripe_card::replace_card};
use crate::state::AppState;
use crate::store;
use crate::support::disputes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use billing::wire::{ChallengeAnswer, ChallengeOutcome};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    id: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    /// A dispute's PaymentIntent and status.
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[utoipa::path(post, path = "/stripe/webhooks", tag = "stripe",
    request_body = crate::http::openapi::schemas::StripeEvent,
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the raw body.")),
    responses((status = 200, body = crate::http::openapi::schemas::Received), crate::http::openapi::Failures))]
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, AppError> {
    let Some(settings) = &state.config.stripe else {
        return Err(AppError::NotFound);
    };
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    // Stripe signs with the wall clock, whatever the billing (test) clock says.
    let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
    stripe::verify_webhook(&body, signature, settings.webhook_secret.expose_secret(), now_unix)
        .map_err(|e| AppError::InvalidRequest(format!("Stripe-Signature: {e}.")))?;
    let event: Event =
        serde_json::from_slice(&body).map_err(|_| AppError::InvalidRequest("This is not a Stripe event.".into()))?;
    let id = event.id.clone();
    if state.store.read(move |conn| store::stripe_event_seen(conn, &id)).await? {
        return Ok(Json(json!({ "received": true })));
    }
    let now = state.clock.now();
    handle(&state.payments, &event, now).await?;
    let (id, kind) = (event.id.clone(), event.kind.clone());
    state.store.write(move |tx| store::remember_stripe_event(tx, &id, &kind, now)).await?;
    Ok(Json(json!({ "received": true })))
}

/// What an event changes. Errors that a later delivery may not meet (the processor or the
/// account busy) are returned, so Stripe delivers again; others are logged and the event is done.
async fn handle(payments: &Payments, event: &Event, now: OffsetDateTime) -> Result<(), AppError> {
    let object = &event.data.object;
    let result = match event.kind.as_str() {
        "payment_intent.succeeded" => answer_challenge(payments, &object.id, ChallengeOutcome::Complete, now).await,
        "payment_intent.payment_failed" => answer_challenge(payments, &object.id, ChallengeOutcome::Fail, now).await,
        "setup_intent.succeeded" => saved_card(payments, object, now).await,
        "charge.dispute.created" => dispute(payments, object, disputes::opened, now).await,
        "charge.dispute.closed" => dispute(payments, object, disputes::closed, now).await,
        _ => Ok(()),
    };
    match result {
        Err(e) if e.is_transient() => Err(e),
        Err(e) => {
            tracing::info!(event = %event.kind, error = %e, "Stripe event changed nothing");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// Records a dispute on the invoices its PaymentIntent paid.
async fn dispute(
    payments: &Payments,
    dispute: &EventObject,
    record: fn(&store::Conn<'_>, &str, &str, OffsetDateTime) -> Result<usize, AppError>,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let (Some(intent), Some(status)) = (dispute.payment_intent.clone(), dispute.status.clone()) else {
        return Err(AppError::InvalidRequest("A dispute without its payment_intent or status.".into()));
    };
    let marked = payments.store.write(move |tx| record(tx, &intent, &status, now)).await?;
    if marked == 0 {
        tracing::info!(dispute = %dispute.id, "a dispute of a payment that paid no invoice of ours");
    }
    Ok(())
}

/// What the page would have done with the card a SetupIntent saved: keep it for the checkout, or
/// make it the account's card in the portal.
async fn saved_card(payments: &Payments, setup: &EventObject, now: OffsetDateTime) -> Result<(), AppError> {
    let client = payments.stripe_client()?;
    if let Some(session) = setup.metadata.get(CHECKOUT_SESSION) {
        return save_setup_card(payments, &client, session.clone(), &setup.id, now).await.map(|_| ());
    }
    if let Some(session) = setup.metadata.get(PORTAL_SESSION) {
        return replace_card(payments, &client, session.clone(), &setup.id, now).await.map(|_| ());
    }
    Ok(())
}

/// The 3-D Secure answer the page would have sent for the checkout, the upgrade or the past-due
/// invoice waiting on `intent`; the intent is checked with Stripe as for the page.
async fn answer_challenge(
    payments: &Payments,
    intent: &str,
    outcome: ChallengeOutcome,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let (intent, intent_id) = (intent.to_string(), intent.to_string());
    let waiting = payments
        .store
        .read(move |conn| {
            let Some((challenge_id, session_id)) = store::challenge_for_intent(conn, &intent)? else {
                return Ok(None);
            };
            let challenge = store::get_challenge(conn, &challenge_id, &session_id)?;
            let in_portal = store::get_portal_session(conn, &session_id)?.is_some();
            Ok::<_, AppError>(challenge.map(|c| (c, in_portal)))
        })
        .await?;
    let Some((challenge, in_portal)) = waiting else {
        // No challenge waits on it: if Stripe took money no attempt granted (a decline recorded
        // before, a session gone), it is given back.
        if outcome == ChallengeOutcome::Complete {
            answers::refund_if_ungranted(payments, &intent_id, now).await?;
        }
        return Ok(());
    };
    let session_id = challenge.session_id.clone();
    let answer = ChallengeAnswer { challenge_id: challenge.id.clone().into(), outcome };
    match (in_portal, challenge.invoice_id.is_some()) {
        (false, _) => {
            answers::answer(payments, now, session_id, answer, checkout_charge::prepare_answer).await.map(|_| ())
        }
        (true, false) => {
            answers::answer(payments, now, session_id, answer, change_charge::prepare_answer).await.map(|_| ())
        }
        (true, true) => {
            answers::answer(payments, now, session_id, answer, account_charge::prepare_invoice_answer).await.map(|_| ())
        }
    }
}
