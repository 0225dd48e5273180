//! The server's one error type. Every failure leaves as `{"error": {"code", "message"}}` with a
//! 4xx/5xx status, including bad JSON caught by the [`ApiJson`] extractor.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use billing::wire::{ErrorBody, ErrorCode, ErrorDetail};
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub enum AppError {
    Unauthorized,
    InvalidJson(String),
    InvalidRequest(String),
    UnsupportedMediaType,
    BodyTooLarge,
    UnknownPlan(String),
    InvalidReturnUrl(&'static str),
    InvalidAccount(&'static str),
    InvalidEmail(&'static str),
    InvalidCard(String),
    InvalidBillingDetails(String),
    InvalidPaymentMethod,
    SessionNotFound,
    SessionExpired,
    SessionCompleted,
    SessionLocked,
    AccountLinkedToAws,
    AlreadySubscribed,
    NoSubscription,
    IdempotencyConflict,
    ChallengeNotFound,
    QuoteChanged,
    ClockBackwards,
    NotFound,
    Internal(String),
}

impl AppError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        use AppError::*;
        match self {
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "Send the secret key as `Authorization: Bearer <key>`.".into(),
            ),
            InvalidJson(detail) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                format!("The body is not valid JSON: {detail}"),
            ),
            InvalidRequest(detail) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                detail.clone(),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ),
            BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BodyTooLarge,
                "The request body is too large.".into(),
            ),
            UnknownPlan(plan) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::UnknownPlan,
                format!(
                    "`{}` is not a plan you can buy. Use one of: pro, pro_plus, power.",
                    truncate(plan, 40)
                ),
            ),
            InvalidReturnUrl(why) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidReturnUrl,
                format!("`return_url` is not allowed: {why}."),
            ),
            InvalidAccount(why) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidAccount,
                format!("`account` is not valid: {why}."),
            ),
            InvalidEmail(message) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidEmail,
                (*message).into(),
            ),
            InvalidCard(message) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCard,
                message.clone(),
            ),
            InvalidBillingDetails(message) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidBillingDetails,
                message.clone(),
            ),
            InvalidPaymentMethod => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidPaymentMethod,
                "That payment method can't be used here. Enter your card again.".into(),
            ),
            SessionNotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::SessionNotFound,
                "There is no session at this address.".into(),
            ),
            SessionExpired => (
                StatusCode::GONE,
                ErrorCode::SessionExpired,
                "This session has expired.".into(),
            ),
            SessionCompleted => (
                StatusCode::CONFLICT,
                ErrorCode::SessionCompleted,
                "This checkout is already complete.".into(),
            ),
            SessionLocked => (
                StatusCode::LOCKED,
                ErrorCode::SessionLocked,
                "This checkout is locked after too many declined payments.".into(),
            ),
            AccountLinkedToAws => (
                StatusCode::FORBIDDEN,
                ErrorCode::AccountLinkedToAws,
                "This Builder ID is linked to an AWS account; upgrade through AWS instead.".into(),
            ),
            AlreadySubscribed => (
                StatusCode::CONFLICT,
                ErrorCode::AlreadySubscribed,
                "This account already has a paid plan.".into(),
            ),
            NoSubscription => (
                StatusCode::CONFLICT,
                ErrorCode::NoSubscription,
                "This account has never subscribed.".into(),
            ),
            IdempotencyConflict => (
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyConflict,
                "This idempotency key was already used with a different request.".into(),
            ),
            ChallengeNotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::ChallengeNotFound,
                "There is no authentication waiting for this payment.".into(),
            ),
            QuoteChanged => (
                StatusCode::CONFLICT,
                ErrorCode::QuoteChanged,
                "The price changed since you looked (a new billing month may have started). Review the new amount and confirm again.".into(),
            ),
            ClockBackwards => (
                StatusCode::CONFLICT,
                ErrorCode::ClockBackwards,
                "The test clock only moves forwards.".into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Nothing here.".into(),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "Something went wrong on our side. Nothing was charged; try again.".into(),
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    pub fn body(&self) -> ErrorBody {
        let (_, code, message) = self.parts();
        ErrorBody { error: ErrorDetail { code, message } }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::Internal(format!("database: {e}"))
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(e) => AppError::InvalidJson(e.body_text()),
            JsonRejection::JsonDataError(e) => AppError::InvalidRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
            other => AppError::InvalidRequest(other.body_text()),
        }
    }
}

/// `Json<T>` whose rejections are [`AppError`]s, so bad input gets the spec's error body.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state).await.map(|Json(v)| ApiJson(v)).map_err(AppError::from)
    }
}
