//! Limits on guessing per session: cards tokenized and 3-D Secure challenges opened (card
//! testing).

use crate::error::AppError;
use crate::store;
use crate::store::Conn;
use time::OffsetDateTime;

/// What a checkout or portal session may do only so often: enough for any honest user, too few
/// for testing stolen cards.
#[derive(Debug, Clone, Copy)]
pub enum SessionLimit {
    /// Cards tokenized.
    Cards,
    /// 3-D Secure challenges opened.
    Challenges,
}

pub const MAX_PER_SESSION: u32 = 20;

/// Opens a 3-D Secure challenge in a session that expires at `expires_at`: one of at most
/// [`MAX_PER_SESSION`]; its id.
pub fn open_challenge(
    conn: &Conn<'_>,
    challenge: &crate::store::Challenge,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<billing::wire::ChallengeId, AppError> {
    check_limit(conn, SessionLimit::Challenges, &challenge.session_id, expires_at, now)?;
    crate::store::insert_challenge(conn, challenge, now)?;
    Ok(challenge.id.clone().into())
}

/// `rate_limited` (retry when the session has expired, i.e. not in it) once `limit` is reached.
pub fn check_limit(
    conn: &Conn<'_>,
    limit: SessionLimit,
    session_id: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let used = match limit {
        SessionLimit::Cards => store::cards_tokenized_in(conn, session_id)?,
        SessionLimit::Challenges => store::challenges_opened_in(conn, session_id)?,
    };
    if used < MAX_PER_SESSION {
        return Ok(());
    }
    tracing::warn!(session = %crate::ids::redact(session_id), ?limit, "session limit reached");
    let seconds = (expires_at - now).whole_seconds().max(1);
    Err(AppError::RateLimited { retry_after_secs: u64::try_from(seconds).unwrap_or(1) })
}
