//! The checkout form: summary and form side by side (the form's markup is `views::checkout_form`,
//! which the server renders too), what paying does with it, and the bank's dialog.

use super::CheckoutPayer;
use super::pay::{Order, PaymentChoice};
use super::promotion::PromotionCode;
use crate::browser;
use crate::components::alert::{AlertText, payment_alert};
use crate::components::card_form::{card_form_state, card_formatters, new_card};
use crate::components::challenge_dialog::PendingChallenge;
use crate::components::frame::{PageFrame, PageHeading};
use crate::payment::{BankCheck, PayResult, Step};
use billing::proration::Quote;
use billing::validate;
use billing::wire::CheckoutView;
use i18n::CheckoutText;
use leptos::html;
use leptos::prelude::*;
use views::checkout_form::{
    CheckoutFormState, FormBehaviour, FormStatus, PaymentFormView, email_error as email_message,
};
use views::frame::CheckoutColumns;
use views::order_summary::OrderSummary;

/// Summary and form side by side (summary first on narrow screens).
#[component]
pub fn CheckoutFormPage(
    session_id: String,
    checkout: CheckoutView,
    /// The quote shown (a promotion code's Apply and Remove write it, as a new price does).
    shown: RwSignal<Option<Quote>>,
    pay: CheckoutPayer,
    bank: BankCheck,
) -> impl IntoView {
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
    let title = views::checkout_heading(&views::i18n(), &checkout.plan.name);
    view! {
        <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
            <CheckoutColumns summary=summary.into_any()>
                <PageHeading text=title />
                <PaymentForm checkout=checkout pay=pay bank=bank quote=quote />
            </CheckoutColumns>
        </PageFrame>
    }
}

/// Email, payment method, card details, Subscribe and the answers to it. What was typed into the
/// server's form before the app took over is kept.
#[component]
fn PaymentForm(
    checkout: CheckoutView,
    pay: CheckoutPayer,
    bank: BankCheck,
    quote: Memo<Option<Quote>>,
) -> impl IntoView {
    let typed_email = browser::typed_before_app("email");
    let email = RwSignal::new(typed_email.or(checkout.email.clone()).unwrap_or_default());
    let email_touched = RwSignal::new(false);
    let i18n = views::i18n();
    let email_error = Memo::new(move |_| validate::validate_email(&email.get()).err().map(|e| email_message(&i18n, e)));
    let saved_cards = checkout.saved_cards.clone();
    let saved_choice = RwSignal::new(saved_cards.first().map(|c| c.id.clone()));
    let card = card_form_state();
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
            // Nothing is sent: every field says what is wrong, the first has the focus.
            let first = if email_error.with_untracked(Option::is_some) {
                Some("email")
            } else {
                card_errors.with_untracked(|e| e.first_field())
            };
            if let Some(id) = first {
                browser::focus_field(id);
            }
            return;
        };
        let expected_total = quote.with_untracked(|q| q.as_ref().map(|q| q.total_due_today)).unwrap_or_default();
        pay.dispatch(Step::Pay(Order { email, choice, expected_total }));
    };
    let subscribe_button = NodeRef::<html::Button>::new();
    let state = CheckoutFormState { email, email_touched, saved_choice, card };
    let status = FormStatus {
        email_error: email_error.into(),
        card_errors,
        valid: valid.into(),
        pending: pending.into(),
        alert: pay_alert(pay),
    };
    let behaviour = FormBehaviour {
        on_submit: Some(Callback::new(move |_| submit())),
        // The same order again, so the server answers it once.
        on_retry: Some(Callback::new(move |_| pay.retry())),
        formatters: card_element.is_none().then(|| card_formatters(card)),
        card_element,
        subscribe_button,
    };
    // The moment the form (and its Subscribe button) can be used, for `cargo xtask bench`.
    Effect::new(move |_| browser::mark("checkout-ready"));
    view! {
        <PaymentFormView
            state=state
            saved_cards=saved_cards
            status=status
            behaviour=behaviour
            product=checkout.branding.product_name.clone()
            quote=quote
        />
        <BankDialog pay=pay quote=quote return_focus=subscribe_button />
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
    let i18n = views::i18n();
    let amount = Signal::derive(move || {
        quote.with(|q| q.as_ref().map(|q| i18n.money(q.total_due_today.cents())).unwrap_or_default())
    });
    view! { <PendingChallenge challenge=challenge amount=amount busy=pay.pending() on_answer=on_answer /> }
}

/// What went wrong with the last payment attempt, in the alert next to the form.
fn pay_alert(pay: CheckoutPayer) -> Signal<Option<AlertText>> {
    let result = pay.value();
    let i18n = views::i18n();
    Signal::derive(move || {
        let result = result.get()?;
        // The server could not be reached: the payment may have gone through.
        let alert = payment_alert(&i18n, &result, &i18n.t(CheckoutText::PaymentUnreachable))?;
        Some(match result {
            PayResult::Declined { attempts_left, .. } => alert.with_note(
                attempts_left.filter(|n| *n <= 2).map(|n| i18n.plural(CheckoutText::AttemptsLeft, u64::from(n), &[])),
            ),
            PayResult::Repriced { .. } => alert.with_note(Some(i18n.t(CheckoutText::RepricedNote))),
            _ => alert,
        })
    })
}
