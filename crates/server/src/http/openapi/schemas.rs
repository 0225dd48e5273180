//! The server API's objects as the OpenAPI document describes them. Most answers are built as
//! JSON where they are made (Stripe's shapes); these types only describe them, and the conformance
//! test (`tests/it/openapi.rs`) checks every documented example's answer against them, so a field
//! added or dropped without the document fails it. Money is integer cents; times are RFC 3339 or
//! Unix seconds as each field says.

#![allow(dead_code)]

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every failure: `{"error": {"code", "message", "param"?}}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Error)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable, for code to branch on (`not_found`, `amount_too_large`, ...).
    code: String,
    /// For people: what happened and what to do.
    message: String,
    /// The request field it is about, when it is about one (`payload.value`).
    #[serde(default)]
    param: Option<String>,
}

/// `POST /v1/checkout/sessions` and `/v1/portal/sessions`: where to send the user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatedSession {
    /// A bearer secret: who holds it can pay. Never logged whole.
    id: String,
    url: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// The account the IDE signed in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    #[schema(max_length = 128)]
    id: String,
    email: Option<String>,
    #[schema(pattern = "^(google|github|builder_id)$")]
    login: String,
    aws_account_linked: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "account": {"id": "acct_example", "email": "dev@example.com", "login": "github", "aws_account_linked": false},
    "plan": "pro", "return_url": "kiro://kiro.kiroAgent/upgrade-success", "allow_promotion_codes": true
}))]
pub struct CreateCheckoutSession {
    account: AccountInput,
    /// `pro`, `pro_plus` or `power`.
    plan: String,
    return_url: String,
    #[serde(default)]
    allow_promotion_codes: Option<bool>,
    promotion_code: Option<String>,
    /// `auto` (the browser's language) or a locale's tag (`de`, `ja`, `pt-BR`, ...).
    locale: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account_id": "acct_example", "return_url": "kiro://kiro.kiroAgent/manage-plan"}))]
pub struct CreatePortalSession {
    account_id: String,
    return_url: String,
    locale: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutSession {
    id: String,
    #[schema(pattern = "^checkout_session$")]
    object: String,
    #[schema(pattern = "^(open|complete|expired)$")]
    status: String,
    account_id: String,
    plan: String,
    locale: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    #[schema(format = DateTime)]
    completed_at: Option<String>,
    /// Once complete: the subscription it started.
    subscription: Option<Subscription>,
    /// Once complete: the invoice it paid.
    invoice: Option<Invoice>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSession {
    id: String,
    #[schema(pattern = "^portal_session$")]
    object: String,
    #[schema(pattern = "^(open|expired)$")]
    status: String,
    account_id: String,
    plan: String,
    locale: String,
    #[schema(format = DateTime)]
    expires_at: String,
    subscription: Subscription,
}

/// An account's subscription (Free when it has none).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    account_id: String,
    /// `free`, `pro`, `pro_plus` or `power`.
    plan: String,
    plan_name: String,
    #[schema(pattern = "^(active|past_due|canceled)$")]
    status: String,
    /// Credits a month on the plan in effect.
    credits: u32,
    /// Cents.
    monthly_price: i64,
    current_period: Option<DatePeriod>,
    scheduled_change: Option<ScheduledChange>,
    cancel_at_period_end: bool,
    overage_enabled: bool,
    /// Cents a month of overage at most (`null`: no limit).
    spending_limit: Option<i64>,
    /// `cancellation_requested`, `payment_failed` or `payment_disputed`, once canceled.
    cancellation_reason: Option<String>,
    discount: Option<Discount>,
}

/// A running promotion: its code, what comes off, and for how long.
#[derive(Deserialize, ToSchema)]
pub struct Discount {
    code: String,
    label: String,
    /// `once`, `repeating` or `forever`.
    duration: String,
    plans: Option<Vec<String>>,
    #[schema(format = DateTime)]
    started_at: String,
    #[schema(format = DateTime)]
    ends_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatePeriod {
    #[schema(format = DateTime)]
    start: String,
    #[schema(format = DateTime)]
    end: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledChange {
    plan: String,
    #[schema(format = DateTime)]
    effective_at: String,
}

/// Unix seconds.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnixPeriod {
    start: i64,
    end: i64,
}

/// An invoice: what was charged (or is owed), line by line, and what became of the money.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    id: String,
    /// `KIRO-000001`: gapless.
    number: String,
    account_id: String,
    /// Cents.
    amount: i64,
    #[schema(pattern = "^usd$")]
    currency: String,
    /// `draft`, `open`, `paid` or `void`.
    #[schema(pattern = "^(draft|open|paid|void)$")]
    status: String,
    /// Cents given back by refunds.
    amount_refunded: i64,
    /// `partially_refunded` or `refunded` once money was given back.
    refund_status: Option<String>,
    /// Stripe's dispute status once the buyer disputed the payment (`needs_response`, `won`, `lost`, ...).
    dispute: Option<String>,
    /// The PaymentIntent that paid it (Stripe mode).
    payment_intent: Option<String>,
    /// Unix seconds.
    created: i64,
    period: UnixPeriod,
    lines: Vec<InvoiceLine>,
    /// `invoice.refunded` events only: the refund.
    #[serde(default)]
    refund: Option<Refund>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLine {
    /// In English.
    description: String,
    /// Cents (negative for a discount or what was already paid).
    amount: i64,
    /// What the line is, as data (`{"plan_month": {...}}`, `{"overage": {...}}`, ...).
    #[serde(default)]
    label: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceList {
    invoices: Vec<Invoice>,
}

/// An event, as webhooks deliver it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    id: String,
    /// `subscription.created`, `invoice.paid`, `invoice.refunded`, ...
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    /// The subscription or invoice as it was then.
    data: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventList {
    data: Vec<Event>,
    has_more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterPayload {
    account_id: String,
    /// Credits, as a decimal string (`"1.25"`).
    value: String,
}

/// Usage the IDE's backend reports (Stripe's meter event).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_name": "kiro_credits", "identifier": "usage-example-1",
    "payload": {"account_id": "acct_example", "value": "1.25"}}))]
pub struct MeterEventInput {
    /// `kiro_credits`.
    event_name: String,
    /// Unique per event: a second event with it is a duplicate.
    identifier: String,
    /// Unix seconds, now when absent; at most 35 days back.
    timestamp: Option<i64>,
    payload: MeterPayload,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": [{"event_name": "kiro_credits", "identifier": "usage-example-2",
    "payload": {"account_id": "acct_example", "value": "0.5"}}]}))]
pub struct MeterEventStreamInput {
    /// 1 to 100, recorded all or none.
    events: Vec<MeterEventInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterEvent {
    object: String,
    event_name: String,
    identifier: String,
    payload: MeterPayload,
    timestamp: i64,
    created: i64,
    livemode: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterEventStream {
    object: String,
    recorded: u32,
    duplicates: u32,
}

/// This period's credits: included, used, left, and overage so far.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credits {
    object: String,
    account_id: String,
    plan: String,
    period: UnixPeriod,
    included: String,
    used: String,
    remaining: String,
    overage_credits: String,
    /// Cents.
    overage_amount: i64,
    overage_enabled: bool,
    spending_limit: Option<i64>,
    can_use: bool,
}

/// The plans a coupon applies to (`pro`, `pro_plus`, `power`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    plans: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coupon {
    id: String,
    object: String,
    name: Option<String>,
    percent_off: Option<i64>,
    amount_off: Option<i64>,
    currency: Option<String>,
    duration: String,
    duration_in_months: Option<i64>,
    applies_to: Option<AppliesTo>,
    valid: bool,
    times_redeemed: i64,
    created: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponList {
    object: String,
    data: Vec<Coupon>,
    has_more: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionCode {
    id: String,
    object: String,
    code: String,
    coupon: Coupon,
    active: bool,
    max_redemptions: Option<i64>,
    times_redeemed: i64,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    first_time_transaction: bool,
    created: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionCodeList {
    object: String,
    data: Vec<PromotionCode>,
    has_more: bool,
}

/// Money given back on a paid invoice (Stripe's Refund), with its credit note once it succeeded.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    id: String,
    object: String,
    /// Cents.
    amount: i64,
    currency: String,
    /// The invoice's id.
    invoice: String,
    /// `duplicate`, `fraudulent` or `requested_by_customer`.
    reason: String,
    #[schema(pattern = "^(pending|succeeded|failed)$")]
    status: String,
    created: i64,
    credit_note: Option<CreditNote>,
    failure_reason: Option<String>,
}

/// `CN-000001`: gapless, one per refund that succeeded.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNote {
    number: String,
    invoice_number: String,
    amount: i64,
    lines: Vec<InvoiceLine>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundList {
    object: String,
    data: Vec<Refund>,
    has_more: bool,
}

/// The subscription after the cancellation, and the refunds it gave.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Canceled {
    subscription: Subscription,
    refunds: Vec<Refund>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"now": "2026-12-01T02:00:00Z"}))]
pub struct SetClock {
    #[schema(format = DateTime)]
    now: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    #[schema(format = DateTime)]
    now: String,
    frozen: bool,
}

/// Stripe's signed event (`Stripe-Signature`).
#[derive(Deserialize, ToSchema)]
pub struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Received {
    received: bool,
}
