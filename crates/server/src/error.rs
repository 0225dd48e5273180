//! The server's one error type. Every failure leaves as `{"error": {"code", "message"}}` with a
//! 4xx/5xx status, including bad JSON caught by the
//! [`crate::http::extract::ApiJson`] extractor.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use billing::wire::{ErrorBody, ErrorCode, ErrorDetail};

/// Every way a request can fail; the message the client reads is on each variant.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Send the secret key as `Authorization: Bearer <key>`.")]
    Unauthorized,
    #[error("The body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Send the body as JSON with `Content-Type: application/json`.")]
    UnsupportedMediaType,
    #[error("The request body is too large.")]
    BodyTooLarge,
    #[error("`{}` is not a plan you can buy. Use one of: pro, pro_plus, power.", truncate(.0, 40))]
    UnknownPlan(String),
    #[error("`return_url` is not allowed: {0}.")]
    InvalidReturnUrl(&'static str),
    #[error("`account` is not valid: {0}.")]
    InvalidAccount(&'static str),
    #[error("{0}")]
    InvalidEmail(&'static str),
    #[error("{0}")]
    InvalidCard(String),
    #[error("{0}")]
    InvalidBillingDetails(String),
    #[error("That payment method can't be used here. Enter your card again.")]
    InvalidPaymentMethod,
    #[error("There is no session at this address.")]
    SessionNotFound,
    #[error("This session has expired.")]
    SessionExpired,
    #[error("This checkout is already complete.")]
    SessionCompleted,
    #[error("This checkout is locked after too many declined payments.")]
    SessionLocked,
    #[error("This Builder ID is linked to an AWS account; upgrade through AWS instead.")]
    AccountLinkedToAws,
    #[error("This account already has a paid plan.")]
    AlreadySubscribed,
    #[error("This account has never subscribed.")]
    NoSubscription,
    #[error("This idempotency key was already used with a different request.")]
    IdempotencyConflict,
    #[error("Another payment for this account is still being processed. Wait a moment, then try again.")]
    PaymentInProgress,
    #[error("This payment could not be completed here, and what your bank took for it was refunded.")]
    PaymentRefunded,
    #[error(
        "We couldn't reach the payment processor, so we don't know yet whether the payment went through. We'll find out before you can pay again; nothing will be charged twice."
    )]
    ProcessorUnavailable,
    #[error("We can't reach our billing database for a moment. Nothing was charged; try again shortly.")]
    DatabaseUnavailable,
    #[error("There is no authentication waiting for this payment.")]
    ChallengeNotFound,
    #[error(
        "The price changed since you looked (a new billing month may have started). Review the new amount and confirm again."
    )]
    QuoteChanged,
    #[error("The test clock only moves forwards.")]
    ClockBackwards,
    #[error("{0}")]
    ClockOutOfRange(&'static str),
    #[error("Nothing here.")]
    NotFound,
    #[error("This address accepts only {0}.")]
    MethodNotAllowed(String),
    #[error("The request took too long to arrive. Send it again.")]
    RequestTimeout,
    #[error("That code isn't valid. Check it and try again.")]
    PromotionCodeNotFound,
    #[error("That code has expired.")]
    PromotionCodeExpired,
    #[error("That code has already been used as many times as it can be.")]
    PromotionCodeUsedUp,
    #[error("That code can't be used with {0}.")]
    PromotionCodeWrongPlan(&'static str),
    #[error("That code is for first-time subscribers only.")]
    PromotionCodeFirstTimeOnly,
    #[error("This checkout doesn't take promotion codes.")]
    PromotionCodesNotAllowed,
    #[error("A promotion code with this text exists already (codes are case-insensitive).")]
    PromotionCodeTaken,
    /// A field of the request that is missing or wrong: which (`payload.value`), and why.
    #[error("`{param}` {message}.")]
    InvalidField { param: String, message: String },
    #[error(
        "There is no account with this id. Accounts are made when a checkout or portal session is created for them."
    )]
    AccountNotFound { param: Option<String> },
    #[error("This identifier was already used for an event with a different payload.")]
    IdentifierReused { param: String },
    #[error("This usage belongs to a period whose invoice is final; it can no longer be recorded.")]
    UsagePeriodClosed { param: String },
    #[error("That is more than is left to refund on this invoice ({0} left).")]
    AmountTooLarge(String),
    #[error("{0}")]
    InvoiceNotRefundable(String),
    #[error("The payment processor refused the refund: {0}. Nothing was given back.")]
    RefundFailed(String),
    #[error("Too many attempts. Wait before trying again.")]
    RateLimited { retry_after_secs: u64 },
    /// The detail (what failed, and why, as its source) is logged, never sent.
    #[error("Something went wrong on our side. Nothing was charged; try again.")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An internal failure: what we were doing, and the error that stopped it.
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub struct Failed {
    doing: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl AppError {
    /// An internal failure with nothing below it (a broken invariant).
    pub fn internal(what: impl Into<String>) -> AppError {
        AppError::Internal(what.into().into())
    }

    /// An internal failure while `doing` something, the error that stopped it kept as the source.
    pub fn internal_from(doing: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError::Internal(Box::new(Failed { doing: doing.into(), source: Box::new(source) }))
    }

    /// A failure that may not recur: the same request later (a retry, Stripe's next delivery,
    /// the next reconciliation) may succeed, so nothing is given up on it.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AppError::ProcessorUnavailable
                | AppError::DatabaseUnavailable
                | AppError::PaymentInProgress
                | AppError::Internal(_)
        )
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> ErrorCode {
        use AppError as E;
        match self {
            E::Unauthorized => ErrorCode::Unauthorized,
            E::InvalidJson(_) => ErrorCode::InvalidJson,
            E::InvalidRequest(_) => ErrorCode::InvalidRequest,
            E::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            E::BodyTooLarge => ErrorCode::BodyTooLarge,
            E::UnknownPlan(_) => ErrorCode::UnknownPlan,
            E::InvalidReturnUrl(_) => ErrorCode::InvalidReturnUrl,
            E::InvalidAccount(_) => ErrorCode::InvalidAccount,
            E::InvalidEmail(_) => ErrorCode::InvalidEmail,
            E::InvalidCard(_) => ErrorCode::InvalidCard,
            E::InvalidBillingDetails(_) => ErrorCode::InvalidBillingDetails,
            E::InvalidPaymentMethod => ErrorCode::InvalidPaymentMethod,
            E::SessionNotFound => ErrorCode::SessionNotFound,
            E::SessionExpired => ErrorCode::SessionExpired,
            E::SessionCompleted => ErrorCode::SessionCompleted,
            E::SessionLocked => ErrorCode::SessionLocked,
            E::AccountLinkedToAws => ErrorCode::AccountLinkedToAws,
            E::AlreadySubscribed => ErrorCode::AlreadySubscribed,
            E::NoSubscription => ErrorCode::NoSubscription,
            E::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            E::PaymentInProgress => ErrorCode::PaymentInProgress,
            E::PaymentRefunded => ErrorCode::PaymentRefunded,
            E::ProcessorUnavailable => ErrorCode::ProcessorUnavailable,
            E::DatabaseUnavailable => ErrorCode::DatabaseUnavailable,
            E::ChallengeNotFound => ErrorCode::ChallengeNotFound,
            E::QuoteChanged => ErrorCode::QuoteChanged,
            E::ClockBackwards => ErrorCode::ClockBackwards,
            E::ClockOutOfRange(_) => ErrorCode::ClockOutOfRange,
            E::NotFound => ErrorCode::NotFound,
            E::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            E::RequestTimeout => ErrorCode::RequestTimeout,
            E::RateLimited { .. } => ErrorCode::RateLimited,
            E::PromotionCodeNotFound => ErrorCode::PromotionCodeNotFound,
            E::PromotionCodeExpired => ErrorCode::PromotionCodeExpired,
            E::PromotionCodeUsedUp => ErrorCode::PromotionCodeUsedUp,
            E::PromotionCodeWrongPlan(_) => ErrorCode::PromotionCodeWrongPlan,
            E::PromotionCodeFirstTimeOnly => ErrorCode::PromotionCodeFirstTimeOnly,
            E::PromotionCodesNotAllowed => ErrorCode::PromotionCodesNotAllowed,
            E::PromotionCodeTaken => ErrorCode::PromotionCodeTaken,
            E::InvalidField { .. } => ErrorCode::InvalidRequest,
            E::AccountNotFound { .. } => ErrorCode::AccountNotFound,
            E::IdentifierReused { .. } => ErrorCode::IdentifierReused,
            E::UsagePeriodClosed { .. } => ErrorCode::UsagePeriodClosed,
            E::AmountTooLarge(_) => ErrorCode::AmountTooLarge,
            E::InvoiceNotRefundable(_) => ErrorCode::InvoiceNotRefundable,
            E::RefundFailed(_) => ErrorCode::RefundFailed,
            E::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        use ErrorCode as C;
        match self.code() {
            C::Unauthorized => StatusCode::UNAUTHORIZED,
            C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            C::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::SessionNotFound | C::ChallengeNotFound | C::NotFound | C::AccountNotFound => StatusCode::NOT_FOUND,
            C::SessionExpired => StatusCode::GONE,
            C::SessionLocked => StatusCode::LOCKED,
            C::AccountLinkedToAws => StatusCode::FORBIDDEN,
            C::SessionCompleted
            | C::AlreadySubscribed
            | C::NoSubscription
            | C::IdempotencyConflict
            | C::PaymentInProgress
            | C::PaymentRefunded
            | C::QuoteChanged
            | C::PromotionCodeTaken
            | C::IdentifierReused
            | C::UsagePeriodClosed
            | C::ClockBackwards => StatusCode::CONFLICT,
            C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            C::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            C::ProcessorUnavailable | C::RefundFailed => StatusCode::BAD_GATEWAY,
            C::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            C::Internal | C::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: self.code(), message: self.to_string(), param: self.param() } }
    }

    /// The request field the error is about, when it is about one.
    fn param(&self) -> Option<String> {
        match self {
            AppError::InvalidField { param, .. }
            | AppError::IdentifierReused { param }
            | AppError::UsagePeriodClosed { param } => Some(param.clone()),
            AppError::AccountNotFound { param } => param.clone(),
            _ => None,
        }
    }
}

/// An error and its sources, outermost first: `"database: disk I/O error"`.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(failure) = &self {
            tracing::error!(detail = %chain(failure.as_ref()), "internal error");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let AppError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<crate::store::DbError> for AppError {
    fn from(e: crate::store::DbError) -> Self {
        if e.is_unreachable() {
            tracing::warn!(error = %e, "the database is not reachable");
            AppError::DatabaseUnavailable
        } else {
            AppError::internal_from("database", e)
        }
    }
}
