//! The card form's browser side: the fields themselves are `views::card_form` (shared with the
//! server's first paint); here the formatting as the user types, the values typed into the
//! server's form before the app took over, and the new card a payment uses.

use crate::browser;
pub use crate::components::new_card::NewCard;
use crate::payment::BankCheck;
use billing::countries;
use billing::format;
use billing::wire::StripeElements;
use leptos::prelude::*;
pub use views::card_form::{CardErrors, CardForm, CardFormState, CardFormatters, CardInputs, CheckedCard, check_card};
use wasm_bindgen::JsCast;

/// The check of a new card's fields, and what stands in for our card number fields: Stripe's
/// Element where the session is in Stripe mode (`elements`), nothing in test mode.
#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
pub fn new_card(
    card: CardFormState,
    elements: Option<StripeElements>,
    bank: BankCheck,
) -> (Memo<Result<NewCard, Box<CardErrors>>>, Option<ViewFn>) {
    #[cfg(feature = "stripe")]
    if let Some(elements) = elements {
        return crate::components::stripe_card::element_card(card, elements, bank);
    }
    let today = browser::current_year_month();
    let i18n = views::i18n();
    (Memo::new(move |_| check_card(&card.inputs(), today, &i18n).map(NewCard::Typed)), None)
}

/// The card form's state: what was typed into the server's form before the app took over
/// (formatted as the app formats it), else empty with the country preselected from the browser's
/// locale where supported.
pub fn card_form_state() -> CardFormState {
    let country = countries::country_from_locale(&browser::locale()).unwrap_or("US");
    let state = CardFormState::new(&browser::typed_before_app("country").unwrap_or_else(|| country.to_string()));
    let carried = [
        (state.number, "card-number", format::format_card_number as fn(&str, usize) -> (String, usize)),
        (state.expiry, "card-expiry", format::format_expiry),
        (state.cvc, "card-cvc", |t, c| format::format_digits(t, c, 4)),
        (state.name, "card-name", |t, c| (t.to_string(), c)),
        (state.postal, "postal-code", |t, c| (t.to_string(), c)),
    ];
    for (value, id, format) in carried {
        if let Some(typed) = browser::typed_before_app(id) {
            value.set(format(&typed, typed.len()).0);
        }
    }
    state
}

/// The formatting of the number, expiry and code as the user types.
pub fn card_formatters(state: CardFormState) -> CardFormatters {
    CardFormatters {
        number: formatting_handler(state.number, format::format_card_number),
        expiry: formatting_handler(state.expiry, format::format_expiry),
        cvc: formatting_handler(state.cvc, move |t, c| format::format_digits(t, c, 4)),
    }
}

/// Reformats an input as the user types, keeping the caret after the same digit.
fn formatting_handler(
    value: RwSignal<String>,
    format: impl Fn(&str, usize) -> (String, usize) + Send + Sync + 'static,
) -> Callback<web_sys::Event> {
    Callback::new(move |ev: web_sys::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let text = input.value();
        let caret = input.selection_start().ok().flatten().unwrap_or(text.len() as u32) as usize;
        let (formatted, new_caret) = format(&text, caret);
        if formatted != text {
            input.set_value(&formatted);
            let _ = input.set_selection_range(new_caret as u32, new_caret as u32);
        }
        value.set(formatted);
    })
}
