//! A new card that passed the checks, as a payment uses it: typed into our fields (test mode), or
//! in Stripe's Element with our cardholder and billing fields (Stripe mode).

#[cfg(feature = "stripe")]
use billing::validate;
use billing::wire::BillingDetails;
#[cfg(feature = "stripe")]
use i18n::Catalog;
use views::card_form::CheckedCard;
#[cfg(feature = "stripe")]
use views::card_form::{self, CardErrors, CardInputs};

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
