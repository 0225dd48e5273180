//! The browser API of the manage-subscription portal. The session id in the path is the page's
//! only credential, checked by [`PortalToken`] before anything else.

use super::change_charge::{self, Change};
use super::plan_changes::{self, open_portal};
use super::{account, account_charge};
use crate::checkout::rules::check_billing;
use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::languages::BrowserLanguage;
use crate::http::session_tokens::{PortalToken, SessionToken};
use crate::idempotency;
use crate::jobs::renewals;
use crate::payments::{self, answers};
use crate::state::AppState;
use crate::store::Conn;
use crate::store::{self, PortalSession, Subscription};
use axum::Json;
use axum::extract::{Path, State};
use billing::proration::Quote;
use billing::wire::{
    ChallengeAnswer, ChangeOutcome, ConfirmChange, InvoiceDetail, InvoiceList, InvoicePaymentOutcome, PayInvoice,
    PaymentMethodOutcome, PortalView, PreviewChange, SetOverage, SetSpendingLimit, UpdatePaymentMethod,
};
use i18n::Locale;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a portal handler works on: the live session, its subscription with anything due applied,
/// the server's clock and the app's state.
struct InPortal {
    token: SessionToken,
    session: PortalSession,
    sub: Subscription,
    now: OffsetDateTime,
    /// The browser's language, for a session whose user chose none.
    browser: Locale,
    state: AppState,
}

impl InPortal {
    /// The portal view after a change to `sub`.
    fn view(&self, tx: &Conn<'_>) -> Result<Json<PortalView>, AppError> {
        let locale = store::session_locale(tx, &self.session.id)?.unwrap_or(self.browser);
        let page =
            plan_changes::PortalPage { config: &self.state.config, token: &self.token, i18n: i18n::catalog(locale) };
        plan_changes::portal_view(tx, &page, &self.session, &self.sub, self.now).map(Json)
    }
}

/// Brings the session's account up to date at `now` (period ends and their charges, each charge
/// outside a transaction) before a portal request shows or changes it. An unknown or expired
/// session is left to the request to refuse.
pub async fn up_to_date(state: &AppState, id: &str, now: OffsetDateTime) -> Result<(), AppError> {
    let id = id.to_string();
    let session = state.store.read(move |conn| store::get_portal_session(conn, &id)).await?;
    match session {
        Some(session) if now < session.expires_at => {
            renewals::bring_up_to_date(&state.payments, session.account_id, now).await
        }
        _ => Ok(()),
    }
}

/// Runs `f` on the portal session of `token` in one write transaction at the server's clock.
async fn in_portal<T: Send + 'static>(
    state: AppState,
    token: SessionToken,
    browser: Locale,
    mut f: impl FnMut(&Conn<'_>, InPortal) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let now = state.clock.now();
    up_to_date(&state, token.id(), now).await?;
    let store = state.store.clone();
    store
        .write(move |tx| {
            let (session, sub) = open_portal(tx, token.id(), now)?;
            f(tx, InPortal { token: token.clone(), session, sub, now, browser, state: state.clone() })
        })
        .await
}

pub async fn get_session(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
) -> Result<Json<PortalView>, AppError> {
    in_portal(state, token, browser, |tx, portal| portal.view(tx)).await
}

pub async fn preview(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
    ApiJson(req): ApiJson<PreviewChange>,
) -> Result<Json<Quote>, AppError> {
    in_portal(state, token, browser, move |tx, p| plan_changes::quote(tx, &p.sub, req.plan, p.now).map(Json)).await
}

/// Confirms a change once, whatever the double clicks and retries, and only at the price shown.
pub async fn change(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(req): ApiJson<ConfirmChange>,
) -> Result<Json<ChangeOutcome>, AppError> {
    let id = token.id().to_string();
    let key = idempotency::checked_key(&req.idempotency_key)?.to_string();
    let now = state.clock.now();
    up_to_date(&state, &id, now).await?;
    let change = Arc::new(Change { session_id: id, key, request: req });
    payments::charge_once(&state.payments, now, move |tx| change_charge::prepare_change(tx, &change, now))
        .await
        .map(Json)
}

/// Keeps the current plan: undoes a scheduled downgrade.
pub async fn keep_plan(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
) -> Result<Json<PortalView>, AppError> {
    in_portal(state, token, browser, |tx, mut p| {
        plan_changes::keep_current_plan(tx, &mut p.sub, p.now)?;
        p.view(tx)
    })
    .await
}

/// The 3-D Secure answer for an upgrade. Answering twice gives the first answer's outcome.
pub async fn answer_challenge(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<ChangeOutcome>, AppError> {
    let id = token.id().to_string();
    let now = state.clock.now();
    up_to_date(&state, &id, now).await?;
    answers::answer(&state.payments, now, id, answer, change_charge::prepare_answer).await.map(Json)
}

/// Saves a new card as the one charged from now on (with 3-D Secure when the bank asks).
pub async fn update_payment_method(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(req): ApiJson<UpdatePaymentMethod>,
) -> Result<Json<PaymentMethodOutcome>, AppError> {
    let id = token.id().to_string();
    // Stripe mode replaces cards through Stripe.js: /setup-intent, then /stripe-card.
    let now = state.clock.now();
    let card_token = state.payments.tokenize(&req.card, now)?;
    check_billing(&req.billing)?;
    up_to_date(&state, &id, now).await?;
    let session_id = id.clone();
    let checked = payments::charge_once(&state.payments, now, move |tx| {
        account_charge::prepare_card(tx, &session_id, &card_token, now)
    })
    .await?;
    Ok(Json(account_charge::then_pay_past_due(&state.payments, id, checked, now).await))
}

/// The 3-D Secure answer for a new card. Answering twice gives the first answer's outcome.
pub async fn answer_card_challenge(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<PaymentMethodOutcome>, AppError> {
    let id = token.id().to_string();
    let now = state.clock.now();
    up_to_date(&state, &id, now).await?;
    let asked = Arc::new((id.clone(), answer));
    let checked = payments::charge_once(&state.payments, now, move |tx| {
        account_charge::prepare_card_answer(tx, &asked.0, &asked.1, now)
    })
    .await?;
    Ok(Json(account_charge::then_pay_past_due(&state.payments, id, checked, now).await))
}

/// Pays what a past-due account owes (every open invoice, one charge of their total, at the total
/// the page showed) with the card on file, once per idempotency key.
pub async fn pay_invoice(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(req): ApiJson<PayInvoice>,
) -> Result<Json<InvoicePaymentOutcome>, AppError> {
    let id = token.id().to_string();
    let key = idempotency::checked_key(&req.idempotency_key)?.to_string();
    let now = state.clock.now();
    up_to_date(&state, &id, now).await?;
    let total = req.expected_total;
    let prepared = move |tx: &Conn<'_>| account_charge::prepare_invoice(tx, &id, &key, total, now);
    payments::charge_once(&state.payments, now, prepared).await.map(Json)
}

/// The 3-D Secure answer for paying what a past-due account owes (Stripe mode), checked with Stripe.
/// Answering twice gives the first answer's outcome.
pub async fn answer_invoice_challenge(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(answer): ApiJson<ChallengeAnswer>,
) -> Result<Json<InvoicePaymentOutcome>, AppError> {
    let id = token.id().to_string();
    let now = state.clock.now();
    up_to_date(&state, &id, now).await?;
    answers::answer(&state.payments, now, id, answer, account_charge::prepare_invoice_answer).await.map(Json)
}

async fn set_cancel(
    state: AppState,
    token: SessionToken,
    browser: Locale,
    cancel: bool,
) -> Result<Json<PortalView>, AppError> {
    in_portal(state, token, browser, move |tx, mut p| {
        account::set_cancel_at_period_end(tx, &mut p.sub, cancel, p.now)?;
        p.view(tx)
    })
    .await
}

/// Cancels at the end of the period.
pub async fn cancel(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
) -> Result<Json<PortalView>, AppError> {
    set_cancel(state, token, browser, true).await
}

/// Takes the cancellation back before the period ends.
pub async fn resume(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
) -> Result<Json<PortalView>, AppError> {
    set_cancel(state, token, browser, false).await
}

pub async fn overage(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
    ApiJson(req): ApiJson<SetOverage>,
) -> Result<Json<PortalView>, AppError> {
    in_portal(state, token, browser, move |tx, mut p| {
        account::set_overage(tx, &mut p.sub, req.enabled, p.now)?;
        p.view(tx)
    })
    .await
}

/// Sets or clears the monthly spending limit on overage.
pub async fn spending_limit(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
    ApiJson(req): ApiJson<SetSpendingLimit>,
) -> Result<Json<PortalView>, AppError> {
    in_portal(state, token, browser, move |tx, p| {
        account::set_spending_limit(tx, &p.sub, req.limit, p.now)?;
        p.view(tx)
    })
    .await
}

pub async fn invoices(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
) -> Result<Json<InvoiceList>, AppError> {
    in_portal(state, token, browser, |tx, p| {
        Ok(Json(InvoiceList { invoices: account::invoice_list(tx, &p.session.account_id)? }))
    })
    .await
}

pub async fn invoice(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    BrowserLanguage(browser): BrowserLanguage,
    Path((_, invoice_id)): Path<(String, String)>,
) -> Result<Json<InvoiceDetail>, AppError> {
    in_portal(state, token, browser, move |tx, p| {
        let config = &p.state.config;
        account::invoice_detail(tx, &p.session.account_id, &invoice_id, &config.branding, config.test_mode).map(Json)
    })
    .await
}
