//! The hosted checkout: plan confirmation, email, payment method, card details, Subscribe, then
//! the success page with Get started. Every state of the session has its own page.

#[cfg(feature = "stripe")]
use crate::api::StripeArea;
use crate::api::{self, ApiError};
use crate::components::frame::AppRoot;
use crate::browser;
use crate::components::alert::{AlertText, BusyButton, ErrorAlert};
use crate::components::card_form::{CardErrors, CardForm, CardFormState, CheckedCard, check_card};
#[cfg(feature = "stripe")]
use crate::components::card_form::{CheckedHolder, check_holder};
use crate::components::challenge_dialog::PendingChallenge;
use crate::components::field::{InputHints, TextField};
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::status::{ExpiredSessionPage, StatusPage, UnknownSessionPage, UnreachablePage};
#[cfg(feature = "stripe")]
use crate::components::stripe_card::{self, Holder, SaveError, StripeCardElement, StripeHandle};

/// The test-mode bundle has no Stripe.js (Stripe mode's is checkout-stripe.html).
#[cfg(not(feature = "stripe"))]
#[derive(Clone, Copy)]
struct StripeHandle;
use billing::Money;
use billing::period::{long_date, short_date};
use billing::plans::format_credits;
use billing::proration::Quote;
use billing::validate;
use billing::wire::{
    BillingDetails, CardSummary, ChallengeAnswer, ChallengeId, ChallengeOutcome, CheckoutReceipt, CheckoutStatus,
    CheckoutView, ConfirmCheckout, Decline, Eligibility, ErrorCode, PaymentMethodId, PaymentOutcome, TokenizeCard,
};
use leptos::html;
use leptos::prelude::*;
use views::frame::CheckoutColumns;
use views::order_summary::OrderSummary;

/// `/checkout/{session_id}`: loads the session and shows the page for its state. Until it has
/// loaded, nothing is mounted: the HTML's shell (with the order summary the server put in it)
/// stays on screen, so the summary does not flash away. A retry keeps the page until it answers.
#[component]
pub fn CheckoutPage(session_id: String) -> impl IntoView {
    let session = RwSignal::new(None::<Result<CheckoutView, ApiError>>);
    let load = {
        let session_id = session_id.clone();
        move || {
            let session_id = session_id.clone();
            leptos::task::spawn_local(async move { session.set(Some(api::checkout_session(session_id).await)) });
        }
    };
    load();
    let reload = Callback::new(move |_| load());
    move || {
        let page = match session.get()? {
            Ok(checkout) => view! { <CheckoutForSession session_id=session_id.clone() checkout=checkout /> }.into_any(),
            Err(error) => view! { <CheckoutErrorPage error=error on_retry=reload /> }.into_any(),
        };
        Some(view! { <AppRoot>{page}</AppRoot> })
    }
}

/// The page for a session that could not be loaded.
#[component]
fn CheckoutErrorPage(error: ApiError, on_retry: Callback<()>) -> impl IntoView {
    match error.code() {
        Some(ErrorCode::SessionNotFound) => view! { <UnknownSessionPage kind="checkout" /> }.into_any(),
        Some(ErrorCode::SessionExpired) => view! { <ExpiredSessionPage kind="checkout" /> }.into_any(),
        Some(ErrorCode::SessionLocked) => view! { <LockedPage /> }.into_any(),
        _ => view! { <UnreachablePage on_retry=on_retry /> }.into_any(),
    }
}

/// Too many declines: the session no longer takes payments.
#[component]
fn LockedPage() -> impl IntoView {
    view! {
        <StatusPage
            title="This checkout is locked"
            message="After several declined payments we locked this checkout to protect your card. Nothing was charged. Go back to Kiro to start again, or ask your bank why the card was declined."
        />
    }
}

/// Chooses between success, the ineligible pages and the payment form.
#[component]
fn CheckoutForSession(session_id: String, checkout: CheckoutView) -> impl IntoView {
    if let (CheckoutStatus::Complete, Some(receipt)) = (checkout.status, checkout.receipt.clone()) {
        return view! { <SuccessPage checkout=checkout receipt=receipt /> }.into_any();
    }
    match checkout.eligibility {
        Eligibility::AccountLinkedToAws => {
            let (title, message) = LINKED_TO_AWS;
            view! { <CannotBuyPage checkout=checkout title=title message=message /> }.into_any()
        }
        Eligibility::AlreadySubscribed => {
            let (title, message) = ALREADY_SUBSCRIBED;
            view! { <CannotBuyPage checkout=checkout title=title message=message /> }.into_any()
        }
        Eligibility::Eligible => view! { <PaymentFlow session_id=session_id checkout=checkout /> }.into_any(),
    }
}

/// A session that cannot buy here: why, what to do, and the way back to the IDE.
#[component]
fn CannotBuyPage(checkout: CheckoutView, title: &'static str, message: &'static str) -> impl IntoView {
    view! {
        <StatusPage title=title message=message test_mode=checkout.test_mode>
            <a class="button secondary" href=checkout.return_url.clone()>
                {checkout.branding.return_link_text.clone()}
            </a>
        </StatusPage>
    }
}

/// Builder ID accounts linked to AWS subscribe through AWS.
const LINKED_TO_AWS: (&str, &str) = (
    "Upgrade through your AWS account",
    "You signed in to Kiro with a Builder ID that is linked to an AWS account, so your plan is managed in AWS and can't be bought here. Ask your AWS administrator to give you a paid Kiro plan, or sign in to Kiro with a personal account to subscribe yourself. Nothing has been charged.",
);

/// The account already pays: changes happen in the portal, opened from the IDE.
const ALREADY_SUBSCRIBED: (&str, &str) = (
    "You already have a paid plan",
    "This account already has a Kiro subscription, so there's nothing to buy here. To change your plan, open Kiro, go to the account menu and choose Manage Plan.",
);

/// How the user pays: a saved card or a new one.
#[derive(Clone, Debug, PartialEq)]
enum PaymentChoice {
    Saved(PaymentMethodId),
    NewCard(CheckedCard),
    /// Stripe mode: the card in Stripe's Element (as of its `n`th change) and our fields.
    #[cfg(feature = "stripe")]
    StripeCard(CheckedHolder, u32),
}

/// One step of paying, as dispatched to the payment action.
#[derive(Clone, Debug, PartialEq)]
enum PayStep {
    Submit { email: String, choice: PaymentChoice, expected_total: Money },
    Authenticate { challenge_id: ChallengeId, choice: ChallengeOutcome },
}

/// Where paying stands after a step.
#[derive(Clone, Debug, PartialEq)]
enum PayResult {
    Paid(CheckoutReceipt),
    NeedsAuthentication {
        challenge_id: ChallengeId,
    },
    Declined {
        decline: Decline,
        attempts_left: u32,
    },
    /// The price changed (a new month began): here is the new one, nothing was charged.
    Repriced {
        message: String,
        quote: Box<Quote>,
    },
    Locked,
    Expired,
    /// Another checkout of the same account paid first (another tab), or the account can no
    /// longer buy here: nothing was charged, and the page says why.
    CannotBuy(&'static str, &'static str),
    /// Stripe mode: Stripe.js did not save the card (its message says why); nothing was charged.
    #[cfg(feature = "stripe")]
    CardRefused(String),
    Failed(ApiError),
}

/// Remembers what was sent so a retry of the same request reuses its idempotency key and card
/// token (the server then answers it once), while any change starts a new attempt.
#[derive(Clone, Default)]
struct AttemptMemory {
    token: Option<(TokenizeCard, CardSummary)>,
    #[cfg(feature = "stripe")]
    stripe_card: Option<(CheckedHolder, u32, CardSummary)>,
    last_request: Option<ConfirmCheckout>,
}

/// The card to confirm with: a saved one, a new one tokenized (test mode) or saved with Stripe
/// (Stripe mode); the same card as the last attempt is not sent again.
#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
async fn card_to_pay_with(
    session_id: &str,
    choice: PaymentChoice,
    email: &str,
    memory: StoredValue<AttemptMemory>,
    stripe: StripeHandle,
) -> Result<(PaymentMethodId, Option<BillingDetails>), PayResult> {
    match choice {
        PaymentChoice::Saved(id) => Ok((id, None)),
        PaymentChoice::NewCard(checked) => {
            let cached = memory.with_value(|m| m.token.clone()).filter(|(card, _)| *card == checked.card);
            let token = match cached {
                Some((_, token)) => token,
                None => {
                    let token = api::tokenize_card(session_id, &checked.card).await.map_err(result_of_error)?;
                    memory.update_value(|m| m.token = Some((checked.card.clone(), token.clone())));
                    token
                }
            };
            Ok((token.id, Some(checked.billing)))
        }
        #[cfg(feature = "stripe")]
        PaymentChoice::StripeCard(holder, version) => {
            let cached = memory.with_value(|m| m.stripe_card.clone()).filter(|(h, v, _)| *h == holder && *v == version);
            let card = match cached {
                Some((_, _, card)) => card,
                None => {
                    let payer = Holder { name: &holder.name, email, billing: &holder.billing };
                    let saved: Result<CardSummary, _> =
                        stripe_card::save_card(StripeArea::Checkout, session_id, stripe, payer).await;
                    let card = saved.map_err(|e| match e {
                        SaveError::Refused(message) => PayResult::CardRefused(message),
                        SaveError::Api(error) => result_of_error(error),
                    })?;
                    memory.update_value(|m| m.stripe_card = Some((holder.clone(), version, card.clone())));
                    card
                }
            };
            Ok((card.id, Some(holder.billing)))
        }
    }
}

#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
async fn run_step(
    session_id: String,
    step: PayStep,
    memory: StoredValue<AttemptMemory>,
    stripe: StripeHandle,
) -> PayResult {
    let outcome = match step {
        PayStep::Submit { email, choice, expected_total } => {
            let (payment_method, billing) = match card_to_pay_with(&session_id, choice, &email, memory, stripe).await {
                Ok(card) => card,
                Err(result) => return result,
            };
            let mut request =
                ConfirmCheckout { email, payment_method, billing, expected_total, idempotency_key: String::new() };
            request.idempotency_key = memory
                .with_value(|m| {
                    m.last_request
                        .as_ref()
                        .filter(|last| ConfirmCheckout { idempotency_key: String::new(), ..(*last).clone() } == request)
                        .map(|last| last.idempotency_key.clone())
                })
                .unwrap_or_else(browser::new_idempotency_key);
            memory.update_value(|m| m.last_request = Some(request.clone()));
            api::confirm_checkout(&session_id, &request).await
        }
        PayStep::Authenticate { challenge_id, choice } => {
            api::answer_challenge(&session_id, &ChallengeAnswer { challenge_id, outcome: choice }).await
        }
    };
    #[cfg(feature = "stripe")]
    let outcome = match outcome {
        // Stripe mode: Stripe.js runs the bank's check; the server then asks Stripe how it went.
        Ok(PaymentOutcome::RequiresAction { challenge_id, client_secret: Some(secret) }) => {
            let completed = stripe_card::authenticate(stripe.get_value(), None, &secret).await;
            let choice = if completed { ChallengeOutcome::Complete } else { ChallengeOutcome::Fail };
            api::answer_challenge(&session_id, &ChallengeAnswer { challenge_id, outcome: choice }).await
        }
        other => other,
    };
    match outcome {
        Ok(PaymentOutcome::Succeeded { receipt }) => PayResult::Paid(receipt),
        Ok(PaymentOutcome::RequiresAction { challenge_id, .. }) => PayResult::NeedsAuthentication { challenge_id },
        Ok(PaymentOutcome::Declined { attempts_left: 0, .. }) => PayResult::Locked,
        Ok(PaymentOutcome::Declined { decline, attempts_left }) => {
            // A decline is final for this attempt: trying again is a new request.
            memory.update_value(|m| m.last_request = None);
            PayResult::Declined { decline, attempts_left }
        }
        Err(ApiError::Api { code: ErrorCode::QuoteChanged, message, .. }) => {
            memory.update_value(|m| m.last_request = None);
            match api::checkout_session(session_id).await {
                Ok(CheckoutView { quote: Some(quote), .. }) => PayResult::Repriced { message, quote: Box::new(quote) },
                Ok(_) => PayResult::Failed(ApiError::Unexpected("no quote".into())),
                Err(e) => result_of_error(e),
            }
        }
        Err(ApiError::Api { code: ErrorCode::SessionCompleted, .. }) => match api::checkout_session(session_id).await {
            Ok(CheckoutView { receipt: Some(receipt), .. }) => PayResult::Paid(receipt),
            Ok(_) => PayResult::Failed(ApiError::Unexpected("completed without a receipt".into())),
            Err(e) => result_of_error(e),
        },
        Err(e) => result_of_error(e),
    }
}

fn result_of_error(error: ApiError) -> PayResult {
    match error.code() {
        Some(ErrorCode::AlreadySubscribed) => PayResult::CannotBuy(ALREADY_SUBSCRIBED.0, ALREADY_SUBSCRIBED.1),
        Some(ErrorCode::AccountLinkedToAws) => PayResult::CannotBuy(LINKED_TO_AWS.0, LINKED_TO_AWS.1),
        Some(ErrorCode::SessionLocked) => PayResult::Locked,
        Some(ErrorCode::SessionExpired) => PayResult::Expired,
        _ => PayResult::Failed(error),
    }
}

/// Which page the payment flow is on. Only a change of page re-renders: declines and failures
/// stay on the form, which keeps every value.
#[derive(Clone, Debug, PartialEq)]
enum FlowPage {
    Form,
    Paid(Box<CheckoutReceipt>),
    Locked,
    Expired,
    CannotBuy(&'static str, &'static str),
}

/// Paying, one step at a time: the latest step's result and whether one is on its way. Plain
/// async rather than an `Action`, which costs the bundle more than this page needs.
#[derive(Clone, Copy)]
struct Payer {
    session_id: StoredValue<String>,
    memory: StoredValue<AttemptMemory>,
    /// Stripe mode: Stripe.js and its card Element, once mounted.
    stripe: StripeHandle,
    result: RwSignal<Option<PayResult>>,
    pending: RwSignal<bool>,
}

impl Payer {
    fn new(session_id: String) -> Payer {
        Payer {
            session_id: StoredValue::new(session_id),
            memory: StoredValue::new(AttemptMemory::default()),
            #[cfg(feature = "stripe")]
            stripe: StoredValue::new_local(None),
            #[cfg(not(feature = "stripe"))]
            stripe: StripeHandle,
            result: RwSignal::new(None),
            pending: RwSignal::new(false),
        }
    }

    /// Runs `step` unless one is already on its way.
    fn dispatch(self, step: PayStep) {
        if self.pending.get_untracked() {
            return;
        }
        self.pending.set(true);
        leptos::task::spawn_local(async move {
            let result = run_step(self.session_id.get_value(), step, self.memory, self.stripe).await;
            self.result.set(Some(result));
            self.pending.set(false);
        });
    }
}

/// The checkout form and what follows it.
#[component]
fn PaymentFlow(session_id: String, checkout: CheckoutView) -> impl IntoView {
    let pay = Payer::new(session_id);
    let result = pay.result;
    let page = Memo::new(move |_| match result.get() {
        Some(PayResult::Paid(receipt)) => FlowPage::Paid(Box::new(receipt)),
        Some(PayResult::Locked) => FlowPage::Locked,
        Some(PayResult::Expired) => FlowPage::Expired,
        Some(PayResult::CannotBuy(title, message)) => FlowPage::CannotBuy(title, message),
        _ => FlowPage::Form,
    });
    let checkout = StoredValue::new(checkout);
    move || match page.get() {
        FlowPage::Paid(receipt) => view! { <SuccessPage checkout=checkout.get_value() receipt=*receipt /> }.into_any(),
        FlowPage::Locked => view! { <LockedPage /> }.into_any(),
        FlowPage::Expired => view! { <ExpiredSessionPage kind="checkout" /> }.into_any(),
        FlowPage::CannotBuy(title, message) => {
            view! { <CannotBuyPage checkout=checkout.get_value() title=title message=message /> }.into_any()
        }
        FlowPage::Form => view! { <CheckoutFormPage checkout=checkout.get_value() pay=pay /> }.into_any(),
    }
}

/// Summary and form side by side (summary first on narrow screens).
#[component]
fn CheckoutFormPage(checkout: CheckoutView, pay: Payer) -> impl IntoView {
    // The quote shown: the session's, or the new one the server gave when the price changed.
    let initial = checkout.quote.clone();
    let result = pay.result;
    let quote = Memo::new(move |previous: Option<&Option<Quote>>| match result.get() {
        Some(PayResult::Repriced { quote, .. }) => Some(*quote),
        _ => previous.cloned().unwrap_or_else(|| initial.clone()),
    });
    let plan = checkout.plan.clone();
    let summary = move || quote.get().map(|q| view! { <OrderSummary plan=plan.clone() quote=q /> });
    let title = views::checkout_heading(&checkout.plan.name);
    view! {
        <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
            <CheckoutColumns summary=summary.into_any()>
                <PageHeading text=title />
                <PaymentForm checkout=checkout pay=pay quote=quote />
            </CheckoutColumns>
        </PageFrame>
    }
}

/// Email, payment method, card details, Subscribe and the answers to it.
#[component]
fn PaymentForm(checkout: CheckoutView, pay: Payer, quote: Memo<Option<Quote>>) -> impl IntoView {
    let email = RwSignal::new(checkout.email.clone().unwrap_or_default());
    let email_touched = RwSignal::new(false);
    let email_error = Memo::new(move |_| validate::validate_email(&email.get()).err().map(|e| e.message().to_string()));
    let saved_cards = checkout.saved_cards.clone();
    let choice = RwSignal::new(saved_cards.first().map(|c| c.id.clone()));
    let card = CardFormState::new();
    let (card_check, card_element) = new_card(card, &checkout, pay);
    let card_errors = Signal::derive(move || card_check.get().err().map(|e| *e).unwrap_or_default());
    let payment = Memo::new(move |_| match choice.get() {
        Some(id) => Some(PaymentChoice::Saved(id)),
        None => card_check.get().ok(),
    });
    let valid = Memo::new(move |_| email_error.get().is_none() && payment.get().is_some());
    let pending = pay.pending;
    let result = pay.result;
    let last_step = StoredValue::new(None::<PayStep>);
    let submit = move || {
        if pending.get_untracked() {
            return;
        }
        card.show_all.set(true);
        email_touched.set(true);
        let (Ok(address), Some(choice)) = (validate::validate_email(&email.get_untracked()), payment.get_untracked())
        else {
            return;
        };
        let expected_total = quote.with_untracked(|q| q.as_ref().map(|q| q.total_due_today)).unwrap_or_default();
        let step = PayStep::Submit { email: address, choice, expected_total };
        last_step.set_value(Some(step.clone()));
        pay.dispatch(step);
    };
    let retry = Callback::new(move |_| {
        if let Some(step) = last_step.get_value() {
            pay.dispatch(step);
        }
    });
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
            <Show when=move || has_saved>
                <SavedCardChoice cards=saved_cards.clone() choice=choice disabled=pending />
            </Show>
            <Show when=move || choice.get().is_none()>
                <CardForm state=card errors=card_errors disabled=pending card_element=card_element.clone() />
            </Show>
            <ErrorAlert text=pay_alert(result) on_retry=retry />
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
        <BankCheck pay=pay quote=quote return_focus=subscribe_button />
    }
}

/// The check of a new card's fields, and what stands in for our card number fields: Stripe's
/// Element in Stripe mode (its changes counted: a changed card is a new card), nothing in test mode.
#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
fn new_card(
    card: CardFormState,
    checkout: &CheckoutView,
    pay: Payer,
) -> (Memo<Result<PaymentChoice, Box<CardErrors>>>, Option<ViewFn>) {
    #[cfg(feature = "stripe")]
    if let Some(elements) = checkout.stripe.clone() {
        let (handle, changes) = (pay.stripe, RwSignal::new(0u32));
        let check = Memo::new(move |_| {
            check_holder(&card.inputs()).map(|holder| PaymentChoice::StripeCard(holder, changes.get()))
        });
        let element = ViewFn::from(move || {
            view! { <StripeCardElement elements=elements.clone() handle=handle changes=changes /> }.into_any()
        });
        return (check, Some(element));
    }
    let today = browser::current_year_month();
    (Memo::new(move |_| check_card(&card.inputs(), today).map(PaymentChoice::NewCard)), None)
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
fn BankCheck(pay: Payer, quote: Memo<Option<Quote>>, return_focus: NodeRef<html::Button>) -> impl IntoView {
    let result = pay.result;
    let challenge = Memo::new(move |_| match result.get() {
        Some(PayResult::NeedsAuthentication { challenge_id }) => Some(challenge_id),
        _ => None,
    });
    let on_answer = Callback::new(move |(challenge_id, choice)| {
        pay.dispatch(PayStep::Authenticate { challenge_id, choice });
    });
    Effect::new(move |previous: Option<bool>| {
        let open = challenge.get().is_some();
        if previous == Some(true)
            && !open
            && let Some(button) = return_focus.get()
        {
            let _ = button.focus();
        }
        open
    });
    let amount =
        Signal::derive(move || quote.with(|q| q.as_ref().map(|q| q.total_due_today.to_string()).unwrap_or_default()));
    view! { <PendingChallenge challenge=challenge amount=amount busy=pay.pending on_answer=on_answer /> }
}

/// What the user authorizes by subscribing: today's charge and every renewal until they cancel.
#[component]
fn ConsentLine(product: String, quote: Memo<Option<Quote>>) -> impl IntoView {
    let consent = move || {
        quote.get().and_then(|q| q.next_renewal_at.map(|at| (q.total_due_today, q.next_renewal_amount, at))).map(
            |(today, amount, at)| {
                format!(
                    "By subscribing, you authorize {product} to charge your card {today} today and {amount} on the 1st of every month from {} until you cancel. You can cancel any time from Manage Plan in {product}.",
                    long_date(at),
                )
            },
        )
    };
    view! { <p class="consent">{consent}</p> }
}

/// What went wrong with the last payment attempt, in the alert next to the form.
fn pay_alert(result: RwSignal<Option<PayResult>>) -> Signal<Option<AlertText>> {
    Signal::derive(move || {
        match result.get() {
        Some(PayResult::Declined { decline, attempts_left }) => Some(AlertText::new(decline.message).with_note(
            (attempts_left <= 2).then(|| format!("{attempts_left} more attempts before this checkout locks.")),
        )),
        Some(PayResult::Failed(ApiError::Network)) => Some(
            AlertText::new(
                "We couldn't reach the server, so we don't know yet whether the payment went through. Retry: you won't be charged twice.",
            )
            .retryable(),
        ),
        Some(PayResult::Repriced { message, .. }) => Some(
            AlertText::new(message)
                .with_note(Some("Nothing was charged. Check the new total, then subscribe again.".to_string())),
        ),
        #[cfg(feature = "stripe")]
        Some(PayResult::CardRefused(message)) => Some(AlertText::new(message)),
        Some(PayResult::Failed(error)) => Some(AlertText::new(error.message())),
        _ => None,
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

/// What the user now has, what was charged, and the way back to the IDE.
#[component]
fn SuccessPage(checkout: CheckoutView, receipt: CheckoutReceipt) -> impl IntoView {
    let tried = RwSignal::new(false);
    let product = checkout.branding.product_name.clone();
    let title = format!("You're subscribed to {}", receipt.plan.name);
    view! {
        <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
            <section class="card success">
                <div class="success-mark" aria-hidden="true">"✓"</div>
                <PageHeading text=title />
                <p class="lead">
                    {format_credits(receipt.plan.monthly_credits)} " credits a month are ready to use in " {product.clone()} "."
                </p>
                <dl class="receipt">
                    <div>
                        <dt>"Charged today"</dt>
                        <dd>
                            {format!("{} to {}", receipt.amount_charged, receipt.card.label())}
                        </dd>
                    </div>
                    <div>
                        <dt>"Next payment"</dt>
                        <dd>{format!("{} on {}", receipt.next_renewal_amount, long_date(receipt.next_renewal_at))}</dd>
                    </div>
                    <div>
                        <dt>"Invoice"</dt>
                        <dd>{receipt.invoice_number.clone()}</dd>
                    </div>
                    <div>
                        <dt>"Email"</dt>
                        <dd>{receipt.email.clone()}</dd>
                    </div>
                </dl>
                <a class="button primary" href=checkout.return_url.clone() on:click=move |_| tried.set(true)>
                    "Get started"
                </a>
                <p class="hint" aria-live="polite">
                    {move || {
                        if tried.get() {
                            format!("{product} didn't open? Switch back to it manually: your plan is already active.")
                        } else {
                            format!("Get started opens {product}. Your plan renews on the 1st; billing period ends {}.", short_date(receipt.next_renewal_at))
                        }
                    }}
                </p>
            </section>
        </PageFrame>
    }
}
