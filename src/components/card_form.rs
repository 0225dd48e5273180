//! The card form's browser side: the fields themselves are `views::card_form` (shared with the
//! server's first paint); here the formatting as the user types, the values typed into the
//! server's form before the app took over, and the new card a payment uses.

use crate::browser;
use crate::payment::BankCheck;
use billing::countries;
use billing::format;
#[cfg(feature = "stripe")]
use billing::validate;
use billing::wire::BillingDetails;
use billing::wire::StripeElements;
#[cfg(feature = "stripe")]
use i18n::Catalog;
use leptos::prelude::*;
#[cfg(feature = "stripe")]
use views::card_form;
pub use views::card_form::{CardErrors, CardForm, CardFormState, CardFormatters, CardInputs, CheckedCard, check_card};
use wasm_bindgen::JsCast;

/// Stripe mode: the cardholder and billing details (the card itself is in Stripe's Element).
#[cfg(feature = "stripe")]
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedHolder {
    pub name: String,
    pub billing: BillingDetails,
}

/// Checks our fields in Stripe mode: name, country, postal code.
#[cfg(feature = "stripe")]
pub fn check_holder(inputs: &CardInputs, i18n: &Catalog) -> Result<CheckedHolder, Box<CardErrors>> {
    let name = validate::validate_cardholder_name(&inputs.name);
    let country = validate::validate_country(&inputs.country);
    let postal = validate::validate_postal_code(&inputs.postal, &inputs.country);
    match (&name, &country, &postal) {
        (Ok(name), Ok(country), Ok(postal)) => Ok(CheckedHolder {
            name: name.clone(),
            billing: BillingDetails { country: (*country).to_string(), postal_code: postal.clone() },
        }),
        _ => Err(Box::new(CardErrors {
            name: name.err().map(|e| i18n.t(card_form::name_error(e))),
            country: country.err().map(|e| i18n.t(card_form::country_error(e))),
            postal: postal.err().map(|e| i18n.t(card_form::postal_error(e, &inputs.country))),
            ..CardErrors::default()
        })),
    }
}

/// A new card that passed the checks: typed into our fields, or (Stripe mode) in Stripe's Element
/// as of its `n`th change, with our fields.
#[derive(Clone, Debug, PartialEq)]
pub enum NewCard {
    Typed(CheckedCard),
    #[cfg(feature = "stripe")]
    Element(CheckedHolder, u32),
}

impl NewCard {
    pub fn billing(&self) -> &BillingDetails {
        match self {
            NewCard::Typed(checked) => &checked.billing,
            #[cfg(feature = "stripe")]
            NewCard::Element(holder, _) => &holder.billing,
        }
    }
}

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
