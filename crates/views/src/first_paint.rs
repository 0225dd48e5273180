//! What the server puts in the first HTML: the checkout's whole page as the app will mount it
//! (frame, heading, order summary, the form with every field, Subscribe, the consent line) in the
//! state a fresh page starts in, and the portal home (plan, next payment, card on file).

use crate::card_form::{CardFormState, check_card};
use crate::checkout_form::{CheckoutFormState, FormBehaviour, FormStatus, PaymentFormView, StripeCardField};
use crate::frame::{CheckoutColumns, LanguageChoice, PageFrame};
use crate::order_summary::OrderSummary;
use crate::portal_home::{HomeBehaviour, PortalHomeView};
use billing::validate;
use billing::wire::{CheckoutStatus, CheckoutView, Eligibility, PortalView, SubscriptionStatus};
use i18n::I18n;
use leptos::prelude::*;

/// What the first paint knows of the browser: the country its language suggests (`US` when it
/// suggests none) and today's `(year, month)`.
pub struct Visitor {
    pub country: String,
    pub today: (u16, u8),
}

/// The first paint of a checkout that can be paid: `(title, body)`, HTML-escaped. `None` for
/// every other state (complete, ineligible): their pages do not start with a summary.
pub fn checkout(checkout: &CheckoutView, visitor: &Visitor, i18n: &I18n) -> Option<(String, String)> {
    if checkout.status != CheckoutStatus::Open || checkout.eligibility != Eligibility::Eligible {
        return None;
    }
    let quote = checkout.quote.clone()?;
    let heading = crate::checkout_heading(i18n, &checkout.plan.name);
    let title = crate::page_title(i18n, &heading);
    // The signals live as long as this rendering: the owner disposes of them when dropped.
    let owner = Owner::new();
    let body = owner.with(|| {
        provide_context(i18n.clone());
        provide_context(LanguageChoice::stand_in(i18n.locale.tag()));
        let plan = checkout.plan.clone();
        let form = fresh_form(checkout, visitor, Signal::stored(Some(quote.clone())));
        view! {
            <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
                <CheckoutColumns summary=view! { <OrderSummary plan=plan quote=quote /> }.into_any()>
                    <h1 tabindex="-1">{heading}</h1>
                    {form}
                </CheckoutColumns>
            </PageFrame>
        }
        .to_html()
    });
    Some((escape(&title), body))
}

/// The form as the app starts it: the session's email, the first saved card chosen, an empty card.
fn fresh_form(
    checkout: &CheckoutView,
    visitor: &Visitor,
    quote: Signal<Option<billing::proration::Quote>>,
) -> impl IntoView + use<> {
    let state = CheckoutFormState {
        email: RwSignal::new(checkout.email.clone().unwrap_or_default()),
        email_touched: RwSignal::new(false),
        saved_choice: RwSignal::new(checkout.saved_cards.first().map(|c| c.id.clone())),
        card: CardFormState::new(&visitor.country),
    };
    let email_ok = validate::validate_email(&state.email.get_untracked()).is_ok();
    let card_ok = check_card(&state.card.inputs(), visitor.today, &crate::i18n()).is_ok();
    let valid = email_ok && (state.saved_choice.get_untracked().is_some() || card_ok);
    let status = FormStatus {
        email_error: Signal::stored(None),
        card_errors: Signal::stored(Default::default()),
        valid: Signal::stored(valid),
        pending: Signal::stored(false),
        alert: Signal::stored(None),
    };
    // Stripe mode: the place its Element will mount in, where test mode has our card fields.
    let card_element = checkout.stripe.is_some().then(|| ViewFn::from(|| view! { <StripeCardField /> }.into_any()));
    let behaviour = FormBehaviour { card_element, ..FormBehaviour::default() };
    view! {
        <PaymentFormView
            state=state
            saved_cards=checkout.saved_cards.clone()
            status=status
            behaviour=behaviour
            product=checkout.branding.product_name.clone()
            quote=quote
        />
    }
}

/// The first paint of a portal session's home (`base` is its address, `/portal/{session}`):
/// `(title, body)`, HTML-escaped. `None` for a past-due account, whose home starts with the banner
/// only the app shows (with its ways to pay).
pub fn portal_home(portal: &PortalView, base: &str, i18n: &I18n) -> Option<(String, String)> {
    if portal.amount_due.is_some() || portal.subscription.status == SubscriptionStatus::PastDue {
        return None;
    }
    let owner = Owner::new();
    let body = owner.with(|| {
        provide_context(i18n.clone());
        provide_context(LanguageChoice::stand_in(i18n.locale.tag()));
        let (portal, base) = (portal.clone(), base.to_string());
        view! { <PortalHomeView portal=portal base=base behaviour=HomeBehaviour::default() /> }.to_html()
    });
    Some((escape(&crate::page_title(i18n, &crate::portal_heading(i18n))), body))
}

/// Text for an HTML text node.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
