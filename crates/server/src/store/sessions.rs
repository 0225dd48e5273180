//! The `checkout_sessions` and `portal_sessions` tables.

use super::{Conn, DbResult, OptionalExtension, params};
use super::{from_ts, plan_from, ts};
use billing::PlanId;
use time::OffsetDateTime;

// --- languages ---------------------------------------------------------------------------------

/// The language chosen for a session (checkout or portal), if any. An unknown stored tag reads
/// as no choice: the browser's language applies.
pub fn session_locale(conn: &Conn<'_>, session_id: &str) -> DbResult<Option<i18n::Locale>> {
    let tag: Option<String> = conn
        .query_row("SELECT locale FROM session_locales WHERE session_id = ?1", [session_id], |r| r.get(0))
        .optional()?;
    Ok(tag.as_deref().and_then(i18n::Locale::from_tag))
}

/// Chooses a session's language (`None`: the browser's, again).
pub fn set_session_locale(conn: &Conn<'_>, session_id: &str, locale: Option<i18n::Locale>) -> DbResult<()> {
    match locale {
        Some(locale) => conn.execute(
            "INSERT INTO session_locales (session_id, locale) VALUES (?1, ?2)
             ON CONFLICT (session_id) DO UPDATE SET locale = excluded.locale",
            params![session_id, locale.tag()],
        )?,
        None => conn.execute("DELETE FROM session_locales WHERE session_id = ?1", [session_id])?,
    };
    Ok(())
}

// --- sessions ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub id: String,
    pub account_id: String,
    pub plan: PlanId,
    pub return_url: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    pub declines: u32,
    pub invoice_id: Option<String>,
}

/// A new checkout session, opened by its id followed by the verifier hashed to `verifier_hash`.
pub fn insert_checkout_session(conn: &Conn<'_>, s: &CheckoutSession, verifier_hash: &[u8]) -> DbResult<()> {
    conn.execute(
        "INSERT INTO checkout_sessions (id, account_id, plan, return_url, created_at, expires_at, verifier_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![s.id, s.account_id, s.plan.as_str(), s.return_url, ts(s.created_at), ts(s.expires_at), verifier_hash],
    )?;
    Ok(())
}

pub fn get_checkout_session(conn: &Conn<'_>, id: &str) -> DbResult<Option<CheckoutSession>> {
    conn.query_row(
        "SELECT id, account_id, plan, return_url, created_at, expires_at, completed_at, declines, invoice_id
             FROM checkout_sessions WHERE id = ?1",
        [id],
        |r| {
            Ok(CheckoutSession {
                id: r.get(0)?,
                account_id: r.get(1)?,
                plan: plan_from(r.get(2)?)?,
                return_url: r.get(3)?,
                created_at: from_ts(r.get(4)?),
                expires_at: from_ts(r.get(5)?),
                completed_at: r.get::<_, Option<i64>>(6)?.map(from_ts),
                declines: r.get(7)?,
                invoice_id: r.get(8)?,
            })
        },
    )
    .optional()
}

pub fn record_decline(conn: &Conn<'_>, session_id: &str) -> DbResult<u32> {
    conn.query_row(
        "UPDATE checkout_sessions SET declines = declines + 1 WHERE id = ?1 RETURNING declines",
        [session_id],
        |r| r.get(0),
    )
}

pub fn complete_checkout_session(conn: &Conn<'_>, id: &str, at: OffsetDateTime, invoice_id: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE checkout_sessions SET completed_at = ?2, invoice_id = ?3 WHERE id = ?1",
        params![id, ts(at), invoice_id],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct PortalSession {
    pub id: String,
    pub account_id: String,
    pub return_url: String,
    pub expires_at: OffsetDateTime,
}

/// A new portal session, opened by its id followed by the verifier hashed to `verifier_hash`.
pub fn insert_portal_session(
    conn: &Conn<'_>,
    s: &PortalSession,
    verifier_hash: &[u8],
    now: OffsetDateTime,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO portal_sessions (id, account_id, return_url, created_at, expires_at, verifier_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id, s.account_id, s.return_url, ts(now), ts(s.expires_at), verifier_hash],
    )?;
    Ok(())
}

pub fn get_portal_session(conn: &Conn<'_>, id: &str) -> DbResult<Option<PortalSession>> {
    conn.query_row("SELECT id, account_id, return_url, expires_at FROM portal_sessions WHERE id = ?1", [id], |r| {
        Ok(PortalSession {
            id: r.get(0)?,
            account_id: r.get(1)?,
            return_url: r.get(2)?,
            expires_at: from_ts(r.get(3)?),
        })
    })
    .optional()
}

/// What a session's row keeps of its id's secret part.
pub enum KeptVerifier {
    /// No session has this selector.
    NoSession,
    /// A session of an earlier build: its whole id is the selector, no verifier.
    WholeId,
    /// The SHA-256 of the verifier.
    Hash(Vec<u8>),
}

/// What the checkout (or portal) session `id` keeps of its verifier.
pub fn kept_verifier(conn: &Conn<'_>, portal: bool, id: &str) -> DbResult<KeptVerifier> {
    let sql = if portal {
        "SELECT verifier_hash FROM portal_sessions WHERE id = ?1"
    } else {
        "SELECT verifier_hash FROM checkout_sessions WHERE id = ?1"
    };
    let kept: Option<Option<Vec<u8>>> = conn.query_row(sql, [id], |r| r.get(0)).optional()?;
    Ok(match kept {
        None => KeptVerifier::NoSession,
        Some(None) => KeptVerifier::WholeId,
        Some(Some(hash)) => KeptVerifier::Hash(hash),
    })
}
