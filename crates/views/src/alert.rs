//! The error alert every form shares: announced, focused when it appears (so keyboard and screen
//! reader users land on it), with a note and a Retry when the failure allows one; and the button
//! that says it is working.

use i18n::CommonText;
use leptos::html;
use leptos::prelude::*;

/// What an alert says.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertText {
    pub message: String,
    pub note: Option<String>,
    /// Offer Retry (the same request again, answered once by the server).
    pub can_retry: bool,
}

impl AlertText {
    pub fn new(message: impl Into<String>) -> AlertText {
        AlertText { message: message.into(), note: None, can_retry: false }
    }

    pub fn with_note(mut self, note: Option<String>) -> AlertText {
        self.note = note;
        self
    }

    pub fn retryable(mut self) -> AlertText {
        self.can_retry = true;
        self
    }
}

/// The error next to a form, or nothing.
#[component]
pub fn ErrorAlert(
    #[prop(into)] text: Signal<Option<AlertText>>,
    #[prop(default = None, into)] on_retry: Option<Callback<()>>,
) -> impl IntoView {
    let alert = NodeRef::<html::Div>::new();
    focus_when(move || text.with(Option::is_some), alert);
    let retry_label = crate::i18n().t(CommonText::RetryButton);
    let retry = move |can_retry: bool| {
        let retry_label = retry_label.clone();
        on_retry.filter(|_| can_retry).map(|on_retry| {
            view! {
                <button type="button" class="button secondary" on:click=move |_| on_retry.run(())>
                    {retry_label}
                </button>
            }
        })
    };
    view! {
        <div class="alert-slot" role="alert">
            {move || {
                text.get()
                    .map(|AlertText { message, note, can_retry }| {
                        view! {
                            <div class="alert error" tabindex="-1" node_ref=alert>
                                <p>{message}</p>
                                {note.map(|note| view! { <p class="alert-note">{note}</p> })}
                                {retry(can_retry)}
                            </div>
                        }
                    })
            }}
        </div>
    }
}

/// A button that says it is working (and can't be pressed twice) while `loading`.
#[component]
pub fn BusyButton(
    #[prop(into)] label: String,
    #[prop(into)] busy_label: String,
    #[prop(optional, into)] loading: Signal<bool>,
    /// Submits its form instead of running `on_click`.
    #[prop(optional)]
    submit: bool,
    #[prop(optional, into)] on_click: Option<Callback<()>>,
    #[prop(optional)] button_ref: NodeRef<html::Button>,
    #[prop(default = "button primary")] class: &'static str,
) -> impl IntoView {
    view! {
        <button
            type=if submit { "submit" } else { "button" }
            class=class
            node_ref=button_ref
            disabled=move || loading.get()
            aria-busy=move || if loading.get() { "true" } else { "false" }
            on:click=move |_| {
                if let Some(on_click) = on_click {
                    on_click.run(());
                }
            }
        >
            {move || if loading.get() { busy_label.clone() } else { label.clone() }}
        </button>
    }
}

/// Moves focus to `target` each time `when` becomes true (a decline, a failure), so screen readers
/// read it out and keyboard users continue from there.
pub fn focus_when(when: impl Fn() -> bool + Send + Sync + 'static, target: NodeRef<html::Div>) {
    // The server renders these views into HTML once: nothing to focus there, and no executor to
    // run an effect on.
    if cfg!(not(target_arch = "wasm32")) {
        return;
    }
    Effect::new(move |_| {
        if when()
            && let Some(el) = target.get()
        {
            let _ = el.focus();
        }
    });
}
