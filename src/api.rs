//! The one client of the billing API, over gloo-net, with one error type.

use billing::json::{FromJson, ToJson};
use billing::proration::Quote;
use billing::wire::{
    CardSummary, ChallengeAnswer, ChangeOutcome, CheckoutView, ConfirmChange, ConfirmCheckout, ErrorBody, ErrorCode,
    InvoiceDetail, InvoiceList, InvoicePaymentOutcome, PayInvoice, PaymentMethodOutcome, PaymentOutcome, PortalView,
    PreviewChange, SetOverage, SetSpendingLimit, TokenizeCard, UpdatePaymentMethod,
};
#[cfg(feature = "stripe")]
use billing::wire::{SavedStripeCard, StripeSetup};
use billing::{Money, PlanId};
use gloo_net::http::{Method, Request, RequestBuilder, Response};
use leptos::prelude::set_timeout;

/// Why a call failed, in the terms the pages act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server could not be reached (offline, stopped, connection dropped).
    Network,
    /// The server answered with an error body.
    Api { status: u16, code: ErrorCode, message: String },
    /// The server answered with something this build can't read.
    Unexpected(String),
}

impl ApiError {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A sentence for the user, in the page's language (by the error's code: the server's
    /// message is English).
    pub fn message(&self, i18n: &i18n::Catalog) -> String {
        match self {
            ApiError::Network => views::words::network_error_text(i18n),
            ApiError::Api { code, .. } => views::words::error_text(i18n, *code),
            ApiError::Unexpected(_) => views::words::unexpected_error_text(i18n),
        }
    }
}

/// In English, with the server's own message: for logs, not for the page.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Api { message, .. } => f.write_str(message),
            other => f.write_str(&other.message(&i18n::Catalog::default())),
        }
    }
}

impl std::error::Error for ApiError {}

/// The body of a successful answer, or the error it carries. Not generic, so the async machinery
/// exists once in the wasm; callers decode the text.
async fn body_of(response: Response) -> Result<String, ApiError> {
    let status = response.status();
    // A body cut off mid-way is a network failure: the request may or may not have worked.
    let text = response.text().await.map_err(|_| ApiError::Network)?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    match ErrorBody::from_json_text(&text) {
        Ok(body) => Err(ApiError::Api { status, code: body.error.code, message: body.error.message }),
        Err(_) => Err(ApiError::Unexpected(format!("HTTP {status}"))),
    }
}

fn decode<T: FromJson>(text: Result<String, ApiError>) -> Result<T, ApiError> {
    T::from_json_text(&text?).map_err(|e| ApiError::Unexpected(e.0))
}

/// The answer to the request `index.html` started for `path` while the app downloaded, taken
/// once; `None` when there is none.
async fn take_prefetched(path: &str) -> Option<Result<Response, ApiError>> {
    use wasm_bindgen::JsCast;
    let window: wasm_bindgen::JsValue = web_sys::window()?.into();
    let key = wasm_bindgen::JsValue::from_str("__kiroPrefetch");
    let slot = js_sys::Reflect::get(&window, &key).ok().filter(|s| s.is_object())?;
    let url = js_sys::Reflect::get(&slot, &"url".into()).ok()?.as_string()?;
    if url != path {
        return None;
    }
    let _ = js_sys::Reflect::delete_property(window.unchecked_ref::<js_sys::Object>(), &key);
    let promise: js_sys::Promise = js_sys::Reflect::get(&slot, &"response".into()).ok()?.dyn_into().ok()?;
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    match value.dyn_into::<web_sys::Response>() {
        Ok(raw) => Some(Ok(Response::from(raw))),
        Err(_) => Some(Err(ApiError::Network)),
    }
}

async fn get_text(path: &str) -> Result<String, ApiError> {
    let response = match take_prefetched(path).await {
        Some(prefetched) => prefetched?,
        None => Request::get(path).send().await.map_err(|_| ApiError::Network)?,
    };
    body_of(response).await
}

async fn post_text(path: &str, body: String) -> Result<String, ApiError> {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(body)
        // Not gloo's message: formatting its error brings serde_json's messages into the wasm.
        .map_err(|_| ApiError::Unexpected("the browser refused the request".into()))?;
    body_of(request.send().await.map_err(|_| ApiError::Network)?).await
}

async fn get<T: FromJson>(path: &str) -> Result<T, ApiError> {
    decode(get_text(path).await)
}

async fn post<B: ToJson, T: FromJson>(path: &str, body: &B) -> Result<T, ApiError> {
    decode(post_text(path, body.to_json()).await)
}

/// A request without a body of its own: `{}`.
struct NoFields;

impl ToJson for NoFields {
    fn write_json(&self, out: &mut String) {
        out.push_str("{}");
    }
}

/// Whether the server answers for the page at `path` within [`PAGE_CHECK_TIMEOUT`], and not with a
/// server error (a proxy's 502 for a server that is down): asked before a link leaves the portal
/// home's bundle, whose next page is a page load.
pub async fn server_answers(path: &str) -> bool {
    let abort = web_sys::AbortController::new().ok();
    if let Some(abort) = abort.clone() {
        set_timeout(move || abort.abort(), PAGE_CHECK_TIMEOUT);
    }
    let signal = abort.map(|a| a.signal());
    let request = RequestBuilder::new(path).method(Method::HEAD).abort_signal(signal.as_ref());
    request.send().await.is_ok_and(|response| response.status() < 500)
}

/// How long a link on the portal home waits for the server before saying it can't reach it.
const PAGE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

fn checkout_path(session_id: &str, rest: &str) -> String {
    format!("/api/checkout/{}{rest}", js_sys::encode_uri_component(session_id))
}

/// Saves the language picked in a page's menu for its session (`area` is `checkout` or `portal`,
/// see `views::page_session`).
pub async fn choose_locale(area: &str, session_id: &str, tag: &str) -> Result<(), ApiError> {
    let path = format!("/api/{area}/{}/locale", js_sys::encode_uri_component(session_id));
    let mut body = String::new();
    billing::json::write_object(&mut body, &[("locale", &tag.to_string())]);
    post_text(&path, body).await.map(|_| ())
}

pub async fn checkout_session(session_id: String) -> Result<CheckoutView, ApiError> {
    get(&checkout_path(&session_id, "")).await
}

/// Applies a promotion code to the checkout: the session's view with the new quote.
pub async fn apply_promotion_code(session_id: &str, code: &str) -> Result<CheckoutView, ApiError> {
    let body = billing::wire::ApplyPromotionCode { code: code.to_string() };
    post(&checkout_path(session_id, "/promotion-code"), &body).await
}

/// Subscribes without a card (a promotion makes every charge $0.00).
pub async fn confirm_free_checkout(
    session_id: &str,
    request: &billing::wire::ConfirmFreeCheckout,
) -> Result<PaymentOutcome, ApiError> {
    post(&checkout_path(session_id, "/confirm-free"), request).await
}

/// Takes the promotion code off the checkout: the session's view with the list price.
pub async fn remove_promotion_code(session_id: &str) -> Result<CheckoutView, ApiError> {
    let request = Request::delete(&checkout_path(session_id, "/promotion-code"));
    decode(body_of(request.send().await.map_err(|_| ApiError::Network)?).await)
}

pub async fn tokenize_card(session_id: &str, card: &TokenizeCard) -> Result<CardSummary, ApiError> {
    post(&checkout_path(session_id, "/card"), card).await
}

/// Where a page asks for SetupIntents and sends the card one saved (Stripe mode).
#[cfg(feature = "stripe")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StripeArea {
    Checkout,
    Portal,
}

#[cfg(feature = "stripe")]
fn stripe_path(area: StripeArea, session_id: &str, rest: &str) -> String {
    match area {
        StripeArea::Checkout => checkout_path(session_id, rest),
        StripeArea::Portal => portal_path(session_id, rest),
    }
}

/// Stripe mode: a SetupIntent for Stripe.js to save the card with.
#[cfg(feature = "stripe")]
pub async fn stripe_setup_intent(area: StripeArea, session_id: &str) -> Result<StripeSetup, ApiError> {
    post(&stripe_path(area, session_id, "/setup-intent"), &NoFields).await
}

/// Stripe mode: the card the SetupIntent saved: the card to pay with (checkout), or the outcome
/// of making it the account's card (portal).
#[cfg(feature = "stripe")]
pub async fn stripe_card<T: FromJson>(area: StripeArea, session_id: &str, setup_intent: &str) -> Result<T, ApiError> {
    post(&stripe_path(area, session_id, "/stripe-card"), &SavedStripeCard { setup_intent: setup_intent.into() }).await
}

pub async fn confirm_checkout(session_id: &str, request: &ConfirmCheckout) -> Result<PaymentOutcome, ApiError> {
    post(&checkout_path(session_id, "/confirm"), request).await
}

pub async fn answer_challenge(session_id: &str, answer: &ChallengeAnswer) -> Result<PaymentOutcome, ApiError> {
    post(&checkout_path(session_id, "/challenge"), answer).await
}

fn portal_path(session_id: &str, rest: &str) -> String {
    format!("/api/portal/{}{rest}", js_sys::encode_uri_component(session_id))
}

pub async fn portal_session(session_id: String) -> Result<PortalView, ApiError> {
    get(&portal_path(&session_id, "")).await
}

pub async fn preview_change(session_id: &str, plan: PlanId) -> Result<Quote, ApiError> {
    post(&portal_path(session_id, "/preview"), &PreviewChange { plan }).await
}

pub async fn confirm_change(session_id: &str, request: &ConfirmChange) -> Result<ChangeOutcome, ApiError> {
    post(&portal_path(session_id, "/change"), request).await
}

pub async fn keep_plan(session_id: &str) -> Result<PortalView, ApiError> {
    post(&portal_path(session_id, "/keep-plan"), &NoFields).await
}

pub async fn answer_portal_challenge(session_id: &str, answer: &ChallengeAnswer) -> Result<ChangeOutcome, ApiError> {
    post(&portal_path(session_id, "/challenge"), answer).await
}

pub async fn update_payment_method(
    session_id: &str,
    request: &UpdatePaymentMethod,
) -> Result<PaymentMethodOutcome, ApiError> {
    post(&portal_path(session_id, "/payment-method"), request).await
}

pub async fn answer_card_challenge(
    session_id: &str,
    answer: &ChallengeAnswer,
) -> Result<PaymentMethodOutcome, ApiError> {
    post(&portal_path(session_id, "/payment-method/challenge"), answer).await
}

/// Pays every open invoice with the card on file, at the total the page showed.
pub async fn pay_invoice(
    session_id: &str,
    idempotency_key: String,
    expected_total: Money,
) -> Result<InvoicePaymentOutcome, ApiError> {
    let request = PayInvoice { idempotency_key, expected_total: Some(expected_total) };
    post(&portal_path(session_id, "/pay-invoice"), &request).await
}

/// Stripe mode: the answer after Stripe.js ran the bank's check for paying the open invoices.
pub async fn answer_invoice_challenge(
    session_id: &str,
    answer: &ChallengeAnswer,
) -> Result<InvoicePaymentOutcome, ApiError> {
    post(&portal_path(session_id, "/pay-invoice/challenge"), answer).await
}

/// Cancels at period end (`true`) or resumes (`false`).
pub async fn set_cancel(session_id: &str, cancel: bool) -> Result<PortalView, ApiError> {
    let rest = if cancel { "/cancel" } else { "/resume" };
    post(&portal_path(session_id, rest), &NoFields).await
}

pub async fn set_overage(session_id: &str, enabled: bool) -> Result<PortalView, ApiError> {
    post(&portal_path(session_id, "/overage"), &SetOverage { enabled }).await
}

pub async fn set_spending_limit(session_id: &str, limit: Option<billing::Money>) -> Result<PortalView, ApiError> {
    post(&portal_path(session_id, "/spending-limit"), &SetSpendingLimit { limit }).await
}

pub async fn invoices(session_id: String) -> Result<InvoiceList, ApiError> {
    get(&portal_path(&session_id, "/invoices")).await
}

pub async fn invoice(session_id: String, invoice_id: String) -> Result<InvoiceDetail, ApiError> {
    get(&portal_path(&session_id, &format!("/invoices/{}", js_sys::encode_uri_component(&invoice_id)))).await
}
