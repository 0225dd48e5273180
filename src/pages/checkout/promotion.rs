//! "Add promotion code" under the order summary: Apply shows the discount as its own line, the new
//! total and what follows; Remove takes it off; a refused code gets the server's plain message
//! (unknown, expired, used up, another plan, first-time only, too many tries).

use crate::api;
use billing::proration::Quote;
use i18n::CheckoutText;
use leptos::prelude::*;

/// The code control. `quote` is the summary's: Apply and Remove replace it with the server's.
#[component]
pub fn PromotionCode(
    session_id: String,
    quote: RwSignal<Option<Quote>>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let session = StoredValue::new(session_id);
    let catalog = StoredValue::new(views::i18n());
    let applied = Memo::new(move |_| quote.with(|q| q.as_ref().and_then(|q| q.discount.clone())));
    let run = move |remove: bool| {
        if busy.get_untracked() {
            return;
        }
        let (session_id, code, catalog) = (session.get_value(), typed.get_untracked(), catalog.get_value());
        if !remove && code.trim().is_empty() {
            // Apply with nothing typed: said where the code goes, nothing sent.
            error.set(Some(catalog.t(CheckoutText::PromotionCodeEmpty)));
            crate::browser::focus_field("promotion-code");
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = if remove {
                api::remove_promotion_code(&session_id).await
            } else {
                api::apply_promotion_code(&session_id, code.trim()).await
            };
            match answer {
                Ok(view) => {
                    quote.set(view.quote);
                    error.set(None);
                    typed.set(String::new());
                    open.set(false);
                }
                Err(e) => error.set(Some(e.message(&catalog))),
            }
            busy.set(false);
        });
    };
    let off = move || disabled.get() || busy.get();
    let i18n = views::i18n();
    move || match applied.get() {
        Some(discount) => view! {
            <div class="promotion applied">
                <p>{applied_text(&i18n, &discount)}</p>
                <button type="button" class="link" disabled=off on:click=move |_| run(true)>
                    {i18n.t(CheckoutText::PromotionRemove)}
                </button>
            </div>
        }
        .into_any(),
        None if !open.get() => view! {
            <button type="button" class="link promotion-add" disabled=off on:click=move |_| open.set(true)>
                {i18n.t(CheckoutText::PromotionAdd)}
            </button>
        }
        .into_any(),
        None => code_form(typed, error, off, run).into_any(),
    }
}

/// The code's field and Apply, with the server's refusal under them.
fn code_form(
    typed: RwSignal<String>,
    error: RwSignal<Option<String>>,
    off: impl Fn() -> bool + Copy + Send + Sync + 'static,
    run: impl Fn(bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = views::i18n();
    view! {
        <form
            class="promotion"
            novalidate=true
            on:submit=move |ev| {
                ev.prevent_default();
                run(false);
            }
        >
            <label for="promotion-code">{i18n.t(CheckoutText::PromotionCodeLabel)}</label>
            <input
                id="promotion-code"
                type="text"
                autocomplete="off"
                autocapitalize="characters"
                spellcheck="false"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby="promotion-error"
            />
            <button type="submit" class="button secondary" disabled=off>
                {i18n.t(CheckoutText::PromotionApply)}
            </button>
            <p id="promotion-error" class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// `SPRING20 applied: 20% off for 3 months. Then $16.00 ….`, the code in bold wherever the
/// sentence puts it.
fn applied_text(i18n: &i18n::I18n, discount: &billing::discount::DiscountSummary) -> impl IntoView + use<> {
    let then = capitalized(&views::words::what_follows(i18n, discount));
    let label = views::words::discount_label(i18n, discount);
    let text = i18n.f(CheckoutText::PromotionApplied, &[("label", &label), ("then", &then)]);
    let (before, after) = text.split_once("{code}").unwrap_or(("", &text));
    view! { {before.to_string()}<strong>{discount.code.clone()}</strong>{after.to_string()} }
}

/// `then $16.00 ...` as the start of a sentence.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| upper_case(first) + chars.as_str()).unwrap_or_default()
}

/// By the browser's case rules: Rust's would bring Unicode's case tables into the checkout (4 KB
/// of brotli).
#[cfg(target_arch = "wasm32")]
fn upper_case(c: char) -> String {
    js_sys::JsString::from(c).to_upper_case().into()
}

#[cfg(not(target_arch = "wasm32"))]
fn upper_case(c: char) -> String {
    c.to_uppercase().collect()
}
