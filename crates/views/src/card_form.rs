//! The card form (number, expiry, security code, name, country or region, postal code), used by
//! checkout and by the portal's payment-method update, and rendered by the server into the
//! checkout's first HTML. Its checks are the domain crate's.

use crate::field::{InputHints, TextField};
use billing::countries::{self, COUNTRIES, PostalRequirement};
use billing::validate::{
    self, CardBrand, CardNumberError, CountryError, CvcError, ExpiryError, NameError, PostalError,
};
use billing::wire::{BillingDetails, CardSummary, TokenizeCard};
use i18n::{Catalog, CommonText};
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
    /// How many fields have an error.
    pub fn count(&self) -> usize {
        self.in_page_order().into_iter().filter(|(error, _)| error.is_some()).count()
    }

    /// The id of the first field, in the page's order, that has an error.
    pub fn first_field(&self) -> Option<&'static str> {
        self.in_page_order().into_iter().find_map(|(error, id)| error.as_ref().map(|_| id))
    }

    fn in_page_order(&self) -> [(&Option<String>, &'static str); 6] {
        [
            (&self.number, "card-number"),
            (&self.expiry, "card-expiry"),
            (&self.cvc, "card-cvc"),
            (&self.name, "card-name"),
            (&self.country, "country"),
            (&self.postal, "postal-code"),
        ]
    }

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

/// Checks every field with the domain rules; `today` is `(year, month)`. The messages are in the
/// language of `i18n`.
pub fn check_card(inputs: &CardInputs, today: (u16, u8), i18n: &Catalog) -> Result<CheckedCard, Box<CardErrors>> {
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
            number: number.err().map(|e| i18n.t(number_error(e))),
            expiry: expiry.err().map(|e| i18n.t(expiry_error(e))),
            cvc: cvc.err().map(|e| i18n.t(cvc_error(e))),
            name: name.err().map(|e| i18n.t(name_error(e))),
            country: country.err().map(|e| i18n.t(country_error(e))),
            postal: postal.err().map(|e| i18n.t(postal_error(e, &inputs.country))),
        })),
    }
}

fn number_error(error: CardNumberError) -> CommonText {
    match error {
        CardNumberError::Empty => CommonText::CardNumberEmpty,
        CardNumberError::InvalidCharacters => CommonText::CardNumberInvalidCharacters,
        CardNumberError::Incomplete => CommonText::CardNumberIncomplete,
        CardNumberError::TooLong => CommonText::CardNumberTooLong,
        CardNumberError::UnsupportedBrand => CommonText::CardNumberUnsupportedBrand,
        CardNumberError::Invalid => CommonText::CardNumberInvalid,
    }
}

fn expiry_error(error: ExpiryError) -> CommonText {
    match error {
        ExpiryError::Empty => CommonText::CardExpiryEmpty,
        ExpiryError::Incomplete => CommonText::CardExpiryIncomplete,
        ExpiryError::InvalidMonth => CommonText::CardExpiryInvalidMonth,
        ExpiryError::InPast => CommonText::CardExpiryInPast,
        ExpiryError::TooFarAhead => CommonText::CardExpiryTooFarAhead,
    }
}

fn cvc_error(error: CvcError) -> CommonText {
    match error {
        CvcError::Empty => CommonText::CardCvcEmpty,
        CvcError::Incomplete => CommonText::CardCvcIncomplete,
        CvcError::Invalid => CommonText::CardCvcInvalid,
    }
}

/// The message of a wrong cardholder name.
pub fn name_error(error: NameError) -> CommonText {
    match error {
        NameError::Empty => CommonText::CardNameEmpty,
        NameError::TooLong => CommonText::CardNameTooLong,
        NameError::Invalid => CommonText::CardNameInvalid,
        NameError::InvisibleCharacters => CommonText::CardNameInvisibleCharacters,
    }
}

/// The message of a wrong country.
pub fn country_error(error: CountryError) -> CommonText {
    match error {
        CountryError::Empty => CommonText::CountryEmpty,
        CountryError::Unsupported => CommonText::CountryUnsupported,
    }
}

/// The message of a wrong postal code, in `country`'s terms (as its field is labelled).
pub fn postal_error(error: PostalError, country: &str) -> CommonText {
    let [empty, incomplete, invalid] = match country {
        "US" => [CommonText::PostalEmptyUs, CommonText::PostalIncompleteUs, CommonText::PostalInvalidUs],
        "GB" => [CommonText::PostalEmptyGb, CommonText::PostalIncompleteGb, CommonText::PostalInvalidGb],
        _ => [CommonText::PostalEmptyOther, CommonText::PostalIncompleteOther, CommonText::PostalInvalidOther],
    };
    match error {
        PostalError::Empty => empty,
        PostalError::Incomplete => incomplete,
        PostalError::Invalid => invalid,
    }
}

/// The postal code field's label for `country` (its own terms: ZIP code, postcode).
fn postal_label(country: &str) -> CommonText {
    match country {
        "US" => CommonText::PostalLabelUs,
        "GB" => CommonText::PostalLabelGb,
        "CA" => CommonText::PostalLabelCa,
        _ => CommonText::PostalLabelOther,
    }
}

/// `Visa ending in 4242`: how a saved card is named everywhere it is shown.
pub fn card_label(i18n: &Catalog, card: &CardSummary) -> String {
    i18n.f(CommonText::CardLabel, &[("brand", &brand_name(i18n, card.brand)), ("last4", &card.last4)])
}

/// `Visa ending in 4242, expires 12/34`.
pub fn card_label_with_expiry(i18n: &Catalog, card: &CardSummary) -> String {
    let expiry = format!("{:02}/{:02}", card.exp_month, card.exp_year % 100);
    let args = [("brand", brand_name(i18n, card.brand)), ("last4", card.last4.clone()), ("expiry", expiry)];
    let args: Vec<_> = args.iter().map(|(name, value)| (*name, value.as_str())).collect();
    i18n.f(CommonText::CardLabelWithExpiry, &args)
}

/// A brand's name (not translated), or the word for a card of unknown brand.
fn brand_name(i18n: &Catalog, brand: CardBrand) -> String {
    match brand {
        CardBrand::Unknown => i18n.t(CommonText::CardBrandUnknown),
        known => known.display_name().to_string(),
    }
}

/// The supported countries as `(code, name in the page's language)`, in its alphabetical order:
/// CLDR's names and collation from the server's catalog, or the English list built in.
fn countries_by_name(i18n: &Catalog) -> Vec<(String, String)> {
    if i18n.regions.is_empty() {
        return COUNTRIES.iter().map(|(code, name)| (code.to_string(), name.to_string())).collect();
    }
    i18n.regions.clone()
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
    let i18n = crate::i18n();
    let err = move |f: fn(&CardErrors) -> Option<String>| Signal::derive(move || errors.with(f));
    let card = match card_element {
        Some(element) => element.run(),
        None => view! { <CardNumberFields state=state errors=errors formatters=formatters /> }.into_any(),
    };
    view! {
        <fieldset class="card-form" disabled=move || disabled.get()>
            <legend class="section-title">{i18n.t(CommonText::CardDetailsLegend)}</legend>
            {card}
            <TextField
                id="card-name"
                label=i18n.t(CommonText::CardNameLabel)
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
    let i18n = crate::i18n();
    view! {
            <TextField
                id="card-number"
                label=i18n.t(CommonText::CardNumberLabel)
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
                    label=i18n.t(CommonText::CardExpiryLabel)
                    value=state.expiry
                    hints=InputHints::new("text", "cc-exp", "numeric")
                    placeholder=i18n.t(CommonText::CardExpiryPlaceholder)
                    error=err(|e| e.expiry.clone())
                    show_error=state.shows("expiry")
                    on_input=formatters.map(|f| f.expiry)
                    on_blur=state.touch("expiry")
                />
                <TextField
                    id="card-cvc"
                    label=i18n.t(CommonText::CardCvcLabel)
                    value=state.cvc
                    hints=InputHints::new("text", "cc-csc", "numeric")
                    placeholder=i18n.t(CommonText::CardCvcPlaceholder)
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
    let i18n = crate::i18n();
    let label = Signal::derive(move || i18n.t(postal_label(&state.country.get())));
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
    let i18n = crate::i18n();
    view! {
        <div class="field" class:invalid=move || visible_error().is_some()>
            <label for="country">{i18n.t(CommonText::CountryLabel)}</label>
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
                    <option value="" disabled=true>{i18n.t(CommonText::CountryChoose)}</option>
                    {countries_by_name(&i18n)
                        .into_iter()
                        .map(|(code, name)| {
                            view! {
                                <option value=code.clone() selected=move || state.country.get() == code>
                                    {name}
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
        let checked = check_card(&good(), (2026, 11), &Catalog::default()).unwrap();
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
        let errors = check_card(&inputs, (2026, 11), &Catalog::default()).unwrap_err();
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
            check_card(&inputs, (2026, 11), &Catalog::default()).unwrap_err().cvc.as_deref(),
            Some("Your card's security code is incomplete.")
        );
        let inputs = CardInputs { cvc: "1234".into(), ..inputs };
        assert_eq!(check_card(&inputs, (2026, 11), &Catalog::default()).unwrap().billing.postal_code, None);
    }

    #[test]
    fn english_says_what_the_domain_says() {
        let en = Catalog::default();
        use CardNumberError as N;
        for e in [N::Empty, N::InvalidCharacters, N::Incomplete, N::TooLong, N::UnsupportedBrand, N::Invalid] {
            assert_eq!(en.t(number_error(e)), e.message());
        }
        use ExpiryError as X;
        for e in [X::Empty, X::Incomplete, X::InvalidMonth, X::InPast, X::TooFarAhead] {
            assert_eq!(en.t(expiry_error(e)), e.message());
        }
        for e in [CvcError::Empty, CvcError::Incomplete, CvcError::Invalid] {
            assert_eq!(en.t(cvc_error(e)), e.message());
        }
        for e in [NameError::Empty, NameError::TooLong, NameError::Invalid, NameError::InvisibleCharacters] {
            assert_eq!(en.t(name_error(e)), e.message());
        }
        for e in [CountryError::Empty, CountryError::Unsupported] {
            assert_eq!(en.t(country_error(e)), e.message());
        }
        for country in ["US", "GB", "CA", "DE", "HK"] {
            for e in [PostalError::Empty, PostalError::Incomplete, PostalError::Invalid] {
                assert_eq!(en.t(postal_error(e, country)), e.message(country));
            }
            assert_eq!(en.t(postal_label(country)), countries::postal_label(country));
        }
        let names: Vec<_> = countries_by_name(&en);
        let expected: Vec<_> = COUNTRIES.iter().map(|(code, name)| (code.to_string(), name.to_string())).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn cards_are_named_as_the_domain_names_them() {
        let en = Catalog::default();
        let card = CardSummary {
            id: billing::wire::PaymentMethodId("pm_1".into()),
            brand: CardBrand::Visa,
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2034,
        };
        assert_eq!(card_label_with_expiry(&en, &card), "Visa ending in 4242, expires 12/34");
        for brand in [CardBrand::Visa, CardBrand::Amex, CardBrand::Unknown] {
            let card = CardSummary { brand, ..card.clone() };
            assert_eq!(card_label(&en, &card), card.label());
        }
    }
}
