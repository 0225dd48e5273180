//! Session ids as split tokens. A checkout (`cs_...`) or portal (`ps_...`) session id is a bearer
//! secret: whoever holds it can pay or manage the subscription. So an id is two parts, written
//! one after the other: the selector (`cs_` and 16 characters), which is the session's id in the
//! database and everywhere the server names the session (foreign keys, idempotency scopes,
//! pending charges, Stripe's metadata, logs' prefixes), and the verifier (32 characters), of
//! which the database keeps only a SHA-256. A copy of the database (a leaked backup) then opens
//! no session. Both parts are URL-safe base64, with no separator: the id stays one path segment
//! that every router and the static files' fallback already take.
//!
//! Every route that takes a session id checks it here, once, with [`check`] (through the
//! [`CheckoutToken`] and [`PortalToken`] extractors): a wrong verifier answers as an unknown id
//! does. What shows the id to its holder (the `return_url`, the session objects of the server
//! API) takes the whole id from the request or the creation, never from the database.
//!
//! Sessions stored by earlier builds (a 32-character id kept whole, no verifier hash) are opened
//! by their whole id until they expire, so an upgrade leaves open checkouts open.

use crate::error::AppError;
use crate::store::Conn;
use crate::store::{self, KeptVerifier};
use crate::{AppState, Config, ids};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use billing::wire::CreatedSession;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 96 random bits: unique among sessions; the selector need not be secret.
const SELECTOR_BYTES: usize = 12;
const SELECTOR_CHARS: usize = 16;
/// 192 bits: the secret part, as long as the whole ids of earlier builds.
const VERIFIER_BYTES: usize = 24;
const VERIFIER_CHARS: usize = 32;
/// The random part of an id of an earlier build (kept whole in the database).
const LEGACY_CHARS: usize = 32;

/// Which kind of session an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Checkout,
    Portal,
}

impl SessionKind {
    fn prefix(self) -> &'static str {
        match self {
            SessionKind::Checkout => "cs",
            SessionKind::Portal => "ps",
        }
    }

    /// The length of a selector with its prefix (`cs_` and [`SELECTOR_CHARS`]).
    fn selector_len(self) -> usize {
        self.prefix().len() + 1 + SELECTOR_CHARS
    }
}

/// A session id a page or the IDE's backend presented, checked with [`check`]. Not `Debug`: the
/// whole id must never reach a log.
#[derive(Clone)]
pub struct SessionToken {
    id: String,
    whole: String,
}

impl SessionToken {
    /// The session's id in the database: the selector (or a whole id of an earlier build).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id as its holder knows it, verifier included: only for answers to that holder.
    pub fn whole(&self) -> &str {
        &self.whole
    }
}

/// A new session's id: `id` and `verifier_hash` go into the database, `whole` only to the IDE's
/// backend.
pub struct NewToken {
    kind: SessionKind,
    pub id: String,
    pub whole: String,
    pub verifier_hash: [u8; 32],
}

impl NewToken {
    /// A new id with a random verifier.
    pub fn random(kind: SessionKind) -> NewToken {
        NewToken::with_verifier(kind, new_selector(kind), &ids::random_text::<VERIFIER_BYTES>())
    }

    /// A new id for a session creation: with an `Idempotency-Key`, its verifier is derived from
    /// the key (see [`keyed_verifier`]) so that a replay gives the same whole id without the
    /// database keeping it; without one, random.
    pub fn for_creation(kind: SessionKind, api_key: &str, idempotency_key: Option<&str>) -> NewToken {
        match idempotency_key {
            Some(key) => {
                let id = new_selector(kind);
                let verifier = keyed_verifier(api_key, key, &id);
                NewToken::with_verifier(kind, id, &verifier)
            }
            None => NewToken::random(kind),
        }
    }

    /// The whole id to answer a creation with, given the id of the session its idempotency key
    /// kept (this one's, or an earlier creation's when this one is a replay).
    pub fn whole_for(&self, kept_id: &str, api_key: &str, idempotency_key: Option<&str>) -> String {
        match idempotency_key {
            _ if kept_id == self.id => self.whole.clone(),
            // A selector: its verifier is derived again. A whole id an earlier build kept: as kept.
            Some(key) if kept_id.len() == self.kind.selector_len() => {
                format!("{kept_id}{}", keyed_verifier(api_key, key, kept_id))
            }
            _ => kept_id.to_string(),
        }
    }

    /// The creation's answer, from what its idempotency key kept (the session's id without its
    /// verifier): the whole id and its page's URL.
    pub fn answer(
        &self,
        config: &Config,
        kept: &CreatedSession,
        api_key: &str,
        idempotency_key: Option<&str>,
    ) -> CreatedSession {
        let page = match self.kind {
            SessionKind::Checkout => "checkout",
            SessionKind::Portal => "portal",
        };
        config.created_session(page, &self.whole_for(&kept.id, api_key, idempotency_key), kept.expires_at)
    }

    fn with_verifier(kind: SessionKind, id: String, verifier: &str) -> NewToken {
        let whole = format!("{id}{verifier}");
        NewToken { kind, id, whole, verifier_hash: Sha256::digest(verifier.as_bytes()).into() }
    }
}

/// `cs_` (or `ps_`) and [`SELECTOR_BYTES`] random bytes.
fn new_selector(kind: SessionKind) -> String {
    format!("{}_{}", kind.prefix(), ids::random_text::<SELECTOR_BYTES>())
}

/// The verifier of session `id` created under `idempotency_key`: HMAC-SHA256 keyed with the
/// server API's secret key the creation presented (which the database keeps only as a hash),
/// so the database alone cannot give it. The selector ends the message at a fixed length, so
/// no two (key, selector) pairs make the same message.
fn keyed_verifier(api_key: &str, idempotency_key: &str, id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(idempotency_key.as_bytes());
    mac.update(id.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..VERIFIER_BYTES])
}

/// The selector and verifier of a presented id, or the whole id of an earlier build (no
/// verifier); `None` for anything of neither shape.
fn split(kind: SessionKind, presented: &str) -> Option<(&str, Option<&str>)> {
    let random = presented.strip_prefix(kind.prefix())?.strip_prefix('_')?;
    if random.len() == SELECTOR_CHARS + VERIFIER_CHARS && random.is_ascii() {
        let (selector, verifier) = presented.split_at(kind.selector_len());
        return Some((selector, Some(verifier)));
    }
    (random.len() == LEGACY_CHARS).then_some((presented, None))
}

/// The session `presented` names, if it exists and its verifier is right (or it is a whole id
/// an earlier build stored without one). Anything else is `session_not_found`, as for an id
/// never issued: the verifier is hashed before the lookup and compared in constant time, so a
/// wrong one costs what an unknown id does.
pub fn check(conn: &Conn<'_>, kind: SessionKind, presented: &str) -> Result<SessionToken, AppError> {
    let (id, verifier) = split(kind, presented).ok_or(AppError::SessionNotFound)?;
    let presented_hash: Option<[u8; 32]> = verifier.map(|v| Sha256::digest(v.as_bytes()).into());
    let kept = store::kept_verifier(conn, kind == SessionKind::Portal, id)?;
    let opens = match (kept, presented_hash) {
        (KeptVerifier::Hash(kept), Some(presented)) => bool::from(kept.as_slice().ct_eq(&presented)),
        (KeptVerifier::WholeId, None) => true,
        _ => false,
    };
    if !opens {
        return Err(AppError::SessionNotFound);
    }
    Ok(SessionToken { id: id.to_string(), whole: presented.to_string() })
}

/// The `{session_id}` of the request's path, checked as a session of `kind`.
async fn from_path(parts: &mut Parts, state: &AppState, kind: SessionKind) -> Result<SessionToken, AppError> {
    // A path that does not decode is refused as it is elsewhere (see `json_error_bodies`).
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::InvalidRequest("The request's address or headers are not valid.".into()))?;
    let presented = params.iter().find(|(name, _)| *name == "session_id").map(|(_, value)| value.to_string());
    let presented = presented.ok_or_else(|| AppError::internal("a session route without {session_id}"))?;
    state.store.read(move |conn| check(conn, kind, &presented)).await
}

/// The checkout session named by the path's `{session_id}`, checked with [`check`].
pub struct CheckoutToken(pub SessionToken);

impl FromRequestParts<AppState> for CheckoutToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        from_path(parts, state, SessionKind::Checkout).await.map(CheckoutToken)
    }
}

/// The portal session named by the path's `{session_id}`, checked with [`check`].
pub struct PortalToken(pub SessionToken);

impl FromRequestParts<AppState> for PortalToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        from_path(parts, state, SessionKind::Portal).await.map(PortalToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_selector_then_its_verifier_in_one_url_safe_segment() {
        let token = NewToken::random(SessionKind::Checkout);
        assert!(token.id.starts_with("cs_") && token.id.len() == 3 + SELECTOR_CHARS, "{}", token.id);
        assert!(token.whole.starts_with(&token.id) && token.whole.len() == 3 + SELECTOR_CHARS + VERIFIER_CHARS);
        assert!(token.whole[3..].chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let verifier = &token.whole[token.id.len()..];
        assert_eq!(token.verifier_hash, <[u8; 32]>::from(Sha256::digest(verifier.as_bytes())));
        assert_eq!(split(SessionKind::Checkout, &token.whole), Some((token.id.as_str(), Some(verifier))));
        assert_eq!(split(SessionKind::Portal, &token.whole), None);
        assert_eq!(split(SessionKind::Checkout, &token.id), None, "a selector alone is no id");
    }

    #[test]
    fn ids_of_earlier_builds_are_read_whole() {
        let legacy = crate::ids::new_id("ps");
        assert_eq!(split(SessionKind::Portal, &legacy), Some((legacy.as_str(), None)));
        assert_eq!(split(SessionKind::Portal, "ps_short"), None);
        // Not ASCII where the split would fall: refused, not sliced.
        let odd = format!("ps_{}é{}", "a".repeat(15), "b".repeat(31));
        assert_eq!(split(SessionKind::Portal, &odd), None);
    }

    #[test]
    fn a_keyed_creation_gives_the_same_whole_id_again_only_with_the_same_keys() {
        let made = NewToken::for_creation(SessionKind::Portal, "sk_1", Some("idem-1"));
        let other = NewToken::for_creation(SessionKind::Portal, "sk_1", Some("idem-1"));
        let replayed = other.whole_for(&made.id, "sk_1", Some("idem-1"));
        assert_eq!(replayed, made.whole);
        assert_ne!(other.whole_for(&made.id, "sk_2", Some("idem-1")), made.whole);
        assert_ne!(other.whole_for(&made.id, "sk_1", Some("idem-2")), made.whole);
        // A whole id an earlier build kept under the key is given back as kept.
        let legacy = crate::ids::new_id("ps");
        assert_eq!(other.whole_for(&legacy, "sk_1", Some("idem-1")), legacy);
    }
}
