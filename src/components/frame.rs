//! The browser-side pieces of the frame: the app's root that replaces the HTML's shell, the page
//! heading that takes focus, focus on alerts. The frame itself is in the `views` crate, which the
//! server renders too.

use leptos::html;
use leptos::prelude::*;
pub use views::frame::PageFrame;

/// The app's content. Once it is in the page, the HTML's static shell (painted before the wasm
/// arrived) is hidden by CSS at once, then removed so its ids and text are not there twice.
#[component]
pub fn AppRoot(children: Children) -> impl IntoView {
    Effect::new(|_| {
        if let Some(shell) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("shell")) {
            shell.remove();
        }
    });
    view! { <div class="app">{children()}</div> }
}

/// The page's `<h1>`, focused when it appears so screen readers announce the new page.
#[component]
pub fn PageHeading(#[prop(into)] text: String) -> impl IntoView {
    let heading = NodeRef::<html::H1>::new();
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&views::page_title(&text));
    }
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            // On the next frame the page is in the document, where focus can land.
            request_animation_frame(move || {
                let _ = el.focus();
            });
        }
    });
    view! { <h1 tabindex="-1" node_ref=heading>{text}</h1> }
}

/// Moves focus to `target` each time `when` becomes true (a decline, a failure), so screen readers
/// read it out and keyboard users continue from there.
pub fn focus_when(when: impl Fn() -> bool + Send + Sync + 'static, target: NodeRef<html::Div>) {
    Effect::new(move |_| {
        if when()
            && let Some(el) = target.get()
        {
            let _ = el.focus();
        }
    });
}
