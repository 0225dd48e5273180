//! The server's one error type. Every failure leaves as `{"error": {"code", "message"}}` with a
//! 4xx/5xx status, including bad JSON caught by the [`ApiJson`] extractor.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
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
    ClockOutOfRange(&'static str),
    NotFound,
    MethodNotAllowed(String),
    RequestTimeout,
    RateLimited { retry_after_secs: u64 },
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
            ClockOutOfRange(why) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::ClockOutOfRange,
                (*why).into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "Nothing here.".into(),
            ),
            MethodNotAllowed(allowed) => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                format!("This address accepts only {allowed}."),
            ),
            RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "The request took too long to arrive. Send it again.".into(),
            ),
            RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "Too many attempts. Wait before trying again.".into(),
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
        let mut response = (self.status(), Json(self.body())).into_response();
        if let AppError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
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

/// The error body for a response some layer answered without one (axum's 405, a path that does
/// not decode, a timeout): same status and headers (`Allow`, `Retry-After`), the spec's JSON.
pub async fn json_error_bodies(request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
            AppError::MethodNotAllowed(if allowed.is_empty() { "other methods".into() } else { allowed.to_string() })
        }
        StatusCode::NOT_FOUND | StatusCode::URI_TOO_LONG => AppError::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge,
        StatusCode::REQUEST_TIMEOUT => AppError::RequestTimeout,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        s if s.is_client_error() => AppError::InvalidRequest("The request's address or headers are not valid.".into()),
        s => AppError::Internal(format!("{s} from a layer below")),
    };
    let (mut parts, _) = response.into_parts();
    let replaced = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, replaced.into_body())
}

/// A panic in a handler: logged, answered with a JSON 500, and the server goes on.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::Internal(format!("panic: {detail}")).into_response()
}
