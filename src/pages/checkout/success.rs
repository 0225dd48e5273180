//! The success page: the plan now active, what was charged, and Get started back to the IDE.

use crate::components::frame::{PageFrame, PageHeading};
use billing::wire::{CheckoutReceipt, CheckoutView};
use i18n::{CheckoutText, CommonText, I18n};
use leptos::prelude::*;
use views::card_form::card_label;

/// What the user now has, what was charged, and the way back to the IDE.
#[component]
pub fn SuccessPage(checkout: CheckoutView, receipt: CheckoutReceipt) -> impl IntoView {
    let tried = RwSignal::new(false);
    let i18n = views::i18n();
    let product = checkout.branding.product_name.clone();
    let title = i18n.f(CheckoutText::SuccessHeading, &[("plan", &receipt.plan.name)]);
    let credits =
        i18n.plural(CheckoutText::SuccessCredits, u64::from(receipt.plan.monthly_credits), &[("product", &product)]);
    let hint = {
        let i18n = i18n.clone();
        let product = product.clone();
        let day = i18n.ordinal(CommonText::DayOrdinal, 1);
        let ends = i18n.short_date(receipt.next_renewal_at);
        move || {
            if tried.get() {
                i18n.f(CheckoutText::SuccessHintTried, &[("product", &product)])
            } else {
                i18n.f(CheckoutText::SuccessHint, &[("product", &product), ("day", &day), ("date", &ends)])
            }
        }
    };
    view! {
        <PageFrame branding=checkout.branding.clone() test_mode=checkout.test_mode>
            <section class="card success">
                <div class="success-mark" aria-hidden="true">"✓"</div>
                <PageHeading text=title />
                <p class="lead">{credits}</p>
                <dl class="receipt">
                    <div>
                        <dt>{i18n.t(CheckoutText::ChargedToday)}</dt>
                        <dd>{charged(&i18n, &receipt)}</dd>
                    </div>
                    <div>
                        <dt>{i18n.t(CheckoutText::NextPayment)}</dt>
                        <dd>{next_payment(&i18n, &receipt)}</dd>
                    </div>
                    <div>
                        <dt>{i18n.t(CheckoutText::Invoice)}</dt>
                        <dd>{receipt.invoice_number.clone()}</dd>
                    </div>
                    <div>
                        <dt>{i18n.t(CheckoutText::EmailLabel)}</dt>
                        <dd>{receipt.email.clone()}</dd>
                    </div>
                </dl>
                <a class="button primary" href=checkout.return_url.clone() on:click=move |_| tried.set(true)>
                    {i18n.t(CheckoutText::GetStarted)}
                </a>
                <p class="hint" aria-live="polite">
                    {hint}
                </p>
            </section>
        </PageFrame>
    }
}

/// `$20.00 to Visa ending in 4242` (the amount alone when no card paid).
fn charged(i18n: &I18n, receipt: &CheckoutReceipt) -> String {
    let amount = i18n.money(receipt.amount_charged.cents());
    match &receipt.card {
        Some(card) => i18n.f(CheckoutText::ChargedToCard, &[("amount", &amount), ("card", &card_label(i18n, card))]),
        None => amount,
    }
}

/// `$20.00 on February 1, 2027`.
fn next_payment(i18n: &I18n, receipt: &CheckoutReceipt) -> String {
    let amount = i18n.money(receipt.next_renewal_amount.cents());
    i18n.f(CheckoutText::NextPaymentOn, &[("amount", &amount), ("date", &i18n.long_date(receipt.next_renewal_at))])
}
