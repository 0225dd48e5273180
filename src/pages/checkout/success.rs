//! The success page: the plan now active, what was charged, and Get started back to the IDE.

use crate::components::frame::{PageFrame, PageHeading};
use billing::period::{long_date, short_date};
use billing::plans::format_credits;
use billing::wire::{CheckoutReceipt, CheckoutView};
use leptos::prelude::*;

/// What the user now has, what was charged, and the way back to the IDE.
#[component]
pub fn SuccessPage(checkout: CheckoutView, receipt: CheckoutReceipt) -> impl IntoView {
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
                            {match &receipt.card {
                                Some(card) => format!("{} to {}", receipt.amount_charged, card.label()),
                                None => receipt.amount_charged.to_string(),
                            }}
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
