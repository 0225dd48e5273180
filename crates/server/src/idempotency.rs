//! Idempotency keys: the same key with the same request gives the same answer, and the work behind
//! it runs once; the same key with another request is refused. Runs inside the caller's
//! transaction, so racing requests are serialised and the second one replays the first.

use crate::error::AppError;
use crate::store;
use rusqlite::Connection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// A key as the page sent it: 1 to 255 characters.
pub fn checked_key(key: &str) -> Result<&str, AppError> {
    let key = key.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(AppError::InvalidRequest("`idempotency_key` must be 1 to 255 characters.".into()));
    }
    Ok(key)
}

/// A fingerprint of what a request asks for (everything but its key).
pub fn fingerprint(parts: &[&str]) -> String {
    format!("{:x}", Sha256::digest(parts.join("\n").as_bytes()))
}

/// Runs `work` once per `(scope, key)` and stores its answer; later calls replay that answer.
pub fn once<T: Serialize + DeserializeOwned>(
    conn: &Connection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    work: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    if let Some((stored, _, body)) = store::get_idempotent(conn, scope, key)? {
        if stored != fingerprint {
            return Err(AppError::IdempotencyConflict);
        }
        return serde_json::from_str(&body).map_err(|e| AppError::Internal(e.to_string()));
    }
    let answer = work()?;
    let body = serde_json::to_string(&answer).map_err(|e| AppError::Internal(e.to_string()))?;
    store::put_idempotent(conn, scope, key, fingerprint, 200, &body)?;
    Ok(answer)
}
