//! A labelled text input with its inline error, wired for assistive technology.

use leptos::prelude::*;
use leptos::web_sys;

/// How an input is described to the browser so it can help (autofill, keyboards).
#[derive(Clone, Copy)]
pub struct InputHints {
    pub input_type: &'static str,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
}

impl InputHints {
    pub const fn new(input_type: &'static str, autocomplete: &'static str, inputmode: &'static str) -> Self {
        InputHints { input_type, autocomplete, inputmode }
    }
}

/// One form field: label, input, and an error that is linked with `aria-describedby` and shown
/// once `show_error` says so. The value is the input's property (what the user typed) and, as it
/// was at first, its attribute, so the server's first HTML shows it too.
#[component]
pub fn TextField(
    #[prop(into)] id: String,
    #[prop(into)] label: Signal<String>,
    value: RwSignal<String>,
    hints: InputHints,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(into)] show_error: Signal<bool>,
    /// Called on every input with the event; defaults to storing the text as typed.
    #[prop(default = None, into)]
    on_input: Option<Callback<web_sys::Event>>,
    #[prop(into)] on_blur: Callback<()>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional, into)] maxlength: Option<Signal<usize>>,
    #[prop(optional)] suffix: Option<ViewFn>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let visible_error = move || if show_error.get() { error.get() } else { None };
    let invalid = move || visible_error().is_some();
    let described_by = error_id.clone();
    let initial_value = value.get_untracked();
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{move || label.get()}</label>
            <div class="input-wrap">
                <input
                    id=id.clone()
                    name=id.clone()
                    type=hints.input_type
                    autocomplete=hints.autocomplete
                    inputmode=hints.inputmode
                    placeholder=placeholder
                    maxlength=move || maxlength.map(|m| m.get())
                    spellcheck="false"
                    disabled=move || disabled.get()
                    aria-invalid=move || if invalid() { "true" } else { "false" }
                    aria-describedby=move || invalid().then(|| described_by.clone())
                    value=initial_value
                    prop:value=move || value.get()
                    on:input=move |ev| match on_input {
                        Some(handler) => handler.run(ev),
                        None => value.set(event_target_value(&ev)),
                    }
                    on:blur=move |_| on_blur.run(())
                />
                {suffix.map(|s| s.run())}
            </div>
            <p class="field-error" id=error_id aria-live="polite">
                {visible_error}
            </p>
        </div>
    }
}
