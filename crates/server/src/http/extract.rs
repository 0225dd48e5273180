//! What handlers take from a request besides the state: a JSON body whose rejections are
//! [`AppError`]s, proof of the secret key, and the `Idempotency-Key` header.

use crate::error::AppError;
use crate::idempotency;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use std::net::SocketAddr;

/// `Json<T>` whose rejections are [`AppError`]s, so bad input gets the spec's error body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

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

/// Proof that the request carried the secret key (`Authorization: Bearer <key>`; the scheme is
/// case-insensitive, as RFC 7235 says). An address that keeps presenting wrong keys gets `429`
/// for them, so guessing gets nowhere; the right key is checked first and always gets through.
/// Holds the key as presented (a session creation derives its ids' verifiers from it); it has no
/// `Debug`, so it cannot reach a log.
pub struct SecretKey(pub String);

impl FromRequestParts<AppState> for SecretKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let client = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let presented =
            parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token);
        match presented {
            Some(key) if state.config.key_matches(key) => Ok(SecretKey(key.to_string())),
            _ => {
                state.failed_keys.record_shared_failure(client, &state.store).await?;
                Err(AppError::Unauthorized)
            }
        }
    }
}

/// The token of `Bearer <token>`: the scheme in any case, then one or more spaces.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// The optional `Idempotency-Key` header of a session creation.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
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
