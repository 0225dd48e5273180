//! The error alert every form shares: announced, focused when it appears (so keyboard and screen
//! reader users land on it), with a note and a Retry when the failure allows one.

use crate::api::ApiError;
use crate::components::frame::focus_when;
use crate::payment::PayResult;
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

/// What the alert next to a payment says after a step that did not go through; `unreachable` is
/// the message when the server could not be reached (the payment may have gone through: Retry).
pub fn payment_alert<D, Q>(result: &PayResult<D, Q>, unreachable: &'static str) -> Option<AlertText> {
    match result {
        PayResult::Declined { decline, .. } => Some(AlertText::new(decline.message.clone())),
        PayResult::Repriced { message, .. } | PayResult::CardRefused(message) => Some(AlertText::new(message.clone())),
        PayResult::Failed(ApiError::Network) => Some(AlertText::new(unreachable).retryable()),
        PayResult::Failed(error) => Some(AlertText::new(error.message())),
        PayResult::Done(_) | PayResult::NeedsAuthentication { .. } => None,
    }
}

/// The error next to a form, or nothing.
#[component]
pub fn ErrorAlert(
    #[prop(into)] text: Signal<Option<AlertText>>,
    #[prop(optional, into)] on_retry: Option<Callback<()>>,
) -> impl IntoView {
    let alert = NodeRef::<html::Div>::new();
    focus_when(move || text.with(Option::is_some), alert);
    let retry = move |can_retry: bool| {
        on_retry.filter(|_| can_retry).map(|on_retry| {
            view! {
                <button type="button" class="button secondary" on:click=move |_| on_retry.run(())>
                    "Retry"
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
    #[prop(optional, into)] disabled: Signal<bool>,
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
            disabled=move || disabled.get() || loading.get()
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
