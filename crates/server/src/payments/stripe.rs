//! A small typed client for exactly the Stripe API calls Stripe mode makes (Customers,
//! SetupIntents, PaymentIntents), and the verification of Stripe's webhook signatures.
//!
//! Every POST carries an `Idempotency-Key` (ours, recorded with the attempt before the call), and
//! is retried with the same key when no answer arrived (network errors, timeouts), on 429 and on
//! 5xx; any other answer is final. `Stripe-Version` pins the API version this was written against.
//! Why not async-stripe: see docs/stripe-mode.md.

use backon::{ExponentialBuilder, Retryable};
use billing::wire::DeclineCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The API version the requests and the decoded fields were written against.
pub const STRIPE_VERSION: &str = "2024-06-20";
/// Stripe's API origin, the default of `--stripe-api-base`.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// How far a webhook's signed timestamp may be from now.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;
const TRIES: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many pages of 100 PaymentIntents a search for one attempt's looks through.
const FIND_PAGES: usize = 20;

/// The client: one connection pool, the secret key (never printed), the API origin.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    secret_key: SecretString,
}

/// Why a call did not give the object asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object (a decline, a bad request, a missing object).
    #[error("Stripe answered {status}: {message}")]
    Api { status: u16, code: Option<String>, decline_code: Option<String>, message: String },
    /// No final answer after every try: whether the call took effect is unknown until the object is
    /// retrieved.
    #[error("Stripe could not be reached: {0}")]
    Unavailable(String),
    /// An answer this build cannot read.
    #[error("Stripe's answer could not be read: {0}")]
    Malformed(String),
    /// An id (from a page, usually) that is not one Stripe could have made: never sent.
    #[error("not a Stripe id")]
    InvalidId,
}

impl StripeError {
    /// The card's decline as our code, if this error is one.
    pub fn decline(&self) -> Option<DeclineCode> {
        let StripeError::Api { status, code, decline_code, .. } = self else {
            return None;
        };
        let reason = decline_code.as_deref().or(code.as_deref())?;
        Some(match reason {
            "insufficient_funds" => DeclineCode::InsufficientFunds,
            "expired_card" => DeclineCode::ExpiredCard,
            "incorrect_cvc" | "invalid_cvc" => DeclineCode::IncorrectCvc,
            "processing_error" => DeclineCode::ProcessingError,
            "authentication_required" | "payment_intent_authentication_failure" => DeclineCode::AuthenticationFailed,
            "card_declined" | "generic_decline" | "do_not_honor" | "lost_card" | "stolen_card" | "fraudulent" => {
                DeclineCode::Generic
            }
            // A card error (402) with a reason we do not name is still the card's decline.
            _ if *status == 402 => DeclineCode::Generic,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SetupIntent {
    pub id: String,
    pub status: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub id: String,
    pub status: Option<String>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A page of one of Stripe's lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A saved card: what the pages may show of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub customer: Option<String>,
    pub card: Option<CardDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
}

/// A charge of a saved card, created unconfirmed (see [`StripeClient::create_payment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment<'a> {
    pub amount_cents: i64,
    pub currency: &'a str,
    pub customer: &'a str,
    pub payment_method: &'a str,
    pub metadata: &'a [(&'a str, &'a str)],
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
}

type Form = Vec<(String, String)>;

fn field(key: &str, value: impl ToString) -> (String, String) {
    (key.to_string(), value.to_string())
}

fn metadata(form: &mut Form, pairs: &[(&str, &str)]) {
    form.extend(pairs.iter().map(|(k, v)| field(&format!("metadata[{k}]"), v)));
}

impl StripeClient {
    pub fn new(base: &str, secret_key: impl Into<SecretString>) -> StripeClient {
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap_or_default();
        StripeClient { http, base: base.trim_end_matches('/').to_string(), secret_key: secret_key.into() }
    }

    /// A Customer for one of our accounts.
    pub async fn create_customer(&self, account_id: &str, email: &str, key: &str) -> Result<Customer, StripeError> {
        let mut form = vec![field("email", email)];
        metadata(&mut form, &[("account_id", account_id)]);
        self.post("/v1/customers", form, key).await
    }

    /// A SetupIntent that saves a card for later off-session charges; the page confirms it with
    /// Stripe.js.
    pub async fn create_setup_intent(
        &self,
        customer: &str,
        meta: &[(&str, &str)],
        key: &str,
    ) -> Result<SetupIntent, StripeError> {
        let mut form =
            vec![field("customer", customer), field("usage", "off_session"), field("payment_method_types[]", "card")];
        metadata(&mut form, meta);
        self.post("/v1/setup_intents", form, key).await
    }

    /// Creates a PaymentIntent for a saved card, *not* confirmed: no money moves until
    /// [`StripeClient::confirm_payment`], which is called only once the intent's id is recorded, so
    /// a charge can always be found again by the id we kept.
    pub async fn create_payment(&self, payment: &NewPayment<'_>, key: &str) -> Result<PaymentIntent, StripeError> {
        let mut form = vec![
            field("amount", payment.amount_cents),
            field("currency", payment.currency),
            field("customer", payment.customer),
            field("payment_method", payment.payment_method),
        ];
        metadata(&mut form, payment.metadata);
        self.post("/v1/payment_intents", form, key).await
    }

    /// Confirms a PaymentIntent: this is where the card is charged. A decline is `Err(Api)` with
    /// its code; `requires_action` comes back as the intent, for the page to finish with Stripe.js.
    /// `off_session` goes with the confirm, as Stripe wants it; localstripe refuses the parameter
    /// there ("Unexpected off_session"), so it is then confirmed without it.
    pub async fn confirm_payment(&self, id: &str, off_session: bool, key: &str) -> Result<PaymentIntent, StripeError> {
        let path = format!("/v1/payment_intents/{}/confirm", path_segment(id)?);
        if !off_session {
            return self.post(&path, Vec::new(), key).await;
        }
        match self.post(&path, vec![field("off_session", "true")], key).await {
            Err(StripeError::Api { status: 400, message, .. }) if message == "Unexpected off_session" => {
                self.post(&path, Vec::new(), &format!("{key}-without-off-session")).await
            }
            answer => answer,
        }
    }

    /// Cancels a PaymentIntent we stopped waiting for, so it can never be paid later. Stripe
    /// refuses once it succeeded (or is processing): the caller retrieves it to see which.
    pub async fn cancel_payment(&self, id: &str, key: &str) -> Result<PaymentIntent, StripeError> {
        self.post(&format!("/v1/payment_intents/{}/cancel", path_segment(id)?), Vec::new(), key).await
    }

    /// Makes `payment_method` the Customer's default, as Stripe's Dashboard and invoices show it.
    pub async fn set_default_payment_method(
        &self,
        customer: &str,
        payment_method: &str,
        key: &str,
    ) -> Result<Customer, StripeError> {
        let form = vec![field("invoice_settings[default_payment_method]", payment_method)];
        self.post(&format!("/v1/customers/{}", path_segment(customer)?), form, key).await
    }

    /// Refunds the whole of a PaymentIntent's charge.
    pub async fn refund(&self, payment_intent: &str, key: &str) -> Result<Refund, StripeError> {
        self.post("/v1/refunds", vec![field("payment_intent", payment_intent)], key).await
    }

    /// Refunds `amount_cents` of a PaymentIntent's charge for our refund `refund_id` (kept in the
    /// metadata, so a refund whose process stopped can be found again). Stripe's `reason` is kept
    /// on our side: localstripe refuses the parameter.
    pub async fn refund_part(
        &self,
        payment_intent: &str,
        amount_cents: i64,
        refund_id: &str,
    ) -> Result<Refund, StripeError> {
        let form = vec![
            field("payment_intent", payment_intent),
            field("amount", amount_cents),
            field("metadata[refund]", refund_id),
        ];
        self.post("/v1/refunds", form, &format!("refund-{refund_id}")).await
    }

    /// The refunds of a PaymentIntent (the newest 100).
    pub async fn refunds_of(&self, payment_intent: &str) -> Result<Vec<Refund>, StripeError> {
        let page: List<Refund> =
            self.get(&format!("/v1/refunds?limit=100&payment_intent={}", path_segment(payment_intent)?)).await?;
        Ok(page.data)
    }

    /// The PaymentIntent our attempt `attempt_id` made for `customer`, if Stripe has one (only for
    /// attempts of the version before PaymentIntent ids were recorded first): newest
    /// first, looked at back to `since` (Unix seconds). Stripe filters the list by Customer;
    /// localstripe refuses that filter (400), so then the whole list is read and the Customer
    /// checked here.
    pub async fn find_payment(
        &self,
        customer: &str,
        attempt_id: &str,
        since: i64,
    ) -> Result<Option<PaymentIntent>, StripeError> {
        let mut filter = format!("&customer={}", path_segment(customer)?);
        let mut after = String::new();
        for _ in 0..FIND_PAGES {
            let page: List<PaymentIntent> =
                match self.get(&format!("/v1/payment_intents?limit=100{filter}{after}")).await {
                    Err(StripeError::Api { status: 400, .. }) if !filter.is_empty() => {
                        filter.clear();
                        continue;
                    }
                    page => page?,
                };
            let ours = |i: &&PaymentIntent| {
                i.customer.as_deref() == Some(customer)
                    && i.metadata.get("attempt").map(String::as_str) == Some(attempt_id)
            };
            if let Some(found) = page.data.iter().find(ours) {
                return Ok(Some(found.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more && last.created >= since => {
                    after = format!("&starting_after={}", path_segment(&last.id)?)
                }
                _ => return Ok(None),
            }
        }
        Err(StripeError::Unavailable("too many PaymentIntents to look through".into()))
    }

    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        self.get(&format!("/v1/payment_intents/{}", path_segment(id)?)).await
    }

    pub async fn payment_method(&self, id: &str) -> Result<PaymentMethod, StripeError> {
        self.get(&format!("/v1/payment_methods/{}", path_segment(id)?)).await
    }

    pub async fn setup_intent(&self, id: &str) -> Result<SetupIntent, StripeError> {
        self.get(&format!("/v1/setup_intents/{}", path_segment(id)?)).await
    }

    async fn post<T: for<'de> Deserialize<'de>>(&self, path: &str, form: Form, key: &str) -> Result<T, StripeError> {
        let request = || self.http.post(format!("{}{path}", self.base)).header("Idempotency-Key", key).form(&form);
        self.send(request).await
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, StripeError> {
        self.send(|| self.http.get(format!("{}{path}", self.base))).await
    }

    /// Sends the request built by `request`, again (the same key) while no final answer came.
    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        let once = || async {
            let sent = request().bearer_auth(self.secret_key.expose_secret()).header("Stripe-Version", STRIPE_VERSION);
            match sent.send().await {
                Ok(response) if !is_retryable(response.status()) => Ok(response),
                Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
                Err(e) => Err(if e.is_timeout() { "timed out".into() } else { "connection failed".into() }),
            }
        };
        // Doubling waits from FIRST_BACKOFF, no jitter: one caller per request.
        let backoff =
            ExponentialBuilder::new().with_min_delay(FIRST_BACKOFF).with_factor(2.0).with_max_times(TRIES as usize - 1);
        let response = once.retry(backoff).sleep(tokio::time::sleep).await.map_err(StripeError::Unavailable)?;
        decode(response).await
    }
}

fn is_retryable(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Ids come from Stripe, but are checked before they go into a path.
fn path_segment(id: &str) -> Result<&str, StripeError> {
    let ok = !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok { Ok(id) } else { Err(StripeError::InvalidId) }
}

async fn decode<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, StripeError> {
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|_| StripeError::Unavailable("answer cut off".into()))?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|e| StripeError::Malformed(e.to_string()));
    }
    let error = serde_json::from_slice::<ErrorEnvelope>(&body).map_err(|e| StripeError::Malformed(e.to_string()))?;
    Err(StripeError::Api {
        status,
        code: error.error.code,
        decline_code: error.error.decline_code,
        message: error.error.message.unwrap_or_default(),
    })
}

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no valid Stripe-Signature header")]
    Malformed,
    #[error("the signed timestamp is more than 5 minutes from now")]
    Stale,
    #[error("no signature matches")]
    Forged,
}

/// Checks a `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]` header against the raw body: one `v1`
/// must be HMAC-SHA256 of `"{t}.{body}"` under `secret` (compared in constant time) and `t` within
/// [`WEBHOOK_TOLERANCE_SECS`] of `now_unix`.
pub fn verify_webhook(body: &[u8], header: &str, secret: &str, now_unix: i64) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex)) => signatures.push(hex),
            _ => {}
        }
    }
    let (Some(t), false) = (timestamp, signatures.is_empty()) else {
        return Err(WebhookError::Malformed);
    };
    if (now_unix - t).abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(WebhookError::Stale);
    }
    let expected = crate::signing::sign(secret, t, body);
    let matches = signatures.iter().any(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
    if matches { Ok(()) } else { Err(WebhookError::Forged) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(body: &str, secret: &str, t: i64) -> String {
        crate::signing::sign(secret, t, body.as_bytes())
    }

    #[test]
    fn webhook_signatures_are_checked_for_key_body_and_time() {
        let (body, secret, now) = (r#"{"id":"evt_1"}"#, "whsec_test", 1_800_000_000);
        let good = sign(body, secret, now);
        let header = format!("t={now},v1={good}");
        assert_eq!(verify_webhook(body.as_bytes(), &header, secret, now + 299), Ok(()));
        // A rolled secret: Stripe sends one v1 per secret; any one may match.
        let rolled = format!("t={now},v1={},v1={good}", sign(body, "whsec_old", now));
        assert_eq!(verify_webhook(body.as_bytes(), &rolled, secret, now), Ok(()));
        let cases = [
            (format!("t={now},v1={}", sign(body, "whsec_other", now)), now, WebhookError::Forged),
            (format!("t={now},v1={good}"), now + 301, WebhookError::Stale),
            (format!("t={now},v1={good}"), now - 301, WebhookError::Stale),
            (format!("t={},v1={good}", now + 1), now, WebhookError::Forged),
            (format!("t={now},v0={good}"), now, WebhookError::Malformed),
            (format!("v1={good}"), now, WebhookError::Malformed),
            ("garbage".to_string(), now, WebhookError::Malformed),
        ];
        for (header, at, expected) in cases {
            assert_eq!(verify_webhook(body.as_bytes(), &header, secret, at), Err(expected), "{header}");
        }
        assert_eq!(verify_webhook(br#"{"id":"evt_2"}"#, &header, secret, now), Err(WebhookError::Forged));
    }

    #[test]
    fn declines_map_to_our_codes() {
        let api = |code: &str, decline: Option<&str>| StripeError::Api {
            status: 402,
            code: Some(code.into()),
            decline_code: decline.map(Into::into),
            message: String::new(),
        };
        assert_eq!(api("card_declined", Some("insufficient_funds")).decline(), Some(DeclineCode::InsufficientFunds));
        assert_eq!(api("card_declined", None).decline(), Some(DeclineCode::Generic));
        assert_eq!(api("expired_card", None).decline(), Some(DeclineCode::ExpiredCard));
        assert_eq!(api("incorrect_cvc", None).decline(), Some(DeclineCode::IncorrectCvc));
        // A card error (402) for a reason we do not name is still a decline; other errors are not.
        assert_eq!(api("card_declined", Some("card_velocity_exceeded")).decline(), Some(DeclineCode::Generic));
        let missing = StripeError::Api {
            status: 404,
            code: Some("resource_missing".into()),
            decline_code: None,
            message: String::new(),
        };
        assert_eq!(missing.decline(), None);
        assert_eq!(StripeError::Unavailable("x".into()).decline(), None);
    }

    #[test]
    fn ids_are_checked_before_they_reach_a_path() {
        assert_eq!(path_segment("pi_123abc"), Ok("pi_123abc"));
        for bad in ["", "pi_1/../../v1/customers", "pi 1", "pi_1?expand=x"] {
            assert!(path_segment(bad).is_err(), "{bad}");
        }
    }
}
