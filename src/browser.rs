//! The few facts the pages need from the browser: the date, the locale, random keys, navigation,
//! and what the user did in the server's first paint before the app took it over.

use wasm_bindgen::JsCast;

/// `(year, month)` of today, for card expiry checks.
pub fn current_year_month() -> (u16, u8) {
    let now = js_sys::Date::new_0();
    (now.get_full_year() as u16, (now.get_month() + 1) as u8)
}

/// The browser's preferred language tag, e.g. `en-US`.
pub fn locale() -> String {
    web_sys::window().and_then(|w| w.navigator().language()).unwrap_or_default()
}

/// A fresh random idempotency key (128 bits from the platform CSPRNG).
pub fn new_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Moves focus to the field with id `id` (the first that needs attention after a submit), so
/// keyboard and screen reader users start from it.
pub fn focus_field(id: &str) {
    let field = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(field) = field.and_then(|f| f.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = field.focus();
    }
}

/// Sends the browser to `url` (the IDE's deep link).
pub fn navigate_to(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(url);
    }
}

/// Starts the low-priority download of what the next pages need, which the build listed in the
/// HTML's `<template id=prefetch-next>` (the portal home's lists the portal's bundle): once, when
/// the page is ready, so it does not share the network with the page's own bundle; not when the
/// browser asks to save data (`navigator.connection.saveData`).
pub fn prefetch_next_pages() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let connection = js_sys::Reflect::get(&window.navigator(), &"connection".into()).ok().filter(|c| c.is_object());
    if connection.and_then(|c| js_sys::Reflect::get(&c, &"saveData".into()).ok()).is_some_and(|save| save.is_truthy()) {
        return;
    }
    let Some(document) = window.document() else {
        return;
    };
    let template =
        document.get_element_by_id("prefetch-next").and_then(|t| t.dyn_into::<web_sys::HtmlTemplateElement>().ok());
    if let (Some(template), Some(head)) = (template, document.head()) {
        let _ = head.append_child(&template.content());
        template.remove();
    }
}

/// The portal page a click on a link goes to, when the click is a plain one (no new tab, no
/// download) on one of the portal's own links.
pub fn portal_link_clicked(event: &web_sys::MouseEvent) -> Option<String> {
    let modified = event.meta_key() || event.ctrl_key() || event.shift_key() || event.alt_key();
    if event.default_prevented() || event.button() != 0 || modified {
        return None;
    }
    let link = event.target()?.dyn_into::<web_sys::Element>().ok()?.closest("a[href]").ok()??;
    if link.has_attribute("target") || link.has_attribute("download") {
        return None;
    }
    link.get_attribute("href").filter(|href| href.starts_with("/portal/"))
}

/// A `performance.mark` the benchmark reads (when a page became usable).
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// The value of field `id` in the server's first paint (`#shell`), as the user left it before the
/// app took over. A field the first paint doesn't have (a returning buyer's form shows the saved
/// card, not the new card's fields) takes what a language change kept for it, if anything (see
/// [`keep_typed_for_reload`]).
pub fn typed_before_app(id: &str) -> Option<String> {
    let kept = take_kept(id);
    match shell_field(id) {
        Some(field) => field_value(&field),
        None => kept,
    }
}

/// The checkout's fields a language change (a reload) keeps: not the card's number, expiry and
/// code, which are never stored. The entry's inline script (`xtask/entry.html`) lists them too.
const KEPT_ACROSS_RELOAD: [&str; 4] = ["email", "card-name", "country", "postal-code"];

/// On a checkout, keeps what was typed in [`KEPT_ACROSS_RELOAD`] in the tab's `sessionStorage`
/// for the reloaded page: its inline script puts it into the server's first paint (where the user
/// has not typed since), and the app takes it from there like anything typed before it, or from
/// the storage for a field the first paint lacks ([`typed_before_app`], which clears it).
pub fn keep_typed_for_reload() {
    let Some((storage, session_id)) = kept_storage() else {
        return;
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    for id in KEPT_ACROSS_RELOAD {
        let value = document.get_element_by_id(id).and_then(|field| field_value(&field));
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            let _ = storage.set_item(&kept_key(&session_id, id), &value);
        }
    }
}

/// What a language change kept for field `id` of this checkout, taken out of the tab's storage.
fn take_kept(id: &str) -> Option<String> {
    let (storage, session_id) = kept_storage()?;
    let key = kept_key(&session_id, id);
    let kept = storage.get_item(&key).ok()?;
    let _ = storage.remove_item(&key);
    kept
}

/// The tab's `sessionStorage` and the checkout session of this page; `None` off a checkout.
fn kept_storage() -> Option<(web_sys::Storage, String)> {
    let window = web_sys::window()?;
    let session_id = views::checkout_session_id(&window.location().pathname().ok()?)?;
    Some((window.session_storage().ok()??, session_id))
}

fn kept_key(session_id: &str, id: &str) -> String {
    format!("kiro-kept:{session_id}:{id}")
}

/// A form field's `value`.
fn field_value(field: &web_sys::Element) -> Option<String> {
    js_sys::Reflect::get(field, &"value".into()).ok()?.as_string()
}

/// Scrolls the element `id` into view if it isn't (a message above the link that was clicked).
pub fn scroll_to_see(id: &str) {
    let element = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(element) = element {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        element.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

fn shell_field(id: &str) -> Option<web_sys::Element> {
    let document = web_sys::window()?.document()?;
    document.query_selector(&format!("#shell [id=\"{id}\"]")).ok().flatten()
}

/// Where the user is typing in the server's first paint: the focused field's id and its selection.
#[derive(Clone, Debug)]
pub struct TypingAt {
    id: String,
    selection: Option<(u32, u32)>,
    /// The length of what was typed, in UTF-16 units as the selection counts.
    typed_len: u32,
}

impl TypingAt {
    /// The field of the first paint that has the focus, if any.
    pub fn in_shell() -> Option<TypingAt> {
        let active = web_sys::window()?.document()?.active_element()?;
        active.closest("#shell").ok().flatten()?;
        let id = active.id();
        if id.is_empty() {
            return None;
        }
        let input = active.dyn_ref::<web_sys::HtmlInputElement>();
        let selection = input.and_then(|i| Some((i.selection_start().ok()??, i.selection_end().ok()??)));
        let typed_len = input.map_or(0, |i| js_sys::JsString::from(i.value()).length());
        Some(TypingAt { id, selection, typed_len })
    }

    /// Puts the focus (and the caret) in the app's field of the same id, where the user goes on
    /// typing.
    pub fn restore(&self) {
        let Some(field) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(&self.id))
        else {
            return;
        };
        if let Some(element) = field.dyn_ref::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
        if let (Some(input), Some((start, end))) = (field.dyn_ref::<web_sys::HtmlInputElement>(), self.selection) {
            // The app may have formatted what was typed (spaces in a card number): a caret at the
            // end stays at the end.
            let len = js_sys::JsString::from(input.value()).length();
            let (start, end) = if end >= self.typed_len { (len, len) } else { (start.min(len), end.min(len)) };
            let _ = input.set_selection_range(start, end);
        }
    }
}
