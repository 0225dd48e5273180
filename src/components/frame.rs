//! The browser-side pieces of the frame: the app's root that takes over the HTML's shell (with the
//! focus of a user typing in it), the page heading that takes focus otherwise. The frame itself is
//! in the `views` crate, which the server renders too.

use crate::browser::TypingAt;
use leptos::html;
use leptos::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
pub use views::frame::PageFrame;

/// Set when the app took over a first paint in which the user was typing: the focus stays in that
/// field, and the page's heading does not take it.
static FOCUS_KEPT: AtomicBool = AtomicBool::new(false);

/// The app's content. Once it is in the page and `ready` (the page has what it shows: the portal
/// waits for its session), the HTML's static shell (painted before the wasm arrived) is hidden by
/// CSS at once, then removed so its ids and text are not there twice; until then the shell stays
/// on screen and the app's content is hidden. A user typing in the shell's form goes on typing in
/// the same field of the app's (which took the values typed, see `browser::typed_before_app`).
#[component]
pub fn AppRoot(#[prop(default = Signal::stored(true), into)] ready: Signal<bool>, children: Children) -> impl IntoView {
    Effect::new(move |_| {
        if !ready.get() {
            return;
        }
        if let Some(shell) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("shell")) {
            let typing = TypingAt::in_shell();
            shell.remove();
            if let Some(typing) = typing {
                typing.restore();
                FOCUS_KEPT.store(true, Ordering::Relaxed);
            }
        }
    });
    view! { <div class="app" class:waiting=move || !ready.get()>{children()}</div> }
}

/// Set by a page once it shows what it is for (or why it can't), so [`AppRoot`] takes over the
/// server's first paint then and not before (the portal's pages wait for the session).
#[derive(Clone, Copy)]
pub struct PageShown(pub RwSignal<bool>);

impl PageShown {
    /// Marks the page shown, if the app waits for it.
    pub fn mark() {
        if let Some(PageShown(shown)) = use_context::<PageShown>() {
            shown.set(true);
        }
    }
}

/// The page's `<h1>`, focused when it appears so screen readers announce the new page.
#[component]
pub fn PageHeading(#[prop(into)] text: String) -> impl IntoView {
    let heading = NodeRef::<html::H1>::new();
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&views::page_title(&views::i18n(), &text));
    }
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            // On the next frame the page is in the document, where focus can land.
            request_animation_frame(move || {
                if !FOCUS_KEPT.swap(false, Ordering::Relaxed) {
                    let _ = el.focus();
                }
            });
        }
    });
    view! { <h1 tabindex="-1" node_ref=heading>{text}</h1> }
}
