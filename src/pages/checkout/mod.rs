//! The hosted checkout: plan confirmation, email, payment method, card details, Subscribe, then
//! the success page with Get started. Every state of the session has its own page, chosen here;
//! the form is in `form`, paying in `pay` (through the app's one payment flow), the success page
//! in `success`.

mod form;
mod pay;
mod promotion;
mod success;

use crate::api::{self, ApiError};
use crate::components::frame::AppRoot;
use crate::components::status::{ExpiredSessionPage, SessionKind, StatusPage, UnknownSessionPage, UnreachablePage};
use crate::payment::{BankCheck, PayResult, Payer, PaymentFlow};
use billing::proration::Quote;
use billing::wire::{CheckoutReceipt, CheckoutStatus, CheckoutView, Eligibility, ErrorCode};
use form::CheckoutFormPage;
use i18n::CheckoutText;
use leptos::prelude::*;
use pay::CheckoutPayment;
use success::SuccessPage;

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
        Some(ErrorCode::SessionNotFound) => view! { <UnknownSessionPage kind=SessionKind::Checkout /> }.into_any(),
        Some(ErrorCode::SessionExpired) => view! { <ExpiredSessionPage kind=SessionKind::Checkout /> }.into_any(),
        Some(ErrorCode::SessionLocked) => view! { <LockedPage /> }.into_any(),
        _ => view! { <UnreachablePage on_retry=on_retry /> }.into_any(),
    }
}

/// Too many declines: the session no longer takes payments.
#[component]
fn LockedPage() -> impl IntoView {
    let i18n = views::i18n();
    view! { <StatusPage title=i18n.t(CheckoutText::LockedTitle) message=i18n.t(CheckoutText::LockedMessage) /> }
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
        Eligibility::Eligible => view! { <PayingPages session_id=session_id checkout=checkout /> }.into_any(),
    }
}

/// A session that cannot buy here: why, what to do, and the way back to the IDE.
#[component]
fn CannotBuyPage(checkout: CheckoutView, title: CheckoutText, message: CheckoutText) -> impl IntoView {
    let i18n = views::i18n();
    view! {
        <StatusPage title=i18n.t(title) message=i18n.t(message) test_mode=checkout.test_mode>
            <a class="button secondary" href=checkout.return_url.clone()>
                {views::frame::localized(&checkout.branding).return_link_text}
            </a>
        </StatusPage>
    }
}

/// Builder ID accounts linked to AWS subscribe through AWS: title and message.
const LINKED_TO_AWS: (CheckoutText, CheckoutText) = (CheckoutText::LinkedToAwsTitle, CheckoutText::LinkedToAwsMessage);

/// The account already pays: changes happen in the portal, opened from the IDE.
const ALREADY_SUBSCRIBED: (CheckoutText, CheckoutText) =
    (CheckoutText::AlreadySubscribedTitle, CheckoutText::AlreadySubscribedMessage);

/// Where paying stands after a step.
type CheckoutResult = PayResult<CheckoutReceipt, Box<Quote>>;

/// Paying for the checkout: one step at a time, the latest step's result, and whether one is on
/// its way.
type CheckoutPayer = Payer<CheckoutPayment>;

/// Which page paying is on. Only a change of page re-renders: declines and failures stay on the
/// form, which keeps every value.
#[derive(Clone, Debug, PartialEq)]
enum FlowPage {
    Form,
    Paid(Box<CheckoutReceipt>),
    Locked,
    Expired,
    CannotBuy(CheckoutText, CheckoutText),
}

impl FlowPage {
    /// The page for the last step's result: another tab or a change of account may have ended
    /// the checkout (nothing was charged), and the page says why.
    fn after(result: Option<CheckoutResult>) -> FlowPage {
        let error = match result {
            Some(PayResult::Done(receipt)) => return FlowPage::Paid(Box::new(receipt)),
            Some(PayResult::Declined { attempts_left: Some(0), .. }) => return FlowPage::Locked,
            Some(PayResult::Failed(error)) => error,
            _ => return FlowPage::Form,
        };
        match error.code() {
            Some(ErrorCode::AlreadySubscribed) => FlowPage::CannotBuy(ALREADY_SUBSCRIBED.0, ALREADY_SUBSCRIBED.1),
            Some(ErrorCode::AccountLinkedToAws) => FlowPage::CannotBuy(LINKED_TO_AWS.0, LINKED_TO_AWS.1),
            Some(ErrorCode::SessionLocked) => FlowPage::Locked,
            Some(ErrorCode::SessionExpired) => FlowPage::Expired,
            _ => FlowPage::Form,
        }
    }
}

/// The checkout form and what follows it.
#[component]
fn PayingPages(session_id: String, checkout: CheckoutView) -> impl IntoView {
    // The checkout's Stripe.js is the one its card Element mounts, or (a saved card, no Element)
    // one loaded when the bank asks for its check.
    let bank = BankCheck::new(checkout.stripe.clone());
    // The quote shown: the session's, then the one a promotion code's Apply or Remove answered,
    // or the new one the server gave when the price changed (each written by its answer).
    let shown_quote = RwSignal::new(checkout.quote.clone());
    let flow = PaymentFlow::new(CheckoutPayment::new(session_id.clone(), shown_quote), bank);
    let pay: CheckoutPayer = Payer::new(flow);
    let session_id = StoredValue::new(session_id);
    let result = pay.value();
    let page = Memo::new(move |_| FlowPage::after(result.get()));
    let checkout = StoredValue::new(checkout);
    move || match page.get() {
        FlowPage::Paid(receipt) => view! { <SuccessPage checkout=checkout.get_value() receipt=*receipt /> }.into_any(),
        FlowPage::Locked => view! { <LockedPage /> }.into_any(),
        FlowPage::Expired => view! { <ExpiredSessionPage kind=SessionKind::Checkout /> }.into_any(),
        FlowPage::CannotBuy(title, message) => {
            view! { <CannotBuyPage checkout=checkout.get_value() title=title message=message /> }.into_any()
        }
        FlowPage::Form => view! {
            <CheckoutFormPage
                session_id=session_id.get_value()
                checkout=checkout.get_value()
                shown=shown_quote
                pay=pay
                bank=bank
            />
        }
        .into_any(),
    }
}
