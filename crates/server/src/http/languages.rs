//! Which language a page speaks (issue 23): the session's choice (made by its creator with
//! `locale`, or by its user in the page's language menu), else the browser's `Accept-Language`.

use crate::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::session_tokens::{self, CheckoutToken, PortalToken, SessionKind};
use crate::state::AppState;
use crate::store;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use i18n::Locale;
use serde::Deserialize;
use serde_json::{Value, json};

/// A session creation's `locale`: absent or `auto` (the browser decides), or one of ours.
pub fn requested(locale: Option<&str>) -> Result<Option<Locale>, AppError> {
    match locale {
        None => Ok(None),
        Some(tag) if tag.eq_ignore_ascii_case("auto") => Ok(None),
        Some(tag) => Locale::from_tag(tag).map(Some).ok_or_else(|| {
            // The pseudo-locale (`en-XA`) is accepted for tests, not offered.
            let ours: Vec<&str> = Locale::ALL.iter().filter(|l| **l != Locale::Pseudo).map(|l| l.tag()).collect();
            AppError::InvalidRequest(format!("`locale` must be `auto` or one of {}", ours.join(", ")))
        }),
    }
}

/// The API's name for a session's language: its tag, or `auto`.
pub fn tag_or_auto(locale: Option<Locale>) -> &'static str {
    locale.map_or("auto", Locale::tag)
}

/// The browser's language among ours (English when none is).
pub fn from_browser(headers: &HeaderMap) -> Locale {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Locale::negotiate(accept)
}

/// The browser's language among ours, for answers that carry words (the portal's view).
pub struct BrowserLanguage(pub Locale);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for BrowserLanguage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(BrowserLanguage(from_browser(&parts.headers)))
    }
}

/// The language of the page of session `presented` (a checkout's or a portal's id as its address
/// carries it): the session's choice, else the browser's. An unknown id gets the browser's.
pub async fn for_page(state: &AppState, kind: SessionKind, presented: Option<&str>, headers: &HeaderMap) -> Locale {
    let chosen = match presented {
        Some(presented) => {
            let presented = presented.to_string();
            let read = state.store.read(move |conn| {
                let token = session_tokens::check(conn, kind, &presented)?;
                Ok::<_, AppError>(store::session_locale(conn, token.id())?)
            });
            read.await.ok().flatten()
        }
        None => None,
    };
    chosen.unwrap_or_else(|| from_browser(headers))
}

/// `POST /api/{checkout,portal}/{session_id}/locale`: `{"locale": "de"}` (or `auto`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChooseLocale {
    pub locale: String,
}

pub async fn choose_for_checkout(
    State(state): State<AppState>,
    CheckoutToken(token): CheckoutToken,
    ApiJson(req): ApiJson<ChooseLocale>,
) -> Result<Json<Value>, AppError> {
    choose(&state, token.id().to_string(), &req.locale).await
}

pub async fn choose_for_portal(
    State(state): State<AppState>,
    PortalToken(token): PortalToken,
    ApiJson(req): ApiJson<ChooseLocale>,
) -> Result<Json<Value>, AppError> {
    choose(&state, token.id().to_string(), &req.locale).await
}

async fn choose(state: &AppState, session_id: String, tag: &str) -> Result<Json<Value>, AppError> {
    let locale = requested(Some(tag))?;
    state.store.write(move |tx| store::set_session_locale(tx, &session_id, locale)).await?;
    Ok(Json(json!({ "locale": tag_or_auto(locale) })))
}
