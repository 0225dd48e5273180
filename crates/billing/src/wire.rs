//! The JSON that crosses the wire: the server API the IDE's backend calls (`/v1/...`), the
//! browser API the app calls (`/api/...`), and the error body both use.

use crate::json::{FromJson, Json, JsonError, ToJson};
use crate::money::Money;
use crate::period::Period;
use crate::plans::PlanId;
use crate::proration::Quote;
use crate::usage::Credits;
use crate::validate::CardBrand;
use crate::{from_json_struct, json_string_enum, to_json_struct, wire_string_enum};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Reads an internally tagged outcome enum (`{"status": "...", ...that status's fields}`) through
/// a flat struct of optional fields and a status: the same JSON, but decoding it costs the wasm
/// about 30 KB less per enum than serde's internally tagged representation, which buffers every
/// value first. The enum names it with `#[serde(try_from = "...Fields")]`; serializing is unchanged.
macro_rules! flat_decoding {
    (@take required, $value:expr, $name:ident) => {
        $value.ok_or(concat!("missing field `", stringify!($name), "`"))?
    };
    (@take optional, $value:expr, $name:ident) => {
        $value
    };
    ($outcome:ident via $fields:ident, $status:ident {
        fields { $($field:ident : $ty:ty),* $(,)? }
        $($variant:ident $wire:literal { $($vfield:ident : $how:ident),* $(,)? })*
    }) => {
        #[derive(Clone, Copy, Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum $status { $($variant),* }

        json_string_enum!($status { $($variant: $wire),* });

        #[doc = concat!("Every field a [`", stringify!($outcome), "`] can have, as received.")]
        #[derive(Deserialize)]
        pub struct $fields {
            status: $status,
            $($field: Option<$ty>,)*
        }

        impl TryFrom<$fields> for $outcome {
            type Error = &'static str;

            fn try_from(fields: $fields) -> Result<Self, Self::Error> {
                Ok(match fields.status {
                    $($status::$variant => $outcome::$variant {
                        $($vfield: flat_decoding!(@take $how, fields.$vfield, $vfield)),*
                    },)*
                })
            }
        }

        /// The app's reading: the status, then that status's fields (an optional one may be
        /// missing, a required one may not).
        impl FromJson for $outcome {
            fn from_json(value: &Json) -> Result<Self, JsonError> {
                let object = value.object()?;
                Ok(match object.field::<$status>("status")? {
                    $($status::$variant => $outcome::$variant {
                        $($vfield: object.field(stringify!($vfield))?),*
                    },)*
                })
            }
        }
    };
}

wire_string_enum! {
    /// Stable machine-readable error codes, `snake_case` on the wire.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ErrorCode {
        Unauthorized = "unauthorized",
        InvalidJson = "invalid_json",
        InvalidRequest = "invalid_request",
        UnsupportedMediaType = "unsupported_media_type",
        BodyTooLarge = "body_too_large",
        UnknownPlan = "unknown_plan",
        InvalidReturnUrl = "invalid_return_url",
        InvalidAccount = "invalid_account",
        InvalidEmail = "invalid_email",
        InvalidCard = "invalid_card",
        InvalidBillingDetails = "invalid_billing_details",
        InvalidPaymentMethod = "invalid_payment_method",
        SessionNotFound = "session_not_found",
        SessionExpired = "session_expired",
        SessionCompleted = "session_completed",
        SessionLocked = "session_locked",
        AccountLinkedToAws = "account_linked_to_aws",
        AlreadySubscribed = "already_subscribed",
        NoSubscription = "no_subscription",
        IdempotencyConflict = "idempotency_conflict",
        PaymentInProgress = "payment_in_progress",
        PaymentRefunded = "payment_refunded",
        ProcessorUnavailable = "processor_unavailable",
        DatabaseUnavailable = "database_unavailable",
        ChallengeNotFound = "challenge_not_found",
        QuoteChanged = "quote_changed",
        ClockBackwards = "clock_backwards",
        NotFound = "not_found",
        MethodNotAllowed = "method_not_allowed",
        RequestTimeout = "request_timeout",
        RateLimited = "rate_limited",
        ClockOutOfRange = "clock_out_of_range",
        /// Promotion codes (issue 22): each refusal its own code, so the page says which.
        PromotionCodeNotFound = "promotion_code_not_found",
        PromotionCodeExpired = "promotion_code_expired",
        PromotionCodeUsedUp = "promotion_code_used_up",
        PromotionCodeWrongPlan = "promotion_code_wrong_plan",
        PromotionCodeFirstTimeOnly = "promotion_code_first_time_only",
        PromotionCodesNotAllowed = "promotion_codes_not_allowed",
        PromotionCodeTaken = "promotion_code_taken",
        /// Credits (issue 33).
        AccountNotFound = "account_not_found",
        IdentifierReused = "identifier_reused",
        UsagePeriodClosed = "usage_period_closed",
        /// Support operations (issue 35).
        AmountTooLarge = "amount_too_large",
        InvoiceNotRefundable = "invoice_not_refundable",
        RefundFailed = "refund_failed",
        Internal = "internal",
        /// A code this build does not know yet (a newer server).
        #[serde(other)]
        Unknown = "unknown",
    } else Unknown
}

/// Ids that cross the wire, each its own type so one can't be passed where another belongs.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl FromJson for $name {
            fn from_json(value: &Json) -> Result<Self, JsonError> {
                String::from_json(value).map($name)
            }
        }

        impl ToJson for $name {
            fn write_json(&self, out: &mut String) {
                self.0.write_json(out);
            }
        }
    };
}

id_type!(
    /// A saved or tokenized card (`pm_...`).
    PaymentMethodId
);
id_type!(
    /// A 3-D Secure challenge waiting for the bank's answer (`ch_...`).
    ChallengeId
);
id_type!(
    /// An invoice (`in_...`).
    InvoiceId
);

/// `{"error": {"code": "...", "message": "..."}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// The request field the error is about (`payload.value`, `events[3].identifier`), as Stripe
    /// names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Server API (IDE backend -> server)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    Google,
    Github,
    BuilderId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    pub login: Login,
    pub aws_account_linked: bool,
}

/// `POST /v1/checkout/sessions`. `plan` is a string so an unknown plan gets its own error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCheckoutSession {
    pub account: AccountInput,
    pub plan: String,
    pub return_url: String,
    /// The page offers "Add promotion code" (issue 22).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_promotion_codes: bool,
    /// A promotion code's text, applied in advance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_code: Option<String>,
    /// The page's language: `auto` (the browser's, the default) or a locale's tag (issue 23).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// `POST /v1/portal/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePortalSession {
    pub account_id: String,
    pub return_url: String,
    /// The portal's language, as for a checkout session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// The answer to both session creations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSession {
    pub id: String,
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

wire_string_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum SubscriptionStatus {
        Active = "active",
        PastDue = "past_due",
        Canceled = "canceled",
    }
}

/// A change that waits for the next period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledChange {
    pub plan: PlanId,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
}

/// `GET /v1/accounts/{id}/subscription`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub account_id: String,
    pub plan: PlanId,
    pub plan_name: String,
    pub status: SubscriptionStatus,
    pub credits: u32,
    pub monthly_price: Money,
    pub current_period: Option<Period>,
    pub scheduled_change: Option<ScheduledChange>,
    pub cancel_at_period_end: bool,
    pub overage_enabled: bool,
    /// The monthly spending limit on overage, if the user set one (credits: `GET .../credits`).
    #[serde(default)]
    pub spending_limit: Option<Money>,
    /// Why a canceled subscription ended (`null` unless `status` is `canceled`).
    #[serde(default)]
    pub cancellation_reason: Option<CancellationReason>,
    /// The promotion's discount while it still covers a charge to come (`null` otherwise).
    #[serde(default)]
    pub discount: Option<crate::discount::DiscountView>,
}

/// Why a subscription was canceled (Stripe's `cancellation_details.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    /// The user canceled (or moved to Free), effective at the period end.
    CancellationRequested,
    /// The renewal and every retry of it failed.
    PaymentFailed,
    /// The buyer disputed a payment with their bank: canceled at the period's end.
    PaymentDisputed,
}

impl CancellationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancellationReason::CancellationRequested => "cancellation_requested",
            CancellationReason::PaymentFailed => "payment_failed",
            CancellationReason::PaymentDisputed => "payment_disputed",
        }
    }
}

/// `POST /v1/test_helpers/clock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    pub frozen: bool,
}

// ---------------------------------------------------------------------------------------------
// Browser API (app -> server)
// ---------------------------------------------------------------------------------------------

/// Product name, link text and legal line, configurable with Kiro defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub product_name: String,
    pub return_link_text: String,
    pub legal_line: String,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            product_name: "Kiro".into(),
            return_link_text: "Return to Kiro".into(),
            legal_line: "Payments are processed by Stripe. Amazon Web Services, Inc. is your contracting party.".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub id: PlanId,
    pub name: String,
    pub monthly_price: Money,
    pub monthly_credits: u32,
}

impl From<PlanId> for PlanSummary {
    fn from(id: PlanId) -> Self {
        let plan = id.plan();
        PlanSummary {
            id,
            name: plan.name.into(),
            monthly_price: plan.monthly_price,
            monthly_credits: plan.monthly_credits,
        }
    }
}

/// A saved or freshly tokenized card: never more than brand, last 4 and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub id: PaymentMethodId,
    pub brand: CardBrand,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
}

impl CardSummary {
    /// `Visa ending in 4242`: how a card is named everywhere it is shown.
    pub fn label(&self) -> String {
        format!("{} ending in {}", self.brand.display_name(), self.last4)
    }

    /// `Visa ending in 4242, expires 12/34`.
    pub fn label_with_expiry(&self) -> String {
        format!("{}, expires {:02}/{:02}", self.label(), self.exp_month, self.exp_year % 100)
    }
}

wire_string_enum! {
    /// Expired and locked sessions answer with `session_expired` / `session_locked` errors instead,
    /// so nothing about them is shown.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum CheckoutStatus {
        Open = "open",
        Complete = "complete",
    }
}

wire_string_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Eligibility {
        Eligible = "eligible",
        AccountLinkedToAws = "account_linked_to_aws",
        AlreadySubscribed = "already_subscribed",
    }
}

/// What a completed checkout bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutReceipt {
    pub plan: PlanSummary,
    pub amount_charged: Money,
    /// The card charged and kept for renewals; `null` for a subscription free forever (issue 22).
    #[serde(default)]
    pub card: Option<CardSummary>,
    pub email: String,
    pub invoice_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub next_renewal_at: OffsetDateTime,
    pub next_renewal_amount: Money,
}

/// `GET /api/checkout/{id}`: everything the checkout page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    pub status: CheckoutStatus,
    pub test_mode: bool,
    pub branding: Branding,
    pub plan: PlanSummary,
    pub email: Option<String>,
    pub eligibility: Eligibility,
    /// Today's charge at the server's clock; absent once the session is complete.
    pub quote: Option<Quote>,
    pub saved_cards: Vec<CardSummary>,
    pub receipt: Option<CheckoutReceipt>,
    /// Where **Get started** goes: the session's `return_url` with the session id.
    pub return_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Declines left before the session locks.
    pub attempts_left: u32,
    /// Stripe mode: the page takes the card with Stripe's Element instead of its own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<StripeElements>,
    /// The order summary offers "Add promotion code" (the quote carries an applied one).
    #[serde(default)]
    pub promotion_codes: bool,
}

/// `POST /api/checkout/{session}/confirm-free`: subscribing without a card, when a promotion
/// makes every charge $0.00 (100% off forever).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmFreeCheckout {
    pub email: String,
    /// The total the page showed ($0.00).
    pub expected_total: Money,
}

/// `POST /api/checkout/{session}/promotion-code`: the code the buyer typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyPromotionCode {
    pub code: String,
}

/// What the page needs to load Stripe.js and mount its card Element (Stripe mode only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeElements {
    pub publishable_key: String,
    pub js_url: String,
}

/// `POST /api/checkout/{id}/setup-intent` (Stripe mode): the SetupIntent the page confirms with
/// Stripe.js to save the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeSetup {
    pub client_secret: String,
}

/// `POST /api/checkout/{id}/stripe-card` (Stripe mode): the SetupIntent Stripe.js confirmed; the
/// answer is the saved card, to pay with as with a test-mode token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedStripeCard {
    pub setup_intent: String,
}

/// `POST /api/checkout/{id}/card`: the processor's tokenize step, the only place card data goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizeCard {
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingDetails {
    pub country: String,
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// `POST /api/checkout/{id}/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmCheckout {
    pub email: String,
    pub payment_method: PaymentMethodId,
    /// Required for a card entered in this session; saved cards carry theirs.
    #[serde(default)]
    pub billing: Option<BillingDetails>,
    /// The total the page showed: a different price at the server's clock is refused.
    pub expected_total: Money,
    pub idempotency_key: String,
}

/// `POST /api/checkout/{id}/challenge`: the stand-in for the bank's 3-D Secure page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeAnswer {
    pub challenge_id: ChallengeId,
    pub outcome: ChallengeOutcome,
}

wire_string_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ChallengeOutcome {
        Complete = "complete",
        Fail = "fail",
    }
}

wire_string_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum DeclineCode {
        Generic = "generic",
        InsufficientFunds = "insufficient_funds",
        ExpiredCard = "expired_card",
        IncorrectCvc = "incorrect_cvc",
        ProcessingError = "processing_error",
        AuthenticationFailed = "authentication_failed",
        TestCardsOnly = "test_cards_only",
    }
}

impl DeclineCode {
    /// The project's words for a decline: what happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            DeclineCode::Generic => "Your card was declined. Try another card, or contact your bank.",
            DeclineCode::InsufficientFunds => "Your card was declined for insufficient funds. Try another card.",
            DeclineCode::ExpiredCard => "Your card has expired. Check the expiry date or use another card.",
            DeclineCode::IncorrectCvc => "Your card's security code is incorrect. Check it and try again.",
            DeclineCode::ProcessingError => {
                "We couldn't process your card just now. Try again in a moment; you have not been charged."
            }
            DeclineCode::AuthenticationFailed => {
                "Your bank couldn't verify this payment. Try again, or use another card."
            }
            DeclineCode::TestCardsOnly => {
                "Your card was declined: this is test mode, which accepts only test cards such as 4242 4242 4242 4242."
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    pub code: DeclineCode,
    /// In English: the code's message, and for a plan change that the plan has not changed.
    pub message: String,
    /// A declined plan change: the plan stays as it was (pages say so in their language).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plan_unchanged: bool,
}

/// The outcome of a confirm or a 3-D Secure answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", try_from = "PaymentOutcomeFields")]
pub enum PaymentOutcome {
    Succeeded {
        receipt: CheckoutReceipt,
    },
    /// The bank asks for 3-D Secure. In Stripe mode `client_secret` is the PaymentIntent's, for
    /// Stripe.js's `confirmCardPayment`.
    RequiresAction {
        challenge_id: ChallengeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_secret: Option<String>,
    },
    Declined {
        decline: Decline,
        attempts_left: u32,
    },
}

flat_decoding! {
    PaymentOutcome via PaymentOutcomeFields, PaymentStatus {
        fields { receipt: CheckoutReceipt, challenge_id: ChallengeId, client_secret: String, decline: Decline, attempts_left: u32 }
        Succeeded "succeeded" { receipt: required }
        RequiresAction "requires_action" { challenge_id: required, client_secret: optional }
        Declined "declined" { decline: required, attempts_left: required }
    }
}

/// The subscription as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSubscription {
    pub plan: PlanSummary,
    pub status: SubscriptionStatus,
    pub period: Period,
    /// The next charge: absent when the plan ends or falls to Free at the period's end.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_renewal_at: Option<OffsetDateTime>,
    pub next_renewal_amount: Money,
    pub scheduled_change: Option<ScheduledChange>,
    pub cancel_at_period_end: bool,
    /// The promotion's discount while it covers a charge to come, and when it ends.
    #[serde(default)]
    pub discount: Option<crate::discount::DiscountView>,
}

/// `GET /api/portal/{id}`: everything the portal pages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalView {
    pub test_mode: bool,
    pub branding: Branding,
    /// Where **Return to Kiro** goes.
    pub return_url: String,
    pub email: Option<String>,
    pub subscription: PortalSubscription,
    pub payment_method: Option<CardSummary>,
    /// Every plan, cheapest first.
    pub plans: Vec<PlanSummary>,
    pub overage_enabled: bool,
    /// This period's credits in numbers.
    #[serde(default)]
    pub usage: Option<UsageTotals>,
    /// The home's card of this period's credits (meter, overage so far, spending limit, chart),
    /// written by the server in the page's language with the same code as its first paint: the
    /// home's bundle carries none of that code (it has a byte budget).
    #[serde(default)]
    pub credits_card: Option<String>,
    /// What is owed for renewals that could not be charged (the subscription is past due until
    /// it is paid).
    pub amount_due: Option<AmountDue>,
    /// Stripe mode: what the page needs to load Stripe.js (new cards, 3-D Secure).
    #[serde(default)]
    pub stripe: Option<StripeElements>,
}

/// This period's credits in numbers, for the pages that work with them (an upgrade's confirm page
/// re-rates them; the spending limit's page shows the limit). The home shows the server's
/// [`PortalView::credits_card`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    pub used: Credits,
    /// The part of `used` billed as overage so far.
    pub overage: Credits,
    /// The most overage may cost a month, if the user set a limit.
    pub spending_limit: Option<Money>,
}

/// `POST /api/portal/{id}/overage`'s spending limit: `null` for none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSpendingLimit {
    pub limit: Option<Money>,
}

/// A past-due account's debt: every invoice whose charge failed, oldest first, paid together in
/// one charge of their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountDue {
    pub amount: Money,
    pub invoices: Vec<InvoiceSummary>,
    /// When the card on file is charged again, if it will be.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_retry_at: Option<OffsetDateTime>,
    /// When the subscription is canceled (and the invoices voided) if the last retry fails.
    #[serde(with = "time::serde::rfc3339::option")]
    pub cancels_at: Option<OffsetDateTime>,
}

/// One line of the billing history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSummary {
    pub id: InvoiceId,
    pub number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub amount: Money,
    pub status: InvoiceStatus,
    /// Given back by refunds, each a credit note (oldest first).
    #[serde(default)]
    pub amount_refunded: Money,
    #[serde(default)]
    pub credit_notes: Vec<CreditNoteSummary>,
}

/// A refund of (part of) an invoice, as its credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteSummary {
    /// `CN-000001`.
    pub number: String,
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

wire_string_enum! {
    /// Whether an invoice has been paid. Renewals that fail leave theirs open until paid, or void
    /// once the subscription is canceled for them (nothing is owed any more).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum InvoiceStatus {
        Paid = "paid",
        Open = "open",
        Void = "void",
        /// A renewal's invoice in its grace hour: its period's usage is not final yet, so it is
        /// neither owed nor charged (Stripe's draft). The portal does not list it.
        Draft = "draft",
    }
}

impl InvoiceStatus {
    /// Its name on the wire (one list, in `wire_string_enum!` above).
    pub fn as_str(self) -> &'static str {
        self.wire_name()
    }

    /// What the billing history says.
    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Open => "Unpaid",
            InvoiceStatus::Void => "Void",
            InvoiceStatus::Draft => "Draft",
        }
    }
}

/// `GET /api/portal/{id}/invoices`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceList {
    pub invoices: Vec<InvoiceSummary>,
}

/// `GET /api/portal/{id}/invoices/{invoice}`: a printable invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDetail {
    pub summary: InvoiceSummary,
    pub period: Period,
    pub lines: Vec<crate::proration::LineItem>,
    pub card: Option<CardSummary>,
    pub email: Option<String>,
    pub branding: Branding,
    pub test_mode: bool,
}

/// `POST /api/portal/{id}/payment-method`: a new card for the subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentMethod {
    pub card: TokenizeCard,
    pub billing: BillingDetails,
}

/// The outcome of saving a card (or of its 3-D Secure answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", try_from = "PaymentMethodOutcomeFields")]
pub enum PaymentMethodOutcome {
    /// The card is now the one charged; `paid_invoice` is set when it also paid what a past-due
    /// account owed (`invoices_paid` invoices, in one charge).
    Updated {
        card: CardSummary,
        paid_invoice: Option<Money>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invoices_paid: Option<u32>,
    },
    RequiresAction {
        challenge_id: ChallengeId,
    },
    Declined {
        decline: Decline,
    },
}

flat_decoding! {
    PaymentMethodOutcome via PaymentMethodOutcomeFields, PaymentMethodStatus {
        fields { card: CardSummary, paid_invoice: Money, invoices_paid: u32, challenge_id: ChallengeId, decline: Decline }
        Updated "updated" { card: required, paid_invoice: optional, invoices_paid: optional }
        RequiresAction "requires_action" { challenge_id: required }
        Declined "declined" { decline: required }
    }
}

/// `POST /api/portal/{id}/pay-invoice`: pays every open invoice with the card on file, in one
/// charge of their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayInvoice {
    pub idempotency_key: String,
    /// The total the page showed: another total owed now is refused (`quote_changed`) before
    /// anything is charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_total: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", try_from = "InvoicePaymentOutcomeFields")]
pub enum InvoicePaymentOutcome {
    /// Every open invoice (`invoices` of them) paid with one charge of `amount`.
    Paid {
        amount: Money,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invoices: Option<u32>,
    },
    /// Stripe mode: the bank asks for 3-D Secure; `client_secret` is the PaymentIntent's, for
    /// Stripe.js's `confirmCardPayment`, then the answer goes to `/pay-invoice/challenge`.
    RequiresAction {
        challenge_id: ChallengeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_secret: Option<String>,
    },
    Declined {
        decline: Decline,
    },
}

flat_decoding! {
    InvoicePaymentOutcome via InvoicePaymentOutcomeFields, InvoicePaymentStatus {
        fields { amount: Money, invoices: u32, challenge_id: ChallengeId, client_secret: String, decline: Decline }
        Paid "paid" { amount: required, invoices: optional }
        RequiresAction "requires_action" { challenge_id: required, client_secret: optional }
        Declined "declined" { decline: required }
    }
}

/// `POST /api/portal/{id}/overage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetOverage {
    pub enabled: bool,
}

/// `POST /api/portal/{id}/preview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewChange {
    pub plan: PlanId,
}

/// `POST /api/portal/{id}/change`: the change the user confirmed, with the total they saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmChange {
    pub plan: PlanId,
    pub expected_total: Money,
    pub idempotency_key: String,
}

/// What a confirmed change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReceipt {
    pub kind: crate::proration::ChangeKind,
    pub from_plan: PlanSummary,
    pub to_plan: PlanSummary,
    pub amount_charged: Money,
    pub card: Option<CardSummary>,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
    pub invoice_number: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_renewal_at: Option<OffsetDateTime>,
    pub next_renewal_amount: Money,
}

/// The outcome of a plan change or of its 3-D Secure answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", try_from = "ChangeOutcomeFields")]
pub enum ChangeOutcome {
    Succeeded {
        change: ChangeReceipt,
    },
    /// The bank asks for 3-D Secure. In Stripe mode `client_secret` is the PaymentIntent's, for
    /// Stripe.js's `confirmCardPayment`.
    RequiresAction {
        challenge_id: ChallengeId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_secret: Option<String>,
    },
    Declined {
        decline: Decline,
    },
}

flat_decoding! {
    ChangeOutcome via ChangeOutcomeFields, ChangeStatus {
        fields { change: ChangeReceipt, challenge_id: ChallengeId, client_secret: String, decline: Decline }
        Succeeded "succeeded" { change: required }
        RequiresAction "requires_action" { challenge_id: required, client_secret: optional }
        Declined "declined" { decline: required }
    }
}

// ---------------------------------------------------------------------------------------------
// The app's JSON (`crate::json`): what the pages read and what they send, field by field.
// ---------------------------------------------------------------------------------------------

from_json_struct!(ErrorBody { error });
/// The pages read the code and the message; `param` is for the IDE's backend (the checkout's
/// bundle has a byte budget).
impl FromJson for ErrorDetail {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let object = value.object()?;
        Ok(ErrorDetail { code: object.field("code")?, message: object.field("message")?, param: None })
    }
}
from_json_struct!(ScheduledChange { plan, effective_at });
from_json_struct!(Branding { product_name, return_link_text, legal_line });
from_json_struct!(PlanSummary { id, name, monthly_price, monthly_credits });
from_json_struct!(CardSummary { id, brand, last4, exp_month, exp_year });
from_json_struct!(CheckoutReceipt {
    plan,
    amount_charged,
    card,
    email,
    invoice_number,
    next_renewal_at,
    next_renewal_amount,
});
from_json_struct!(CheckoutView {
    status,
    test_mode,
    branding,
    plan,
    email,
    eligibility,
    quote,
    saved_cards,
    receipt,
    return_url,
    expires_at,
    attempts_left,
    stripe;
    default promotion_codes
});
from_json_struct!(StripeElements { publishable_key, js_url });
from_json_struct!(StripeSetup { client_secret });
from_json_struct!(Decline { code, message; default plan_unchanged });
from_json_struct!(PortalSubscription {
    plan,
    status,
    period,
    next_renewal_at,
    next_renewal_amount,
    scheduled_change,
    cancel_at_period_end,
    discount,
});
from_json_struct!(PortalView {
    test_mode,
    branding,
    return_url,
    email,
    subscription,
    payment_method,
    plans,
    overage_enabled,
    amount_due,
    stripe;
    default usage, credits_card
});
from_json_struct!(UsageTotals { used, overage, spending_limit });
from_json_struct!(AmountDue { amount, invoices, next_retry_at, cancels_at });
from_json_struct!(InvoiceSummary { id, number, created_at, amount, status; default amount_refunded, credit_notes });
from_json_struct!(CreditNoteSummary { number, amount, created_at });
from_json_struct!(InvoiceList { invoices });
from_json_struct!(InvoiceDetail { summary, period, lines, card, email, branding, test_mode });
from_json_struct!(ChangeReceipt {
    kind,
    from_plan,
    to_plan,
    amount_charged,
    card,
    effective_at,
    invoice_number,
    next_renewal_at,
    next_renewal_amount,
});

to_json_struct!(ConfirmFreeCheckout { email, expected_total });
to_json_struct!(ApplyPromotionCode { code });
to_json_struct!(SavedStripeCard { setup_intent });
to_json_struct!(TokenizeCard { number, exp_month, exp_year, cvc, name });
to_json_struct!(BillingDetails { country, postal_code });
to_json_struct!(ConfirmCheckout { email, payment_method, billing, expected_total, idempotency_key });
to_json_struct!(ChallengeAnswer { challenge_id, outcome });
to_json_struct!(UpdatePaymentMethod { card, billing });
to_json_struct!(PayInvoice { idempotency_key, expected_total });
to_json_struct!(SetOverage { enabled });
to_json_struct!(SetSpendingLimit { limit });
to_json_struct!(PreviewChange { plan });
to_json_struct!(ConfirmChange { plan, expected_total, idempotency_key });

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proration::ChangeKind;

    #[test]
    fn error_body_shape_and_unknown_codes() {
        let body =
            ErrorBody { error: ErrorDetail { code: ErrorCode::InvalidReturnUrl, message: "m".into(), param: None } };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"error":{"code":"invalid_return_url","message":"m"}}"#);
        let parsed: ErrorBody = serde_json::from_str(r#"{"error":{"code":"brand_new_code","message":"x"}}"#).unwrap();
        assert_eq!(parsed.error.code, ErrorCode::Unknown);
    }

    #[test]
    fn session_requests_refuse_unknown_fields() {
        let ok = r#"{"account":{"id":"a1","login":"github","aws_account_linked":false},"plan":"pro","return_url":"kiro://kiro.kiroAgent/x"}"#;
        assert!(serde_json::from_str::<CreateCheckoutSession>(ok).is_ok());
        let extra = r#"{"account":{"id":"a1","login":"github","aws_account_linked":false},"plan":"pro","return_url":"x","price":1}"#;
        assert!(serde_json::from_str::<CreateCheckoutSession>(extra).is_err());
    }

    #[test]
    fn outcomes_are_tagged_by_status() {
        let o = PaymentOutcome::RequiresAction { challenge_id: "ch_1".into(), client_secret: None };
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"status":"requires_action","challenge_id":"ch_1"}"#);
    }

    fn round_trips<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) {
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    /// The flat decoding reads exactly what the tagged encoding writes, for every variant.
    #[test]
    fn every_outcome_reads_back_what_it_writes() {
        let decline =
            || Decline { code: DeclineCode::InsufficientFunds, message: "No funds.".into(), plan_unchanged: false };
        let card = CardSummary {
            id: "pm_1".into(),
            brand: CardBrand::Visa,
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2034,
        };
        round_trips(PaymentOutcome::RequiresAction { challenge_id: "ch_1".into(), client_secret: None });
        round_trips(PaymentOutcome::RequiresAction {
            challenge_id: "ch_1".into(),
            client_secret: Some("pi_1_secret".into()),
        });
        round_trips(PaymentOutcome::Declined { decline: decline(), attempts_left: 3 });
        round_trips(PaymentMethodOutcome::Updated { card: card.clone(), paid_invoice: None, invoices_paid: None });
        round_trips(PaymentMethodOutcome::Updated {
            card,
            paid_invoice: Some(Money::from_cents(1234)),
            invoices_paid: Some(2),
        });
        round_trips(PaymentMethodOutcome::RequiresAction { challenge_id: "ch_2".into() });
        round_trips(PaymentMethodOutcome::Declined { decline: decline() });
        round_trips(InvoicePaymentOutcome::Paid { amount: Money::from_cents(2000), invoices: None });
        round_trips(InvoicePaymentOutcome::Paid { amount: Money::from_cents(4000), invoices: Some(2) });
        round_trips(InvoicePaymentOutcome::Declined { decline: decline() });
        round_trips(InvoicePaymentOutcome::RequiresAction {
            challenge_id: "ch_4".into(),
            client_secret: Some("pi_4_secret".into()),
        });
        round_trips(ChangeOutcome::RequiresAction { challenge_id: "ch_3".into(), client_secret: None });
        round_trips(ChangeOutcome::RequiresAction {
            challenge_id: "ch_3".into(),
            client_secret: Some("pi_3_secret".into()),
        });
        round_trips(ChangeOutcome::Declined { decline: decline() });
    }

    #[test]
    fn an_outcome_without_its_fields_or_with_an_unknown_status_is_an_error() {
        let missing = serde_json::from_str::<PaymentOutcome>(r#"{"status":"declined","attempts_left":2}"#);
        assert!(missing.unwrap_err().to_string().contains("missing field `decline`"));
        assert!(serde_json::from_str::<ChangeOutcome>(r#"{"status":"exploded"}"#).is_err());
        assert!(serde_json::from_str::<InvoicePaymentOutcome>(r#"{"amount":5}"#).is_err());
    }
    /// Every answer the pages read, with every optional part present and absent, as serde writes
    /// it on the server: the app's reader gets the same value back.
    #[test]
    fn the_app_reads_every_answer_as_the_server_writes_it() {
        use crate::discount::{CouponDuration, CouponTerms, Discount, Off};
        use crate::json::tests::reads_serde;
        use crate::proration::{PaidHistory, quote_cancel, quote_change, quote_new_subscription};
        use CardBrand::*;
        use time::macros::datetime;

        let now = datetime!(2026-11-16 10:20:30.123456 UTC);
        let card = CardSummary {
            id: "pm_1".into(),
            brand: CardBrand::Amex,
            last4: "0005".into(),
            exp_month: 1,
            exp_year: 2030,
        };
        let history = PaidHistory { plan: PlanId::Pro, first_paid_at: now, paid_this_period: Money::from_cents(800) };
        let discount = |off, duration| Discount {
            code: "LAUNCH".into(),
            terms: CouponTerms { off, duration, plans: Some(vec![PlanId::Pro, PlanId::Power]) },
            started_at: now,
        };
        let mut quotes = vec![
            quote_new_subscription(PlanId::ProPlus, now).unwrap(),
            quote_change(&history, PlanId::Power, now).unwrap(),
            quote_change(&history, PlanId::Free, now).unwrap(),
            quote_cancel(&history, now),
        ];
        for d in [
            discount(Off::Percent(20), CouponDuration::Repeating { duration_in_months: 3 }),
            discount(Off::Amount(Money::from_cents(500)), CouponDuration::Once),
            discount(Off::Percent(100), CouponDuration::Forever),
        ] {
            quotes.push(d.apply(quote_new_subscription(PlanId::Pro, now).unwrap(), now));
            quotes.push(d.apply_to_change(quote_change(&history, PlanId::Power, now).unwrap(), &history, now));
            quotes.push(d.apply_to_change(quote_change(&history, PlanId::ProPlus, now).unwrap(), &history, now));
            reads_serde(&d.view());
        }
        assert!(quotes.iter().any(|q| q.discount.is_some()) && quotes.iter().any(|q| q.not_covered.is_some()));
        let receipt = CheckoutReceipt {
            plan: PlanId::Pro.into(),
            amount_charged: Money::from_cents(2000),
            card: Some(card.clone()),
            email: "a\"b@example.com".into(),
            invoice_number: "KIRO-1".into(),
            next_renewal_at: now,
            next_renewal_amount: Money::from_cents(2000),
        };
        for quote in quotes.iter().cloned().map(Some).chain([None]) {
            let view = CheckoutView {
                status: CheckoutStatus::Open,
                test_mode: true,
                branding: Branding::default(),
                plan: PlanId::Power.into(),
                email: Some("dev@example.com".into()),
                eligibility: Eligibility::AccountLinkedToAws,
                quote,
                saved_cards: vec![card.clone(), card.clone()],
                receipt: Some(receipt.clone()),
                return_url: "kiro://kiro.kiroAgent/done?x=1&y=\u{e9}".into(),
                expires_at: now,
                attempts_left: 3,
                stripe: Some(StripeElements { publishable_key: "pk_test".into(), js_url: "/v3/".into() }),
                promotion_codes: true,
            };
            reads_serde(&view);
            reads_serde(&CheckoutView { email: None, receipt: None, stripe: None, saved_cards: vec![], ..view });
        }
        let decline = Decline { code: DeclineCode::TestCardsOnly, message: "No.".into(), plan_unchanged: true };
        reads_serde(&PaymentOutcome::Succeeded { receipt: CheckoutReceipt { card: None, ..receipt } });
        reads_serde(&PaymentOutcome::RequiresAction { challenge_id: "ch_1".into(), client_secret: Some("s".into()) });
        reads_serde(&PaymentOutcome::RequiresAction { challenge_id: "ch_1".into(), client_secret: None });
        reads_serde(&PaymentOutcome::Declined { decline: decline.clone(), attempts_left: 0 });
        reads_serde(&PaymentMethodOutcome::Updated {
            card: card.clone(),
            paid_invoice: Some(Money::from_cents(1)),
            invoices_paid: Some(2),
        });
        reads_serde(&PaymentMethodOutcome::Updated { card: card.clone(), paid_invoice: None, invoices_paid: None });
        reads_serde(&PaymentMethodOutcome::RequiresAction { challenge_id: "ch_2".into() });
        reads_serde(&PaymentMethodOutcome::Declined { decline: decline.clone() });
        reads_serde(&InvoicePaymentOutcome::Paid { amount: Money::from_cents(4000), invoices: Some(2) });
        reads_serde(&InvoicePaymentOutcome::RequiresAction { challenge_id: "ch_3".into(), client_secret: None });
        reads_serde(&InvoicePaymentOutcome::Declined { decline: decline.clone() });
        let change = ChangeReceipt {
            kind: ChangeKind::Upgrade,
            from_plan: PlanId::Pro.into(),
            to_plan: PlanId::Power.into(),
            amount_charged: Money::from_cents(15000),
            card: Some(card.clone()),
            effective_at: now,
            invoice_number: Some("KIRO-2".into()),
            next_renewal_at: Some(now),
            next_renewal_amount: Money::from_cents(20000),
        };
        reads_serde(&ChangeOutcome::Succeeded { change: change.clone() });
        reads_serde(&ChangeOutcome::Succeeded {
            change: ChangeReceipt { card: None, invoice_number: None, next_renewal_at: None, ..change },
        });
        reads_serde(&ChangeOutcome::RequiresAction { challenge_id: "ch_4".into(), client_secret: Some("s".into()) });
        reads_serde(&ChangeOutcome::Declined { decline });
        reads_serde(&StripeSetup { client_secret: "seti_1_secret".into() });

        let invoice = InvoiceSummary {
            id: "in_1".into(),
            number: "KIRO-1".into(),
            created_at: now,
            amount: Money::from_cents(2000),
            status: InvoiceStatus::Open,
            amount_refunded: Money::ZERO,
            credit_notes: Vec::new(),
        };
        let refunded = InvoiceSummary {
            status: InvoiceStatus::Paid,
            amount_refunded: Money::from_cents(500),
            credit_notes: vec![CreditNoteSummary {
                number: "CN-000001".into(),
                amount: Money::from_cents(500),
                created_at: now,
            }],
            ..invoice.clone()
        };
        reads_serde(&refunded);
        let period = crate::period::Period::containing(now);
        let portal = PortalView {
            test_mode: false,
            branding: Branding { product_name: "P".into(), return_link_text: "Back".into(), legal_line: "L".into() },
            return_url: "https://example.com/".into(),
            email: None,
            subscription: PortalSubscription {
                plan: PlanId::Pro.into(),
                status: SubscriptionStatus::PastDue,
                period,
                next_renewal_at: Some(now),
                next_renewal_amount: Money::from_cents(2000),
                scheduled_change: Some(ScheduledChange { plan: PlanId::Free, effective_at: now }),
                cancel_at_period_end: true,
                discount: Some(discount(Off::Percent(20), CouponDuration::Forever).view()),
            },
            payment_method: Some(card.clone()),
            plans: PlanId::ALL.into_iter().map(PlanSummary::from).collect(),
            overage_enabled: true,
            usage: Some(UsageTotals {
                used: Credits::from_hundredths(81_245),
                overage: Credits::ZERO,
                spending_limit: Some(Money::from_cents(2500)),
            }),
            credits_card: Some("<h2>Credits</h2>".into()),
            amount_due: Some(AmountDue {
                amount: Money::from_cents(2000),
                invoices: vec![invoice.clone()],
                next_retry_at: Some(now),
                cancels_at: None,
            }),
            stripe: None,
        };
        reads_serde(&portal);
        reads_serde(&PortalView {
            subscription: PortalSubscription {
                next_renewal_at: None,
                scheduled_change: None,
                discount: None,
                ..portal.subscription.clone()
            },
            payment_method: None,
            amount_due: None,
            ..portal
        });
        reads_serde(&InvoiceList {
            invoices: vec![invoice.clone(), InvoiceSummary { status: InvoiceStatus::Void, ..invoice.clone() }],
        });
        reads_serde(&InvoiceDetail {
            summary: invoice,
            period,
            lines: quotes.iter().flat_map(|q| q.lines.clone()).collect(),
            card: Some(card),
            email: Some("e".into()),
            branding: Branding::default(),
            test_mode: true,
        });
        for code in ALL_ERROR_CODES {
            reads_serde(&ErrorBody { error: ErrorDetail { code, message: "m".into(), param: None } });
        }
        // Every variant of every enum the pages read, as serde writes it.
        for brand in [Visa, Mastercard, Amex, Discover, Diners, Jcb, Unionpay, CardBrand::Unknown] {
            reads_serde(&brand);
        }
        use DeclineCode::*;
        let declines = [Generic, InsufficientFunds, ExpiredCard, IncorrectCvc, ProcessingError, AuthenticationFailed];
        for code in declines.into_iter().chain([TestCardsOnly]) {
            reads_serde(&code);
        }
        for eligibility in [Eligibility::Eligible, Eligibility::AccountLinkedToAws, Eligibility::AlreadySubscribed] {
            reads_serde(&eligibility);
        }
        for status in [CheckoutStatus::Open, CheckoutStatus::Complete] {
            reads_serde(&status);
        }
        for status in [InvoiceStatus::Paid, InvoiceStatus::Open, InvoiceStatus::Void, InvoiceStatus::Draft] {
            reads_serde(&status);
        }
        for status in [SubscriptionStatus::Active, SubscriptionStatus::PastDue, SubscriptionStatus::Canceled] {
            reads_serde(&status);
        }
        for kind in [ChangeKind::NewSubscription, ChangeKind::Upgrade, ChangeKind::Downgrade, ChangeKind::Cancel] {
            reads_serde(&kind);
        }
    }

    /// The codes' names on the wire, pinned: the reader and serde take them from one literal each,
    /// so only this catches a renamed one.
    #[test]
    fn error_codes_keep_their_wire_names() {
        let names = serde_json::to_string(&ALL_ERROR_CODES[..]).unwrap();
        assert_eq!(
            names,
            concat!(
                r#"["unauthorized","invalid_json","invalid_request","unsupported_media_type","body_too_large","#,
                r#""unknown_plan","invalid_return_url","invalid_account","invalid_email","invalid_card","#,
                r#""invalid_billing_details","invalid_payment_method","session_not_found","session_expired","#,
                r#""session_completed","session_locked","account_linked_to_aws","already_subscribed","#,
                r#""no_subscription","idempotency_conflict","payment_in_progress","payment_refunded","#,
                r#""processor_unavailable","database_unavailable","challenge_not_found","quote_changed","#,
                r#""clock_backwards","not_found","method_not_allowed","request_timeout","rate_limited","#,
                r#""clock_out_of_range","promotion_code_not_found","promotion_code_expired","#,
                r#""promotion_code_used_up","promotion_code_wrong_plan","promotion_code_first_time_only","#,
                r#""promotion_codes_not_allowed","promotion_code_taken","account_not_found","identifier_reused","#,
                r#""usage_period_closed","amount_too_large","invoice_not_refundable","refund_failed","internal","#,
                r#""unknown"]"#
            )
        );
    }

    const ALL_ERROR_CODES: [ErrorCode; 47] = {
        use ErrorCode::*;
        [
            Unauthorized,
            InvalidJson,
            InvalidRequest,
            UnsupportedMediaType,
            BodyTooLarge,
            UnknownPlan,
            InvalidReturnUrl,
            InvalidAccount,
            InvalidEmail,
            InvalidCard,
            InvalidBillingDetails,
            InvalidPaymentMethod,
            SessionNotFound,
            SessionExpired,
            SessionCompleted,
            SessionLocked,
            AccountLinkedToAws,
            AlreadySubscribed,
            NoSubscription,
            IdempotencyConflict,
            PaymentInProgress,
            PaymentRefunded,
            ProcessorUnavailable,
            DatabaseUnavailable,
            ChallengeNotFound,
            QuoteChanged,
            ClockBackwards,
            NotFound,
            MethodNotAllowed,
            RequestTimeout,
            RateLimited,
            ClockOutOfRange,
            PromotionCodeNotFound,
            PromotionCodeExpired,
            PromotionCodeUsedUp,
            PromotionCodeWrongPlan,
            PromotionCodeFirstTimeOnly,
            PromotionCodesNotAllowed,
            PromotionCodeTaken,
            AccountNotFound,
            IdentifierReused,
            UsagePeriodClosed,
            AmountTooLarge,
            InvoiceNotRefundable,
            RefundFailed,
            Internal,
            Unknown,
        ]
    };

    /// What older or newer servers send: fields the app doesn't know are skipped, fields that
    /// came later read as their defaults, codes it doesn't know read as `unknown`.
    #[test]
    fn the_app_reads_older_and_newer_answers() {
        use crate::json::FromJson;
        let line = crate::proration::LineItem::from_json_text(
            r#"{"description": "Kiro Pro for December 2026", "amount": 2000, "new": [1.5, {"x": null}]}"#,
        )
        .unwrap();
        assert_eq!((line.label, line.amount), (None, Money::from_cents(2000)));
        let newer =
            r#"{"description": "Kiro Pro, sixth day free", "amount": 0, "label": {"free_day": {"plan": "pro"}}}"#;
        let line = crate::proration::LineItem::from_json_text(newer).unwrap();
        assert_eq!((line.label, line.description.as_str()), (None, "Kiro Pro, sixth day free"));
        let decline = Decline::from_json_text(r#"{"code": "generic", "message": "m"}"#).unwrap();
        assert!(!decline.plan_unchanged);
        let error = ErrorBody::from_json_text(r#"{"error": {"code": "brand_new_code", "message": "x"}}"#).unwrap();
        assert_eq!(error.error.code, ErrorCode::Unknown);
        let missing = PaymentOutcome::from_json_text(r#"{"status": "declined", "attempts_left": 2}"#).unwrap_err();
        assert!(missing.to_string().contains("decline"), "{missing}");
        assert!(ChangeOutcome::from_json_text(r#"{"status": "exploded"}"#).is_err());
        assert!(InvoicePaymentOutcome::from_json_text(r#"{"amount": 5}"#).is_err());
        assert!(
            CardSummary::from_json_text(
                r#"{"id": "pm_1", "brand": "visa", "last4": "4242", "exp_month": 300, "exp_year": 2030}"#
            )
            .is_err()
        );
        assert!(CheckoutView::from_json_text("[]").is_err());
    }

    /// Every body the pages send reads back through serde (with `deny_unknown_fields`) as written.
    #[test]
    fn the_server_reads_every_request_as_the_app_writes_it() {
        use crate::json::tests::serde_reads;
        let card = TokenizeCard {
            number: "4242 4242 4242 4242".into(),
            exp_month: 12,
            exp_year: 2034,
            cvc: "123".into(),
            name: "Zoë \"Q\" \\ \n".into(),
        };
        let billing = BillingDetails { country: "US".into(), postal_code: Some("94107".into()) };
        serde_reads(&card);
        serde_reads(&BillingDetails { postal_code: None, ..billing.clone() });
        serde_reads(&ConfirmCheckout {
            email: "dev@example.com".into(),
            payment_method: "pm_1".into(),
            billing: Some(billing.clone()),
            expected_total: Money::from_cents(2000),
            idempotency_key: "k".into(),
        });
        serde_reads(&ConfirmCheckout {
            email: "e".into(),
            payment_method: "pm_1".into(),
            billing: None,
            expected_total: Money::from_cents(0),
            idempotency_key: "k".into(),
        });
        serde_reads(&ConfirmFreeCheckout { email: "e".into(), expected_total: Money::from_cents(0) });
        serde_reads(&ApplyPromotionCode { code: "LAUNCH".into() });
        serde_reads(&SavedStripeCard { setup_intent: "seti_1".into() });
        serde_reads(&ChallengeAnswer { challenge_id: "ch_1".into(), outcome: ChallengeOutcome::Fail });
        serde_reads(&ChallengeAnswer { challenge_id: "ch_1".into(), outcome: ChallengeOutcome::Complete });
        serde_reads(&UpdatePaymentMethod { card, billing });
        serde_reads(&PayInvoice { idempotency_key: "k".into(), expected_total: Some(Money::from_cents(4000)) });
        serde_reads(&PayInvoice { idempotency_key: "k".into(), expected_total: None });
        serde_reads(&SetOverage { enabled: true });
        for plan in PlanId::ALL {
            serde_reads(&PreviewChange { plan });
            serde_reads(&ConfirmChange { plan, expected_total: Money::from_cents(-5), idempotency_key: "k".into() });
        }
    }
}
