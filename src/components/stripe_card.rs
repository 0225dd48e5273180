//! Stripe mode's card: Stripe's Element where our card fields are in test mode, and saving the
//! card with it (a SetupIntent from our server, confirmed by Stripe.js, then the saved card from
//! our server). The card number never reaches our page's code or our server.

use crate::api::{self, StripeArea};
use crate::components::new_card::{CheckedHolder, NewCard, check_holder};
use crate::payment::{BankCheck, PayError, StripeHandle};
use crate::stripe_js::{BillingDetailsJs, StripeJs};
use billing::wire::StripeElements;
use i18n::CommonText;
use leptos::html;
use leptos::prelude::*;
use views::card_form::{CardErrors, CardFormState};
use views::checkout_form::StripeCardField;

/// Stripe's card Element. `changes` counts the Element's changes (a changed card is a new card).
#[component]
pub fn StripeCardElement(elements: StripeElements, handle: StripeHandle, changes: RwSignal<u32>) -> impl IntoView {
    let container = NodeRef::<html::Div>::new();
    let failed = RwSignal::new(None::<String>);
    let i18n = views::i18n();
    Effect::new(move |_| {
        let Some(element) = container.get() else { return };
        if handle.with_value(Option::is_some) {
            return;
        }
        let (elements, i18n) = (elements.clone(), i18n.clone());
        leptos::task::spawn_local(async move {
            match StripeJs::mount(&elements.js_url, &elements.publishable_key, &element, i18n).await {
                Ok(stripe) => {
                    stripe.on_change(move || changes.update(|n| *n += 1));
                    handle.set_value(Some(stripe));
                }
                Err(message) => failed.set(Some(message)),
            }
        });
    });
    view! { <StripeCardField container=container failed=failed /> }
}

/// The check of our fields (name, country, postal code) and Stripe's Element in place of the card
/// number fields; its changes are counted, so a changed card is a new card.
pub fn element_card(
    card: CardFormState,
    elements: StripeElements,
    bank: BankCheck,
) -> (Memo<Result<NewCard, Box<CardErrors>>>, Option<ViewFn>) {
    let (handle, changes) = (bank.handle(), RwSignal::new(0u32));
    let i18n = views::i18n();
    let check =
        Memo::new(move |_| check_holder(&card.inputs(), &i18n).map(|holder| NewCard::Element(holder, changes.get())));
    let element = ViewFn::from(move || {
        view! { <StripeCardElement elements=elements.clone() handle=handle changes=changes /> }.into_any()
    });
    (check, Some(element))
}

/// Saves the card in the Element for this session (a SetupIntent from our server, confirmed by
/// Stripe.js, then sent back to our server); our server's answer: the card to pay with
/// (checkout), or the outcome of making it the account's card (portal).
pub async fn save_card<T: billing::json::FromJson>(
    area: StripeArea,
    session_id: &str,
    bank: BankCheck,
    holder: &CheckedHolder,
    email: &str,
) -> Result<T, PayError> {
    let Some(stripe) = bank.handle().get_value() else {
        return Err(PayError::CardRefused(bank.i18n().t(CommonText::StripeCardStillLoading)));
    };
    let setup = api::stripe_setup_intent(area, session_id).await?;
    let details = BillingDetailsJs {
        name: &holder.name,
        email,
        country: &holder.billing.country,
        postal_code: holder.billing.postal_code.as_deref(),
    };
    let setup_intent = stripe.confirm_card_setup(&setup.client_secret, details).await.map_err(PayError::CardRefused)?;
    Ok(api::stripe_card(area, session_id, &setup_intent).await?)
}
