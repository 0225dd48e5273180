//! The checkout's payment form: email, saved card or a new one, Subscribe, the alert and the
//! consent line. The app mounts it with its live state; the server renders it with the state a
//! fresh page starts with, so the whole form is in the first HTML.

use crate::alert::{AlertText, BusyButton, ErrorAlert};
use crate::card_form::{CardErrors, CardForm, CardFormState, CardFormatters, card_label_with_expiry};
use crate::field::{InputHints, TextField};
use billing::proration::Quote;
use billing::validate::EmailError;
use billing::wire::{CardSummary, PaymentMethodId};
use i18n::{CheckoutText, CommonText, I18n};
use leptos::html;
use leptos::prelude::*;

/// What the user has entered in the checkout form.
#[derive(Clone, Copy)]
pub struct CheckoutFormState {
    pub email: RwSignal<String>,
    pub email_touched: RwSignal<bool>,
    /// The saved card chosen, or `None` for a new card.
    pub saved_choice: RwSignal<Option<PaymentMethodId>>,
    pub card: CardFormState,
}

/// What the form shows that follows from its state and the payment: checks, progress, answers.
pub struct FormStatus {
    pub email_error: Signal<Option<String>>,
    pub card_errors: Signal<CardErrors>,
    /// Everything needed to subscribe is there and valid.
    pub valid: Signal<bool>,
    /// A payment step is on its way.
    pub pending: Signal<bool>,
    pub alert: Signal<Option<AlertText>>,
}

/// What the app adds to the form: its handlers, Stripe's Element, the button it returns focus to.
/// The server's first paint has none of them.
#[derive(Default)]
pub struct FormBehaviour {
    pub on_submit: Option<Callback<()>>,
    pub on_retry: Option<Callback<()>>,
    pub card_element: Option<ViewFn>,
    pub formatters: Option<CardFormatters>,
    pub subscribe_button: NodeRef<html::Button>,
}

/// Email, payment method, card details, Subscribe, the answers to it and the consent line.
#[component]
pub fn PaymentFormView(
    state: CheckoutFormState,
    saved_cards: Vec<CardSummary>,
    status: FormStatus,
    behaviour: FormBehaviour,
    product: String,
    #[prop(into)] quote: Signal<Option<Quote>>,
) -> impl IntoView {
    let FormStatus { email_error, card_errors, valid, pending, alert } = status;
    let FormBehaviour { on_submit, on_retry, card_element, formatters, subscribe_button } = behaviour;
    let CheckoutFormState { email, email_touched, saved_choice, card } = state;
    let has_saved = !saved_cards.is_empty();
    // 100% off forever: nothing to pay, ever, so no card is asked for.
    let no_card = Signal::derive(move || quote.with(|q| q.as_ref().is_some_and(billing::discount::free_forever)));
    let i18n = crate::i18n();
    // After a Subscribe with something missing or wrong: how many fields say what is wrong.
    let shown_card = card.show_all;
    let needs_attention = move || {
        if !shown_card.get() || valid.get() {
            return None;
        }
        let card_fields =
            if saved_choice.get().is_none() && !no_card.get() { card_errors.with(CardErrors::count) } else { 0 };
        let count = usize::from(email_error.with(Option::is_some)) + card_fields;
        Some(crate::i18n().plural(CheckoutText::FieldsNeedAttention, count.max(1) as u64, &[]))
    };
    view! {
        // `post`: without the app nothing is sent anyway (the page's script stops it), and a card
        // number never ends up in an address.
        <form
            class="payment-form"
            method="post"
            novalidate=true
            on:submit=move |ev| {
                ev.prevent_default();
                if let Some(on_submit) = on_submit {
                    on_submit.run(());
                }
            }
        >
            <EmailField email=email touched=email_touched error=email_error disabled=pending />
            <Show when=move || has_saved && !no_card.get()>
                <SavedCardChoice cards=saved_cards.clone() choice=saved_choice disabled=pending />
            </Show>
            <Show when=move || saved_choice.get().is_none() && !no_card.get()>
                <CardForm
                    state=card
                    errors=card_errors
                    disabled=pending
                    card_element=card_element.clone()
                    formatters=formatters
                />
            </Show>
            <ErrorAlert text=alert on_retry=on_retry />
            <BusyButton
                label=i18n.t(CheckoutText::SubscribeButton)
                busy_label=i18n.t(CheckoutText::SubscribeBusy)
                submit=true
                loading=pending
                button_ref=subscribe_button
                class="button primary subscribe"
            />
            // `data-loading`: what the page's script says here when Subscribe is pressed before
            // the app has started (xtask/entry.html).
            <p class="form-hint" aria-live="polite" data-loading=i18n.t(CheckoutText::FormLoadingHint)>
                {needs_attention}
            </p>
            <ConsentLine product=product quote=quote />
        </form>
    }
}

/// Where the receipt goes.
#[component]
fn EmailField(
    email: RwSignal<String>,
    touched: RwSignal<bool>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = crate::i18n();
    view! {
        <TextField
            id="email"
            label=i18n.t(CheckoutText::EmailLabel)
            value=email
            hints=InputHints::new("email", "email", "email")
            placeholder=i18n.t(CheckoutText::EmailPlaceholder)
            error=error
            show_error=touched
            on_blur=Callback::new(move |_| touched.set(true))
            disabled=disabled
        />
    }
}

/// The message of a wrong email address, in the page's language.
pub fn email_error(i18n: &I18n, error: EmailError) -> String {
    i18n.t(match error {
        EmailError::Empty => CheckoutText::EmailEmpty,
        EmailError::TooLong => CheckoutText::EmailTooLong,
        EmailError::Invalid => CheckoutText::EmailInvalid,
        EmailError::InvisibleCharacters => CheckoutText::EmailInvisibleCharacters,
    })
}

/// What the user authorizes by subscribing: today's charge and every renewal until they cancel.
#[component]
fn ConsentLine(product: String, quote: Signal<Option<Quote>>) -> impl IntoView {
    let i18n = crate::i18n();
    let consent = move || consent(&i18n, &product, &quote.get()?);
    view! { <p class="consent">{consent}</p> }
}

/// The consent line's sentence for `quote` (none before the first renewal is known).
fn consent(i18n: &I18n, product: &str, q: &Quote) -> Option<String> {
    let at = q.next_renewal_at?;
    if billing::discount::free_forever(q) {
        let zero = i18n.money(0);
        return Some(i18n.f(CheckoutText::ConsentFree, &[("zero", &zero), ("product", product)]));
    }
    let today = i18n.money(q.total_due_today.cents());
    let day = i18n.ordinal(CommonText::DayOrdinal, 1);
    let date = i18n.long_date(at);
    let args = [("product", product), ("today", &today), ("day", &day), ("date", &date)];
    Some(match &q.discount {
        // With a discount, what follows today's charge changes once it ends: said as it is.
        Some(discount) => {
            let then = crate::words::what_follows(i18n, discount);
            i18n.f(CheckoutText::ConsentWithPromotion, &[&args[..], &[("then", &then)]].concat())
        }
        None => {
            let amount = i18n.money(q.next_renewal_amount.cents());
            i18n.f(CheckoutText::Consent, &[&args[..], &[("amount", &amount)]].concat())
        }
    })
}

/// The account's saved cards and "a new card", as radio buttons.
#[component]
fn SavedCardChoice(
    cards: Vec<CardSummary>,
    choice: RwSignal<Option<PaymentMethodId>>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = crate::i18n();
    view! {
        <fieldset class="methods" disabled=move || disabled.get()>
            <legend class="section-title">{i18n.t(CheckoutText::PaymentMethodLegend)}</legend>
            {cards
                .into_iter()
                .map(|card| {
                    let id = card.id.clone();
                    let checked_id = id.clone();
                    let initially = choice.get_untracked().as_ref() == Some(&id);
                    view! {
                        <label class="method">
                            <input
                                type="radio"
                                name="payment-method"
                                checked=initially
                                prop:checked=move || choice.get().as_ref() == Some(&checked_id)
                                on:change=move |_| choice.set(Some(id.clone()))
                            />
                            <span>
                                {card_label_with_expiry(&i18n, &card)}
                            </span>
                        </label>
                    }
                })
                .collect_view()}
            <label class="method">
                <input
                    type="radio"
                    name="payment-method"
                    checked=choice.get_untracked().is_none()
                    prop:checked=move || choice.get().is_none()
                    on:change=move |_| choice.set(None)
                />
                <span>{i18n.t(CheckoutText::NewCardChoice)}</span>
            </label>
        </fieldset>
    }
}

/// Stripe mode's card: the place Stripe's Element mounts in (`container`), and why it could not.
#[component]
pub fn StripeCardField(
    #[prop(optional)] container: NodeRef<html::Div>,
    #[prop(optional, into)] failed: Signal<Option<String>>,
) -> impl IntoView {
    let i18n = crate::i18n();
    view! {
        <div class="field">
            <span class="label" id="stripe-card-label">{i18n.t(CommonText::StripeCardLabel)}</span>
            <div class="stripe-card" role="group" aria-labelledby="stripe-card-label" node_ref=container></div>
            {move || failed.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        </div>
    }
}
