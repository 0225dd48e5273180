//! What the user buys and what they pay today: plan, price, credits, each line of today's charge,
//! the total and what follows.

use billing::Money;
use billing::period::{long_date, short_date};
use billing::plans::format_credits;
use billing::proration::{LineItem, Quote};
use billing::wire::PlanSummary;
use leptos::prelude::*;

/// The plan confirmation column of the checkout.
#[component]
pub fn OrderSummary(plan: PlanSummary, quote: Quote) -> impl IntoView {
    let renewal = quote.next_renewal_at.map(|at| match &quote.discount {
        // A promotion: what it charges while it runs, and after.
        Some(discount) => format!(
            "From {}: {}, billed on the 1st of each month.",
            short_date(at),
            crate::words::discount_schedule(&crate::i18n(), discount)
        ),
        None => format!(
            "Then {} per month from {}, billed on the 1st of each month.",
            quote.next_renewal_amount,
            short_date(at)
        ),
    });
    let renewal_date = quote.next_renewal_at.map(long_date);
    let note = if quote.lines.len() == 1 && quote.total_due_today < plan.monthly_price {
        "You pay only for what is left of this month today, then the full price on the 1st."
    } else {
        "Billed monthly on the 1st."
    };
    view! {
        <section class="summary" aria-labelledby="summary-title">
            <h2 class="eyebrow" id="summary-title">{plan.name.clone()}</h2>
            <p class="price">
                <span class="amount">{plan.monthly_price.to_string()}</span>
                <span class="per">"per month"</span>
            </p>
            <ul class="plan-facts">
                <li>{format_credits(plan.monthly_credits)} " credits every month"</li>
                <li>"Credits are available as soon as you subscribe"</li>
            </ul>
            <h3 class="lines-title">"Today's charge"</h3>
            <p class="lines-note">{note}</p>
            <LineItems quote=quote.clone() />
            <p class="renewal">{renewal}</p>
            <p class="sr-only">{renewal_date.map(|d| format!("Next renewal on {d}."))}</p>
        </section>
    }
}

/// Each line of today's charge and the total due today.
#[component]
pub fn LineItems(quote: Quote) -> impl IntoView {
    view! { <InvoiceLines lines=quote.lines.clone() total=quote.total_due_today total_label="Total due today" /> }
}

/// Lines with their amounts and a total.
#[component]
pub fn InvoiceLines(lines: Vec<LineItem>, total: Money, #[prop(into)] total_label: String) -> impl IntoView {
    let i18n = crate::i18n();
    view! {
        <dl class="lines">
            {lines
                .into_iter()
                .map(|line| {
                    view! {
                        <div class="line">
                            <dt>{crate::words::line_text(&i18n, &line)}</dt>
                            <dd>{line.amount.to_string()}</dd>
                        </div>
                    }
                })
                .collect_view()}
            <div class="line total">
                <dt>{total_label}</dt>
                <dd>{total.to_string()}</dd>
            </div>
        </dl>
    }
}
