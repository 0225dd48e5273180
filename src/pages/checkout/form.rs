//! The checkout form: summary and form side by side, email, saved card or a new one, Subscribe,
//! the answers to it in the alert, the bank's dialog and the consent line.

use super::CheckoutPayer;
use super::pay::{Order, PaymentChoice};
use super::promotion::PromotionCode;
use crate::browser;
use crate::components::alert::{AlertText, BusyButton, ErrorAlert, payment_alert};
use crate::components::card_form::{CardForm, CardFormState, new_card};
use crate::components::challenge_dialog::PendingChallenge;
use crate::components::field::{InputHints, TextField};
use crate::components::frame::{PageFrame, PageHeading};
use crate::payment::{BankCheck, PayResult, Step};
use billing::period::long_date;
use billing::proration::Quote;
use billing::validate;
use billing::wire::{CardSummary, CheckoutView, PaymentMethodId};
use leptos::html;
use leptos::prelude::*;
use views::frame::CheckoutColumns;
use views::order_summary::OrderSummary;

/// Summary and form side by side (summary first on narrow screens).
#[component]
pub fn CheckoutFormPage(
    session_id: String,
    checkout: CheckoutView,
    pay: CheckoutPayer,
    bank: BankCheck,
) -> impl IntoView {
    // The quote shown: the session's, the new one the server gave when the price changed, or the
    // one a promotion code's Apply or Remove answered.
    let shown = RwSignal::new(checkout.quote.clone());
    let result = pay.value();
    Effect::new(move |_| {
        if let Some(PayResult::Repriced { quote, .. }) = result.get() {
            shown.set(Some(*quote));
        }
    });
    let quote = Memo::new(move |_| shown.get());
    let plan = checkout.plan.clone();
    let offers_codes = checkout.promotion_codes || checkout.quote.as_ref().is_some_and(|q| q.discount.is_some());
    let pending = pay.pending();
    let summary = move || {
        let promotion = offers_codes.then(|| {
            view! { <PromotionCode session_id=session_id.clone() quote=shown disabled=pending /> }
        });
        view! {
            {quote.get().map(|q| view! { <OrderSummary plan=plan.clone() quote=q /> })}
            {promotion}
        }
    };
    let title = views::checkout_heading(&checkout.plan.name);
    view! {
        <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
            <CheckoutColumns summary=summary.into_any()>
                <PageHeading text=title />
                <PaymentForm checkout=checkout pay=pay bank=bank quote=quote />
            </CheckoutColumns>
        </PageFrame>
    }
}

/// Email, payment method, card details, Subscribe and the answers to it.
#[component]
fn PaymentForm(
    checkout: CheckoutView,
    pay: CheckoutPayer,
    bank: BankCheck,
    quote: Memo<Option<Quote>>,
) -> impl IntoView {
    let email = RwSignal::new(checkout.email.clone().unwrap_or_default());
    let email_touched = RwSignal::new(false);
    let email_error = Memo::new(move |_| validate::validate_email(&email.get()).err().map(|e| e.message().to_string()));
    let saved_cards = checkout.saved_cards.clone();
    let saved_choice = RwSignal::new(saved_cards.first().map(|c| c.id.clone()));
    let card = CardFormState::new();
    let (card_check, card_element) = new_card(card, checkout.stripe.clone(), bank);
    let card_errors = Signal::derive(move || card_check.get().err().map(|e| *e).unwrap_or_default());
    // 100% off forever: nothing to pay, ever, so no card is asked for.
    let no_card = Memo::new(move |_| quote.with(|q| q.as_ref().is_some_and(billing::discount::free_forever)));
    let choice = Memo::new(move |_| match saved_choice.get() {
        _ if no_card.get() => Some(PaymentChoice::NoCard),
        Some(id) => Some(PaymentChoice::Saved(id)),
        None => card_check.get().ok().map(PaymentChoice::New),
    });
    let valid = Memo::new(move |_| email_error.get().is_none() && choice.get().is_some());
    let pending = pay.pending();
    let submit = move || {
        if pending.get_untracked() {
            return;
        }
        card.show_all.set(true);
        email_touched.set(true);
        let (Ok(email), Some(choice)) = (validate::validate_email(&email.get_untracked()), choice.get_untracked())
        else {
            return;
        };
        let expected_total = quote.with_untracked(|q| q.as_ref().map(|q| q.total_due_today)).unwrap_or_default();
        pay.dispatch(Step::Pay(Order { email, choice, expected_total }));
    };
    // The same order again, so the server answers it once.
    let retry = Callback::new(move |_| pay.retry());
    let subscribe_button = NodeRef::<html::Button>::new();
    let has_saved = !saved_cards.is_empty();
    // The moment the form (and its Subscribe button) can be used, for `cargo xtask bench`.
    Effect::new(move |_| browser::mark("checkout-ready"));
    view! {
        <form
            class="payment-form"
            novalidate=true
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <EmailField email=email touched=email_touched error=email_error disabled=pending />
            <Show when=move || has_saved && !no_card.get()>
                <SavedCardChoice cards=saved_cards.clone() choice=saved_choice disabled=pending />
            </Show>
            <Show when=move || saved_choice.get().is_none() && !no_card.get()>
                <CardForm state=card errors=card_errors disabled=pending card_element=card_element.clone() />
            </Show>
            <ErrorAlert text=pay_alert(pay) on_retry=retry />
            <BusyButton
                label="Subscribe"
                busy_label="Processing…"
                submit=true
                loading=pending
                disabled=Signal::derive(move || !valid.get())
                button_ref=subscribe_button
                class="button primary subscribe"
            />
            <p class="form-hint" aria-live="polite">
                {move || (!valid.get()).then_some("Fill in the form to subscribe.")}
            </p>
            <ConsentLine product=checkout.branding.product_name.clone() quote=quote />
        </form>
        <BankDialog pay=pay quote=quote return_focus=subscribe_button />
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
    view! {
        <TextField
            id="email"
            label="Email"
            value=email
            hints=InputHints::new("email", "email", "email")
            placeholder="you@example.com"
            error=error
            show_error=touched
            on_blur=Callback::new(move |_| touched.set(true))
            disabled=disabled
        />
    }
}

/// The bank's 3-D Secure dialog while a payment waits for it; Subscribe has the focus after.
#[component]
fn BankDialog(pay: CheckoutPayer, quote: Memo<Option<Quote>>, return_focus: NodeRef<html::Button>) -> impl IntoView {
    let result = pay.value();
    let challenge = Memo::new(move |_| result.get().and_then(|r| r.challenge()));
    Effect::new(move |previous: Option<bool>| {
        let open = challenge.with(Option::is_some);
        if previous == Some(true)
            && !open
            && let Some(button) = return_focus.get()
        {
            let _ = button.focus();
        }
        open
    });
    let on_answer =
        Callback::new(move |(challenge_id, choice)| pay.dispatch(Step::Authenticate { challenge_id, choice }));
    let amount =
        Signal::derive(move || quote.with(|q| q.as_ref().map(|q| q.total_due_today.to_string()).unwrap_or_default()));
    view! { <PendingChallenge challenge=challenge amount=amount busy=pay.pending() on_answer=on_answer /> }
}

/// What the user authorizes by subscribing: today's charge and every renewal until they cancel.
#[component]
fn ConsentLine(product: String, quote: Memo<Option<Quote>>) -> impl IntoView {
    let consent = move || {
        let q = quote.get()?;
        let at = q.next_renewal_at?;
        if billing::discount::free_forever(&q) {
            return Some(format!(
                "Your promotion makes every payment $0.00, so no card is needed. You can cancel any time from Manage Plan in {product}."
            ));
        }
        let today = q.total_due_today;
        // With a discount, what follows today's charge changes once it ends: said as it is.
        let then = match &q.discount {
            Some(discount) => format!("{} on the 1st of every month", billing::discount::what_follows(discount)),
            None => format!("and {} on the 1st of every month", q.next_renewal_amount),
        };
        let comma = if q.discount.is_some() { "," } else { "" };
        Some(format!(
            "By subscribing, you authorize {product} to charge your card {today} today{comma} {then} from {} until you cancel. You can cancel any time from Manage Plan in {product}.",
            long_date(at),
        ))
    };
    view! { <p class="consent">{consent}</p> }
}

/// The server could not be reached: the payment may have gone through.
const UNREACHABLE: &str = "We couldn't reach the server, so we don't know yet whether the payment went through. Retry: you won't be charged twice.";

/// What went wrong with the last payment attempt, in the alert next to the form.
fn pay_alert(pay: CheckoutPayer) -> Signal<Option<AlertText>> {
    let result = pay.value();
    Signal::derive(move || {
        let result = result.get()?;
        let alert = payment_alert(&result, UNREACHABLE)?;
        Some(match result {
            PayResult::Declined { attempts_left, .. } => alert.with_note(
                attempts_left.filter(|n| *n <= 2).map(|n| format!("{n} more attempts before this checkout locks.")),
            ),
            PayResult::Repriced { .. } => {
                alert.with_note(Some("Nothing was charged. Check the new total, then subscribe again.".to_string()))
            }
            _ => alert,
        })
    })
}

/// The account's saved cards and "a new card", as radio buttons.
#[component]
fn SavedCardChoice(
    cards: Vec<CardSummary>,
    choice: RwSignal<Option<PaymentMethodId>>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <fieldset class="methods" disabled=move || disabled.get()>
            <legend class="section-title">"Payment method"</legend>
            {cards
                .into_iter()
                .map(|card| {
                    let id = card.id.clone();
                    let checked_id = id.clone();
                    view! {
                        <label class="method">
                            <input
                                type="radio"
                                name="payment-method"
                                prop:checked=move || choice.get().as_ref() == Some(&checked_id)
                                on:change=move |_| choice.set(Some(id.clone()))
                            />
                            <span>
                                {card.label_with_expiry()}
                            </span>
                        </label>
                    }
                })
                .collect_view()}
            <label class="method">
                <input
                    type="radio"
                    name="payment-method"
                    prop:checked=move || choice.get().is_none()
                    on:change=move |_| choice.set(None)
                />
                <span>"A new card"</span>
            </label>
        </fieldset>
    }
}
