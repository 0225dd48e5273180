//! The card form (number, expiry, security code, name, country or region, postal code), used by
//! checkout and by the portal's payment-method update, and rendered by the server into the
//! checkout's first HTML. Its checks are the domain crate's.

use crate::field::{InputHints, TextField};
use billing::countries::{self, COUNTRIES, PostalRequirement};
use billing::validate::{self, CardBrand};
use billing::wire::{BillingDetails, TokenizeCard};
use leptos::prelude::*;
use leptos::web_sys;
use std::collections::HashSet;

/// What the user typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CardInputs {
    pub number: String,
    pub expiry: String,
    pub cvc: String,
    pub name: String,
    pub country: String,
    pub postal: String,
}

/// The message for each field that is wrong.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CardErrors {
    pub number: Option<String>,
    pub expiry: Option<String>,
    pub cvc: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub postal: Option<String>,
}

impl CardErrors {
    pub fn is_empty(&self) -> bool {
        *self == CardErrors::default()
    }
}

/// A card ready for the tokenize step, with its billing details.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedCard {
    pub card: TokenizeCard,
    pub billing: BillingDetails,
}

/// Checks every field with the domain rules; `today` is `(year, month)`.
pub fn check_card(inputs: &CardInputs, today: (u16, u8)) -> Result<CheckedCard, Box<CardErrors>> {
    let number = validate::validate_card_number(&inputs.number);
    let brand = CardBrand::detect(&inputs.number.replace(' ', ""));
    let expiry = validate::validate_expiry(&inputs.expiry, today.0, today.1);
    let cvc = validate::validate_cvc(&inputs.cvc, brand);
    let name = validate::validate_cardholder_name(&inputs.name);
    let country = validate::validate_country(&inputs.country);
    let postal = validate::validate_postal_code(&inputs.postal, &inputs.country);
    match (&number, &expiry, &cvc, &name, &country, &postal) {
        (Ok(number), Ok(expiry), Ok(cvc), Ok(name), Ok(country), Ok(postal)) => Ok(CheckedCard {
            card: TokenizeCard {
                number: number.digits.clone(),
                exp_month: expiry.month,
                exp_year: expiry.year,
                cvc: cvc.clone(),
                name: name.clone(),
            },
            billing: BillingDetails { country: (*country).to_string(), postal_code: postal.clone() },
        }),
        _ => Err(Box::new(CardErrors {
            number: number.err().map(|e| e.message().to_string()),
            expiry: expiry.err().map(|e| e.message().to_string()),
            cvc: cvc.err().map(|e| e.message().to_string()),
            name: name.err().map(|e| e.message().to_string()),
            country: country.err().map(|e| e.message().to_string()),
            postal: postal.err().map(|e| e.message(&inputs.country)),
        })),
    }
}

/// The form's live state: one signal per field and which fields the user has left.
#[derive(Clone, Copy)]
pub struct CardFormState {
    pub number: RwSignal<String>,
    pub expiry: RwSignal<String>,
    pub cvc: RwSignal<String>,
    pub name: RwSignal<String>,
    pub country: RwSignal<String>,
    pub postal: RwSignal<String>,
    pub touched: RwSignal<HashSet<&'static str>>,
    /// Shows every error (after a submit attempt).
    pub show_all: RwSignal<bool>,
}

impl CardFormState {
    /// An empty form with `country` chosen.
    pub fn new(country: &str) -> Self {
        CardFormState {
            number: RwSignal::new(String::new()),
            expiry: RwSignal::new(String::new()),
            cvc: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            country: RwSignal::new(country.to_string()),
            postal: RwSignal::new(String::new()),
            touched: RwSignal::new(HashSet::new()),
            show_all: RwSignal::new(false),
        }
    }

    pub fn inputs(&self) -> CardInputs {
        CardInputs {
            number: self.number.get(),
            expiry: self.expiry.get(),
            cvc: self.cvc.get(),
            name: self.name.get(),
            country: self.country.get(),
            postal: self.postal.get(),
        }
    }

    pub fn shows(&self, field: &'static str) -> Signal<bool> {
        let (touched, show_all) = (self.touched, self.show_all);
        Signal::derive(move || show_all.get() || touched.with(|t| t.contains(field)))
    }

    pub fn touch(&self, field: &'static str) -> Callback<()> {
        let touched = self.touched;
        Callback::new(move |_| {
            if !touched.with_untracked(|t| t.contains(field)) {
                touched.update(|t| {
                    t.insert(field);
                });
            }
        })
    }
}

/// What reformats the number, expiry and code as they are typed (the app's; the server's first
/// paint has none).
#[derive(Clone, Copy)]
pub struct CardFormatters {
    pub number: Callback<web_sys::Event>,
    pub expiry: Callback<web_sys::Event>,
    pub cvc: Callback<web_sys::Event>,
}

/// The card fields. `errors` is the form's derived check; `disabled` while a payment runs. In
/// Stripe mode `card_element` (Stripe's Element) takes the place of number, expiry and code.
#[component]
pub fn CardForm(
    state: CardFormState,
    #[prop(into)] errors: Signal<CardErrors>,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(default = None)] card_element: Option<ViewFn>,
    #[prop(default = None)] formatters: Option<CardFormatters>,
) -> impl IntoView {
    let err = move |f: fn(&CardErrors) -> Option<String>| Signal::derive(move || errors.with(f));
    let card = match card_element {
        Some(element) => element.run(),
        None => view! { <CardNumberFields state=state errors=errors formatters=formatters /> }.into_any(),
    };
    view! {
        <fieldset class="card-form" disabled=move || disabled.get()>
            <legend class="section-title">"Card details"</legend>
            {card}
            <TextField
                id="card-name"
                label="Name on card"
                value=state.name
                hints=InputHints::new("text", "cc-name", "text")
                error=err(|e| e.name.clone())
                show_error=state.shows("name")
                on_blur=state.touch("name")
            />
            <div class="field-row">
                <CountrySelect state=state error=err(|e| e.country.clone()) />
                <PostalField state=state error=err(|e| e.postal.clone()) />
            </div>
        </fieldset>
    }
}

/// Number, expiry and security code: our own fields (test mode).
#[component]
fn CardNumberFields(
    state: CardFormState,
    #[prop(into)] errors: Signal<CardErrors>,
    formatters: Option<CardFormatters>,
) -> impl IntoView {
    let brand = Memo::new(move |_| CardBrand::detect(&state.number.get().replace(' ', "")));
    let cvc_len = Signal::derive(move || brand.get().cvc_length());
    let err = move |f: fn(&CardErrors) -> Option<String>| Signal::derive(move || errors.with(f));
    let brand_badge = ViewFn::from(move || view! { <CardBrandBadge brand=brand /> });
    view! {
            <TextField
                id="card-number"
                label="Card number"
                value=state.number
                hints=InputHints::new("text", "cc-number", "numeric")
                placeholder="1234 1234 1234 1234"
                error=err(|e| e.number.clone())
                show_error=state.shows("number")
                on_input=formatters.map(|f| f.number)
                on_blur=state.touch("number")
                suffix=brand_badge
            />
            <div class="field-row">
                <TextField
                    id="card-expiry"
                    label="Expiry date (MM / YY)"
                    value=state.expiry
                    hints=InputHints::new("text", "cc-exp", "numeric")
                    placeholder="MM / YY"
                    error=err(|e| e.expiry.clone())
                    show_error=state.shows("expiry")
                    on_input=formatters.map(|f| f.expiry)
                    on_blur=state.touch("expiry")
                />
                <TextField
                    id="card-cvc"
                    label="Security code"
                    value=state.cvc
                    hints=InputHints::new("text", "cc-csc", "numeric")
                    placeholder="CVC"
                    maxlength=cvc_len
                    error=err(|e| e.cvc.clone())
                    show_error=state.shows("cvc")
                    on_input=formatters.map(|f| f.cvc)
                    on_blur=state.touch("cvc")
                />
            </div>
    }
}

/// The brand the number so far belongs to, announced as it is recognised.
#[component]
fn CardBrandBadge(brand: Memo<CardBrand>) -> impl IntoView {
    view! {
        <span class="card-brand" class:known=move || brand.get() != CardBrand::Unknown aria-live="polite">
            // Nothing (not an empty text) while unknown: the server renders an empty text as a space.
            {move || match brand.get() {
                CardBrand::Unknown => None,
                b => Some(b.display_name()),
            }}
        </span>
    }
}

/// The postal code, named and shaped for the country, and absent where none is used.
#[component]
fn PostalField(state: CardFormState, #[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    let requirement = Memo::new(move |_| countries::postal_requirement(&state.country.get()));
    let label = Signal::derive(move || countries::postal_label(&state.country.get()).to_string());
    view! {
        <Show when=move || requirement.get() != PostalRequirement::None>
            <TextField
                id="postal-code"
                label=label
                value=state.postal
                hints=InputHints::new(
                    "text",
                    "postal-code",
                    if state.country.get_untracked() == "US" { "numeric" } else { "text" },
                )
                error=error
                show_error=state.shows("postal")
                on_blur=state.touch("postal")
            />
        </Show>
    }
}

/// The supported countries, by display name.
#[component]
fn CountrySelect(state: CardFormState, #[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    let show = state.shows("country");
    let visible_error = move || if show.get() { error.get() } else { None };
    view! {
        <div class="field" class:invalid=move || visible_error().is_some()>
            <label for="country">"Country or region"</label>
            <div class="input-wrap">
                <select
                    id="country"
                    name="country"
                    autocomplete="country"
                    aria-invalid=move || if visible_error().is_some() { "true" } else { "false" }
                    aria-describedby=move || visible_error().map(|_| "country-error")
                    prop:value=move || state.country.get()
                    on:change=move |ev| state.country.set(event_target_value(&ev))
                    on:blur=move |_| state.touch("country").run(())
                >
                    <option value="" disabled=true>"Choose…"</option>
                    {COUNTRIES
                        .iter()
                        .map(|(code, name)| {
                            view! {
                                <option value=*code selected=move || state.country.get() == *code>
                                    {*name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <p class="field-error" id="country-error" aria-live="polite">
                {visible_error}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> CardInputs {
        CardInputs {
            number: "4242 4242 4242 4242".into(),
            expiry: "12 / 30".into(),
            cvc: "123".into(),
            name: "Ada Lovelace".into(),
            country: "US".into(),
            postal: "94107".into(),
        }
    }

    #[test]
    fn a_complete_form_becomes_a_card_and_billing_details() {
        let checked = check_card(&good(), (2026, 11)).unwrap();
        assert_eq!(checked.card.number, "4242424242424242");
        assert_eq!((checked.card.exp_month, checked.card.exp_year), (12, 2030));
        assert_eq!(checked.billing, BillingDetails { country: "US".into(), postal_code: Some("94107".into()) });
    }

    #[test]
    fn each_wrong_field_gets_its_own_message() {
        let inputs = CardInputs {
            number: "4242 4242 4242 4241".into(),
            expiry: "10 / 26".into(),
            cvc: "12".into(),
            name: String::new(),
            country: "US".into(),
            postal: "941".into(),
        };
        let errors = check_card(&inputs, (2026, 11)).unwrap_err();
        assert_eq!(errors.number.as_deref(), Some("Your card number is invalid. Check it and try again."));
        assert_eq!(errors.expiry.as_deref(), Some("Your card's expiry date is in the past."));
        assert_eq!(errors.cvc.as_deref(), Some("Your card's security code is incomplete."));
        assert_eq!(errors.name.as_deref(), Some("Enter the name on your card."));
        assert_eq!(errors.postal.as_deref(), Some("Your ZIP code is incomplete."));
        assert_eq!(errors.country, None);
    }

    #[test]
    fn amex_needs_four_digits_and_hong_kong_no_postal_code() {
        let inputs = CardInputs {
            number: "3782 822463 10005".into(),
            cvc: "123".into(),
            country: "HK".into(),
            postal: String::new(),
            ..good()
        };
        assert_eq!(
            check_card(&inputs, (2026, 11)).unwrap_err().cvc.as_deref(),
            Some("Your card's security code is incomplete.")
        );
        let inputs = CardInputs { cvc: "1234".into(), ..inputs };
        assert_eq!(check_card(&inputs, (2026, 11)).unwrap().billing.postal_code, None);
    }
}
