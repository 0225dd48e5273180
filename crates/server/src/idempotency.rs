//! Idempotency keys: the same key with the same request gives the same answer, and the work behind
//! it runs once; the same key with another request is refused. Runs inside the caller's
//! transaction, so racing requests are serialised and the second one replays the first.

use crate::error::AppError;
use crate::store::Conn;
use crate::store::{self, IdempotentAnswer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// How long the server API's `Idempotency-Key`s are remembered, as Stripe's are.
pub const SERVER_KEY_LIFETIME: Duration = Duration::hours(24);

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
    hex::encode(Sha256::digest(parts.join("\n").as_bytes()))
}

/// One idempotent request: where its key lives, the key, and what the request asks for.
pub struct Keyed<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a str,
}

/// Runs `work` once per `(scope, key)` for the server API: its answer is replayed for
/// [`SERVER_KEY_LIFETIME`], then forgotten.
pub fn once_a_day<T: Serialize + DeserializeOwned>(
    conn: &Conn<'_>,
    request: &Keyed<'_>,
    now: OffsetDateTime,
    work: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    replay_or_run(conn, request, now - SERVER_KEY_LIFETIME, now, work)
}

fn replay_or_run<T: Serialize + DeserializeOwned>(
    conn: &Conn<'_>,
    request: &Keyed<'_>,
    since: OffsetDateTime,
    now: OffsetDateTime,
    work: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    if let Some(answer) = stored(conn, request, since)? {
        return Ok(answer);
    }
    let answer = work()?;
    keep(conn, request, &answer, now)?;
    Ok(answer)
}

/// The answer kept for this key since `since`, if any; the key with another request is a
/// conflict.
pub fn stored<T: DeserializeOwned>(
    conn: &Conn<'_>,
    request: &Keyed<'_>,
    since: OffsetDateTime,
) -> Result<Option<T>, AppError> {
    let Some((stored, _, body)) = store::get_idempotent(conn, request.scope, request.key, since)? else {
        return Ok(None);
    };
    if stored != request.fingerprint {
        return Err(AppError::IdempotencyConflict);
    }
    serde_json::from_str(&body).map(Some).map_err(|e| AppError::internal_from("a stored answer", e))
}

/// Keeps `answer` as this key's, for good.
pub fn keep<T: Serialize>(
    conn: &Conn<'_>,
    request: &Keyed<'_>,
    answer: &T,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let body = serde_json::to_string(answer).map_err(|e| AppError::internal_from("a stored answer", e))?;
    let stored = IdempotentAnswer {
        scope: request.scope,
        key: request.key,
        hash: request.fingerprint,
        status: 200,
        body: &body,
    };
    Ok(store::put_idempotent(conn, &stored, now)?)
}

/// Where a charging request's answer is kept, so a repeat gets it again: under its idempotency
/// key, or with the 3-D Secure challenge it answered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum AnswerTo {
    Key { scope: String, key: String, fingerprint: String },
    Challenge(String),
}

impl AnswerTo {
    pub fn keep<T: Serialize>(&self, conn: &Conn<'_>, answer: &T, now: OffsetDateTime) -> Result<(), AppError> {
        match self {
            AnswerTo::Key { scope, key, fingerprint } => keep(conn, &Keyed { scope, key, fingerprint }, answer, now),
            AnswerTo::Challenge(id) => {
                let body = serde_json::to_string(answer).map_err(|e| AppError::internal_from("a stored answer", e))?;
                Ok(store::resolve_challenge(conn, id, &body)?)
            }
        }
    }
}

/// The challenge `challenge_id` of `session_id` that `accept` takes (checkout, plan change or
/// card; others are `challenge_not_found`), with the outcome of its first answer if it has one: a
/// repeat (a double click, a retry, Stripe's webhook) replays it.
pub fn challenge_and_answer<T: DeserializeOwned>(
    conn: &Conn<'_>,
    challenge_id: &str,
    session_id: &str,
    accept: impl Fn(&store::Challenge) -> bool,
) -> Result<(store::Challenge, Option<T>), AppError> {
    let challenge =
        store::get_challenge(conn, challenge_id, session_id)?.filter(accept).ok_or(AppError::ChallengeNotFound)?;
    let kept = match &challenge.resolved_body {
        Some(body) => Some(serde_json::from_str(body).map_err(|e| AppError::internal_from("a stored answer", e))?),
        None => None,
    };
    Ok((challenge, kept))
}

/// Runs a session creation once per `Idempotency-Key` (when one was sent) for 24 hours.
pub fn once_per_key<T: Serialize + DeserializeOwned>(
    tx: &Conn<'_>,
    scope: &str,
    key: Option<&str>,
    request: &impl Serialize,
    now: time::OffsetDateTime,
    work: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let Some(key) = key else {
        return work();
    };
    let body = serde_json::to_string(request).map_err(|e| AppError::internal_from("a stored answer", e))?;
    let fingerprint = fingerprint(&[&body]);
    once_a_day(tx, &Keyed { scope, key, fingerprint: &fingerprint }, now, work)
}
