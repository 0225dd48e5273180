//! Stripe mode's card: Stripe's Element where our card fields are in test mode, and saving the
//! card with it (a SetupIntent from our server, confirmed by Stripe.js, then the saved card from
//! our server). The card number never reaches our page's code or our server.

use crate::api::{self, ApiError, StripeArea};
use crate::stripe_js::{BillingDetailsJs, StripeJs};
use billing::wire::{BillingDetails, StripeElements};
use leptos::html;
use leptos::prelude::*;

/// The mounted Element, once Stripe.js has loaded.
pub type StripeHandle = StoredValue<Option<StripeJs>, LocalStorage>;

/// Why a card was not saved.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveError {
    /// Stripe.js's answer for the user (a decline, an incomplete card, a failed bank check).
    Refused(String),
    Api(ApiError),
}

/// Stripe's card Element. `changes` counts the Element's changes (a changed card is a new card).
#[component]
pub fn StripeCardElement(elements: StripeElements, handle: StripeHandle, changes: RwSignal<u32>) -> impl IntoView {
    let container = NodeRef::<html::Div>::new();
    let failed = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(element) = container.get() else { return };
        if handle.with_value(Option::is_some) {
            return;
        }
        let elements = elements.clone();
        leptos::task::spawn_local(async move {
            match StripeJs::mount(&elements.js_url, &elements.publishable_key, &element).await {
                Ok(stripe) => {
                    stripe.on_change(move || changes.update(|n| *n += 1));
                    handle.set_value(Some(stripe));
                }
                Err(message) => failed.set(Some(message)),
            }
        });
    });
    view! {
        <div class="field">
            <span class="label" id="stripe-card-label">"Card"</span>
            <div class="stripe-card" role="group" aria-labelledby="stripe-card-label" node_ref=container></div>
            {move || failed.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        </div>
    }
}

/// The cardholder's details Stripe keeps with a card.
pub struct Holder<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub billing: &'a BillingDetails,
}

/// Saves the card in the Element for this session (a SetupIntent from our server, confirmed by
/// Stripe.js, then sent back to our server); our server's answer: the card to pay with
/// (checkout), or the outcome of making it the account's card (portal).
pub async fn save_card<T: serde::de::DeserializeOwned>(
    area: StripeArea,
    session_id: &str,
    handle: StripeHandle,
    holder: Holder<'_>,
) -> Result<T, SaveError> {
    let Some(stripe) = handle.get_value() else {
        return Err(SaveError::Refused("The card form is still loading. Try again in a moment.".into()));
    };
    let setup = api::stripe_setup_intent(area, session_id).await.map_err(SaveError::Api)?;
    let billing = holder.billing;
    let details = BillingDetailsJs {
        name: holder.name,
        email: holder.email,
        country: &billing.country,
        postal_code: billing.postal_code.as_deref(),
    };
    let setup_intent = stripe.confirm_card_setup(&setup.client_secret, details).await.map_err(SaveError::Refused)?;
    api::stripe_card(area, session_id, &setup_intent).await.map_err(SaveError::Api)
}

/// Runs the bank's check for a payment with Stripe.js (the Element's, or one loaded for it);
/// true when the user completed it (the server asks Stripe either way).
pub async fn authenticate(mounted: Option<StripeJs>, elements: Option<&StripeElements>, client_secret: &str) -> bool {
    let stripe = match (mounted, elements) {
        (Some(stripe), _) => stripe,
        (None, Some(elements)) => match StripeJs::load(&elements.js_url, &elements.publishable_key).await {
            Ok(stripe) => stripe,
            Err(_) => return false,
        },
        (None, None) => return false,
    };
    stripe.confirm_card_payment(client_secret).await.is_ok()
}
